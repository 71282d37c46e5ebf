import { useState } from 'react';
import { Alert, Button, Form, FormGroup, Modal, ModalBody, ModalFooter, ModalHeader, TextInput } from '@patternfly/react-core';
import { api } from '../api';

export function ChangePassword({ user, onClose }: { user: string; onClose: () => void }) {
  const [pw, setPw] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const save = () => {
    if (pw !== again) { setError('The two passwords differ.'); return; }
    api.setPassword(user, pw).then(() => setDone(true), (e) => setError(e.message));
  };
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby="pw-title">
      <ModalHeader title={`Change the password of ${user}`} labelId="pw-title" />
      <ModalBody>
        {error && <Alert variant="danger" isInline title={error} />}
        {done ? <Alert variant="success" isInline title="The password was changed." /> : (
          <Form onSubmit={(e) => { e.preventDefault(); save(); }}>
            <FormGroup label="New password" fieldId="pw1" isRequired>
              <TextInput id="pw1" type="password" value={pw} onChange={(_e, v) => setPw(v)} />
            </FormGroup>
            <FormGroup label="New password again" fieldId="pw2" isRequired>
              <TextInput id="pw2" type="password" value={again} onChange={(_e, v) => setAgain(v)} />
            </FormGroup>
          </Form>
        )}
      </ModalBody>
      <ModalFooter>
        {!done && <Button onClick={save}>Change password</Button>}
        <Button variant="link" onClick={onClose}>{done ? 'Close' : 'Cancel'}</Button>
      </ModalFooter>
    </Modal>
  );
}
