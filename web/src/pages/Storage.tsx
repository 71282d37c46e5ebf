// View/Modify Virtual Storage: virtual disks, storage pools, physical volumes and optical
// devices (the media library). Every figure comes from the server; every change is an API call.
import { useCallback, useEffect, useState } from 'react';
import {
  Alert, Button, Checkbox, DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm,
  FileUpload, Form, FormGroup, FormSelect, FormSelectOption, PageSection, Progress, Tab, Tabs, TextInput, Title,
  Toolbar, ToolbarContent, ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api, uploadMedia, type StorageView } from '../api';
import type { Live } from '../live';

export function Storage({ live, canModify }: { live: Live; canModify: boolean }) {
  const [view, setView] = useState<StorageView | null>(null);
  const [tab, setTab] = useState<string | number>('disks');
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => { api.storage().then(setView, (e) => setError(e.message)); }, []);
  useEffect(reload, [reload]);
  const act = (p: Promise<unknown>) => p.then(() => { setError(null); reload(); }, (e) => { setError(e.message); reload(); });
  const lparName = (id: number) => live.partitions?.find((p) => p.lpar_id === id)?.name ?? `ID ${id}`;
  const adapterLabel = (vhost: number) => {
    const a = view?.adapters.find((x) => x.vhost === vhost);
    return a ? `${lparName(a.lpar_id)} (vhost${vhost})` : `vhost${vhost}`;
  };
  if (!view) return <PageSection><Title headingLevel="h1">View/Modify Virtual Storage</Title>{error && <Alert variant="danger" isInline title={error} />}</PageSection>;
  return (
    <PageSection>
      <Title headingLevel="h1">View/Modify Virtual Storage</Title>
      {error && <Alert variant="danger" isInline title={error} data-testid="storage-error" />}
      <Tabs activeKey={tab} onSelect={(_e, k) => { setTab(k); reload(); }} aria-label="Virtual storage">
        <Tab eventKey="disks" title="Virtual Disks">
          <Disks view={view} canModify={canModify} act={act} adapterLabel={adapterLabel} />
        </Tab>
        <Tab eventKey="pools" title="Storage Pools">
          <Table aria-label="Storage pools" variant="compact">
            <Thead><Tr><Th>Name</Th><Th>Type</Th><Th>Size (MB)</Th><Th>Free (MB)</Th><Th>Default</Th><Th>Where</Th></Tr></Thead>
            <Tbody>{view.pools.map((p) => (
              <Tr key={p.name} data-testid={`pool-${p.name}`}>
                <Td dataLabel="Name">{p.name}</Td><Td dataLabel="Type">{p.kind}{p.thin ? ' (thin)' : ''}</Td>
                <Td dataLabel="Size (MB)">{p.size_mb}</Td>
                <Td dataLabel="Free (MB)">{view.pools_free_mb.find((f) => f.pool === p.name)?.free_mb ?? ''}</Td>
                <Td dataLabel="Default">{p.default ? 'yes' : ''}</Td><Td dataLabel="Where">{p.path}</Td>
              </Tr>))}
            </Tbody>
          </Table>
        </Tab>
        <Tab eventKey="pvs" title="Physical Volumes">
          <Table aria-label="Physical volumes" variant="compact">
            <Thead><Tr><Th>Name</Th><Th>Device</Th><Th>Size (MB)</Th><Th>PVID</Th><Th>Used by</Th></Tr></Thead>
            <Tbody>{view.hdisks.filter((h) => h.present).map((h) => {
              const pool = view.members.find((m) => m.hdisk === h.name)?.pool;
              const m = view.mappings.find((x) => x.kind === 'disk' && x.backing === h.name);
              return (
                <Tr key={h.name}>
                  <Td dataLabel="Name">{h.name}</Td><Td dataLabel="Device">{h.device}</Td><Td dataLabel="Size (MB)">{h.size_mb}</Td>
                  <Td dataLabel="PVID">{h.pvid}</Td>
                  <Td dataLabel="Used by">{pool ? `pool ${pool}` : m ? `${adapterLabel(m.vhost)} as ${m.vtd}`
                    : view.paging_pvs?.includes(h.name) ? 'paging device (shared memory pool)'
                    : view.free_hdisks?.includes(h.name) ? 'free' : ''}</Td>
                </Tr>);
            })}</Tbody>
          </Table>
        </Tab>
        <Tab eventKey="optical" title="Optical Devices">
          <Optical view={view} canModify={canModify} act={act} adapterLabel={adapterLabel} reload={reload} setError={setError} />
        </Tab>
      </Tabs>
    </PageSection>
  );
}

type Act = (p: Promise<unknown>) => void;

