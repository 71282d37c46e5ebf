// Loads the partitions page and prints the time until the table is interactive (every row
// rendered, a row's checkbox answers a click). Figures, not asserts: `npm run bench` (after
// cargo build) with 1,000 partitions defined; `PAGE_BENCH_RUNNING=40 npm run bench` with 40
// tiny test guests (64 MB, TCG where KVM is slower), measured before they run and again with
// all of them running (activated at once).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startDaemon, launchBrowser, newPage, login, IVM } from '../tests/helpers.mjs';

const RUNNING = Number(process.env.PAGE_BENCH_RUNNING ?? 0);
const PARTITIONS = RUNNING || 1000;
const RUNS = 5;
const settings = RUNNING
  ? `shutdown_delay_secs = 3\nmem_region_size = 64\ninstalled_procs = ${Math.floor(RUNNING / 8) + 2}\nmax_lpars = ${RUNNING + 8}\n`
  : 'installed_procs = 128\ninstalled_mem = 1048576\nmax_lpars = 1100\n';
const tiny = 'desired_procs=1,desired_proc_units=0.1,max_proc_units=0.5,min_mem=64,desired_mem=64,max_mem=128,'
  + 'virtual_eth_adapters=none,boot_kernel=vmlinuz,boot_initrd=initramfs,"boot_args=console=ttyS0 quiet"';

/** The host's busy and total CPU ticks since boot (`/proc/stat`). */
function cpuTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Loads the page RUNS times; the load times in ms. */
async function loads(page, url) {
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    await page.goto(`${url}/#/partitions`);
    await page.reload();
    const rows = page.getByTestId('partitions').locator('tbody tr');
    // Past 100 partitions the table shows its first page of 100, the pagination the total.
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="partitions"] tbody tr').length === Math.min(n, 100)
      && (n <= 100 || document.querySelector('[data-testid="pagination"]')?.textContent?.includes(String(n))), PARTITIONS + 1, { timeout: 60_000 });
    const box = rows.last().getByRole('checkbox');
    await box.check();
    times.push(performance.now() - start);
    await box.uncheck();
  }
  return times;
}

const s = (ms) => (ms / 1000).toFixed(2);
const daemon = await startDaemon(settings);
const browser = await launchBrowser(daemon);
try {
  for (let i = 0; i < PARTITIONS; i++) {
    const name = RUNNING ? `tiny${i}` : `p${String(i).padStart(4, '0')}`;
    daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', `name=${name},${RUNNING ? tiny : 'desired_procs=1,desired_mem=256'}`]);
  }
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  const idle = await loads(page, daemon.url);
  console.log(`partitions defined:                      ${PARTITIONS} (+ management partition)`);
  console.log(`partitions page to interactive, median:  ${s(median(idle))} s over ${RUNS} loads (min ${s(Math.min(...idle))} s, max ${s(Math.max(...idle))} s)`);
  if (RUNNING) {
    const run = promisify(execFile);
    const env = { ...process.env, IVM_DATA_DIR: daemon.dataDir };
    const t = performance.now();
    const results = await Promise.allSettled(Array.from({ length: RUNNING }, (_, i) => run(IVM, ['chsysstate', '-r', 'lpar', '-o', 'on', '-n', `tiny${i}`], { env })));
    const refused = results.filter((r) => r.status === 'rejected').length;
    console.log(`activated ${RUNNING} at once in ${s(performance.now() - t)} s (${refused} refused)`);
    // The guests boot under TCG; the page is measured once they have settled.
    await new Promise((ok) => setTimeout(ok, 60_000));
    const states = daemon.ivm(['lssyscfg', '-r', 'lpar', '-F', 'state']).split('\n').filter((x) => x === 'Running').length;
    const before = cpuTicks();
    await new Promise((ok) => setTimeout(ok, 10_000));
    const after = cpuTicks();
    const load = (100 * (after.busy - before.busy)) / (after.total - before.total);
    console.log(`host CPU busy while they idle:           ${load.toFixed(0)}% of all cores (the guests' TCG timers and the page's rendering share them)`);
    const busy = await loads(page, daemon.url);
    console.log(`running now:                             ${states - 1} (+ management partition)`);
    console.log(`partitions page to interactive, median:  ${s(median(busy))} s with them running (min ${s(Math.min(...busy))} s, max ${s(Math.max(...busy))} s); ${(median(busy) / median(idle)).toFixed(2)}x not running`);
  }
  if (page.errors.length) console.log(`browser errors: ${page.errors.join('; ')}`);
} finally {
  await browser.close();
  daemon.stop();
}
