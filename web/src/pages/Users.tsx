// User Accounts (View/Modify users see the list): padmin alone creates, changes the role of
// and deletes users, as on IVM; the server refuses anyone else, so the controls are padmin's only.
import { useCallback, useEffect, useState } from 'react';
import {
  Alert, Button, Form, FormGroup, FormSelect, FormSelectOption, PageSection, TextInput, Title, Toolbar, ToolbarContent, ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api, type Role, type User } from '../api';

const ROLES: Role[] = ['View/Modify', 'View Only', 'Service Representative'];

export function Users({ self }: { self: string }) {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [draft, setDraft] = useState({ name: '', role: 'View Only' as Role, password: '' });
  const reload = useCallback(() => { api.users().then(setUsers, (e) => setError(e.message)); }, []);
  useEffect(reload, [reload]);
  const act = (p: Promise<unknown>) => p.then(() => { setError(null); reload(); }, (e) => setError(e.message));
  const admin = self === 'padmin';
  return (
    <PageSection>
      <Title headingLevel="h1">User Accounts</Title>
      {error && <Alert variant="danger" isInline title={error} />}
      {!admin && <Alert variant="info" isInline title="Only padmin creates, changes and removes users." />}
      {admin && <Form isHorizontal onSubmit={(e) => { e.preventDefault(); act(api.createUser(draft.name, draft.role, draft.password)); }}>
        <Toolbar><ToolbarContent>
          <ToolbarItem><FormGroup label="User name" fieldId="u-name"><TextInput id="u-name" value={draft.name} onChange={(_e, v) => setDraft({ ...draft, name: v })} /></FormGroup></ToolbarItem>
          <ToolbarItem><FormGroup label="Role" fieldId="u-role"><FormSelect id="u-role" value={draft.role} onChange={(_e, v) => setDraft({ ...draft, role: v as Role })}>
            {ROLES.map((r) => <FormSelectOption key={r} value={r} label={r} />)}</FormSelect></FormGroup></ToolbarItem>
          <ToolbarItem><FormGroup label="Password" fieldId="u-pw"><TextInput id="u-pw" type="password" value={draft.password} onChange={(_e, v) => setDraft({ ...draft, password: v })} /></FormGroup></ToolbarItem>
          <ToolbarItem><Button type="submit">Create user</Button></ToolbarItem>
        </ToolbarContent></Toolbar>
      </Form>}
      <Table aria-label="Users" variant="compact">
        <Thead><Tr><Th>User</Th><Th>Role</Th><Th screenReaderText="Actions" /></Tr></Thead>
        <Tbody>
          {users.map((u) => (
            <Tr key={u.name}>
              <Td dataLabel="User">{u.name}</Td>
              <Td dataLabel="Role">
                <FormSelect aria-label={`Role of ${u.name}`} value={u.role} isDisabled={!admin || u.name === 'padmin'}
                  onChange={(_e, v) => act(api.changeRole(u.name, v as Role))}>
                  {ROLES.map((r) => <FormSelectOption key={r} value={r} label={r} />)}
                </FormSelect>
              </Td>
              <Td dataLabel="Actions">{admin && u.name !== 'padmin' && u.name !== self &&
                <Button variant="danger" onClick={() => act(api.deleteUser(u.name))}>Delete</Button>}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </PageSection>
  );
}
