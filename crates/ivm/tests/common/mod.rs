//! A real `ivm serve` in a temporary data directory, and helpers to run commands against it.
//! The daemon is stopped (and its directory removed) when the handle drops, pass or fail.

#![allow(dead_code)]

pub mod ceph;
pub mod hosts;
pub mod libvirt;
pub mod sshd;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The ivm binary cargo built for these tests.
pub fn ivm_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ivm"))
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Which network namespace a daemon runs in.
#[derive(Clone, Copy)]
enum Ns<'a> {
    /// The test's own.
    Host,
    /// A new one of its own, gone with its last process.
    New,
    /// A named one the test made (`/run/netns/NAME`), kept across restarts.
    Join(&'a Path),
}

/// Brings up the loopback interface of the calling process's network namespace.
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: a plain socket and the SIOCGIFFLAGS/SIOCSIFFLAGS ioctls on a struct ifreq
    // (name, then flags) that outlives the calls.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        if s < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut req = [0u8; 40];
        req[..2].copy_from_slice(b"lo");
        let ok = libc::ioctl(s, libc::SIOCGIFFLAGS, req.as_mut_ptr()) == 0 && {
            let flags = i16::from_ne_bytes([req[16], req[17]]) | libc::IFF_UP as i16;
            req[16..18].copy_from_slice(&flags.to_ne_bytes());
            libc::ioctl(s, libc::SIOCSIFFLAGS, req.as_mut_ptr()) == 0
        };
        let err = std::io::Error::last_os_error();
        libc::close(s);
        if ok {
            Ok(())
        } else {
            Err(err)
        }
    }
}

