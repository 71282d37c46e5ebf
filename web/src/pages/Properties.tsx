// Partition Properties: general, memory and processing. While the partition runs, desired
// values change live (DLPAR) within min..max, and memory min/max cannot change.
import { useEffect, useState } from 'react';
import {
  Alert, Button, DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, Form, FormGroup, FormHelperText, HelperText, HelperTextItem, Modal, ModalBody, ModalFooter, ModalHeader, Switch, Tab, Tabs, TextInput,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api, units, type Partition, type StorageView } from '../api';

export function Properties({ partition: p, canModify, onClose }: { partition: Partition; canModify: boolean; onClose: () => void }) {
  const running = !!p.run || p.lpar_id === 1;
  const [tab, setTab] = useState<string | number>('general');
  const [form, setForm] = useState({
    name: p.name, auto_start: p.auto_start,
    min_mem: String(p.min_mem), desired_mem: String(p.desired_mem), max_mem: String(p.max_mem),
    min_procs: String(p.min_procs), desired_procs: String(p.desired_procs), max_procs: String(p.max_procs),
    min_proc_units: units(p.min_proc_units), desired_proc_units: units(p.desired_proc_units), max_proc_units: units(p.max_proc_units),
    uncap_weight: String(p.uncap_weight), mem_weight: String(p.mem_weight ?? 128), boot_kernel: p.boot_kernel, boot_initrd: p.boot_initrd, boot_args: p.boot_args,
  });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [storage, setStorage] = useState<StorageView | null>(null);
  useEffect(() => { api.storage().then(setStorage, () => setStorage(null)); }, []);
  // The partition's virtual SCSI devices, by LUN: disks and optical devices.
  const devices = storage ? [
    ...storage.mappings.filter((m) => m.lpar_id === p.lpar_id)
      .map((m) => ({ vtd: m.vtd, lun: m.lun, kind: m.kind === 'disk' ? 'Physical volume' : 'Virtual disk', backing: m.backing })),
    ...storage.optical.filter((o) => o.lpar_id === p.lpar_id)
      .map((o) => ({ vtd: o.vtd, lun: o.lun, kind: 'Optical device', backing: o.media ?? 'No Media' })),
  ].sort((a, b) => a.lun - b.lun) : [];
  const set = (k: keyof typeof form) => (_e: unknown, v: string) => { setSaved(false); setForm({ ...form, [k]: v }); };

  const save = () => {
    const change: Record<string, unknown> = {};
    const numeric = ['min_mem', 'desired_mem', 'max_mem', 'min_procs', 'desired_procs', 'max_procs', 'uncap_weight', 'mem_weight',
      'min_proc_units', 'desired_proc_units', 'max_proc_units'] as const;
    for (const k of numeric) {
      const before = k.endsWith('units') ? units(p[k] as number | null) : String(p[k] ?? (k === 'mem_weight' ? 128 : ''));
      if (form[k] !== before && form[k] !== '') change[k] = Number(form[k]);
    }
    if (form.name !== p.name) change.new_name = form.name;
    if (form.auto_start !== p.auto_start) change.auto_start = form.auto_start;
    for (const k of ['boot_kernel', 'boot_initrd', 'boot_args'] as const) if (form[k] !== p[k]) change[k] = form[k];
    if (Object.keys(change).length === 0) { onClose(); return; }
    api.change(p.lpar_id, change).then(() => { setError(null); setSaved(true); }, (e) => setError(e.message));
  };
  const input = (label: string, k: keyof typeof form, disabled = false, helper?: string, current?: string) => (
    <FormGroup label={label} fieldId={`p-${k}`}>
      <TextInput id={`p-${k}`} value={String(form[k])} onChange={set(k)} isDisabled={disabled || !canModify} />
      {(helper || current) && <FormHelperText><HelperText>
        {current && <HelperTextItem>{current}</HelperTextItem>}
        {helper && <HelperTextItem>{helper}</HelperTextItem>}
      </HelperText></FormHelperText>}
    </FormGroup>
  );
  const memReason = running ? 'Minimum and maximum memory change only while the partition is not running.' : undefined;
  return (
    <Modal isOpen variant="medium" onClose={onClose} aria-labelledby="props-title">
      <ModalHeader title={`Partition Properties: ${p.name} (ID ${p.lpar_id})`} labelId="props-title"
        description={`${p.state}${p.ref_code ? `, reference code ${p.ref_code}` : ''}`} />
      <ModalBody>
        {error && <Alert variant="danger" isInline title={error} data-testid="props-error" />}
        {saved && <Alert variant="success" isInline title={running ? 'Changed; the running partition has the new values.' : 'Changed.'} />}
        <Tabs activeKey={tab} onSelect={(_e, k) => setTab(k)} aria-label="Properties">
          <Tab eventKey="general" title="General">
            <Form>
              {input('Name', 'name', running || p.lpar_id === 1, running ? 'A running partition cannot be renamed.' : undefined)}
              <Switch id="p-auto" label="Start automatically when the system starts" isChecked={form.auto_start}
                isDisabled={!canModify || p.lpar_id === 1} onChange={(_e, v) => { setSaved(false); setForm({ ...form, auto_start: v }); }} />
              {p.lpar_id !== 1 && <>
                {input('Kernel (direct kernel boot)', 'boot_kernel')}
                {input('Initial ramdisk', 'boot_initrd')}
                {input('Kernel command line', 'boot_args')}
              </>}
            </Form>
          </Tab>
          <Tab eventKey="memory" title="Memory">
            {p.mem_mode === 'shared' ? <>
              <DescriptionList isHorizontal isCompact data-testid="shared-memory">
                <DescriptionListGroup><DescriptionListTerm>Memory mode</DescriptionListTerm>
                  <DescriptionListDescription>Shared (logical memory from the shared memory pool)</DescriptionListDescription></DescriptionListGroup>
                {p.run && <>
                  <DescriptionListGroup><DescriptionListTerm>Logical memory in use</DescriptionListTerm>
                    <DescriptionListDescription>{p.run.mem} MB</DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>Resident in the pool</DescriptionListTerm>
                    <DescriptionListDescription>{p.run.phys_mem ?? 0} MB</DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>Not resident (paging device)</DescriptionListTerm>
                    <DescriptionListDescription>{p.run.paged_mem ?? 0} MB</DescriptionListDescription></DescriptionListGroup>
                </>}
              </DescriptionList>
              <Form>
                {input('Minimum logical memory (MB)', 'min_mem', running, memReason)}
                {input('Desired logical memory (MB)', 'desired_mem', false, running ? `Changes live (balloon) within ${p.min_mem} to ${p.max_mem} MB.` : undefined)}
                {input('Maximum logical memory (MB)', 'max_mem', running, memReason ?? 'Its paging device is at least this large.')}
                {input('Memory weight (0 to 255)', 'mem_weight', false, 'Its share of the pool against the other shared-memory partitions\' weights.')}
              </Form>
            </> : <Form>
              {input('Minimum memory (MB)', 'min_mem', running, memReason)}
              {input('Desired memory (MB)', 'desired_mem', false, running ? `Changes live within ${p.min_mem} to ${p.max_mem} MB.` : undefined,
                p.run ? `Current: ${p.run.mem} MB` : undefined)}
              {input('Maximum memory (MB)', 'max_mem', running, memReason)}
            </Form>}
          </Tab>
          <Tab eventKey="processing" title="Processing">
            <Form>
              {input(p.proc_mode === 'ded' ? 'Minimum processors' : 'Minimum virtual processors', 'min_procs')}
              {input(p.proc_mode === 'ded' ? 'Desired processors' : 'Desired virtual processors', 'desired_procs', false,
                running ? `Changes live within ${p.min_procs} to ${p.max_procs}.` : undefined, p.run ? `Current: ${p.run.procs}` : undefined)}
              {input(p.proc_mode === 'ded' ? 'Maximum processors' : 'Maximum virtual processors', 'max_procs')}
              {p.proc_mode === 'shared' && <>
                {input('Minimum processing units', 'min_proc_units')}
                {input('Desired processing units', 'desired_proc_units', false,
                  running ? `Changes live within ${units(p.min_proc_units)} to ${units(p.max_proc_units)}.` : undefined)}
                {input('Maximum processing units', 'max_proc_units')}
                {p.sharing_mode === 'uncap' && input('Uncapped weight', 'uncap_weight')}
              </>}
            </Form>
          </Tab>
          <Tab eventKey="ethernet" title="Ethernet">
            <Table aria-label="Partition Ethernet adapters" variant="compact" data-testid="partition-ethernet">
              <Thead><Tr><Th>Slot</Th><Th>Virtual Ethernet ID</Th><Th>Trunk</Th></Tr></Thead>
              <Tbody>{(p.virtual_eth_adapters ?? []).map((a) => (
                <Tr key={a.slot_num}><Td dataLabel="Slot">{a.slot_num}</Td><Td dataLabel="Virtual Ethernet ID">{a.port_vlan_id}</Td>
                  <Td dataLabel="Trunk">{a.is_trunk ? 'yes' : ''}</Td></Tr>
              ))}</Tbody>
            </Table>
            {`MAC base ${p.virtual_eth_mac_base_value} (each adapter's MAC is the base followed by its slot number)`}
            {(p.virtual_eth_adapters ?? []).length === 0 && 'No virtual Ethernet adapters: add them on the View/Modify Virtual Ethernet page.'}
          </Tab>
          {p.lpar_id !== 1 && <Tab eventKey="storage" title="Storage">
            <Table aria-label="Partition storage" variant="compact" data-testid="partition-storage">
              <Thead><Tr><Th>Device</Th><Th>Type</Th><Th>Backing</Th></Tr></Thead>
              <Tbody>{devices.map((d) => (
                <Tr key={d.vtd}><Td dataLabel="Device">{d.vtd}</Td><Td dataLabel="Type">{d.kind}</Td><Td dataLabel="Backing">{d.backing}</Td></Tr>
              ))}</Tbody>
            </Table>
            {devices.length === 0 && 'No virtual disks or optical devices: add them on the View/Modify Virtual Storage page.'}
          </Tab>}
        </Tabs>
      </ModalBody>
      <ModalFooter>
        {canModify && <Button onClick={save}>OK</Button>}
        <Button variant="link" onClick={onClose}>{canModify ? 'Cancel' : 'Close'}</Button>
      </ModalFooter>
    </Modal>
  );
}
