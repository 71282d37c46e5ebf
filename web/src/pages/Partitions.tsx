// View/Modify Partitions: the system's totals, the partition table (live), and the actions.
import { useMemo, useState, type CSSProperties } from 'react';
import {
  Alert, Button, Flex, FlexItem, Modal, ModalBody, ModalFooter, ModalHeader, PageSection, Progress, Radio,
  SearchInput, Checkbox, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem, Label, Pagination,
} from '@patternfly/react-core';
import { InnerScrollContainer, OuterScrollContainer, Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import { api, units, uptime, type Partition, type Summary } from '../api';
import type { Live } from '../live';
import { CreateWizard } from './CreateWizard';
import { Properties } from './Properties';
import { MigrateDialog } from './Migrate';

/** Half of PatternFly's cell and sort-button side padding, so that the nine columns fit a
 * 1280 px window beside the navigation without clipping. */
const NARROW_CELLS = {
  '--pf-v6-c-table--cell--Padding--base': 'var(--pf-t--global--spacer--sm)',
  '--pf-v6-c-table__button--PaddingInlineStart': 'var(--pf-t--global--spacer--sm)',
  '--pf-v6-c-table__button--PaddingInlineEnd': 'var(--pf-t--global--spacer--sm)',
  '--pf-v6-c-table__sort-indicator--MarginInlineStart': 'var(--pf-t--global--spacer--xs)',
} as CSSProperties;

/** Rows per page once there are more than this many partitions. */
const PAGE = 100;

const COLUMNS = ['ID', 'Name', 'State', 'Uptime', 'Memory (MB)', 'Processors', 'Entitled units', 'Utilized units', 'Reference code'];

function sortKey(p: Partition, col: number): string | number {
  switch (col) {
    case 0: return p.lpar_id;
    case 1: return p.name;
    case 2: return p.state;
    case 3: return p.run?.started_ms ? -p.run.started_ms : 0;
    case 4: return p.run?.mem ?? p.desired_mem;
    case 5: return p.run?.procs ?? p.desired_procs;
    case 6: return p.proc_mode === 'ded' ? p.desired_procs : (p.desired_proc_units ?? 0);
    case 7: return p.run?.utilized_units ?? 0;
    default: return p.ref_code;
  }
}

function stateColor(state: string): 'green' | 'grey' | 'red' | 'blue' | 'orange' {
  if (state === 'Running') return 'green';
  if (state === 'Error') return 'red';
  if (state === 'Not Activated') return 'grey';
  if (state === 'Shutting Down') return 'orange';
  return 'blue';
}

export function SummaryBars({ s }: { s: Summary | null }) {
  if (!s) return null;
  const bar = (title: string, used: number, total: number, label: string) => (
    <FlexItem flex={{ default: 'flex_1' }} style={{ minWidth: 260 }}>
      <Progress title={title} value={total ? (used * 100) / total : 0} label={label} aria-label={title} measureLocation="outside" />
    </FlexItem>
  );
  return (
    <Flex data-testid="summary">
      {bar('Processing units', s.committed_proc_units, s.configurable_proc_units,
        `${units(s.committed_proc_units)} of ${units(s.configurable_proc_units)} committed, ${units(s.available_proc_units)} available (${s.available_procs} whole processor${s.available_procs === 1 ? '' : 's'} of ${s.installed_procs})`)}
      {bar('Memory', s.committed_mem, s.configurable_mem,
        `${s.committed_mem} of ${s.configurable_mem} MB committed, ${s.available_mem} MB available (${s.installed_mem} MB installed)`)}
    </Flex>
  );
}

export function Partitions({ live, canModify, canConsole }: { live: Live; canModify: boolean; canConsole: boolean }) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ col: number; dir: 'asc' | 'desc' }>({ col: 0, dir: 'asc' });
  const [selected, setSelected] = useState<number[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'create' | 'shutdown' | 'delete' | 'properties' | 'migrate' | null>(null);
  const parts = useMemo(() => {
    const f = filter.toLowerCase();
    const rows = (live.partitions ?? []).filter((p) =>
      !f || p.name.toLowerCase().includes(f) || String(p.lpar_id) === f || p.state.toLowerCase().includes(f));
    const k = (p: Partition) => sortKey(p, sort.col);
    rows.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0) * (sort.dir === 'asc' ? 1 : -1));
    return rows;
  }, [live.partitions, filter, sort]);
  // Past PAGE partitions the table pages (PatternFly's Pagination), its header sticky.
  const [pageNo, setPageNo] = useState(1);
  const [perPage, setPerPage] = useState(PAGE);
  const paged = parts.length > PAGE;
  const lastPage = Math.max(1, Math.ceil(parts.length / perPage));
  const shown = paged ? parts.slice((Math.min(pageNo, lastPage) - 1) * perPage, Math.min(pageNo, lastPage) * perPage) : parts;
  const chosen = (live.partitions ?? []).filter((p) => selected.includes(p.lpar_id));
  const clients = chosen.filter((p) => p.lpar_id !== 1);
  const run = async (what: (p: Partition) => Promise<unknown>, among: Partition[]) => {
    setError(null);
    for (const p of among) {
      try { await what(p); } catch (e) { setError(`${p.name}: ${(e as Error).message}`); return; }
    }
  };
  const sortBy = (col: number): ThProps['sort'] => ({
    sortBy: { index: sort.col, direction: sort.dir },
    onSort: (_e, index, direction) => setSort({ col: index, dir: direction }),
    columnIndex: col,
  });
  const one = chosen.length === 1 ? chosen[0] : null;

  return (
    <PageSection>
      <Title headingLevel="h1">View/Modify Partitions</Title>
      <SummaryBars s={live.summary} />
      {error && <Alert variant="danger" isInline title={error} actionClose={<Button variant="plain" onClick={() => setError(null)}>×</Button>} />}
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <SearchInput aria-label="Filter partitions" style={{ width: '10rem' }} value={filter}
              onChange={(_e, v) => setFilter(v)} onClear={() => setFilter('')} />
          </ToolbarItem>
          {/* Small buttons close together: the actions stay on one line in a 1280 px window. */}
          <ToolbarGroup columnGap={{ default: 'columnGapSm' }}>
          {canModify && <>
            <ToolbarItem><Button size="sm" onClick={() => setDialog('create')}>Create Partition</Button></ToolbarItem>
            <ToolbarItem><Button size="sm" variant="secondary" isDisabled={!clients.some((p) => p.state === 'Not Activated' || p.state === 'Error')}
              onClick={() => run((p) => api.activate(p.lpar_id), clients.filter((p) => p.state === 'Not Activated' || p.state === 'Error'))}>Activate</Button></ToolbarItem>
            <ToolbarItem><Button size="sm" variant="secondary" isDisabled={!clients.some((p) => p.run)} onClick={() => setDialog('shutdown')}>Shutdown</Button></ToolbarItem>
            <ToolbarItem><Button size="sm" variant="secondary" isDisabled={clients.length === 0} onClick={() => setDialog('delete')}>Delete</Button></ToolbarItem>
            <ToolbarItem><Button size="sm" variant="secondary" isDisabled={!one || one.lpar_id === 1 || !(one.state === 'Running' || one.state === 'Not Activated' || one.state.startsWith('Migrating'))}
              onClick={() => setDialog('migrate')}>Migrate</Button></ToolbarItem>
          </>}
          <ToolbarItem><Button size="sm" variant="secondary" isDisabled={!one} onClick={() => setDialog('properties')}>Properties</Button></ToolbarItem>
          {canConsole && <ToolbarItem><Button size="sm" variant="secondary" isDisabled={!one || !one.run || one.lpar_id === 1}
            onClick={() => one && window.open(`#/terminal/${one.lpar_id}`, `ivm-terminal-${one.lpar_id}`)}>Open terminal</Button></ToolbarItem>}
          </ToolbarGroup>
          {paged && <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
            <Pagination data-testid="pagination" itemCount={parts.length} perPage={perPage} page={Math.min(pageNo, lastPage)} isCompact
              perPageOptions={[{ title: '100', value: 100 }, { title: '250', value: 250 }, { title: '500', value: 500 }]}
              onSetPage={(_e, n) => setPageNo(n)} onPerPageSelect={(_e, n) => { setPerPage(n); setPageNo(1); }} />
          </ToolbarItem>}
        </ToolbarContent>
      </Toolbar>
      <OuterScrollContainer style={{ maxHeight: paged ? '70vh' : undefined }}><InnerScrollContainer>
      <Table aria-label="Partitions" variant="compact" data-testid="partitions" isStickyHeader style={NARROW_CELLS}>
        <Thead>
          <Tr>
            <Th screenReaderText="Select" />
            {COLUMNS.map((c, i) => <Th key={c} modifier="wrap" sort={sortBy(i)}>{c}</Th>)}
          </Tr>
        </Thead>
        <Tbody>
          {shown.map((p, i) => (
            <Tr key={p.lpar_id} data-testid={`lpar-${p.name}`}>
              <Td select={{ rowIndex: i, isSelected: selected.includes(p.lpar_id),
                onSelect: (_e, on) => setSelected(on ? [...selected, p.lpar_id] : selected.filter((x) => x !== p.lpar_id)) }} />
              <Td dataLabel="ID">{p.lpar_id}</Td>
              <Td dataLabel="Name">{p.name}</Td>
              <Td dataLabel="State"><Label color={stateColor(p.state)} data-testid="state">{p.state}</Label></Td>
              <Td dataLabel="Uptime">{uptime(p)}</Td>
              <Td dataLabel="Memory (MB)">{p.run?.mem ?? p.desired_mem}</Td>
              <Td dataLabel="Processors">{p.run?.procs ?? p.desired_procs}{p.proc_mode === 'ded' ? ' dedicated' : ' virtual'}</Td>
              <Td dataLabel="Entitled units">{p.proc_mode === 'ded' ? units(p.desired_procs) : units(p.desired_proc_units)}</Td>
              <Td dataLabel="Utilized units">{p.run ? units(p.run.utilized_units) : ''}</Td>
              <Td dataLabel="Reference code">{p.ref_code}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      </InnerScrollContainer></OuterScrollContainer>
      {dialog === 'create' && <CreateWizard summary={live.summary} onClose={() => setDialog(null)} />}
      {dialog === 'shutdown' && <ShutdownDialog parts={clients.filter((p) => p.run)} onClose={() => setDialog(null)}
        onDone={(e) => { setDialog(null); if (e) setError(e); }} />}
      {dialog === 'delete' && (
        <Modal isOpen variant="small" onClose={() => setDialog(null)} aria-labelledby="del-title">
          <ModalHeader title="Delete partitions" labelId="del-title" titleIconVariant="warning" />
          <ModalBody>Delete {clients.map((p) => p.name).join(', ')}? Their resources are released; this cannot be undone.</ModalBody>
          <ModalFooter>
            <Button variant="danger" onClick={() => { setDialog(null); run((p) => api.remove(p.lpar_id), clients).then(() => setSelected([])); }}>Delete</Button>
            <Button variant="link" onClick={() => setDialog(null)}>Cancel</Button>
          </ModalFooter>
        </Modal>
      )}
      {dialog === 'migrate' && one && <MigrateDialog partition={one} onClose={() => setDialog(null)} />}
      {dialog === 'properties' && one && <Properties partition={(live.partitions ?? []).find((p) => p.lpar_id === one.lpar_id) ?? one}
        canModify={canModify} onClose={() => setDialog(null)} />}
    </PageSection>
  );
}

function ShutdownDialog({ parts, onClose, onDone }: { parts: Partition[]; onClose: () => void; onDone: (error: string | null) => void }) {
  const [kind, setKind] = useState('osshutdown');
  const [restart, setRestart] = useState(false);
  const go = async () => {
    for (const p of parts) {
      try { await api.shutdown(p.lpar_id, kind, restart); } catch (e) { onDone(`${p.name}: ${(e as Error).message}`); return; }
    }
    onDone(null);
  };
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby="sd-title">
      <ModalHeader title={`Shut down ${parts.map((p) => p.name).join(', ')}`} labelId="sd-title" />
      <ModalBody>
        <Radio id="sd-os" name="kind" label="Operating system shutdown" description="Ask the operating system (ACPI power button)."
          isChecked={kind === 'osshutdown'} onChange={() => setKind('osshutdown')} />
        <Radio id="sd-delayed" name="kind" label="Delayed" description="Ask the operating system, then stop the partition after a delay."
          isChecked={kind === 'shutdown'} onChange={() => setKind('shutdown')} />
        <Radio id="sd-immed" name="kind" label="Immediate" description="Stop the partition at once."
          isChecked={kind === 'immed'} onChange={() => setKind('immed')} />
        <Checkbox id="sd-restart" label="Restart after shutdown" isChecked={restart} onChange={(_e, v) => setRestart(v)} />
      </ModalBody>
      <ModalFooter>
        <Button onClick={go}>OK</Button>
        <Button variant="link" onClick={onClose}>Cancel</Button>
      </ModalFooter>
    </Modal>
  );
}
