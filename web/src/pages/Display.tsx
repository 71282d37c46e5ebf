// The partition's screen in noVNC over the display WebSocket (RFB relayed by ivm from QEMU's
// VNC server on a Unix socket). Several viewers may watch at once.
import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Flex, FlexItem } from '@patternfly/react-core';
import RFB from '@novnc/novnc';

export function Display({ id }: { id: number }) {
  const box = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | null>(null);
  const [status, setStatus] = useState<'connecting' | 'connected' | 'closed'>('connecting');
  const [message, setMessage] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!box.current) return;
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    // The socket is opened here rather than by noVNC so a refusal's reason can be read.
    const ws = new WebSocket(`${proto}://${window.location.host}/api/v1/partitions/${id}/display`);
    ws.addEventListener('close', (e) => {
      // A refused session closes at once with the reason: 4404 not running, 4409 no display, 4403 not allowed.
      if (e.code >= 4400 && e.code < 4500) setMessage(e.reason);
      setStatus('closed');
    });
    const r = new RFB(box.current, ws, { shared: true });
    r.scaleViewport = true;
    r.background = '#151515';
    r.addEventListener('connect', () => { setStatus('connected'); r.focus(); });
    rfb.current = r;
    return () => { rfb.current = null; r.disconnect(); };
  }, [id, attempt]);
  const screenshot = async () => {
    const r = await fetch(`/api/v1/partitions/${id}/screen`, { credentials: 'same-origin' });
    if (!r.ok) { setMessage(((await r.json().catch(() => null)) as { message?: string } | null)?.message ?? `HTTP ${r.status}`); return; }
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `lpar-${id}-screen-${new Date().toISOString().replace(/[:.]/g, '-')}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <>
      <Flex alignItems={{ default: 'alignItemsCenter' }} style={{ marginTop: 8 }}>
        <FlexItem><span data-testid="display-status">{status === 'connected' ? 'Connected.' : status === 'connecting' ? 'Connecting…' : 'Disconnected.'}</span></FlexItem>
        <FlexItem><Button size="sm" variant="secondary" isDisabled={status !== 'connected'} onClick={() => rfb.current?.sendCtrlAltDel()}>Send Ctrl+Alt+Del</Button></FlexItem>
        <FlexItem><Button size="sm" variant="secondary" isDisabled={status !== 'connected'} onClick={screenshot}>Screenshot</Button></FlexItem>
        {status === 'closed' && <FlexItem><Button size="sm" variant="secondary" onClick={() => { setMessage(null); setStatus('connecting'); setAttempt(attempt + 1); }}>Reconnect</Button></FlexItem>}
      </Flex>
      {message && <Alert variant="warning" isInline title={message} />}
      <div ref={box} data-testid="display" style={{ marginTop: 8, width: '100%', height: '75vh', background: '#151515' }} />
    </>
  );
}
