// Live state from the server-sent-events stream: partitions, totals and tasks as they change.
import { useEffect, useState } from 'react';
import type { Partition, Summary, Task } from './api';

export interface Live { partitions: Partition[] | null; summary: Summary | null; tasks: Task[] | null }

export function useLive(onExpired: () => void): Live {
  const [live, setLive] = useState<Live>({ partitions: null, summary: null, tasks: null });
  useEffect(() => {
    const es = new EventSource('/api/v1/events');
    es.addEventListener('partitions', (e) => setLive((l) => ({ ...l, partitions: JSON.parse((e as MessageEvent).data) })));
    es.addEventListener('summary', (e) => setLive((l) => ({ ...l, summary: JSON.parse((e as MessageEvent).data) })));
    es.addEventListener('tasks', (e) => setLive((l) => ({ ...l, tasks: JSON.parse((e as MessageEvent).data) })));
    es.addEventListener('expired', () => { es.close(); onExpired(); });
    return () => es.close();
  }, [onExpired]);
  return live;
}
