// Create Partition: name, memory, processors, boot (kernel, firmware), storage (a disk to
// assign, create or import from an image, media to load), Ethernet, a cloud-init seed, summary. The server decides: the units it would compute and the capacity
// left after the partition come from a dry run of the same request, and its refusal is shown
// as it says it.
import { useEffect, useRef, useState } from 'react';
import {
  Alert, DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, Form, FormGroup,
  FormHelperText, FormSelect, FormSelectOption, HelperText, HelperTextItem, Modal, Radio, Switch, TextArea, TextInput, Wizard,
  WizardHeader, WizardStep,
} from '@patternfly/react-core';
import { api, units, type CreatePreview, type StorageView, type Summary } from '../api';

function num(v: string): number | undefined {
  return v.trim() === '' ? undefined : Number(v);
}

export function CreateWizard({ summary, onClose }: { summary: Summary | null; onClose: () => void }) {
  const [name, setName] = useState('');
  const [id, setId] = useState('');
  const [mem, setMem] = useState({ min: '', desired: '512', max: '' });
  const [memMode, setMemMode] = useState<'ded' | 'shared'>('ded');
  const [memWeight, setMemWeight] = useState('128');
  const [mode, setMode] = useState<'shared' | 'ded'>('shared');
  const [procs, setProcs] = useState({ min: '', desired: '1', max: '' });
  const [unitsIn, setUnitsIn] = useState({ min: '', desired: '', max: '' });
  const [capped, setCapped] = useState(false);
  const [weight, setWeight] = useState('128');
  const [boot, setBoot] = useState({ kernel: '', initrd: '', args: 'console=ttyS0' });
  const [firmware, setFirmware] = useState<'bios' | 'uefi'>('bios');
  const [display, setDisplay] = useState<'none' | 'vga' | 'virtio-gpu'>('none');
  // The cloud-init seed (NoCloud), saved after the partition is made; empty: none.
  const [seed, setSeed] = useState({ hostname: '', user_data: '', network_config: '' });
  const hasSeed = seed.hostname !== '' || seed.user_data !== '' || seed.network_config !== '';
  const [error, setError] = useState<string | null>(null);
  const [storage, setStorage] = useState<StorageView | null>(null);
  const [disk, setDisk] = useState<{ kind: 'none' | 'existing' | 'new' | 'image'; existing: string; name: string; size: string; image: string }>(
    { kind: 'none', existing: '', name: '', size: '', image: '' });
  const [media, setMedia] = useState('');
  // The virtual Ethernet IDs of the adapters in slots 3 and 4 (empty: no adapter there).
  const [eth, setEth] = useState({ a: '1', b: '2' });
  useEffect(() => { api.storage().then(setStorage, () => setStorage(null)); }, []);
  const freeDisks = (storage?.disks ?? []).filter((d) => d.name !== storage?.repository?.disk
    && !storage?.mappings.some((m) => m.kind === 'lv' && m.backing === d.name));

  const spec: Record<string, unknown> = {
    name,
    lpar_id: num(id),
    proc_mode: mode,
    min_procs: num(procs.min),
    desired_procs: num(procs.desired),
    max_procs: num(procs.max),
    min_mem: num(mem.min),
    desired_mem: num(mem.desired),
    max_mem: num(mem.max),
  };
  if (memMode === 'shared') Object.assign(spec, { mem_mode: 'shared', mem_weight: num(memWeight) });
  if (mode === 'shared') {
    Object.assign(spec, {
      min_proc_units: num(unitsIn.min), desired_proc_units: num(unitsIn.desired), max_proc_units: num(unitsIn.max),
      sharing_mode: capped ? 'cap' : 'uncap', uncap_weight: capped ? undefined : num(weight),
    });
  }
  if (boot.kernel) Object.assign(spec, { boot_kernel: boot.kernel, boot_initrd: boot.initrd, boot_args: boot.args });
  if (firmware === 'uefi') spec.boot_firmware = 'uefi';
  if (display !== 'none') spec.display = display;
  // ivm's default adapters (slot 3 on ID 1, slot 4 on ID 2) unless the step changed them.
  if (eth.a !== '1' || eth.b !== '2') {
    spec.virtual_eth_adapters = ([[3, eth.a], [4, eth.b]] as const)
      .filter(([, id]) => id.trim() !== '')
      .map(([slot, id]) => ({ slot_num: slot, port_vlan_id: Number(id) }));
  }
  Object.keys(spec).forEach((k) => spec[k] === undefined && delete spec[k]);

  // The dry run follows the form, a quarter second after the last keystroke; an older answer
  // arriving late never replaces a newer one.
  const [preview, setPreview] = useState<{ ok: CreatePreview } | { refused: string } | null>(null);
  const specKey = JSON.stringify(spec);
  const asked = useRef(0);
  useEffect(() => {
    const n = ++asked.current;
    const t = setTimeout(() => {
      api.preview(JSON.parse(specKey)).then(
        (ok) => { if (n === asked.current) setPreview({ ok }); },
        (e) => { if (n === asked.current) setPreview({ refused: (e as Error).message }); });
    }, 250);
    return () => clearTimeout(t);
  }, [specKey]);

  // The partition first; then its storage on the adapter the server gave it. A storage step
  // that fails leaves the partition made and says what did not happen.
  const save = () => api.create(spec).then(async (p) => {
    if (disk.kind === 'none' && !media && !hasSeed) { onClose(); return; }
    try {
      if (hasSeed) await api.setCloudInit(p.lpar_id, seed);
      if (disk.kind === 'none' && !media) { onClose(); return; }
      const view = await api.storage();
      const a = view.adapters.find((x) => x.lpar_id === p.lpar_id);
      if (!a) throw new Error('the partition has no virtual SCSI adapter');
      const vhost = `vhost${a.vhost}`;
      if (disk.kind === 'new') await api.createDisk(disk.name, null, Number(disk.size), vhost);
      if (disk.kind === 'existing') await api.map(disk.existing, vhost);
      if (disk.kind === 'image') await api.importDisk(disk.name, disk.image, vhost);
      if (media) {
        const o = await api.createOptical(vhost);
        await api.load(o.vtd, media);
      }
      onClose();
    } catch (e) {
      setError(`Partition ${p.name} was created, but its storage or cloud-init seed was not set up: ${(e as Error).message}`);
    }
  }, (e) => setError(e.message));
  const field = (label: string, value: string, set: (v: string) => void, id: string, helper?: string) => (
    <FormGroup label={label} fieldId={id}>
      <TextInput id={id} value={value} onChange={(_e, v) => set(v)} type="text" inputMode="decimal" />
      {helper && <FormHelperText><HelperText><HelperTextItem>{helper}</HelperTextItem></HelperText></FormHelperText>}
    </FormGroup>
  );
  const available = summary && (
    <Alert variant="info" isInline title="Available now"
      data-testid="available">{units(summary.available_proc_units)} processing units ({summary.available_procs} whole processor{summary.available_procs === 1 ? '' : 's'}), {summary.available_mem} MB of memory (region size {summary.mem_region_size} MB)</Alert>
  );

  const p = preview && 'ok' in preview ? preview.ok.partition : null;
  const after = preview && 'ok' in preview ? preview.ok.after : null;
  const refusal = preview && 'refused' in preview && (
    <Alert variant="warning" isInline title="The server would refuse this" data-testid="preview-error">{preview.refused}</Alert>
  );
  const capacityAfter = after && (
    <Alert variant="success" isInline title="After this partition" data-testid="capacity-after">
      {units(after.available_proc_units)} processing units ({after.available_procs} whole processor{after.available_procs === 1 ? '' : 's'}) and {after.available_mem} MB of memory left; {units(after.committed_proc_units)} of {units(after.configurable_proc_units)} units and {after.committed_mem} of {after.configurable_mem} MB committed
    </Alert>
  );
  const computedUnits = p && p.proc_mode === 'shared' && (
    <Alert variant="custom" isInline title="Processing units" data-testid="computed-units">
      minimum {units(p.min_proc_units)}, desired {units(p.desired_proc_units)}, maximum {units(p.max_proc_units)}
    </Alert>
  );

  return (
    <Modal isOpen variant="large" onClose={onClose} aria-label="Create Partition">
      <Wizard height={560} header={<WizardHeader title="Create Partition" onClose={onClose} closeButtonAriaLabel="Close" />}
        onClose={onClose} onSave={save}>
        <WizardStep name="Name" id="step-name">
          <Form>
            {field('Partition name', name, setName, 'c-name', '1 to 31 letters, digits or . _ - + #')}
            {field('Partition ID', id, setId, 'c-id', 'Empty: the lowest free ID')}
          </Form>
        </WizardStep>
        <WizardStep name="Memory" id="step-memory">
          {available}
          {refusal}
          {capacityAfter}
          <Form>
            <FormGroup role="radiogroup" label="Memory mode" fieldId="c-mem-mode">
              <Radio id="c-mem-ded" name="mem-mode" label="Dedicated (physical memory committed to the partition)" isChecked={memMode === 'ded'} onChange={() => setMemMode('ded')} />
              <Radio id="c-mem-shared" name="mem-mode" label="Shared (logical memory from the shared memory pool, with a paging device)" isChecked={memMode === 'shared'} onChange={() => setMemMode('shared')} />
            </FormGroup>
            {memMode === 'shared' && field('Memory weight (0 to 255)', memWeight, setMemWeight, 'c-mem-weight', 'Its share of the pool against the other shared-memory partitions')}
            {field('Desired memory (MB)', mem.desired, (v) => setMem({ ...mem, desired: v }), 'c-mem',
              memMode === 'shared' ? 'Logical memory; the pool lends physical memory, the paging device holds the rest' : 'Committed at creation; a multiple of the region size')}
            {field('Minimum memory (MB)', mem.min, (v) => setMem({ ...mem, min: v }), 'c-mem-min', 'Empty: the desired value')}
            {field('Maximum memory (MB)', mem.max, (v) => setMem({ ...mem, max: v }), 'c-mem-max', 'What DLPAR may add up to; empty: the desired value')}
          </Form>
        </WizardStep>
        <WizardStep name="Processors" id="step-procs">
          {available}
          {refusal}
          {computedUnits}
          {capacityAfter}
          <Form>
            <FormGroup role="radiogroup" label="Processor mode" fieldId="c-mode">
              <Radio id="c-shared" name="mode" label="Shared (virtual processors from the shared pool)" isChecked={mode === 'shared'} onChange={() => setMode('shared')} />
              <Radio id="c-ded" name="mode" label="Dedicated (whole processors)" isChecked={mode === 'ded'} onChange={() => setMode('ded')} />
            </FormGroup>
            {field(mode === 'shared' ? 'Virtual processors' : 'Processors', procs.desired, (v) => setProcs({ ...procs, desired: v }), 'c-procs')}
            {field('Minimum', procs.min, (v) => setProcs({ ...procs, min: v }), 'c-procs-min', 'Empty: the desired value')}
            {field('Maximum', procs.max, (v) => setProcs({ ...procs, max: v }), 'c-procs-max', 'Empty: the desired value')}
            {mode === 'shared' && <>
              {field('Desired processing units (optional)', unitsIn.desired, (v) => setUnitsIn({ ...unitsIn, desired: v }), 'c-units', 'Empty: 0.10 per virtual processor')}
              {field('Maximum processing units (optional)', unitsIn.max, (v) => setUnitsIn({ ...unitsIn, max: v }), 'c-units-max', 'Empty: 1.00 per virtual processor')}
              <Switch id="c-capped" label="Capped (never more than its units)" isChecked={capped} onChange={(_e, v) => setCapped(v)} />
              {!capped && field('Uncapped weight (0 to 255)', weight, setWeight, 'c-weight')}
            </>}
          </Form>
        </WizardStep>
        <WizardStep name="Boot" id="step-boot">
          <Form>
            {field('Kernel (direct kernel boot, optional)', boot.kernel, (v) => setBoot({ ...boot, kernel: v }), 'c-kernel', 'A file in the boot directory (boot/ in the data directory), by name')}
            {field('Initial ramdisk', boot.initrd, (v) => setBoot({ ...boot, initrd: v }), 'c-initrd')}
            {field('Kernel command line', boot.args, (v) => setBoot({ ...boot, args: v }), 'c-args')}
            <FormGroup role="radiogroup" label="Firmware" fieldId="c-firmware">
              <Radio id="c-fw-bios" name="firmware" label="BIOS" isChecked={firmware === 'bios'} onChange={() => setFirmware('bios')} />
              <Radio id="c-fw-uefi" name="firmware" label="UEFI (OVMF, with the partition's own variables)" isChecked={firmware === 'uefi'} onChange={() => setFirmware('uefi')} />
            </FormGroup>
            <FormGroup role="radiogroup" label="Display" fieldId="c-display">
              <Radio id="c-disp-none" name="display" label="None (serial terminal only)" isChecked={display === 'none'} onChange={() => setDisplay('none')} />
              <Radio id="c-disp-vga" name="display" label="Standard VGA" isChecked={display === 'vga'} onChange={() => setDisplay('vga')} />
              <Radio id="c-disp-virtio" name="display" label="virtio-gpu" isChecked={display === 'virtio-gpu'} onChange={() => setDisplay('virtio-gpu')} />
            </FormGroup>
          </Form>
        </WizardStep>
        <WizardStep name="Storage" id="step-storage">
          <Form>
            <FormGroup role="radiogroup" label="Virtual disk" fieldId="c-disk">
              <Radio id="c-disk-none" name="disk" label="None" isChecked={disk.kind === 'none'} onChange={() => setDisk({ ...disk, kind: 'none' })} />
              <Radio id="c-disk-existing" name="disk" label="Assign an existing virtual disk" isChecked={disk.kind === 'existing'}
                isDisabled={freeDisks.length === 0} onChange={() => setDisk({ ...disk, kind: 'existing', existing: disk.existing || freeDisks[0]?.name || '' })} />
              <Radio id="c-disk-new" name="disk" label="Create a virtual disk" isChecked={disk.kind === 'new'} onChange={() => setDisk({ ...disk, kind: 'new' })} />
              <Radio id="c-disk-image" name="disk" label="Import a disk image (raw or qcow2)" isChecked={disk.kind === 'image'} onChange={() => setDisk({ ...disk, kind: 'image' })} />
            </FormGroup>
            {disk.kind === 'existing' && <FormGroup label="Existing virtual disk" fieldId="c-disk-pick">
              <FormSelect id="c-disk-pick" value={disk.existing} onChange={(_e, v) => setDisk({ ...disk, existing: v })}>
                {freeDisks.map((d) => <FormSelectOption key={d.name} value={d.name} label={`${d.name} (${d.size_mb} MB, ${d.pool})`} />)}
              </FormSelect></FormGroup>}
            {disk.kind === 'new' && <>
              {field('New disk name', disk.name, (v) => setDisk({ ...disk, name: v }), 'c-disk-name')}
              {field('New disk size (MB)', disk.size, (v) => setDisk({ ...disk, size: v }), 'c-disk-size', 'From the default storage pool')}
            </>}
            {disk.kind === 'image' && <>
              {field('New disk name', disk.name, (v) => setDisk({ ...disk, name: v }), 'c-image-disk')}
              {field('Image file', disk.image, (v) => setDisk({ ...disk, image: v }), 'c-image-file',
                'A file in the boot directory or a file pool, by name; the disk takes its size, from the default storage pool')}
            </>}
            <FormGroup label="Optical media" fieldId="c-media">
              <FormSelect id="c-media" value={media} onChange={(_e, v) => setMedia(v)} isDisabled={!storage?.repository}>
                <FormSelectOption value="" label={storage?.repository ? '(none)' : '(no media library)'} />
                {(storage?.media ?? []).map((m) => <FormSelectOption key={m.name} value={m.name} label={`${m.name} (${m.access})`} />)}
              </FormSelect></FormGroup>
          </Form>
        </WizardStep>
        <WizardStep name="Ethernet" id="step-ethernet">
          <Form>
            {field('Adapter in slot 3: virtual Ethernet ID', eth.a, (v) => setEth({ ...eth, a: v }), 'c-eth-a', 'Empty: no adapter in this slot')}
            {field('Adapter in slot 4: virtual Ethernet ID', eth.b, (v) => setEth({ ...eth, b: v }), 'c-eth-b',
              'Adapters on one ID reach each other; a virtual Ethernet bridge joins an ID to a physical network')}
          </Form>
        </WizardStep>
        <WizardStep name="cloud-init" id="step-cloud-init">
          <Form>
            {field('Hostname', seed.hostname, (v) => setSeed({ ...seed, hostname: v }), 'c-ci-host',
              'Optional: a NoCloud seed (an optical device labelled cidata) is given to the partition at each activation')}
            <FormGroup label="User data" fieldId="c-ci-user">
              <TextArea id="c-ci-user" value={seed.user_data} onChange={(_e, v) => setSeed({ ...seed, user_data: v })}
                placeholder={'#cloud-config\nssh_authorized_keys:\n  - ssh-ed25519 AAAA...'} rows={6} resizeOrientation="vertical" />
            </FormGroup>
            <FormGroup label="Network configuration" fieldId="c-ci-net">
              <TextArea id="c-ci-net" value={seed.network_config} onChange={(_e, v) => setSeed({ ...seed, network_config: v })}
                placeholder="version: 2 (empty: cloud-init's default)" rows={3} resizeOrientation="vertical" />
            </FormGroup>
          </Form>
        </WizardStep>
        <WizardStep name="Summary" id="step-summary" footer={{ nextButtonText: 'Create' }}>
          {error && <Alert variant="danger" isInline title="The partition was not created" data-testid="create-error">{error}</Alert>}
          {!error && refusal}
          {computedUnits}
          {capacityAfter}
          <DescriptionList isHorizontal>
            {[...Object.entries(spec), ...(hasSeed ? [['cloud-init hostname', seed.hostname || '(the partition name)']] : [])].map(([k, v]) => (
              <DescriptionListGroup key={k}><DescriptionListTerm>{k}</DescriptionListTerm>
                <DescriptionListDescription>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</DescriptionListDescription></DescriptionListGroup>
            ))}
          </DescriptionList>
        </WizardStep>
      </Wizard>
    </Modal>
  );
}
