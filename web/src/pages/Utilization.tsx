// Utilization: entitled against used processing units and assigned against resident memory,
// for the system or one partition, over the last hour or day. The points are the server's
// (GET /utilization/series): the console only draws them.
import { useEffect, useState } from 'react';
import {
  DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, EmptyState, EmptyStateBody,
  FormSelect, FormSelectOption, PageSection, Title, ToggleGroup, ToggleGroupItem, Toolbar, ToolbarContent, ToolbarItem,
} from '@patternfly/react-core';
import { Chart, ChartArea, ChartAxis, ChartGroup, ChartLine, ChartVoronoiContainer } from '@patternfly/react-charts/victory';
import { api, units, type UtilConfig, type UtilPoint } from '../api';
import type { Live } from '../live';

const RANGES = { hour: 3_600_000, day: 86_400_000 } as const;

const pad = (n: number) => String(n).padStart(2, '0');

/** A time at the resolution a span of `span` ms needs: seconds under ten minutes, dates past
 * a day. */
function clock(ms: number, span: number): string {
  const d = new Date(ms);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (span < 600_000) return `${hm}:${pad(d.getSeconds())}`;
  if (span <= RANGES.day) return hm;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/** Up to six times spread over the samples shown, labelled at the resolution their span
 * needs, none repeating its neighbour's label (a few seconds of samples in the "Last day"
 * view read 15:32 six times before). */
function timeTicks(times: number[]): { values: number[]; label: (t: number) => string } {
  if (times.length === 0) return { values: [], label: (t) => clock(t, 0) };
  const from = times[0];
  const span = times[times.length - 1] - from;
  const label = (t: number) => clock(t, span);
  const values: number[] = [];
  for (let i = 0; i <= 5; i++) {
    const t = from + (span * i) / 5;
    if (values.length === 0 || label(values[values.length - 1]) !== label(t)) values.push(t);
  }
  return { values, label };
}

export function Utilization({ live, lpar }: { live: Live; lpar: number | null }) {
  const [range, setRange] = useState<keyof typeof RANGES>('hour');
  const [points, setPoints] = useState<UtilPoint[] | null>(null);
  const [config, setConfig] = useState<UtilConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { api.utilConfig().then(setConfig, () => {}); }, []);
  // Asked again at the sample rate (at least every 5 s) so new samples appear.
  useEffect(() => {
    let stop = false;
    const load = () => api.utilSeries(lpar, Date.now() - RANGES[range]).then(
      (p) => { if (!stop) { setPoints(p); setError(null); } },
      (e) => { if (!stop) setError((e as Error).message); });
    load();
    const every = Math.max(5, Math.min(config?.sample_rate || 30, 60)) * 1000;
    const t = setInterval(load, every);
    return () => { stop = true; clearInterval(t); };
  }, [lpar, range, config]);
  const go = (v: string) => { window.location.hash = v === 'sys' ? '#/utilization' : `#/utilization/${v}`; };
  const name = lpar === null ? 'the system' : live.partitions?.find((p) => p.lpar_id === lpar)?.name ?? `partition ${lpar}`;
  const last = points && points.length > 0 ? points[points.length - 1] : null;
  const entitled = (points ?? []).map((p) => ({ x: p.time_ms, y: p.entitled_units, name: 'Entitled' }));
  const used = (points ?? []).map((p) => ({ x: p.time_ms, y: p.used_units, name: 'Used' }));
  const memAssigned = (points ?? []).map((p) => ({ x: p.time_ms, y: p.curr_mem, name: 'Assigned' }));
  const memResident = (points ?? []).map((p) => ({ x: p.time_ms, y: p.mem_resident, name: 'Resident' }));
  const ticks = timeTicks((points ?? []).map((p) => p.time_ms));
  const chart = (testid: string, title: string, unit: string, a: typeof entitled, b: typeof entitled, legend: string[]) => (
    <div data-testid={testid} data-points={a.length} style={{ height: 260, maxWidth: 900 }}>
      <Chart ariaTitle={title} height={260} width={900} padding={{ bottom: 50, left: 70, right: 150, top: 20 }}
        legendData={legend.map((n) => ({ name: n }))} legendOrientation="vertical" legendPosition="right"
        containerComponent={<ChartVoronoiContainer labels={({ datum }) => `${datum.name}: ${Number(datum.y).toFixed(2)} ${unit}`} constrainToVisibleArea />}
        scale={{ x: 'time', y: 'linear' }} minDomain={{ y: 0 }}>
        <ChartAxis tickValues={ticks.values} tickFormat={ticks.label} />
        <ChartAxis dependentAxis showGrid />
        <ChartGroup>
          <ChartLine data={a} />
          <ChartArea data={b} />
        </ChartGroup>
      </Chart>
    </div>
  );
  return (
    <PageSection>
      <Title headingLevel="h1">Utilization of {name}</Title>
      <Toolbar><ToolbarContent>
        <ToolbarItem>
          <FormSelect aria-label="Show" value={lpar === null ? 'sys' : String(lpar)} onChange={(_e, v) => go(v)}>
            <FormSelectOption value="sys" label="The system (all partitions)" />
            {(live.partitions ?? []).map((p) => <FormSelectOption key={p.lpar_id} value={String(p.lpar_id)} label={`${p.name} (ID ${p.lpar_id})`} />)}
          </FormSelect>
        </ToolbarItem>
        <ToolbarItem>
          <ToggleGroup aria-label="Period">
            <ToggleGroupItem text="Last hour" isSelected={range === 'hour'} onChange={() => setRange('hour')} />
            <ToggleGroupItem text="Last day" isSelected={range === 'day'} onChange={() => setRange('day')} />
          </ToggleGroup>
        </ToolbarItem>
        {config && <ToolbarItem>Sampled every {config.sample_rate} s (0: stopped), kept {Math.round(config.max_age_secs / 86400)} days</ToolbarItem>}
      </ToolbarContent></Toolbar>
      {error && <EmptyState titleText="No utilization data" headingLevel="h2"><EmptyStateBody>{error}</EmptyStateBody></EmptyState>}
      {!error && points && points.length === 0 && (
        <EmptyState titleText="No samples yet" headingLevel="h2" data-testid="util-empty">
          <EmptyStateBody>Samples are taken while partitions run, at the sample rate (chlparutil -r config -s RATE); a chart needs two.</EmptyStateBody>
        </EmptyState>
      )}
      {last && <>
        <DescriptionList isHorizontal data-testid="util-now">
          <DescriptionListGroup><DescriptionListTerm>Entitled processing units</DescriptionListTerm>
            <DescriptionListDescription>{units(Math.round(last.entitled_units * 100) / 100)}</DescriptionListDescription></DescriptionListGroup>
          <DescriptionListGroup><DescriptionListTerm>Used at the last sample</DescriptionListTerm>
            <DescriptionListDescription>{last.used_units.toFixed(2)} ({last.entitled_units > 0 ? Math.round(100 * last.used_units / last.entitled_units) : 0}% of the entitlement)</DescriptionListDescription></DescriptionListGroup>
          <DescriptionListGroup><DescriptionListTerm>Memory assigned / resident</DescriptionListTerm>
            <DescriptionListDescription>{last.curr_mem} MB / {last.mem_resident} MB</DescriptionListDescription></DescriptionListGroup>
        </DescriptionList>
        <Title headingLevel="h2">Processing units</Title>
        {chart('util-chart', `Processing units of ${name}`, 'units', entitled, used, ['Entitled', 'Used'])}
        <Title headingLevel="h2">Memory</Title>
        {chart('mem-chart', `Memory of ${name}`, 'MB', memAssigned, memResident, ['Assigned', 'Resident'])}
      </>}
    </PageSection>
  );
}
