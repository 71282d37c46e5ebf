// The browser console end to end: Debian's Chromium against a real ivm serve and a real guest.
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

const row = (page, name) => page.getByTestId(`lpar-${name}`);
const state = (page, name) => row(page, name).getByTestId('state');

test('administer a partition through its whole life in the browser', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  await page.getByTestId('summary').waitFor();
  await shot(page, 'partitions');
  // At 1280 px no column is clipped and the actions stand on one line.
  const fit = await page.evaluate(() => {
    const table = document.querySelector('[data-testid="partitions"]');
    const box = table.parentElement;
    const tops = [...document.querySelectorAll('.pf-v6-c-toolbar .pf-v6-c-button.pf-m-small')]
      .filter((b) => b.offsetParent !== null)
      .map((b) => Math.round(b.getBoundingClientRect().top));
    return { table: table.scrollWidth, box: box.clientWidth, lines: new Set(tops).size, buttons: tops.length };
  });
  assert.ok(fit.table <= fit.box, `the table is ${fit.table} px wide in ${fit.box} px`);
  assert.ok(fit.buttons >= 7, `toolbar buttons: ${fit.buttons}`);
  assert.equal(fit.lines, 1, 'the toolbar holds its buttons on one line');

  // The wizard: units computed live; a value that does not fit is refused with the server's words.
  await page.getByRole('button', { name: 'Create Partition' }).click();
  await page.getByLabel('Partition name').fill('web1');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Desired memory (MB)').fill('999999');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Maximum', { exact: true }).fill('2');
  // The dry run of the same request refuses the memory before anything is created.
  await page.getByTestId('preview-error').filter({ hasText: /desired_mem=999999 is (not valid|out of range)/ }).waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Kernel (direct kernel boot, optional)').fill('vmlinuz');
  await page.getByLabel('Initial ramdisk').fill('initramfs');
  await page.getByLabel('Kernel command line').fill('console=ttyS0 quiet');
  await page.getByLabel('Standard VGA').check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Next' }).click();
  // Ethernet: one adapter, on virtual Ethernet ID 7, instead of ivm's two defaults.
  await page.getByLabel('Adapter in slot 3: virtual Ethernet ID').fill('7');
  await page.getByLabel('Adapter in slot 4: virtual Ethernet ID').fill('');
  await page.getByRole('button', { name: 'Next' }).click();
  // A cloud-init seed, saved with the partition.
  await page.getByLabel('Hostname').fill('web1-host');
  await page.getByLabel('User data').fill('#cloud-config\n');
  await shot(page, 'create-wizard-cloud-init');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Create' }).click();
  const refusal = await page.getByTestId('create-error').textContent();
  assert.match(refusal, /desired_mem=999999 is (not valid|out of range)/);
  await shot(page, 'create-wizard-error');
  await page.getByRole('button', { name: 'Memory' }).click();
  await page.getByLabel('Desired memory (MB)').fill('256');
  await page.getByRole('button', { name: 'Summary' }).click();
  // Units and the capacity left come from the server's dry run, not from the console.
  const availMem = () => Number(daemon.ivm(['lshwres', '-r', 'mem', '--level', 'sys', '-F', 'curr_avail_sys_mem']));
  const lpars = () => daemon.ivm(['lssyscfg', '-r', 'lpar', '-F', 'lpar_id']);
  const [memBefore, lparsBefore] = [availMem(), lpars()];
  const computed = await page.getByTestId('computed-units').filter({ hasText: /minimum 0\.1, desired 0\.1, maximum 2\.0/ }).textContent();
  assert.ok(computed);
  const left = await page.getByTestId('capacity-after').textContent();
  assert.ok(left.includes(`${memBefore - 256} MB of memory left`), left);
  assert.deepEqual([availMem(), lpars()], [memBefore, lparsBefore], 'a dry run commits nothing');
  await page.getByRole('button', { name: 'Create' }).click();

  // It appears without a reload, then runs after Activate.
  await state(page, 'web1').filter({ hasText: 'Not Activated' }).waitFor();
  assert.equal(daemon.ivm(['lssyscfg', '-r', 'prof', '--filter', 'lpar_names=web1', '-F', 'virtual_eth_adapters,display']), '3/0/7//0/0,vga\n');
  const seed = await page.evaluate(() => fetch('/api/v1/partitions/2/cloud-init').then((r) => r.json()));
  assert.deepEqual(seed, { hostname: 'web1-host', user_data: '#cloud-config\n', network_config: '' });
  await row(page, 'web1').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Activate' }).click();
  await state(page, 'web1').filter({ hasText: 'Running' }).waitFor({ timeout: 60_000 });

  // The terminal window shows the guest's ready line.
  const [term] = await Promise.all([
    page.waitForEvent('popup'),
    page.getByRole('button', { name: 'Open terminal' }).click(),
  ]);
  await term.getByText('Connected.', { exact: true }).waitFor();
  await term.locator('.xterm-rows').getByText('IVM-TEST-GUEST READY').waitFor({ timeout: 90_000 });
  await shot(term, 'terminal');
  // One session at a time: a second window is refused, and can take over.
  const second = await newPage(browser);
  await login(second, daemon.url, 'padmin', 'padmin-pass-1');
  await second.goto(`${daemon.url}/#/terminal/2`);
  await second.getByText('Virtual terminal is already connected.').waitFor();
  await second.getByRole('button', { name: 'Take over' }).click();
  await second.getByText('Connected.', { exact: true }).waitFor();
  await term.getByText('Disconnected.').waitFor();
  // The taken-over session still holds the terminal: a third one is refused (mkvt exits 28).
  let third;
  try { daemon.ivm(['mkvt', '-id', '2']); third = 0; } catch (e) { third = e.status; }
  assert.equal(third, 28);
  await second.close();
  await term.close();

  // Properties while running: processing units change live; memory min/max are locked.
  await page.getByRole('button', { name: 'Properties' }).click();
  await page.getByRole('tab', { name: 'Memory' }).click();
  assert.equal(await page.getByLabel('Maximum memory (MB)').isDisabled(), true);
  await page.getByText('Minimum and maximum memory change only while the partition is not running.').first().waitFor();
  await page.getByRole('tab', { name: 'Processing' }).click();
  await page.getByLabel('Desired processing units').fill('0.3');
  await page.getByRole('button', { name: 'OK' }).click();
  await page.getByText('Changed; the running partition has the new values.').waitFor();
  await shot(page, 'properties');
  await page.getByRole('button', { name: 'Cancel' }).click();
  const p = await page.evaluate(() => fetch('/api/v1/partitions/2').then((r) => r.json()));
  assert.equal(p.desired_proc_units, 0.3);

  // Shut it down immediately, then delete it.
  await page.getByRole('button', { name: 'Shutdown' }).click();
  await page.getByLabel('Immediate').check();
  await page.getByRole('button', { name: 'OK' }).click();
  await state(page, 'web1').filter({ hasText: 'Not Activated' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await row(page, 'web1').waitFor({ state: 'detached' });

  // Task monitor, system properties, user accounts.
  await page.getByRole('link', { name: 'Task Monitor' }).click();
  await page.getByTestId('tasks').getByText('create partition').first().waitFor();
  await shot(page, 'tasks');
  await page.getByRole('link', { name: 'View/Modify System Properties' }).click();
  assert.match(await page.getByTestId('accel').textContent(), /^(KVM|TCG): /);
  await shot(page, 'system');
  await page.getByRole('link', { name: 'User Accounts' }).click();
  await page.getByLabel('User name').fill('viewer');
  await page.getByLabel('Role', { exact: true }).selectOption('View Only');
  await page.getByLabel('Password').fill('viewer-pass');
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.getByRole('grid', { name: 'Users' }).or(page.getByRole('table', { name: 'Users' })).getByText('viewer', { exact: true }).waitFor();
  await shot(page, 'users');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  assert.deepEqual(page.errors, []);
});

