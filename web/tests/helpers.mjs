// A real `ivm serve` in a temporary data directory and Debian's Chromium, for browser tests.
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, rmdirSync, readdirSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const IVM = process.env.IVM_BIN ?? join(ROOT, 'target/debug/ivm');
export const GUEST = process.env.IVM_TEST_GUEST ?? join(ROOT, 'target/test-guest');
export const SHOTS = join(ROOT, 'artifacts/screenshots');

/** Starts a daemon; resolves to { url, dataDir, stop, ivm(args) }. */
export async function startDaemon(settings = '') {
  if (!existsSync(IVM)) throw new Error(`${IVM} is missing: build ivm first (cargo build)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'ivm-web-'));
  // Test daemons keep no Unix login accounts (each would make a host-wide padmin).
  writeFileSync(join(dataDir, 'ivm.toml'), `${settings}${settings.includes('unix_accounts') ? '' : 'unix_accounts = false\n'}`);
  // ivm loads boot files only from its boot directory.
  mkdirSync(join(dataDir, 'boot'), { recursive: true });
  for (const f of ['vmlinuz', 'initramfs']) {
    if (existsSync(join(GUEST, f))) copyFileSync(join(GUEST, f), join(dataDir, 'boot', f));
  }
  // Two network namespaces of the test's own, joined by a veth pair: the daemon's (its
  // bridges and taps live there and go with it) and the browser's. The browser never sees
  // interfaces come and go (Chromium aborts requests when it does), and nothing touches the
  // host's network.
  const n = ++namespaces;
  const netns = `ivmweb${process.pid}d${n}`;
  const browserNetns = `ivmweb${process.pid}b${n}`;
  const subnet = `10.213.${(process.pid + n) % 250}`;
  for (const ns of [netns, browserNetns]) {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  execFileSync('ip', ['link', 'add', 'ivmwebd', 'netns', netns, 'type', 'veth', 'peer', 'name', 'ivmwebb', 'netns', browserNetns]);
  execFileSync('ip', ['-n', netns, 'addr', 'add', `${subnet}.1/30`, 'dev', 'ivmwebd']);
  execFileSync('ip', ['-n', browserNetns, 'addr', 'add', `${subnet}.2/30`, 'dev', 'ivmwebb']);
  // No IPv6 link-local address: one appearing after the browser started counts as a change.
  execFileSync('ip', ['-n', netns, 'link', 'set', 'ivmwebd', 'addrgenmode', 'none', 'up']);
  execFileSync('ip', ['-n', browserNetns, 'link', 'set', 'ivmwebb', 'addrgenmode', 'none', 'up']);
  // nsenter, not `ip netns exec`: that remounts /sys, which would hide the cgroup mounts.
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, IVM, 'serve', '--listen', `${subnet}.1:0`, '--data-dir', dataDir], {
    env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((ok, fail) => {
    lines.on('line', (l) => { const m = l.match(/^ivm: serving (https:\/\/[^/]+)\//); if (m) ok(m[1]); });
    child.on('exit', (code) => fail(new Error(`ivm serve exited with ${code}`)));
  }).catch((e) => {
    // A daemon that did not start leaves nothing behind either.
    rmSync(dataDir, { recursive: true, force: true });
    for (const ns of [netns, browserNetns]) { try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* gone */ } }
    throw e;
  });
  const ivm = (args, input) => execFileSync(IVM, args, { env: { ...process.env, IVM_DATA_DIR: dataDir }, input, encoding: 'utf8' });
  ivm(['passwd', 'padmin'], 'padmin-pass-1\n');
  const stop = () => {
    child.kill('SIGTERM');
    // Partitions outlive the daemon by design; the test's must not.
    const lpars = join(dataDir, 'lpars');
    if (existsSync(lpars)) {
      for (const d of readdirSync(lpars)) {
        const pidfile = join(lpars, d, 'qemu.pid');
        if (existsSync(pidfile)) { try { process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGKILL'); } catch { /* gone */ } }
      }
    }
    const name = existsSync(join(dataDir, 'cgroup.name')) ? readFileSync(join(dataDir, 'cgroup.name'), 'utf8').trim() : null;
    if (name) {
      for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
        const f = line.split(' ');
        if (f[2] !== 'cgroup' && f[2] !== 'cgroup2') continue;
        const parent = join(f[1], name);
        if (!existsSync(parent)) continue;
        for (const c of readdirSync(parent, { withFileTypes: true })) if (c.isDirectory()) retryRmdir(join(parent, c.name));
        retryRmdir(parent);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    for (const ns of [netns, browserNetns]) { try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* gone */ } }
  };
  return { url, dataDir, stop, ivm, netns, browserNetns };
}

// The kernel reports a cgroup busy for a moment after its last process exits.
function retryRmdir(dir) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 50; i++) {
    try { rmdirSync(dir); return; } catch { Atomics.wait(pause, 0, 0, 100); }
  }
}

let namespaces = 0;

/** Debian's Chromium, headless, never a downloaded browser; in the daemon's network namespace. */
export async function launchBrowser(daemon) {
  const dir = mkdtempSync(join(tmpdir(), 'ivm-chromium-'));
  const wrapper = join(dir, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=/run/netns/${daemon.browserNetns} /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  const browser = await chromium.launch({
    executablePath: wrapper,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // The wrapper's directory goes with the browser, however the test ends.
  browser.on('disconnected', () => rmSync(dir, { recursive: true, force: true }));
  return browser;
}

/** A page that records JavaScript errors (4xx refusals the tests provoke, which the page shows, are not errors). */
export async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d /.test(m.text())) {
      page.errors.push(m.text());
    }
  });
  return page;
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

export async function login(page, url, user, password) {
  await page.goto(`${url}/`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'View/Modify Partitions' }).waitFor();
}
