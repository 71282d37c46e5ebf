// Migrate from the browser: the dialog asks the server to validate a move and shows the
// server's refusal as it is (here no ivm host trusts this one at the address given), and the
// partition stays as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, launchBrowser, newPage, shot, login } from './helpers.mjs';

let daemon, browser;
before(async () => {
  daemon = await startDaemon('shutdown_delay_secs = 3\n');
  browser = await launchBrowser(daemon);
});
after(async () => {
  await browser?.close();
  daemon?.stop();
});

test('validating a move to a host without trust shows the server\'s refusal and changes nothing', { timeout: 120_000 }, async () => {
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', 'name=mover1,desired_procs=1,desired_mem=256']);
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  const row = page.getByTestId('lpar-mover1');
  await row.waitFor();
  await row.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Migrate' }).click();
  await page.getByLabel('Target host address').fill('127.0.0.1');
  await page.getByRole('button', { name: 'Validate' }).click();
  const err = page.getByTestId('migrate-error');
  await err.waitFor({ timeout: 60_000 });
  assert.match(await err.textContent(), /HSCL3653/);
  await shot(page, 'migrate-refused');
  await page.getByRole('contentinfo').getByRole('button', { name: 'Close' }).click();
  assert.equal(await row.getByTestId('state').textContent(), 'Not Activated');
  assert.match(daemon.ivm(['lslparmigr', '-r', 'lpar', '-F', 'name,migration_state']), /mover1,Not Migrating/);
});
