// The graphical console end to end: Debian's graphical installer (from Debian's
// debian-installer-12-netboot-amd64, its gtk kernel and initrd) boots in a partition with a
// display adapter, and the browser shows its first screen through noVNC. The canvas is compared
// pixel by pixel with QEMU's own framebuffer (the screen endpoint), a key typed into the
// canvas changes the guest's screen, and the screenshot button downloads a PNG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, launchBrowser, newPage, shot, login } from './helpers.mjs';

const DI = '/usr/lib/debian-installer/images/12/amd64/gtk/debian-installer/amd64';

let daemon, browser;
before(async () => {
  daemon = await startDaemon('shutdown_delay_secs = 3\n');
  browser = await launchBrowser(daemon);
});
after(async () => {
  await browser?.close();
  daemon?.stop();
});

/** Compares the noVNC canvas with a PNG of the screen taken by QEMU (both fetched in the page). */
async function compare(page, id) {
  return page.evaluate(async (id) => {
    const canvas = document.querySelector('[data-testid="display"] canvas');
    if (!canvas || canvas.width < 2) return { ready: false };
    const png = await fetch(`/api/v1/partitions/${id}/screen`).then((r) => r.blob());
    const img = await createImageBitmap(png);
    const shown = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const off = new OffscreenCanvas(img.width, img.height);
    off.getContext('2d').drawImage(img, 0, 0);
    const truth = off.getContext('2d').getImageData(0, 0, img.width, img.height).data;
    const size = { canvas: [canvas.width, canvas.height], screen: [img.width, img.height] };
    if (img.width !== canvas.width || img.height !== canvas.height) return { ready: true, ...size, differing: 1 };
    let differing = 0;
    const colours = new Set();
    for (let i = 0; i < truth.length; i += 4) {
      const d = Math.abs(truth[i] - shown[i]) + Math.abs(truth[i + 1] - shown[i + 1]) + Math.abs(truth[i + 2] - shown[i + 2]);
      if (d > 24) differing++;
      if (i % 64 === 0) colours.add((truth[i] << 16) | (truth[i + 1] << 8) | truth[i + 2]);
    }
    return { ready: true, ...size, differing: differing / (truth.length / 4), colours: colours.size };
  }, id);
}

/** The middle of the installer's selected row (its teal highlight) in QEMU's framebuffer,
 * along column x=900 of the list, or null. */
const highlight = (page, id) => page.evaluate(async (id) => {
  const img = await createImageBitmap(await fetch(`/api/v1/partitions/${id}/screen`).then((r) => r.blob()));
  const off = new OffscreenCanvas(img.width, img.height);
  off.getContext('2d').drawImage(img, 0, 0);
  const px = off.getContext('2d').getImageData(900, 0, 1, img.height).data;
  const rows = [];
  // Below the banner (also teal) and above the buttons.
  for (let y = 170; y < Math.min(img.height, 740); y++) {
    const [r, g, b] = [px[y * 4], px[y * 4 + 1], px[y * 4 + 2]];
    if (g > r + 40 && b > r + 40) rows.push(y);
  }
  return rows.length ? (rows[0] + rows[rows.length - 1]) / 2 : null;
}, id);

/** Clicks the canvas where framebuffer pixel (x, y) is shown (noVNC scales the screen). */
async function clickAt(page, x, y) {
  const at = await page.evaluate(([x, y]) => {
    const c = document.querySelector('[data-testid="display"] canvas');
    const r = c.getBoundingClientRect();
    return [r.left + (x * r.width) / c.width, r.top + (y * r.height) / c.height];
  }, [x, y]);
  await page.mouse.click(at[0], at[1]);
}

