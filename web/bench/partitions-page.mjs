// Loads the partitions page with 1,000 partitions defined and prints the time until the table
// is interactive (every row rendered, a row's checkbox answers a click). Figures, not asserts:
// `npm run bench` (after cargo build).
import { startDaemon, launchBrowser, newPage, login } from '../tests/helpers.mjs';

const PARTITIONS = 1000;
const RUNS = 5;
const settings = 'installed_procs = 128\ninstalled_mem = 1048576\nmax_lpars = 1100\n';

const daemon = await startDaemon(settings);
const browser = await launchBrowser(daemon);
try {
  for (let i = 0; i < PARTITIONS; i++) {
    daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', `name=p${String(i).padStart(4, '0')},desired_procs=1,desired_mem=256`]);
  }
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    await page.goto(`${daemon.url}/#/partitions`);
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
  times.sort((a, b) => a - b);
  console.log(`partitions defined:                      ${PARTITIONS} (+ management partition)`);
  console.log(`partitions page to interactive, median:  ${(times[Math.floor(RUNS / 2)] / 1000).toFixed(2)} s over ${RUNS} loads (min ${(times[0] / 1000).toFixed(2)} s, max ${(times[RUNS - 1] / 1000).toFixed(2)} s)`);
  if (page.errors.length) console.log(`browser errors: ${page.errors.join('; ')}`);
} finally {
  await browser.close();
  daemon.stop();
}
