// View/Modify Virtual Ethernet: which partitions' adapters are on which virtual Ethernet ID (a
// matrix), adapters added and removed (live on running partitions), and the Virtual Ethernet
// Bridge tab joining an ID to a physical adapter. The server decides; the page asks it.
import { useCallback, useEffect, useState } from 'react';
import {
  Alert, Button, Form, FormGroup, FormSelect, FormSelectOption, PageSection, Tab, Tabs, TextInput, Title,
  Toolbar, ToolbarContent, ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api, type NetworkView } from '../api';
import type { Live } from '../live';

export function Ethernet({ live, canModify }: { live: Live; canModify: boolean }) {
  const [net, setNet] = useState<NetworkView | null>(null);
  const [tab, setTab] = useState<string | number>('ids');
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => { api.network().then(setNet, (e) => setError(e.message)); }, []);
  // Partitions change (an adapter added, a partition started): the matrix follows.
  useEffect(reload, [reload, live.partitions]);
  const act = (p: Promise<unknown>) => p.then(() => { setError(null); reload(); }, (e) => { setError(e.message); reload(); });
  const parts = live.partitions ?? [];
  return (
    <PageSection>
      <Title headingLevel="h1">View/Modify Virtual Ethernet</Title>
      {error && <Alert variant="danger" isInline title={error} data-testid="ethernet-error" />}
      {net && <Tabs activeKey={tab} onSelect={(_e, k) => { setTab(k); reload(); }} aria-label="Virtual Ethernet">
        <Tab eventKey="ids" title="Virtual Ethernet">
          <Matrix net={net} parts={parts} canModify={canModify} act={act} />
        </Tab>
        <Tab eventKey="bridge" title="Virtual Ethernet Bridge">
          <Bridges net={net} canModify={canModify} act={act} />
        </Tab>
      </Tabs>}
    </PageSection>
  );
}

type Act = (p: Promise<unknown>) => void;

function Matrix({ net, parts, canModify, act }: {
  net: NetworkView; parts: NonNullable<Live['partitions']>; canModify: boolean; act: Act;
}) {
  const ids = net.ids.map((i) => i.pvid);
  const [form, setForm] = useState({ lpar: '', pvid: '1', slot: '' });
  const clients = parts.filter((p) => p.lpar_id !== 1);
  const lpar = form.lpar || String(clients[0]?.lpar_id ?? '');
  const add = () => act(api.ethernet(Number(lpar), 'a', Number(form.slot), Number(form.pvid)));
  return (
    <>
      <Table aria-label="Virtual Ethernet matrix" variant="compact" data-testid="ethernet-matrix">
        <Thead><Tr><Th>Partition</Th>{ids.map((id) => <Th key={id}>{`ID ${id}`}</Th>)}</Tr></Thead>
        <Tbody>{parts.map((p) => (
          <Tr key={p.lpar_id} data-testid={`eth-row-${p.name}`}>
            <Td dataLabel="Partition">{`${p.name} (${p.lpar_id})`}</Td>
            {ids.map((id) => {
              const slots = (p.virtual_eth_adapters ?? []).filter((a) => a.port_vlan_id === id).map((a) => a.slot_num);
              return (
                <Td key={id} dataLabel={`ID ${id}`} data-testid={`eth-${p.name}-${id}`}>
                  {slots.map((s) => (
                    <span key={s}>
                      {`slot ${s}`}
                      {canModify && p.lpar_id !== 1 && (
                        <Button variant="link" isInline aria-label={`Remove ${p.name} slot ${s}`}
                          onClick={() => act(api.ethernet(p.lpar_id, 'r', s))}> remove</Button>
                      )}{' '}
                    </span>
                  ))}
                </Td>
              );
            })}
          </Tr>
        ))}</Tbody>
      </Table>
      {canModify && clients.length > 0 && (
        <Form isHorizontal>
          <Toolbar><ToolbarContent>
            <ToolbarItem>
              <FormGroup label="Partition" fieldId="e-lpar">
                <FormSelect id="e-lpar" aria-label="Partition for a new adapter" value={lpar}
                  onChange={(_e, v) => setForm({ ...form, lpar: v })}>
                  {clients.map((p) => <FormSelectOption key={p.lpar_id} value={String(p.lpar_id)} label={p.name} />)}
                </FormSelect>
              </FormGroup>
            </ToolbarItem>
            <ToolbarItem>
              <FormGroup label="Virtual Ethernet ID" fieldId="e-pvid">
                <TextInput id="e-pvid" aria-label="Virtual Ethernet ID" value={form.pvid} onChange={(_e, v) => setForm({ ...form, pvid: v })} />
              </FormGroup>
            </ToolbarItem>
            <ToolbarItem>
              <FormGroup label="Slot" fieldId="e-slot">
                <TextInput id="e-slot" aria-label="Adapter slot" value={form.slot} onChange={(_e, v) => setForm({ ...form, slot: v })} />
              </FormGroup>
            </ToolbarItem>
            <ToolbarItem><Button onClick={add} isDisabled={!lpar || !form.slot}>Add adapter</Button></ToolbarItem>
          </ToolbarContent></Toolbar>
        </Form>
      )}
    </>
  );
}

function Bridges({ net, canModify, act }: { net: NetworkView; canModify: boolean; act: Act }) {
  const physical = net.devices.filter((d) => d.kind === 'physical' && d.available);
  const [choice, setChoice] = useState<Record<string, string>>({});
  return (
    <Table aria-label="Virtual Ethernet bridges" variant="compact" data-testid="bridges">
      <Thead><Tr><Th>Virtual Ethernet ID</Th><Th>Adapter</Th><Th>Physical adapter</Th><Th>Bridge</Th><Th /></Tr></Thead>
      <Tbody>{net.devices.filter((d) => d.kind === 'virtual').map((v) => {
        const sea = net.devices.find((d) => d.kind === 'sea' && d.vadapter === v.name);
        const phys = sea ? net.devices.find((d) => d.name === sea.phys) : undefined;
        const pick = choice[v.name] ?? '';
        return (
          <Tr key={v.name} data-testid={`bridge-${v.pvid}`}>
            <Td dataLabel="Virtual Ethernet ID">{v.pvid}</Td>
            <Td dataLabel="Adapter">{v.name}</Td>
            <Td dataLabel="Physical adapter">
              {sea ? `${sea.phys} (${phys?.ifname ?? '?'})` : (
                <FormSelect aria-label={`Physical adapter for ID ${v.pvid}`} value={pick} isDisabled={!canModify}
                  onChange={(_e, x) => setChoice({ ...choice, [v.name]: x })}>
                  <FormSelectOption value="" label="None" />
                  {physical.map((d) => <FormSelectOption key={d.name} value={d.name} label={`${d.name} (${d.ifname})`} />)}
                </FormSelect>
              )}
            </Td>
            <Td dataLabel="Bridge">{sea ? `${sea.name} ${sea.available ? 'Available' : 'Defined'}` : ''}</Td>
            <Td>{canModify && (sea
              ? <Button variant="secondary" onClick={() => act(api.removeDevice(sea.name))}>{`Remove ${sea.name}`}</Button>
              : <Button isDisabled={!pick} onClick={() => act(api.createSea(pick, v.name))}>{`Bridge ID ${v.pvid}`}</Button>)}
            </Td>
          </Tr>
        );
      })}</Tbody>
    </Table>
  );
}