function Disks({ view, canModify, act, adapterLabel }: { view: StorageView; canModify: boolean; act: Act; adapterLabel: (v: number) => string }) {
  const [draft, setDraft] = useState({ name: '', pool: '', size: '', vadapter: '' });
  const [assign, setAssign] = useState<Record<string, string>>({});
  // The library's own disk is not one for partitions; the server says which it is.
  const disks = view.disks.filter((d) => d.name !== view.repository?.disk);
  return (
    <>
      {canModify && (
        <Form isHorizontal onSubmit={(e) => { e.preventDefault(); act(api.createDisk(draft.name, draft.pool || null, Number(draft.size), draft.vadapter || null)); }}>
          <Toolbar><ToolbarContent>
            <ToolbarItem><FormGroup label="Virtual disk name" fieldId="d-name"><TextInput id="d-name" value={draft.name} onChange={(_e, v) => setDraft({ ...draft, name: v })} /></FormGroup></ToolbarItem>
            <ToolbarItem><FormGroup label="Storage pool" fieldId="d-pool"><FormSelect id="d-pool" value={draft.pool} onChange={(_e, v) => setDraft({ ...draft, pool: v })}>
              <FormSelectOption value="" label="(default pool)" />
              {view.pools.map((p) => <FormSelectOption key={p.name} value={p.name} label={p.name} />)}</FormSelect></FormGroup></ToolbarItem>
            <ToolbarItem><FormGroup label="Size (MB)" fieldId="d-size"><TextInput id="d-size" value={draft.size} onChange={(_e, v) => setDraft({ ...draft, size: v })} /></FormGroup></ToolbarItem>
            <ToolbarItem><FormGroup label="Assign to" fieldId="d-assign"><FormSelect id="d-assign" value={draft.vadapter} onChange={(_e, v) => setDraft({ ...draft, vadapter: v })}>
              <FormSelectOption value="" label="(none)" />
              {view.adapters.map((a) => <FormSelectOption key={a.vhost} value={`vhost${a.vhost}`} label={adapterLabel(a.vhost)} />)}</FormSelect></FormGroup></ToolbarItem>
            <ToolbarItem><Button type="submit">Create virtual disk</Button></ToolbarItem>
          </ToolbarContent></Toolbar>
        </Form>
      )}
      <Table aria-label="Virtual disks" variant="compact">
        <Thead><Tr><Th>Name</Th><Th>Pool</Th><Th>Size (MB)</Th><Th>Assigned to</Th><Th screenReaderText="Actions" /></Tr></Thead>
        <Tbody>{disks.map((d) => {
          const m = view.mappings.find((x) => x.kind === 'lv' && x.backing === d.name);
          return (
            <Tr key={d.name} data-testid={`disk-${d.name}`}>
              <Td dataLabel="Name">{d.name}</Td><Td dataLabel="Pool">{d.pool}</Td><Td dataLabel="Size (MB)">{d.size_mb}</Td>
              <Td dataLabel="Assigned to" data-testid="assigned">{m ? `${adapterLabel(m.vhost)} as ${m.vtd}` : ''}</Td>
              <Td dataLabel="Actions">{canModify && (m
                ? <Button variant="secondary" onClick={() => act(api.unmap(m.vtd))}>Unassign</Button>
                : <>
                  <FormSelect aria-label={`Assign ${d.name}`} value={assign[d.name] ?? ''} onChange={(_e, v) => setAssign({ ...assign, [d.name]: v })} style={{ display: 'inline-block', width: 'auto' }}>
                    <FormSelectOption value="" label="(partition)" />
                    {view.adapters.map((a) => <FormSelectOption key={a.vhost} value={`vhost${a.vhost}`} label={adapterLabel(a.vhost)} />)}
                  </FormSelect>{' '}
                  <Button variant="secondary" isDisabled={!assign[d.name]} onClick={() => act(api.map(d.name, assign[d.name]))}>Assign</Button>{' '}
                  <Button variant="danger" onClick={() => act(api.removeDisk(d.name))}>Delete</Button>
                </>)}</Td>
            </Tr>);
        })}</Tbody>
      </Table>
    </>
  );
}