async function until(what, timeoutMs, f) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await f();
    if (last?.ok) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s; last: ${JSON.stringify(last)}`);
}

test('the graphical installer\'s first screen on the canvas, keys reach it, screenshot downloads', { timeout: 420_000 }, async () => {
  assert.ok(existsSync(join(DI, 'linux')), `${DI} is missing: install debian-installer-12-netboot-amd64`);
  copyFileSync(join(DI, 'linux'), join(daemon.dataDir, 'boot', 'di-linux'));
  copyFileSync(join(DI, 'initrd.gz'), join(daemon.dataDir, 'boot', 'di-initrd.gz'));
  daemon.ivm(['mksyscfg', '-r', 'lpar', '-i',
    'name=installer,desired_procs=1,desired_mem=1024,display=vga,boot_kernel=di-linux,boot_initrd=di-initrd.gz,"boot_args=vga=788 --- quiet"']);
  daemon.ivm(['chsysstate', '-r', 'lpar', '-o', 'on', '-n', 'installer']);

  const page = await newPage(browser);
  await login(page, daemon.url, 'padmin', 'padmin-pass-1');
  await page.goto(`${daemon.url}/#/terminal/2`);
  await page.getByRole('tab', { name: 'Display' }).click();
  await page.getByTestId('display-status').filter({ hasText: 'Connected.' }).waitFor({ timeout: 30_000 });

  // The installer's first screen: graphical (not the 720x400 text mode), many colours (the
  // banner, the language list), and the canvas shows what QEMU's framebuffer holds.
  const seen = await until('the installer\'s first screen on the canvas', 300_000, async () => {
    const c = await compare(page, 2);
    // The banner comes first; the language list, with its selected row, last.
    const y = c.ready ? await highlight(page, 2) : null;
    return { ...c, y, ok: c.ready && c.screen?.[0] >= 800 && c.colours > 20 && c.differing < 0.01 && y !== null };
  });
  await shot(page, 'display-installer');
  assert.deepEqual(seen.canvas, seen.screen);

  // The mouse lands where it is shown: a click on another row of the language list selects
  // it in the guest (the selection's highlight, found in QEMU's framebuffer, moves there).
  const first = await highlight(page, 2);
  assert.ok(first, 'the installer highlights its default language');
  await clickAt(page, 900, first - 100);
  await until('the clicked row is selected in the guest', 60_000, async () => {
    const y = await highlight(page, 2);
    const c = await compare(page, 2);
    return { y, differing: c.differing, ok: y !== null && Math.abs(y - (first - 100)) < 15 && c.differing < 0.01 };
  });
  await shot(page, 'display-after-click');

  // Keys typed into the canvas reach the installer: End moves the selection to the last
  // language, at the bottom of the list, and the canvas shows it as the guest has it.
  await page.keyboard.press('End');
  await until('End moves the selection in the guest and on the canvas', 60_000, async () => {
    const y = await highlight(page, 2);
    const c = await compare(page, 2);
    return { y, differing: c.differing, ok: y !== null && y > first + 100 && c.differing < 0.01 };
  });
  await shot(page, 'display-after-key');

  // The screenshot button downloads QEMU's PNG of the screen.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Screenshot' }).click(),
  ]);
  const png = readFileSync(await download.path());
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  assert.equal(png.readUInt32BE(16), seen.screen[0]);
  assert.match(download.suggestedFilename(), /^lpar-2-screen-.*\.png$/);

  // Ctrl+Alt+Del reaches the guest. X ignores it, so first Ctrl+Alt+F2 (typed into the canvas)
  // switches to the installer's second console, text on black; there the kernel hands
  // Ctrl+Alt+Del to init, which reboots: the screen goes back to the firmware's mode.
  await clickAt(page, 640, 780); // the keyboard back to the canvas (blank space between buttons)
  await page.keyboard.press('Control+Alt+F2');
  await until('Ctrl+Alt+F2 switches to a text console', 60_000, async () => {
    const c = await compare(page, 2);
    return { ...c, ok: c.ready && c.colours < 20 && c.differing < 0.01 };
  });
  await page.getByRole('button', { name: 'Send Ctrl+Alt+Del' }).click();
  await until('the installer restarts after Ctrl+Alt+Del', 120_000, async () => {
    const c = await compare(page, 2);
    return { ...c, ok: c.ready && c.screen?.[0] !== seen.screen[0] };
  });
  assert.deepEqual(page.errors, []);
  daemon.ivm(['chsysstate', '-r', 'lpar', '-o', 'shutdown', '--immed', '-n', 'installer']);
});
