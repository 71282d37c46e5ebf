// View/Modify Virtual Ethernet end to end: Debian's Chromium against a real ivm serve in its
// own network namespace, where a veth pair plays the physical NIC (its other end in the
// browser's namespace): an adapter added and removed in the matrix, a virtual Ethernet bridge
// set on ID 1 and removed, each seen by the command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startDaemon, launchBrowser, newPage, shot, login } from './helpers.mjs';

let daemon, browser;
before(async () => {
  daemon = await startDaemon('shutdown_delay_secs = 3\nrootvg_size_mb = 256\n');
  execFileSync('ip', ['-n', daemon.netns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1', 'netns', daemon.browserNetns]);
  execFileSync('ip', ['-n', daemon.netns, 'link', 'set', 'lan0', 'up']);
  daemon.ivm(['cfgdev']);
  browser = await launchBrowser(daemon);
});
after(async () => {
  await browser?.close();
  daemon?.stop();
});

test('add and remove an adapter in the matrix, bridge ID 1 to a physical adapter', { timeout: 120_000 }, async () => {
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', 'name=web1,desired_procs=1,desired_mem=256']);
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  await page.getByRole('link', { name: 'View/Modify Virtual Ethernet' }).click();
  await page.getByRole('heading', { name: 'View/Modify Virtual Ethernet' }).waitFor();

  // ivm's default adapters: slot 3 on ID 1, slot 4 on ID 2.
  await page.getByTestId('eth-web1-1').filter({ hasText: 'slot 3' }).waitFor();
  await page.getByTestId('eth-web1-2').filter({ hasText: 'slot 4' }).waitFor();

  // A bad slot is refused with the server's words; a good one makes a new ID's column.
  await page.getByLabel('Partition for a new adapter').selectOption({ label: 'web1' });
  await page.getByLabel('Virtual Ethernet ID').fill('5');
  await page.getByLabel('Adapter slot').fill('4');
  await page.getByRole('button', { name: 'Add adapter' }).click();
  assert.match(await page.getByTestId('ethernet-error').textContent(), /has an adapter in slot 4/);
  await page.getByLabel('Adapter slot').fill('6');
  await page.getByRole('button', { name: 'Add adapter' }).click();
  await page.getByTestId('eth-web1-5').filter({ hasText: 'slot 6' }).waitFor();
  await page.getByRole('button', { name: 'Remove web1 slot 4' }).click();
  await page.getByRole('button', { name: 'Remove web1 slot 4' }).waitFor({ state: 'detached' });
  const listed = daemon.ivm(['lshwres', '-r', 'virtualio', '--rsubtype', 'eth', '--level', 'lpar', '--filter', 'lpar_names=web1', '-F', 'slot_num,port_vlan_id']);
  assert.equal(listed, '3,1\n6,5\n');
  await shot(page, 'ethernet-matrix');

  // The bridge. lan0 came after the daemon's start (found by cfgdev), so its entN follows the
  // management partition's four virtual adapters.
  const lan0 = daemon.ivm(['lsdev', '-type', 'adapter', '-field', 'name', 'description', '-fmt', ':'])
    .split('\n').find((l) => l.endsWith('(lan0)')).split(':')[0];
  await page.getByRole('tab', { name: 'Virtual Ethernet Bridge' }).click();
  const row = page.getByTestId('bridge-1');
  await row.getByLabel('Physical adapter for ID 1').selectOption({ label: `${lan0} (lan0)` });
  await row.getByRole('button', { name: 'Bridge ID 1' }).click();
  await row.filter({ hasText: 'Available' }).waitFor();
  const [sea, backing, status] = daemon.ivm(['lsmap', '-all', '-net', '-field', 'sea', 'backing', 'status', '-fmt', ':']).trim().split(':');
  assert.deepEqual([backing, status], [lan0, 'Available']);
  assert.match(await row.textContent(), new RegExp(`${sea} Available`));
  await shot(page, 'ethernet-bridge');
  await row.getByRole('button', { name: `Remove ${sea}` }).click();
  await row.getByLabel('Physical adapter for ID 1').waitFor();
  assert.equal(daemon.ivm(['lsmap', '-all', '-net', '-field', 'sea', '-fmt', ':']), '');
});
