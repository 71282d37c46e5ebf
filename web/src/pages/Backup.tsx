// Backup/Restore: download a backup of the partition configuration, clear it, restore one by
// upload. The server makes and checks the file; the page only moves it.
import { useState } from 'react';
import {
  Alert, Button, Checkbox, FileUpload, Form, FormGroup, Modal, ModalBody, ModalFooter, ModalHeader, PageSection, Title,
} from '@patternfly/react-core';
import { api } from '../api';

export function Backup({ canModify }: { canModify: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [foreign, setForeign] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const outcome = (p: Promise<unknown>, message: string) =>
    p.then(() => { setError(null); setDone(message); }, (e) => { setDone(null); setError(e.message); });

  return (
    <PageSection>
      <Title headingLevel="h1">Backup/Restore</Title>
      {error && <Alert variant="danger" isInline title={error} data-testid="backup-error" />}
      {done && <Alert variant="success" isInline title={done} data-testid="backup-done" />}
      <Form>
        <FormGroup label="Back up the partition configuration" fieldId="b-download">
          <Button id="b-download" component="a" href="/api/v1/backup/file" download="profile.bak">Download backup</Button>
        </FormGroup>
        {canModify && <>
          <FormGroup label="Restore a backup (onto a system without client partitions)" fieldId="b-file">
            <FileUpload id="b-file" type="text" filename={file?.name ?? ''} value={file?.text ?? ''}
              filenamePlaceholder="Choose a backup file" browseButtonText="Choose"
              onFileInputChange={(_e, f) => { f.text().then((text) => setFile({ name: f.name, text })); }}
              onClearClick={() => setFile(null)} hideDefaultPreview />
            <Checkbox id="b-foreign" label="The backup comes from another managed system" isChecked={foreign}
              onChange={(_e, v) => setForeign(v)} />
          </FormGroup>
          <Button isDisabled={!file} onClick={() => file && outcome(api.restore(file.text, foreign), 'The configuration was restored.')}>
            Restore
          </Button>
          <FormGroup label="Clear the partition configuration (virtual disks and media stay)">
            <Button variant="danger" onClick={() => setConfirming(true)}>Clear partition configuration</Button>
          </FormGroup>
        </>}
      </Form>
      {confirming && (
        <Modal isOpen variant="small" onClose={() => setConfirming(false)} aria-labelledby="clear-title">
          <ModalHeader title="Clear the partition configuration?" labelId="clear-title" />
          <ModalBody>Every client partition and its virtual adapters are removed. They must all be shut down.</ModalBody>
          <ModalFooter>
            <Button variant="danger" onClick={() => { setConfirming(false); outcome(api.clear(), 'The partition configuration was cleared.'); }}>Clear</Button>
            <Button variant="link" onClick={() => setConfirming(false)}>Cancel</Button>
          </ModalFooter>
        </Modal>
      )}
    </PageSection>
  );
}
