// Backup/Restore in the browser: a backup downloaded, the configuration cleared (after a
// confirmation), the backup uploaded and restored, and the command line sees the same profiles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startDaemon, launchBrowser, newPage, shot, login } from './helpers.mjs';

let daemon, browser;
before(async () => {
  daemon = await startDaemon('shutdown_delay_secs = 3\nrootvg_size_mb = 256\n');
  browser = await launchBrowser(daemon);
});
after(async () => {
  await browser?.close();
  daemon?.stop();
});

test('download a backup, clear, restore it by upload', { timeout: 120_000 }, async () => {
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', 'name=keep1,desired_procs=1,desired_mem=256,"virtual_eth_adapters=3/0/4//0/0"']);
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i', 'name=keep2,proc_mode=ded,desired_procs=1,desired_mem=256']);
  const profiles = daemon.ivm(['lssyscfg', '-r', 'prof']);
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  await page.getByRole('link', { name: 'Backup/Restore' }).click();
  await page.getByRole('heading', { name: 'Backup/Restore' }).waitFor();

  // The download link saves the server's file (its text fetched as the link would fetch it;
  // headless Chromium behind the namespace wrapper raises no download event).
  const link = page.getByRole('link', { name: 'Download backup' });
  assert.equal(await link.getAttribute('download'), 'profile.bak');
  const href = await link.getAttribute('href');
  const got = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { disposition: r.headers.get('content-disposition'), text: await r.text() };
  }, href);
  assert.equal(got.disposition, 'attachment; filename="profile.bak"');
  assert.match(got.text, /^ivm-profile-backup 1\nsha256 [0-9a-f]{64}\n/);
  const file = join(tmpdir(), `ivm-web-${process.pid}.bak`);
  writeFileSync(file, got.text);

  // Restoring over existing partitions is refused with the server's words.
  await page.locator('input[type=file]').setInputFiles(file);
  await page.getByRole('button', { name: 'Restore' }).click();
  assert.match(await page.getByTestId('backup-error').textContent(), /lpcfgop -o clear/);

  await page.getByRole('button', { name: 'Clear partition configuration' }).click();
  await page.getByRole('button', { name: 'Clear', exact: true }).click();
  await page.getByTestId('backup-done').filter({ hasText: 'cleared' }).waitFor();
  assert.equal(daemon.ivm(['lssyscfg', '-r', 'lpar', '-F', 'lpar_id']), '1\n');

  await page.getByRole('button', { name: 'Restore' }).click();
  await page.getByTestId('backup-done').filter({ hasText: 'restored' }).waitFor();
  assert.equal(daemon.ivm(['lssyscfg', '-r', 'prof']), profiles);
  await shot(page, 'backup-restore');
  rmSync(file, { force: true });
});