/// Starts `bin serve` on `dir` and waits until it serves; returns the child, its HTTPS
/// address and padmin's initial password (empty after the first start). In namespace `ns`
/// the daemon (and so its QEMUs, bridges and taps) runs in that network namespace.
fn spawn_daemon_in(
    bin: &Path,
    dir: &Path,
    listen: &str,
    env: &[(&str, &str)],
    ns: Ns,
) -> (Child, String, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--listen", listen, "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match ns {
        Ns::Host => {}
        // SAFETY: between fork and exec only unshare and the loopback ioctls run.
        Ns::New => unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                loopback_up()
            });
        },
        Ns::Join(path) => {
            let f = std::fs::File::open(path).expect("open the test's network namespace");
            // SAFETY: between fork and exec only setns on a descriptor opened before the fork.
            unsafe {
                cmd.pre_exec(move || {
                    use std::os::unix::io::AsRawFd;
                    if libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
    }
    let mut child = cmd.spawn().expect("start ivm serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut password = String::new();
    let mut addr = String::new();
    for line in lines.by_ref() {
        let line = line.expect("daemon output");
        if let Some(rest) = line.strip_prefix("ivm: created user padmin with password ") {
            password = rest.split_whitespace().next().unwrap().to_string();
        }
        if let Some(rest) = line.strip_prefix("ivm: serving https://") {
            addr = rest.split('/').next().unwrap().to_string();
            break;
        }
    }
    assert!(!addr.is_empty(), "daemon did not start");
    // Keep draining stdout so the daemon never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr, password)
}

/// Writes `ivm.toml`. Test daemons keep no Unix login accounts (every daemon would make a
/// host-wide `padmin`) unless the test asks for them.
fn write_config(dir: &Path, config: &str) {
    let mut text = config.to_string();
    if !text.contains("unix_accounts") {
        text.push_str("unix_accounts = false\n");
    }
    std::fs::write(dir.join("ivm.toml"), text).unwrap();
}

/// A running daemon.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Child,
    pub addr: String,
    pub password: String,
    /// The named network namespace it runs in (kept across restarts), if any.
    pub netns: Option<PathBuf>,
    /// The ivm binary it runs, and the commands run with (this tree's, or an earlier
    /// release's in the upgrade test).
    pub bin: PathBuf,
}

impl Daemon {
    /// Starts a daemon on `listen` in namespace `ns`, with `config` in `ivm.toml`.
    fn start_with(config: &str, listen: &str, ns: Ns) -> Daemon {
        Daemon::start_binary(&ivm_bin(), config, listen, ns)
    }

    /// Starts `bin`'s daemon on a new data directory.
    fn start_binary(bin: &Path, config: &str, listen: &str, ns: Ns) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        // Traversable, so tests can run commands as other Unix users.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        write_config(dir.path(), config);
        let (child, addr, password) = spawn_daemon_in(bin, dir.path(), listen, &[], ns);
        Daemon {
            dir,
            child,
            addr,
            password,
            netns: match ns {
                Ns::Join(p) => Some(p.to_path_buf()),
                _ => None,
            },
            bin: bin.to_path_buf(),
        }
    }

    /// Starts the daemon of another ivm binary (an earlier release) on a new data directory;
    /// its commands are that binary's too.
    pub fn start_release(bin: &Path, config: &str) -> Daemon {
        Daemon::start_binary(bin, config, "127.0.0.1:0", Ns::Host)
    }

    /// Stops the daemon with SIGTERM (partitions keep running) and starts `bin`'s on the same
    /// data directory, as an upgrade or downgrade in place does; the commands follow it.
    pub fn replace_binary(&mut self, bin: &Path) {
        self.bin = bin.to_path_buf();
        self.restart();
    }

    /// Starts a daemon; `config` is written to `ivm.toml` first (empty for the host's figures).
    pub fn start(config: &str) -> Daemon {
        Daemon::start_with(config, "127.0.0.1:0", Ns::Host)
    }

    /// Starts a daemon in a network namespace of its own (reach it through its Unix socket:
    /// the commands; its HTTPS address is inside the namespace).
    pub fn start_in_netns(config: &str) -> Daemon {
        Daemon::start_with(config, "127.0.0.1:0", Ns::New)
    }

    /// Starts a daemon in the test's named network namespace `ns` (restarts stay there).
    pub fn start_in(config: &str, ns: &Netns) -> Daemon {
        Daemon::start_with(config, "127.0.0.1:0", Ns::Join(&ns.path()))
    }

    /// Starts a daemon on a fixed address (so clients keep it across restarts).
    pub fn start_at(config: &str, listen: &str) -> Daemon {
        Daemon::start_with(config, listen, Ns::Host)
    }

    /// Kills the daemon with SIGKILL and starts a new one on the same address and data
    /// directory.
    pub fn restart_after_kill_at_same_address(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, addr, _) = spawn_daemon_in(
            &self.bin,
            self.dir.path(),
            &self.addr.clone(),
            &[],
            Ns::Host,
        );
        self.child = child;
        self.addr = addr;
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `ivm ARGS...` as root.
    pub fn ivm(&self, args: &[&str]) -> Output {
        self.run(Command::new(&self.bin).args(args))
    }

    /// Runs a command line through `sh -c`, with the data directory in the environment.
    pub fn sh(&self, script: &str) -> Output {
        self.run(Command::new("sh").args(["-c", script]))
    }

    /// Runs a prepared command with this daemon's data directory.
    pub fn run(&self, cmd: &mut Command) -> Output {
        let out = cmd
            .env("IVM_DATA_DIR", self.data_dir())
            .stdin(Stdio::null())
            .output()
            .expect("run command");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `ivm ARGS`, asserts success and no stderr, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.ivm(args);
        assert_eq!(o.code, 0, "ivm {args:?} failed: {o:?}");
        assert_eq!(o.stderr, "", "ivm {args:?} wrote to stderr");
        o.stdout
    }

    /// Runs `ivm ARGS`, asserts failure with nothing on stdout, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.ivm(args);
        assert_ne!(o.code, 0, "ivm {args:?} should fail: {o:?}");
        assert_eq!(o.stdout, "", "ivm {args:?} printed on failure");
        o.stderr
    }

    /// Runs each command of `cases`, asserts it is refused with a message containing its
    /// reason, and that `state` reads the same before and after all of them (a refusal
    /// changes nothing).
    pub fn refuses_all<S: PartialEq + std::fmt::Debug>(
        &self,
        cases: &[(Vec<&str>, &str)],
        state: impl Fn(&Daemon) -> S,
    ) {
        let before = state(self);
        for (args, why) in cases {
            let e = self.fails(args);
            assert!(e.contains(why), "{args:?}: wanted {why:?}, got {e}");
        }
        assert_eq!(state(self), before, "a refused command changed something");
    }

    /// Sets padmin's password with `ivm passwd`.
    pub fn set_password(&self, user: &str, password: &str) {
        let mut child = Command::new(&self.bin)
            .args(["passwd", user])
            .env("IVM_DATA_DIR", self.data_dir())
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// An HTTPS client that trusts the daemon's generated certificate.
    pub fn https(&self) -> reqwest::Client {
        let pem = std::fs::read(self.data_dir().join("tls/cert.pem")).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .resolve("localhost", self.addr.parse().unwrap())
            .build()
            .unwrap()
    }

    /// The API base URL, by a name the certificate covers.
    pub fn url(&self, path: &str) -> String {
        let port = self.addr.rsplit(':').next().unwrap();
        format!("https://localhost:{port}/api/v1{path}")
    }

    /// Logs in over HTTPS and returns a bearer token.
    pub async fn token(&self, user: &str, password: &str) -> String {
        let r = self
            .https()
            .post(self.url("/login"))
            .json(&serde_json::json!({"user": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {user}");
        let v: serde_json::Value = r.json().await.unwrap();
        v["token"].as_str().unwrap().to_string()
    }

    /// The Prometheus text of `GET /metrics`, fetched as padmin (whose password this sets).
    pub fn metrics(&self) -> String {
        self.set_password("padmin", "padmin-pass-1");
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let token = self.token("padmin", "padmin-pass-1").await;
            let url = self.url("/metrics").replace("/api/v1/metrics", "/metrics");
            let r = self
                .https()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        })
    }

    /// The value of the metric line that starts with `series`, if there is one.
    pub fn metric(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    }

    /// Kills the daemon with SIGKILL (partitions keep running) and starts a new one on the same
    /// data directory.
    pub fn restart_after_kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let ns = match &self.netns {
            Some(p) => Ns::Join(p),
            None => Ns::Host,
        };
        let (child, addr, _) = spawn_daemon_in(&self.bin, self.dir.path(), "127.0.0.1:0", &[], ns);
        self.child = child;
        self.addr = addr;
    }

    /// Stops the daemon with SIGTERM and starts it again with extra environment (failure
    /// points); running partitions are re-adopted.
    pub fn restart_with_env(&mut self, env: &[(&str, &str)]) {
        self.stop();
        let ns = match &self.netns {
            Some(p) => Ns::Join(p),
            None => Ns::Host,
        };
        let (child, addr, _) = spawn_daemon_in(&self.bin, self.dir.path(), "127.0.0.1:0", env, ns);
        self.child = child;
        self.addr = addr;
    }

    /// Stops the daemon with SIGTERM (partitions keep running) and starts it again.
    pub fn restart(&mut self) {
        self.restart_with_env(&[]);
    }

    /// Stops the daemon with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child process by its PID.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        cleanup_host(self.dir.path());
    }
}