function Optical({ view, canModify, act, adapterLabel, reload, setError }: {
  view: StorageView; canModify: boolean; act: Act; adapterLabel: (v: number) => string; reload: () => void; setError: (e: string | null) => void;
}) {
  const [repoSize, setRepoSize] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [readOnly, setReadOnly] = useState(true);
  const [progress, setProgress] = useState<number | null>(null);
  const [newFor, setNewFor] = useState('');
  const [loadChoice, setLoadChoice] = useState<Record<string, string>>({});
  const repo = view.repository;
  const upload = () => {
    if (!file) return;
    setProgress(0);
    uploadMedia(name, file, readOnly, (f) => setProgress(Math.round(f * 100)))
      .then(() => { setError(null); setFile(null); setName(''); }, (e) => setError(e.message))
      .finally(() => { setProgress(null); reload(); });
  };
  return (
    <>
      {!repo ? (
        <>
          <Alert variant="info" isInline title="There is no virtual media library yet." />
          {canModify && <Form isHorizontal onSubmit={(e) => { e.preventDefault(); act(api.createRepository(null, Number(repoSize))); }}>
            <Toolbar><ToolbarContent>
              <ToolbarItem><FormGroup label="Library size (MB)" fieldId="r-size"><TextInput id="r-size" value={repoSize} onChange={(_e, v) => setRepoSize(v)} /></FormGroup></ToolbarItem>
              <ToolbarItem><Button type="submit">Create library</Button></ToolbarItem>
            </ToolbarContent></Toolbar>
          </Form>}
        </>
      ) : (
        <>
          <DescriptionList isHorizontal isCompact data-testid="repository">
            <DescriptionListGroup><DescriptionListTerm>Media library</DescriptionListTerm>
              <DescriptionListDescription>{repo.size_mb} MB in pool {repo.pool}, {repo.free_mb} MB free</DescriptionListDescription></DescriptionListGroup>
          </DescriptionList>
          {canModify && (
            <Toolbar><ToolbarContent>
              <ToolbarItem><FileUpload id="m-file" filename={file?.name ?? ''} browseButtonText="Choose ISO" hideDefaultPreview
                onFileInputChange={(_e, f) => { setFile(f); setName(f.name); }} onClearClick={() => { setFile(null); setName(''); }} /></ToolbarItem>
              <ToolbarItem><FormGroup label="Media name" fieldId="m-name"><TextInput id="m-name" value={name} onChange={(_e, v) => setName(v)} /></FormGroup></ToolbarItem>
              <ToolbarItem><Checkbox id="m-ro" label="Read-only" isChecked={readOnly} onChange={(_e, v) => setReadOnly(v)} /></ToolbarItem>
              <ToolbarItem><Button isDisabled={!file || !name || progress !== null} onClick={upload}>Upload</Button></ToolbarItem>
              {progress !== null && <ToolbarItem style={{ minWidth: '15rem' }}><Progress value={progress} title="Uploading" data-testid="upload-progress" /></ToolbarItem>}
            </ToolbarContent></Toolbar>
          )}
          <Table aria-label="Optical media" variant="compact">
            <Thead><Tr><Th>Media</Th><Th>Size (MB)</Th><Th>Access</Th><Th>Loaded in</Th><Th screenReaderText="Actions" /></Tr></Thead>
            <Tbody>{view.media.map((m) => (
              <Tr key={m.name} data-testid={`media-${m.name}`}>
                <Td dataLabel="Media">{m.name}</Td><Td dataLabel="Size (MB)">{m.size_mb}</Td><Td dataLabel="Access">{m.access}</Td>
                <Td dataLabel="Loaded in">{view.optical.filter((o) => o.media === m.name).map((o) => o.vtd).join(', ')}</Td>
                <Td dataLabel="Actions">{canModify && <Button variant="danger" onClick={() => act(api.removeMedia(m.name))}>Delete</Button>}</Td>
              </Tr>))}
            </Tbody>
          </Table>
        </>
      )}
      {canModify && (
        <Toolbar><ToolbarContent>
          <ToolbarItem><FormSelect aria-label="Partition for a new optical device" value={newFor} onChange={(_e, v) => setNewFor(v)}>
            <FormSelectOption value="" label="(partition)" />
            {view.adapters.map((a) => <FormSelectOption key={a.vhost} value={`vhost${a.vhost}`} label={adapterLabel(a.vhost)} />)}
          </FormSelect></ToolbarItem>
          <ToolbarItem><Button variant="secondary" isDisabled={!newFor} onClick={() => act(api.createOptical(newFor))}>Create optical device</Button></ToolbarItem>
        </ToolbarContent></Toolbar>
      )}
      <Table aria-label="Optical devices" variant="compact">
        <Thead><Tr><Th>Device</Th><Th>Partition</Th><Th>Media</Th><Th screenReaderText="Actions" /></Tr></Thead>
        <Tbody>{view.optical.map((o) => (
          <Tr key={o.vtd} data-testid={`optical-${o.vtd}`}>
            <Td dataLabel="Device">{o.vtd}</Td><Td dataLabel="Partition">{adapterLabel(o.vhost)}</Td>
            <Td dataLabel="Media" data-testid="loaded">{o.media ?? 'No Media'}</Td>
            <Td dataLabel="Actions">{canModify && <>
              <FormSelect aria-label={`Media for ${o.vtd}`} value={loadChoice[o.vtd] ?? ''} onChange={(_e, v) => setLoadChoice({ ...loadChoice, [o.vtd]: v })} style={{ display: 'inline-block', width: 'auto' }}>
                <FormSelectOption value="" label="(media)" />
                {view.media.map((m) => <FormSelectOption key={m.name} value={m.name} label={m.name} />)}
              </FormSelect>{' '}
              <Button variant="secondary" isDisabled={!loadChoice[o.vtd]} onClick={() => act(api.load(o.vtd, loadChoice[o.vtd]))}>Load</Button>{' '}
              <Button variant="secondary" isDisabled={!o.media} onClick={() => act(api.unload(o.vtd))}>Unload</Button>{' '}
              <Button variant="danger" onClick={() => act(api.unmap(o.vtd))}>Remove</Button>
            </>}</Td>
          </Tr>))}
        </Tbody>
      </Table>
    </>
  );
}
