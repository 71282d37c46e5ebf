// Task Monitor: the task log, newest first, live.
import { Label, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import type { Live } from '../live';

const time = (ms: number) => new Date(ms).toLocaleString();

export function Tasks({ live }: { live: Live }) {
  return (
    <PageSection>
      <Title headingLevel="h1">Task Monitor</Title>
      <Table aria-label="Tasks" variant="compact" data-testid="tasks">
        <Thead><Tr><Th>Task</Th><Th>User</Th><Th>Target</Th><Th>Started</Th><Th>Duration</Th><Th>Result</Th><Th>Message</Th></Tr></Thead>
        <Tbody>
          {(live.tasks ?? []).map((t) => (
            <Tr key={t.id}>
              <Td dataLabel="Task">{t.operation}</Td>
              <Td dataLabel="User">{t.user}</Td>
              <Td dataLabel="Target">{t.target}</Td>
              <Td dataLabel="Started">{time(t.started_ms)}</Td>
              <Td dataLabel="Duration">{t.finished_ms ? `${((t.finished_ms - t.started_ms) / 1000).toFixed(1)} s` : ''}</Td>
              <Td dataLabel="Result"><Label color={t.result === 'failed' ? 'red' : t.result === 'running' ? 'blue' : 'green'}>{t.result}{t.result === 'running' && t.progress !== null ? ` ${t.progress}%` : ''}</Label></Td>
              <Td dataLabel="Message">{t.message}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </PageSection>
  );
}