/// A named network namespace of the test's own (`ivmt<pid><tag>`), removed when dropped
/// (the kernel frees it, its links with it, once no process is left in it).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Makes it, with its loopback up.
    pub fn new(tag: &str) -> Netns {
        let name = format!("ivmt{}{tag}", std::process::id());
        let n = Netns { name };
        let _ = Command::new("ip").args(["netns", "del", &n.name]).output();
        n.ip(&["netns", "add", &n.name]);
        n.ip(&["-n", &n.name, "link", "set", "lo", "up"]);
        n
    }

    /// Its path under /run/netns.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Runs `ip ARGS` (the test's own set-up of its namespaces), asserting success.
    pub fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip").args(args).output().expect("run ip");
        assert!(out.status.success(), "ip {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `ip ARGS` inside it.
    pub fn ip_in(&self, args: &[&str]) -> String {
        let mut v = vec!["-n", self.name.as_str()];
        v.extend_from_slice(args);
        self.ip(&v)
    }

    /// Runs `f` on a thread inside it and returns what `f` returns.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn(f).join().expect("thread in the namespace")
    }

    /// Starts `f` on a thread inside it.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::File::open(self.path()).expect("open the namespace");
        std::thread::spawn(move || {
            // SAFETY: setns changes only this thread's network namespace.
            assert_eq!(
                unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
                0,
                "setns"
            );
            f()
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Kills every QEMU this data directory's partitions run and removes the instance's cgroups:
/// partitions outlive the daemon by design, tests must not outlive themselves.
pub fn cleanup_host(data_dir: &Path) {
    // Every QEMU whose command line names this data directory, found in /proc rather than by
    // pidfile: a test that failed may have left one whose pidfile is gone.
    let marker = data_dir.as_os_str().as_encoded_bytes().to_vec();
    let ours = |pid: i32| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        program.windows(11).any(|w| w == b"qemu-system")
            && cmdline.windows(marker.len()).any(|w| w == marker)
    };
    let pids: Vec<i32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| ours(*pid))
                .collect()
        })
        .unwrap_or_default();
    for pid in pids {
        // SAFETY: killing a QEMU that this test's data directory started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}/cmdline")).exists() && Instant::now() < deadline {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let Ok(name) = std::fs::read_to_string(data_dir.join("cgroup.name")) else {
        return;
    };
    let name = name.trim();
    // This instance's bridges (named from the same digest as its cgroup) in the host's
    // network namespace; its taps went with the QEMUs.
    if let Some(digest) = name.get(4..8) {
        let prefix = format!("ivm{digest}v");
        if let Ok(links) = ivm_net::links::list() {
            for l in links.iter().filter(|l| l.name.starts_with(&prefix)) {
                let _ = ivm_net::links::delete(&l.name);
            }
        }
    }
    for mount in cgroup_mounts() {
        remove_cgroup_tree(&mount.join(name));
    }
}

