// View/Modify System Properties: the managed system, the accelerator, the management share.
import { useEffect, useState } from 'react';
import {
  DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, PageSection, Title, Button,
} from '@patternfly/react-core';
import { api, units, type SystemView } from '../api';
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
      {editing && mgmt && <Properties partition={mgmt} canModify={canModify} onClose={() => setEditing(false)} />}
    </PageSection>
  );
}
