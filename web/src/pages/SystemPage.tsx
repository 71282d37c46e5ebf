// View/Modify System Properties: the managed system, the accelerator, the management share,
// the shared memory pool and its paging devices.
import { useEffect, useState } from 'react';
import {
  Alert, DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, Flex, FlexItem, FormGroup,
  PageSection, TextInput, Title, Button,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api, units, type MemPoolView, type SystemView } from '../api';
import type { Live } from '../live';
import { SummaryBars } from './Partitions';
import { Properties } from './Properties';

export function SystemPage({ live, canModify }: { live: Live; canModify: boolean }) {
  const [sys, setSys] = useState<SystemView | null>(null);
  const [editing, setEditing] = useState(false);
  useEffect(() => { api.system().then(setSys, () => {}); }, []);
  const mgmt = live.partitions?.find((p) => p.lpar_id === 1);
  const row = (term: string, value: React.ReactNode) => (
    <DescriptionListGroup key={term}><DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{value}</DescriptionListDescription></DescriptionListGroup>
  );
  return (
    <PageSection>
      <Title headingLevel="h1">View/Modify System Properties</Title>
      <SummaryBars s={live.summary} />
      {sys && (
        <DescriptionList isHorizontal data-testid="system">
          {row('System name', sys.name)}
          {row('Machine type-model', sys.type_model)}
          {row('Serial number', sys.serial_num)}
          {row('State', sys.state)}
          {row('Installed processors', sys.installed_procs)}
          {row('Installed memory', `${sys.installed_mem} MB`)}
          {row('Memory region size', `${sys.mem_region_size} MB`)}
          {row('Reserved firmware memory', `${sys.firmware_mem} MB`)}
          {row('Maximum partitions', sys.max_lpars)}
          {row('Accelerator', <span data-testid="accel">{sys.accel.toUpperCase()}: {sys.accel_reason}</span>)}
          {mgmt && row('Management partition', `${mgmt.name} (ID 1): ${units(mgmt.desired_proc_units)} processing units, ${mgmt.desired_procs} virtual processors, ${mgmt.desired_mem} MB`)}
        </DescriptionList>
      )}
      {canModify && mgmt && <Button onClick={() => setEditing(true)}>Change the management partition's share</Button>}
      <MemPool canModify={canModify} summaryKey={JSON.stringify(live.summary)} />
      {editing && mgmt && <Properties partition={mgmt} canModify={canModify} onClose={() => setEditing(false)} />}
    </PageSection>
  );
}

/** The shared memory pool: its size, what is available, its paging devices; create, resize, remove. */
function MemPool({ canModify, summaryKey }: { canModify: boolean; summaryKey: string }) {
  const [pool, setPool] = useState<MemPoolView | null | undefined>(undefined);
  const [size, setSize] = useState('');
  const [paging, setPaging] = useState('');
  const [error, setError] = useState<string | null>(null);
  const load = () => api.memPool().then(setPool, () => setPool(null));
  // Asked again whenever the system's totals change (a partition started, a pool changed).
  useEffect(() => { load(); }, [summaryKey]);
  const run = (p: Promise<unknown>) => p.then(() => { setError(null); setSize(''); load(); }, (e) => setError((e as Error).message));
  const row = (term: string, value: React.ReactNode) => (
    <DescriptionListGroup key={term}><DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{value}</DescriptionListDescription></DescriptionListGroup>
  );
  if (pool === undefined) return null;
  return (
    <>
      <Title headingLevel="h2" style={{ marginTop: '1.5rem' }}>Shared memory pool</Title>
      {error && <Alert variant="danger" isInline title={error} data-testid="mempool-error" />}
      {pool ? <>
        <DescriptionList isHorizontal data-testid="mempool">
          {row('Pool size', `${pool.pool_mem} MB (maximum ${pool.max_pool_mem} MB)`)}
          {row('Available now', `${pool.curr_avail_pool_mem} MB`)}
          {row('Paging storage pool', pool.paging_storage_pool)}
          {row('Logical memory declared', `${pool.logical_mem} of at most ${pool.max_logical_mem} MB`)}
        </DescriptionList>
        <Table aria-label="Paging devices" variant="compact" data-testid="paging-devices">
          <Thead><Tr><Th>Paging device</Th><Th>Size (MB)</Th><Th>Partition</Th><Th>State</Th></Tr></Thead>
          <Tbody>{pool.paging_devices.map((d) => (
            <Tr key={d.name}><Td>{d.name}</Td><Td>{d.size_mb}</Td><Td>{d.lpar_id}</Td><Td>{d.state}</Td></Tr>
          ))}</Tbody>
        </Table>
        {canModify && <Flex alignItems={{ default: 'alignItemsFlexEnd' }}>
          <FlexItem><FormGroup label="New pool size (MB)" fieldId="mp-size">
            <TextInput id="mp-size" value={size} onChange={(_e, v) => setSize(v)} /></FormGroup></FlexItem>
          <FlexItem><Button variant="secondary" isDisabled={!size} onClick={() => run(api.changeMemPool({ pool_mem: Number(size) }))}>Resize</Button></FlexItem>
          <FlexItem><Button variant="danger" onClick={() => run(api.removeMemPool())}>Remove pool</Button></FlexItem>
        </Flex>}
      </> : <>
        <p data-testid="no-mempool">This system has no shared memory pool: partitions use dedicated memory.</p>
        {canModify && <Flex alignItems={{ default: 'alignItemsFlexEnd' }}>
          <FlexItem><FormGroup label="Pool size (MB)" fieldId="mp-size">
            <TextInput id="mp-size" value={size} onChange={(_e, v) => setSize(v)} /></FormGroup></FlexItem>
          <FlexItem><FormGroup label="Paging storage pool (empty: the default)" fieldId="mp-paging">
            <TextInput id="mp-paging" value={paging} onChange={(_e, v) => setPaging(v)} /></FormGroup></FlexItem>
          <FlexItem><Button isDisabled={!size} onClick={() => run(api.createMemPool({
            pool_mem: Number(size), max_pool_mem: null, paging_storage_pool: paging || null,
          }))}>Create shared memory pool</Button></FlexItem>
        </Flex>}
      </>}
    </>
  );
}
