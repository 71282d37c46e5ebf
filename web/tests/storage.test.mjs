// View/Modify Virtual Storage end to end: Debian's Chromium against a real ivm serve with a
// file pool: a disk created and assigned, an ISO uploaded (with its progress bar) and loaded,
// and both seen in the partition's properties and by the command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { startDaemon, launchBrowser, newPage, shot, login, GUEST } from './helpers.mjs';

let daemon, browser;
before(async () => {
  daemon = await startDaemon('shutdown_delay_secs = 3\nrootvg_size_mb = 512\n');
  browser = await launchBrowser(daemon);
});
after(async () => {
  await browser?.close();
  daemon?.stop();
});

test('create a disk, assign it, upload an ISO and load it, see both in the partition', { timeout: 180_000 }, async () => {
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', 'name=store1,desired_procs=1,desired_mem=256']);
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  await page.getByRole('link', { name: 'View/Modify Virtual Storage' }).click();
  await page.getByRole('heading', { name: 'View/Modify Virtual Storage' }).waitFor();

  // A disk that does not fit is refused with the server's words; one that fits is made.
  await page.getByLabel('Virtual disk name').fill('webdisk');
  await page.getByLabel('Size (MB)', { exact: true }).fill('4096');
  await page.getByRole('button', { name: 'Create virtual disk' }).click();
  assert.match(await page.getByTestId('storage-error').textContent(), /512 MB/);
  await page.getByLabel('Size (MB)', { exact: true }).fill('32');
  await page.getByRole('button', { name: 'Create virtual disk' }).click();
  const disk = page.getByTestId('disk-webdisk');
  await disk.waitFor();
  await disk.getByLabel('Assign webdisk').selectOption('vhost0');
  await disk.getByRole('button', { name: 'Assign' }).click();
  await disk.getByTestId('assigned').filter({ hasText: 'store1 (vhost0) as vtscsi0' }).waitFor();
  await shot(page, 'storage-disks');

  // Storage pools show the server's free figure.
  await page.getByRole('tab', { name: 'Storage Pools' }).click();
  assert.match(await page.getByTestId('pool-rootvg').textContent(), /FBPOOL.*512.*480/);

  // The media library, an upload with progress, an optical device, media loaded.
  await page.getByRole('tab', { name: 'Optical Devices' }).click();
  await page.getByLabel('Library size (MB)').fill('64');
  await page.getByRole('button', { name: 'Create library' }).click();
  await page.getByTestId('repository').filter({ hasText: '64 MB in pool rootvg, 64 MB free' }).waitFor();
  const iso = join(GUEST, 'guest.iso');
  await page.locator('#m-file-filename').waitFor();
  await page.locator('input[type=file]').setInputFiles(iso);
  await page.getByLabel('Media name').fill('guest.iso');
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.getByTestId('media-guest.iso').waitFor({ timeout: 60_000 });
  const mb = Math.ceil(statSync(iso).size / (1 << 20));
  assert.match(await page.getByTestId('media-guest.iso').textContent(), new RegExp(`guest\\.iso${mb}ro`));
  await page.getByLabel('Partition for a new optical device').selectOption('vhost0');
  await page.getByRole('button', { name: 'Create optical device' }).click();
  const opt = page.getByTestId('optical-vtopt0');
  await opt.waitFor();
  await opt.getByLabel('Media for vtopt0').selectOption('guest.iso');
  await opt.getByRole('button', { name: 'Load', exact: true }).click();
  await opt.getByTestId('loaded').filter({ hasText: 'guest.iso' }).waitFor();
  await shot(page, 'storage-optical');

  // Both in the partition: its properties, and lsmap.
  await page.getByRole('link', { name: 'View/Modify Partitions' }).click();
  await page.getByTestId('lpar-store1').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Properties' }).click();
  await page.getByRole('tab', { name: 'Storage' }).click();
  const devices = page.getByTestId('partition-storage');
  await devices.getByText('vtopt0').waitFor();
  const text = await devices.textContent();
  assert.match(text, /vtscsi0Virtual diskwebdisk/);
  assert.match(text, /vtopt0Optical deviceguest\.iso/);
  await shot(page, 'partition-storage');
  assert.equal(
    daemon.ivm(['lsmap', '-vadapter', 'vhost0', '-field', 'vtd', 'backing', '-fmt', ':']),
    'vtscsi0:webdisk:vtopt0:guest.iso\n',
  );
  assert.deepEqual(page.errors, []);
});
