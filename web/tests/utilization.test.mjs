// The utilization view: the system's and a running partition's charts drawn from the server's
// samples (taken every second here), entitled against used processing units and memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, launchBrowser, newPage, shot, login } from './helpers.mjs';

let daemon, browser;
before(async () => {
  daemon = await startDaemon('shutdown_delay_secs = 3\nutil_sample_secs = 1\n');
  browser = await launchBrowser(daemon);
});
after(async () => {
  try { daemon?.ivm(['chsysstate', '-r', 'lpar', '-o', 'shutdown', '--immed', '-n', 'u1']); } catch { /* not running */ }
  await browser?.close();
  daemon?.stop();
});

/** Waits until the chart `testid` has at least `n` points, with a deadline. */
async function chartWith(page, testid, n) {
  const chart = page.getByTestId(testid);
  await page.waitForFunction(([id, want]) => {
    const el = document.querySelector(`[data-testid="${id}"]`);
    return el && Number(el.dataset.points) >= want && el.querySelectorAll('path').length > 0;
  }, [testid, n], { timeout: 60_000 });
  return chart;
}

test('the utilization view charts samples for the system and a partition', { timeout: 180_000 }, async () => {
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i',
    'name=u1,desired_procs=1,desired_proc_units=0.5,sharing_mode=cap,desired_mem=256,boot_kernel=vmlinuz,boot_initrd=initramfs,"boot_args=console=ttyS0 quiet"']);
  daemon.ivm(['chsysstate', '-r', 'lpar', '-o', 'on', '-n', 'u1']);
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  await page.getByRole('link', { name: 'Utilization' }).click();
  await page.getByRole('heading', { name: 'Utilization of the system' }).waitFor();

  // The system: every partition summed, the management partition (the host) included.
  const sys = await chartWith(page, 'util-chart', 2);
  await chartWith(page, 'mem-chart', 2);
  const now = await page.getByTestId('util-now').textContent();
  assert.match(now, /Entitled processing units/);
  assert.match(now, /Memory assigned \/ resident\d+ MB \/ \d+ MB/);

  // One partition: its entitlement is its 0.5 units, its assigned memory 256 MB.
  await page.getByLabel('Show').selectOption({ label: 'u1 (ID 2)' });
  await page.getByRole('heading', { name: 'Utilization of u1' }).waitFor();
  await chartWith(page, 'util-chart', 2);
  await page.getByTestId('util-now').filter({ hasText: 'Entitled processing units0.5' }).waitFor();
  await page.getByTestId('util-now').filter({ hasText: /256 MB \/ \d+ MB/ }).waitFor();
  await page.getByRole('button', { name: 'Last day' }).click();
  await chartWith(page, 'util-chart', 2);
  await shot(page, 'utilization');
  // A short span in the day's view: its time labels carry seconds and none repeats.
  const times = (await page.getByTestId('util-chart').locator('svg text').allTextContents())
    .filter((t) => /^\d\d:\d\d/.test(t));
  assert.ok(times.length >= 2, `time labels: ${times}`);
  assert.equal(new Set(times).size, times.length, `time labels repeat: ${times}`);
});