test('a View Only user sees no change buttons and a forged change gets 403', { timeout: 60_000 }, async () => {
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', 'name=keep,desired_procs=1,desired_mem=256']);
  const page = await newPage(browser);
  // A View Only user (the first test creates one through the Users page; this test stands alone).
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  const made = await page.evaluate(() => fetch('/api/v1/users', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'viewer', role: 'View Only', password: 'viewer-pass' }),
  }).then((r) => r.status));
  assert.ok(made === 201 || made === 409, `creating viewer: ${made}`);
  await page.getByRole('button', { name: 'Log out' }).click();
  await login(page, daemon.url, 'viewer', 'viewer-pass');
  await row(page, 'keep').waitFor();
  for (const name of ['Create Partition', 'Activate', 'Shutdown', 'Delete', 'Open terminal']) {
    assert.equal(await page.getByRole('button', { name }).count(), 0, `${name} is shown to View Only`);
  }
  assert.equal(await page.getByRole('link', { name: 'User Accounts' }).count(), 0);
  const status = await page.evaluate(() => fetch('/api/v1/partitions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'forged', desired_procs: 1, desired_mem: 256 }),
  }).then((r) => r.status));
  assert.equal(status, 403);
  assert.equal(daemon.ivm(['lssyscfg', '-r', 'lpar', '-F', 'name']).includes('forged'), false);
  await shot(page, 'view-only');
  // A narrow screen still shows the table (PatternFly stacks the columns).
  await page.setViewportSize({ width: 420, height: 800 });
  await page.reload();
  await row(page, 'keep').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Task Monitor' }).isVisible(), false, 'navigation folds away');
  await shot(page, 'partitions-narrow');
  assert.deepEqual(page.errors, []);
});
