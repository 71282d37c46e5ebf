//! ivm as a system service. Its Debian package, built by `scripts/build-deb.sh` from this tree
//! (the test's binary in it) and installed with `dpkg -i` on this machine: its files and modes,
//! the first install's padmin and password file, the unit accepted by `systemd-analyze
//! verify`, and a purge that says what it removes and leaves nothing of ivm behind. The
//! daemon's side of `Type=notify` and the watchdog, spoken to a socket the test holds as
//! systemd would. Where systemd is PID 1, the installed service itself: a restart keeps
//! partitions running, a host boot starts the auto_start ones.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{lock, Daemon};

const DATA: &str = "/var/lib/ivm";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a command");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Purges the package when dropped, so that a failed test leaves nothing installed.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "ivm"]).output();
    }
}

fn build() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = run(Command::new(root.join("scripts/build-deb.sh"))
        .env("IVM_BIN", env!("CARGO_BIN_EXE_ivm"))
        // The test's debug binary is large; xz would take a minute over it.
        .env("IVM_DEB_COMPRESSION", "gzip"));
    PathBuf::from(out.lines().last().unwrap().trim())
}

#[test]
fn the_debian_package_installs_ivm_as_a_service_and_purges_cleanly() {
    let _l = lock();
    assert!(
        !Path::new(DATA).exists(),
        "{DATA} exists: this test installs the package on this machine and needs it absent"
    );
    assert!(
        common::sshd::unix_account("padmin").is_none(),
        "this machine has a padmin account; the package's first install makes one"
    );
    let deb = build();
    let version = env!("CARGO_PKG_VERSION");
    assert!(deb.ends_with(format!("ivm_{version}_amd64.deb")), "{deb:?}");
    let field = |f: &str| run(Command::new("dpkg-deb").args(["-f"]).arg(&deb).arg(f));
    assert_eq!(field("Package").trim(), "ivm");
    assert_eq!(field("Version").trim(), version);
    let depends = field("Depends");
    for dep in ["qemu-system-x86 (>= 1:10)", "lvm2", "openssh-server"] {
        assert!(depends.contains(dep), "Depends lacks {dep}: {depends}");
    }
    let contents = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let line = |path: &str| {
        contents
            .lines()
            .find(|l| l.split_whitespace().nth(5) == Some(path))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{contents}"))
            .to_string()
    };
    assert!(line("./usr/lib/ivm/ivm").starts_with("-rwxr-xr-x root/root"));
    assert!(line("./etc/ivm/ivm.toml").starts_with("-rw-r--r-- root/root"));
    assert!(line("./lib/systemd/system/ivm.service").starts_with("-rw-r--r-- root/root"));
    assert!(line("./usr/bin/ivm").contains("-> ../lib/ivm/ivm"));
    assert!(line("./usr/lib/ivm/bin/lssyscfg").contains("-> ../ivm"));
    let size_kb = std::fs::metadata(&deb).unwrap().len() >> 10;

    let _installed = Installed;
    let t = std::time::Instant::now();
    let out = run(Command::new("dpkg").arg("-i").arg(&deb));
    let took = t.elapsed();
    eprintln!(
        "package: {size_kb} KB (the test's debug binary, gzip), dpkg -i {} ms",
        took.as_millis()
    );
    // No systemd here or there: it says how to start the daemon; padmin exists with a
    // password only root can read.
    let pw_file = Path::new(DATA).join("padmin.password");
    assert!(out.contains(&pw_file.display().to_string()), "{out}");
    let mode = std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::metadata(DATA).unwrap().permissions().mode() & 0o777,
        0o711
    );
    assert!(common::sshd::unix_account("padmin").is_some_and(|l| l.contains(":ivm user:")));
    let conffiles = std::fs::read_to_string("/var/lib/dpkg/info/ivm.conffiles").unwrap();
    assert!(conffiles.contains("/etc/ivm/ivm.toml"), "{conffiles}");
    let v = run(Command::new("/usr/bin/ivm").arg("--version"));
    assert!(v.contains(version), "{v}");
    // The configuration as shipped (every line a comment) is what ivm reads as its defaults.
    let o = run(Command::new("/usr/lib/ivm/ivm")
        .args(["--data-dir", DATA, "sshd-config"])
        .env("IVM_CONFIG", "/etc/ivm/ivm.toml"));
    assert!(o.contains("Match Group ivm-users"), "{o}");
    // systemd's own check of the unit (as systemd would load it).
    let verify = Command::new("systemd-analyze")
        .args(["verify", "/lib/systemd/system/ivm.service"])
        .output()
        .expect("run systemd-analyze (package systemd)");
    let said = String::from_utf8_lossy(&verify.stderr).into_owned();
    assert!(verify.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains("ivm.service"),
        "systemd-analyze has remarks on ivm.service: {said}"
    );

    // remove keeps the data; purge says what it removes and removes it.
    run(Command::new("dpkg").args(["--remove", "ivm"]));
    assert!(Path::new(DATA).join("ivm.db").exists());
    assert!(!Path::new("/usr/lib/ivm/ivm").exists());
    let out = run(Command::new("dpkg").args(["--purge", "ivm"]));
    assert!(out.contains("purging /var/lib/ivm"), "{out}");
    assert!(out.contains("padmin"), "{out}");
    assert!(!Path::new(DATA).exists());
    assert!(common::sshd::unix_account("padmin").is_none());
    assert!(!Path::new("/etc/ivm/ivm.toml").exists());
}

