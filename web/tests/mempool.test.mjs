// Shared memory in the browser: the pool created on the System Properties page, a
// shared-memory partition created with the wizard (its units and the capacity after from the
// server's dry run), its paging device listed with the pool, its Memory tab in shared mode.
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

test('create the shared memory pool and a shared-memory partition', { timeout: 120_000 }, async () => {
  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  await page.getByRole('link', { name: 'View/Modify System Properties' }).click();
  await page.getByTestId('no-mempool').waitFor();
  // A refusal is the server's, and nothing is made.
  await page.getByLabel('Pool size (MB)').fill('1000');
  await page.getByRole('button', { name: 'Create shared memory pool' }).click();
  await page.getByTestId('mempool-error').filter({ hasText: 'memory region size' }).waitFor();
  await page.getByLabel('Pool size (MB)').fill('1024');
  await page.getByRole('button', { name: 'Create shared memory pool' }).click();
  await page.getByTestId('mempool').filter({ hasText: '1024 MB (maximum 1024 MB)' }).waitFor();
  assert.match(daemon.ivm(['lshwres', '-r', 'mempool', '-F', 'pool_mem']), /^1024\n$/);

  // The wizard: shared memory with a weight; the dry run accepts it.
  await page.getByRole('link', { name: 'View/Modify Partitions' }).click();
  await page.getByRole('button', { name: 'Create Partition' }).click();
  await page.getByLabel('Partition name').fill('ams1');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Shared (logical memory from the shared memory pool, with a paging device)').check();
  await page.getByLabel('Memory weight (0 to 255)').fill('200');
  await page.getByLabel('Desired memory (MB)').fill('2048');
  // 2 GB of logical memory fits the 4x limit of a 1 GB pool, but its minimum (= desired)
  // does not fit in the pool: the dry run says so before anything is created.
  await page.getByTestId('preview-error').filter({ hasText: 'min_mem=2048 is out of range' }).waitFor();
  await page.getByLabel('Minimum memory (MB)').fill('512');
  await page.getByTestId('capacity-after').waitFor();
  await shot(page, 'wizard-shared-memory');
  await page.getByRole('button', { name: 'Summary' }).click();
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByTestId('lpar-ams1').waitFor();
  assert.equal(
    daemon.ivm(['lssyscfg', '-r', 'prof', '--filter', 'lpar_names=ams1', '-F', 'mem_mode,min_mem,desired_mem,mem_weight']),
    'shared,512,2048,200\n',
  );

  // Its paging device is listed with the pool; its Memory tab shows shared memory.
  await page.getByRole('link', { name: 'View/Modify System Properties' }).click();
  await page.getByTestId('paging-devices').getByText('amspaging02').waitFor();
  await page.getByTestId('mempool').filter({ hasText: '2048 of at most 4096 MB' }).waitFor();
  await shot(page, 'system-mempool');
  await page.getByRole('link', { name: 'View/Modify Partitions' }).click();
  await page.getByTestId('lpar-ams1').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Properties' }).click();
  await page.getByRole('tab', { name: 'Memory' }).click();
  await page.getByTestId('shared-memory').filter({ hasText: 'Shared (logical memory from the shared memory pool)' }).waitFor();
  assert.equal(await page.getByLabel('Memory weight (0 to 255)').inputValue(), '200');
});