/// Removes a cgroup and the groups inside it (the shared memory pool's holds partitions'),
/// innermost first; the kernel reports a group busy for a moment after its last process.
fn remove_cgroup_tree(dir: &Path) {
    let Ok(children) = std::fs::read_dir(dir) else {
        return;
    };
    for c in children.flatten().filter(|c| c.path().is_dir()) {
        remove_cgroup_tree(&c.path());
    }
    for _ in 0..50 {
        if std::fs::remove_dir(dir).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Mount points of every cgroup hierarchy.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && (f[2] == "cgroup" || f[2] == "cgroup2")).then(|| PathBuf::from(f[1]))
        })
        .collect()
}

/// [`test_guest`]'s kernel and initramfs, for a caller that boots them itself.
pub fn test_guest_paths() -> (&'static Path, &'static Path) {
    static PATHS: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    let (k, i) = PATHS.get_or_init(test_guest);
    (k.as_path(), i.as_path())
}

/// The test guest built by `scripts/build-test-guest.sh` (in `target/test-guest`, or
/// `IVM_TEST_GUEST`). Without it the VM tests cannot run: that is a failure, not a skip.
pub fn test_guest() -> (PathBuf, PathBuf) {
    let dir = std::env::var_os("IVM_TEST_GUEST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-guest"));
    let (k, i) = (dir.join("vmlinuz"), dir.join("initramfs"));
    assert!(
        k.is_file() && i.is_file(),
        "the test guest is missing in {}: run scripts/build-test-guest.sh {}",
        dir.display(),
        dir.display()
    );
    (k.canonicalize().unwrap(), i.canonicalize().unwrap())
}

/// Copies the test guest into the daemon's boot directory (the only place ivm loads boot
/// files from), once.
pub fn install_guest(d: &Daemon) {
    let (kernel, initrd) = test_guest();
    let boot = d.data_dir().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    for (from, to) in [(kernel, "vmlinuz"), (initrd, "initramfs")] {
        if !boot.join(to).exists() {
            std::fs::copy(from, boot.join(to)).unwrap();
        }
    }
}