/// The next message on `sock` (a service manager's notification socket), or None by the
/// deadline.
fn next_message(sock: &UnixDatagram, deadline: Instant) -> Option<String> {
    let mut buf = [0u8; 4096];
    let left = deadline.checked_duration_since(Instant::now())?;
    sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .unwrap();
    let n = sock.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn the_daemon_tells_its_service_manager_ready_alive_and_stopping() {
    let _l = lock();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let sock = UnixDatagram::bind(&path).unwrap();
    let mut d = Daemon::start("");
    // As systemd starts it: a notification socket, a watchdog of 2 s (pinged every 1 s).
    let notify = path.to_str().unwrap();
    d.restart_with_env(&[("NOTIFY_SOCKET", notify), ("WATCHDOG_USEC", "2000000")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = next_message(&sock, deadline).expect("READY=1 from the daemon");
    assert!(
        ready.starts_with("READY=1\nSTATUS=serving https://"),
        "{ready}"
    );
    // Ready means serving: the socket answers at once.
    assert_eq!(
        d.ok(&[
            "lssyscfg",
            "-r",
            "lpar",
            "--filter",
            "lpar_ids=1",
            "-F",
            "state"
        ])
        .trim(),
        "Running"
    );
    let mut beats = 0;
    while beats < 2 {
        let m = next_message(&sock, deadline).expect("WATCHDOG=1 within the watchdog's time");
        assert_eq!(m, "WATCHDOG=1");
        beats += 1;
    }
    d.stop();
    // What is left after the beats already sent: STOPPING=1 comes last.
    let mut last = String::new();
    while let Some(m) = next_message(&sock, Instant::now() + Duration::from_secs(5)) {
        last = m;
    }
    assert_eq!(last, "STOPPING=1");
}

/// Runs `ivm ARGS` against the installed package's daemon.
fn installed(args: &[&str]) -> String {
    run(Command::new("/usr/lib/ivm/ivm")
        .args(args)
        .env("IVM_DATA_DIR", DATA))
}

/// The QEMU PID of the installed daemon's partition `id` (its pid file, if that process
/// exists), 0 when it does not run.
fn installed_pid(id: u32) -> u32 {
    std::fs::read_to_string(Path::new(DATA).join(format!("lpars/{id}/qemu.pid")))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .filter(|p| Path::new(&format!("/proc/{p}")).exists())
        .unwrap_or(0)
}

fn installed_state(name: &str) -> String {
    installed(&[
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

fn wait_installed(what: &str, mut f: impl FnMut() -> bool) {
    common::eventually(what, Duration::from_secs(120), &mut f);
}

#[test]
#[ignore = "needs systemd as PID 1"]
fn systemctl_restart_keeps_partitions_running_and_a_host_boot_starts_auto_start_ones() {
    let _l = lock();
    assert!(
        !Path::new(DATA).exists(),
        "{DATA} exists: this test needs it absent"
    );
    let deb = build();
    let _installed = Installed;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .arg(&deb));
    wait_installed("ivm.service to be active", || {
        Command::new("systemctl")
            .args(["is-active", "--quiet", "ivm.service"])
            .status()
            .is_ok_and(|s| s.success())
    });
    let (kernel, initrd) = common::test_guest();
    let boot = Path::new(DATA).join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    std::fs::copy(kernel, boot.join("vmlinuz")).unwrap();
    std::fs::copy(initrd, boot.join("initramfs")).unwrap();
    for (name, auto) in [("sv1", 1), ("sv2", 1), ("sv3", 0)] {
        installed(&[
            "mksyscfg", "-r", "lpar", "-i",
            &format!("name={name},auto_start={auto},desired_procs=1,min_mem=128,desired_mem=128,max_mem=128,boot_kernel=vmlinuz,boot_initrd=initramfs,\"boot_args=console=ttyS0 quiet\""),
        ]);
    }
    installed(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "sv1"]);
    let pid = installed_pid(2);
    assert!(pid > 0);
    run(Command::new("systemctl").args(["restart", "ivm.service"]));
    assert_eq!(installed_state("sv1"), "Running");
    assert_eq!(
        installed_pid(2),
        pid,
        "systemctl restart left the partition's QEMU running"
    );

    // A host boot, as the service sees one: no QEMU left, another boot ID.
    run(Command::new("systemctl").args(["stop", "ivm.service"]));
    assert_eq!(installed_pid(2), pid, "systemctl stop shut nothing down");
    // SAFETY: signalling a process by its PID.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_installed("sv1's QEMU to end", || installed_pid(2) == 0);
    std::fs::write(Path::new(DATA).join("boot_id"), "an earlier boot\n").unwrap();
    run(Command::new("systemctl").args(["start", "ivm.service"]));
    wait_installed("the auto_start partitions to run", || {
        installed_state("sv1") == "Running" && installed_state("sv2") == "Running"
    });
    assert_eq!(installed_state("sv3"), "Not Activated");
    for name in ["sv1", "sv2"] {
        installed(&[
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
    run(Command::new("systemctl").args(["stop", "ivm.service"]));
}
