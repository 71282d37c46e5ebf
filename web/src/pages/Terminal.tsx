// The partition's serial console in xterm.js over the console WebSocket. One session at a time,
// as with mkvt; "Take over" closes the other session (rmvt) and connects. A partition with a
// display adapter shows its screen on a second tab (mounted when first chosen, and kept, so the
// terminal session stays open beside it).
import { useEffect, useRef, useState } from 'react';
import { Alert, Button, PageSection, Tab, Tabs, TabTitleText, Title } from '@patternfly/react-core';
import { Terminal as XTerm } from '@xterm/xterm';
import { api, ApiError } from '../api';
import { Display } from './Display';

export function Terminal({ id, canModify }: { id: number; canModify: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<'connecting' | 'connected' | 'closed' | 'busy'>('connecting');
  const [message, setMessage] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [hasDisplay, setHasDisplay] = useState(false);
  const [tab, setTab] = useState<string | number>('serial');
  useEffect(() => { api.partition(id).then((p) => setHasDisplay((p.display ?? 'none') !== 'none'), () => setHasDisplay(false)); }, [id]);
  useEffect(() => {
    if (!box.current) return;
    const term = new XTerm({ convertEol: false, cursorBlink: true, fontSize: 14, rows: 30, cols: 100 });
    term.open(box.current);
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${window.location.host}/api/v1/partitions/${id}/console`);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => { setStatus('connected'); term.focus(); ws.send('\r'); };
    ws.onmessage = (e) => term.write(new Uint8Array(e.data as ArrayBuffer));
    ws.onclose = (e) => {
      // A refused session closes at once with the reason: 4409 busy, 4404 no terminal, 4403 not allowed.
      if (e.code >= 4400 && e.code < 4500) setMessage(e.reason);
      setStatus(e.code === 4409 ? 'busy' : 'closed');
    };
    const sub = term.onData((d) => ws.readyState === WebSocket.OPEN && ws.send(new TextEncoder().encode(d)));
    return () => { sub.dispose(); ws.close(); term.dispose(); };
  }, [id, attempt]);
  const takeOver = () => api.closeConsole(id).then(() => { setMessage(null); setStatus('connecting'); setAttempt(attempt + 1); },
    (e: ApiError) => setMessage(e.message));
  return (
    <PageSection>
      <Title headingLevel="h1">Terminal: partition {id}</Title>
      <Tabs activeKey={tab} onSelect={(_e, k) => setTab(k)} mountOnEnter aria-label="Console">
      <Tab eventKey="serial" title={<TabTitleText>Serial terminal</TabTitleText>}>
      <p data-testid="term-status">{status === 'connected' ? 'Connected.' : status === 'connecting' ? 'Connecting…' : status === 'busy' ? 'Virtual terminal is already connected.' : 'Disconnected.'}</p>
      {message && <Alert variant="warning" isInline title={message} />}
      {status === 'busy' && canModify && <Button onClick={takeOver}>Take over</Button>}
      {status === 'closed' && <Button variant="secondary" onClick={() => { setMessage(null); setStatus('connecting'); setAttempt(attempt + 1); }}>Reconnect</Button>}
      <div ref={box} data-testid="terminal" style={{ marginTop: 16 }} />
      </Tab>
      {hasDisplay && <Tab eventKey="display" data-testid="display-tab" title={<TabTitleText>Display</TabTitleText>}><Display id={id} /></Tab>}
      </Tabs>
    </PageSection>
  );
}