/// Defines a partition that boots the test guest on its serial console.
pub fn define_guest(d: &Daemon, name: &str, attrs: &str) {
    install_guest(d);
    let input = format!(
        "name={name},{attrs},boot_kernel=vmlinuz,boot_initrd=initramfs,\"boot_args=console=ttyS0 quiet\""
    );
    d.ok(&["mksyscfg", "-r", "lpar", "-i", &input]);
}

/// An open `mkvt` session, driven like a person at the terminal.
pub struct Console {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    output: std::sync::Arc<std::sync::Mutex<String>>,
    seen: usize,
}

impl Console {
    /// Runs `ivm mkvt -id ID` with pipes.
    pub fn open(d: &Daemon, id: u32) -> Console {
        let mut cmd = Command::new(&d.bin);
        cmd.args(["mkvt", "-id", &id.to_string()])
            .env("IVM_DATA_DIR", d.data_dir());
        Console::spawn(cmd)
    }

    /// Runs `cmd` (a program that joins its standard input and output to a guest's serial
    /// console) with pipes.
    pub fn spawn(mut cmd: Command) -> Console {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (out, mut stdout) = (output.clone(), child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 {
                    break;
                }
                out.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdin = child.stdin.take();
        Console {
            child,
            stdin,
            output,
            seen: 0,
        }
    }

    /// Types a line.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("console open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits until the output after the last match contains `needle`; returns the text up to
    /// and including the line that holds it.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        match self.try_wait_for(needle, timeout) {
            Some(text) => text,
            None => panic!(
                "console never showed {needle:?}; it showed: {}",
                &self.output.lock().unwrap()[self.seen..]
            ),
        }
    }

    /// [`Console::wait_for`], or None at the deadline.
    pub fn try_wait_for(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let out = self.output.lock().unwrap();
                // The line it is on, once whole: a line still arriving is waited for.
                if let Some(pos) = out[self.seen..].find(needle) {
                    let start = self.seen + pos;
                    if let Some(e) = out[start..].find('\n') {
                        let text = out[start..start + e].to_string();
                        self.seen = start + e;
                        return Some(text);
                    }
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            // Fine enough for the DLPAR latency benchmark to time what the guest prints. (The
            // terminal echoes what is typed: a marker to wait for must not be in the command
            // as typed, hence `echo done-""marker`.)
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Forgets the output so far: the next wait looks only at what comes after.
    pub fn skip_seen(&mut self) {
        self.seen = self.output.lock().unwrap().len();
    }

    /// Runs `guest-status` in the guest and returns (cpus, mem_kb).
    pub fn status(&mut self) -> (u32, u64) {
        self.send("guest-status");
        let line = self.wait_for("cpus=", Duration::from_secs(30));
        // The echo of the command line itself contains no "cpus=", so this is the answer.
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {name} in {line:?}"))
        };
        (field("cpus=") as u32, field("mem_kb="))
    }

    /// Waits (bounded) for `mkvt` to exit; returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns true (bounded); panics with `what` otherwise.
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Guests share two cores: one VM test at a time keeps timings and CPU measurements honest.
static VM_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the one-VM-test-at-a-time lock.
pub fn lock() -> std::sync::MutexGuard<'static, ()> {
    VM_TESTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// A partition's state as `lssyscfg` prints it.
pub fn state(d: &Daemon, name: &str) -> String {
    d.ok(&[
        "lssyscfg",
        "-r",
        "lpar",
        "--filter",
        &format!("lpar_names={name}"),
        "-F",
        "state",
    ])
    .trim()
    .to_string()
}

/// A partition's ID by its name, as `lssyscfg` prints it.
pub fn lpar_id(d: &Daemon, name: &str) -> u32 {
    field(
        d,
        &[
            "lssyscfg",
            "-r",
            "lpar",
            "--filter",
            &format!("lpar_names={name}"),
            "-F",
            "lpar_id",
        ],
    )
    .parse()
    .unwrap()
}

/// Waits (bounded) for a partition to reach a state.
pub fn wait_state(d: &Daemon, name: &str, want: &str) {
    eventually(
        &format!("{name} to be {want}"),
        Duration::from_secs(60),
        || state(d, name) == want,
    );
}

/// A command's output, trimmed.
pub fn field(d: &Daemon, args: &[&str]) -> String {
    d.ok(args).trim().to_string()
}

/// `GET /api/v1PATH` as padmin (whose password this sets), its JSON answer.
pub fn api_get(d: &Daemon, path: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    d.set_password("padmin", "padmin-pass-1");
    rt.block_on(async {
        let t = d.token("padmin", "padmin-pass-1").await;
        d.https()
            .get(d.url(path))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

/// A partition as the REST API shows it (with what the running guest has).
pub fn partition_json(d: &Daemon, id: u32) -> serde_json::Value {
    api_get(d, &format!("/partitions/{id}"))
}

/// The task log, newest first (`GET /api/v1/tasks`).
pub fn tasks(d: &Daemon) -> Vec<serde_json::Value> {
    serde_json::from_value(api_get(d, "/tasks?limit=1000")).unwrap()
}

/// The PID of a running partition's QEMU (0 when not running).
/// The command line of a running partition's QEMU, arguments joined by spaces (found by its
/// pidfile, so it works for a daemon in a network namespace too).
pub fn qemu_cmdline(d: &Daemon, id: u32) -> String {
    let pid = std::fs::read_to_string(d.data_dir().join(format!("lpars/{id}/qemu.pid"))).unwrap();
    let raw = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

pub fn run_pid(d: &Daemon, id: u32) -> u32 {
    partition_json(d, id)["run"]["pid"].as_u64().unwrap_or(0) as u32
}

/// A file of a partition's cgroup (`memory.limit_in_bytes`, `cpu.cfs_quota_us`,
/// `cpuset.cpus`, ...), from whichever hierarchy has it.
pub fn cgroup_file(d: &Daemon, id: u32, file: &str) -> Option<String> {
    let name = std::fs::read_to_string(d.data_dir().join("cgroup.name")).ok()?;
    cgroup_mounts().into_iter().find_map(|m| {
        std::fs::read_to_string(m.join(name.trim()).join(format!("lpar{id}")).join(file))
            .ok()
            .map(|s| s.trim().to_string())
    })
}

/// Activates a partition (`chsysstate -o on`), asserting success.
pub fn activate(d: &Daemon, name: &str) {
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", name]);
}

/// Stops a partition at once (`chsysstate -o shutdown --immed`), asserting success.
pub fn stop_now(d: &Daemon, name: &str) {
    d.ok(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "shutdown",
        "--immed",
        "-n",
        name,
    ]);
}

/// Activates a partition and waits on its console for the test guest's ready line.
pub fn boot(d: &Daemon, name: &str, id: u32) -> Console {
    activate(d, name);
    let mut con = Console::open(d, id);
    con.wait_for("IVM-TEST-GUEST READY", Duration::from_secs(90));
    con
}

/// Waits (bounded) until the partition's guest agent, its RMC connection, is active: DLPAR
/// adds need it.
pub fn wait_rmc(d: &Daemon, name: &str) {
    eventually(
        &format!("{name}'s guest agent (rmc_state=active)"),
        Duration::from_secs(90),
        || {
            d.ok(&[
                "lssyscfg",
                "-r",
                "lpar",
                "--filter",
                &format!("lpar_names={name}"),
                "-F",
                "rmc_state",
            ])
            .trim()
                == "active"
        },
    );
}

/// (partitions, committed memory MB, committed processing units in hundredths), counted
/// straight from the database file.
pub fn recount(data_dir: &Path) -> (i64, i64, i64) {
    let db = rusqlite::Connection::open(data_dir.join("ivm.db")).unwrap();
    db.query_row(
        "SELECT COUNT(*), SUM(desired_mem), SUM(CASE proc_mode WHEN 'ded' THEN desired_procs * 100 ELSE desired_proc_units END) FROM partitions",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// `setpriv` set to run what follows as Unix user and group `uid` with no other groups.
pub fn as_uid(uid: impl std::fmt::Display) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".into(),
    ]);
    c
}

/// A TCP port on 127.0.0.1 that nothing listens on at the moment.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
