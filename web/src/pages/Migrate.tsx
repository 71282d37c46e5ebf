// Migrate a partition to another ivm host: validate, then move, with the server's progress
// (bytes sent and left, memory passes, expected downtime) read from GET /migrations. The
// console decides nothing: the server's validation and the server's words.
import { useEffect, useState } from 'react';
import {
  Alert, Button, Form, FormGroup, Modal, ModalBody, ModalFooter, ModalHeader, Progress, TextInput,
} from '@patternfly/react-core';
import { api, type MigrationAccept, type MigrationView, type Partition } from '../api';

export function MigrateDialog({ partition, onClose }: { partition: Partition; onClose: () => void }) {
  const [ip, setIp] = useState('');
  const [user, setUser] = useState('padmin');
  const [destId, setDestId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [view, setView] = useState<MigrationView | null>(null);

  // While a move runs, the server's figures every half second.
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(() => {
      api.migrations().then((all) => setView(all.find((v) => v.lpar_id === partition.lpar_id) ?? null)).catch(() => {});
    }, 500);
    return () => clearInterval(t);
  }, [busy, partition.lpar_id]);

  const go = async (validateOnly: boolean) => {
    setError(null); setResult(null); setBusy(!validateOnly);
    try {
      const a: MigrationAccept = await api.migrate({
        lpar_id: partition.lpar_id, ip, user, validate_only: validateOnly,
        dest_lpar_id: destId ? Number(destId) : null, target_system: null,
      });
      const f = a.figures;
      setResult(validateOnly
        ? `${a.system} can take ${partition.name} as partition ${a.lpar_id}.`
        : `${partition.name} runs on ${a.system} as partition ${a.lpar_id}` +
          (f ? `: ${f.total_ms} ms, paused ${f.switch_ms} ms, ${f.bytes} bytes in ${f.passes} passes.` : '.'));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const m = view?.migration;
  const total = m ? m.bytes_transmitted + m.bytes_remaining : 0;
  return (
    <Modal isOpen variant="medium" onClose={onClose} aria-labelledby="mig-title">
      <ModalHeader title={`Migrate ${partition.name}`} labelId="mig-title"
        description="To another ivm host that trusts this one (mkauthkeys --ip HOST -u USER)." />
      <ModalBody>
        {error && <Alert variant="danger" isInline title={error} data-testid="migrate-error" />}
        {result && <Alert variant="success" isInline title={result} data-testid="migrate-result" />}
        <Form onSubmit={(e) => e.preventDefault()}>
          <FormGroup label="Target host address" isRequired fieldId="mig-ip">
            <TextInput id="mig-ip" aria-label="Target host address" value={ip} onChange={(_e, v) => setIp(v)} />
          </FormGroup>
          <FormGroup label="User on the target host" fieldId="mig-user">
            <TextInput id="mig-user" aria-label="User on the target host" value={user} onChange={(_e, v) => setUser(v)} />
          </FormGroup>
          <FormGroup label="Partition ID on the target (optional)" fieldId="mig-dest">
            <TextInput id="mig-dest" aria-label="Partition ID on the target" type="number" value={destId} onChange={(_e, v) => setDestId(v)} />
          </FormGroup>
        </Form>
        {busy && m && (
          <div data-testid="migrate-progress">
            <Progress title={`${m.state}, pass ${m.passes}`} aria-label="Migration progress"
              value={total ? (m.bytes_transmitted * 100) / total : 0}
              label={`${m.bytes_transmitted} bytes sent, ${m.bytes_remaining} left, expected downtime ${m.expected_downtime_ms} ms`} />
          </div>
        )}
      </ModalBody>
      <ModalFooter>
        <Button onClick={() => go(false)} isDisabled={busy || !ip} isLoading={busy}>Migrate</Button>
        <Button variant="secondary" onClick={() => go(true)} isDisabled={busy || !ip}>Validate</Button>
        {busy && <Button variant="secondary" onClick={() => api.stopMigration(partition.lpar_id).catch((e) => setError((e as Error).message))}>Stop</Button>}
        <Button variant="link" onClick={onClose}>Close</Button>
      </ModalFooter>
    </Modal>
  );
}
