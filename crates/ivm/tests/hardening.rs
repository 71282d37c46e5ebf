//! What the store says a partition has is what the kernel gives it: races, injected failures at
//! every host step, changes while starting, launch limits, shutdown guarantees, unprivileged
//! QEMU, private files. Real guests, real cgroups.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{
    activate, boot, cgroup_file, define_guest as define, eventually, field, lock, partition_json,
    run_pid, state, stop_now, wait_state, Console, Daemon,
};

/// Four processors as far as the rules go (so profiles may ask for up to 4 and two dedicated
/// partitions may be defined); the host's two CPUs are what QEMU really gets.
const SETTINGS: &str = "shutdown_delay_secs = 3\ninstalled_procs = 4\n";
const BOOT: Duration = Duration::from_secs(90);

/// A FIFO a failure point waits on; `release` lets the daemon go on.
struct Gate(std::path::PathBuf);

impl Gate {
    fn new(dir: &std::path::Path, name: &str) -> Gate {
        let path = dir.join(name);
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        Gate(path)
    }

    fn release(&self) {
        // Opening for writing unblocks the reader; closing ends its read.
        drop(
            std::fs::OpenOptions::new()
                .write(true)
                .open(&self.0)
                .unwrap(),
        );
    }
}

/// What the host and the store say about partition 2: (vCPUs in QEMU, memory in QEMU (MB),
/// cgroup memory limit, CFS quota, profile's desired procs, desired mem, desired units).
fn truth(d: &Daemon) -> (u64, u64, String, String, String) {
    let p = partition_json(d, 2);
    let run = &p["run"];
    let prof = field(
        d,
        &[
            "lssyscfg",
            "-r",
            "prof",
            "--filter",
            "lpar_ids=2",
            "-F",
            "desired_procs,desired_mem,desired_proc_units",
        ],
    );
    (
        run["procs"].as_u64().unwrap(),
        run["mem"].as_u64().unwrap(),
        cgroup_file(d, 2, "memory.limit_in_bytes")
            .or_else(|| cgroup_file(d, 2, "memory.max"))
            .unwrap(),
        cgroup_file(d, 2, "cpu.cfs_quota_us")
            .or_else(|| cgroup_file(d, 2, "cpu.max"))
            .unwrap(),
        prof,
    )
}

#[test]
fn a_failure_at_any_host_step_leaves_host_and_store_as_they_were() {
    let _l = lock();
    let mut d = Daemon::start(SETTINGS);
    define(
        &d,
        "lp1",
        "desired_procs=1,max_procs=4,min_proc_units=0.1,desired_proc_units=0.2,max_proc_units=4.0,sharing_mode=cap,min_mem=128,desired_mem=256,max_mem=768",
    );
    drop(boot(&d, "lp1", 2));
    let before = truth(&d);
    assert_eq!((before.0, before.1), (1, 256), "{before:?}");

    // Each point fails the first step of its kind a change reaches; the change is chosen so
    // that steps before the failing one ran and must be undone.
    let cases: &[(&str, &str)] = &[
        ("dlpar.mem_limit", "desired_mem=512"),
        ("dlpar.plugged_mem", "desired_mem=512"),
        // The balloon (min_mem is below the boot memory), growing and shrinking.
        ("dlpar.balloon", "desired_mem=512"),
        ("dlpar.balloon", "desired_mem=128"),
        (
            "dlpar.vcpus",
            "desired_procs=2,desired_mem=512,desired_proc_units=0.4",
        ),
        (
            "dlpar.cpu_control",
            "desired_mem=512,desired_proc_units=0.5",
        ),
        ("dlpar.commit", "desired_mem=512,desired_proc_units=0.5"),
    ];
    for (point, change) in cases {
        d.restart_with_env(&[("IVM_FAILPOINTS", &format!("{point}=error"))]);
        let e = d.fails(&[
            "chsyscfg",
            "--force",
            "-r",
            "prof",
            "-i",
            &format!("name=lp1,{change}"),
        ]);
        assert!(
            e.contains(&format!("injected failure at {point}")),
            "{point}: {e}"
        );
        assert_eq!(truth(&d), before, "after a failure at {point}");
        assert_eq!(state(&d, "lp1"), "Running", "{point}");
    }

    // Without failure points the same change goes through, and the host follows the store.
    d.restart_with_env(&[]);
    d.ok(&[
        "chsyscfg",
        "--force",
        "-r",
        "prof",
        "-i",
        "name=lp1,desired_procs=2,desired_mem=512,desired_proc_units=0.4",
    ]);
    let after = truth(&d);
    assert_eq!((after.0, after.1), (2, 512), "{after:?}");
    assert_eq!(after.4, "2,512,0.4");
    assert_ne!(after.2, before.2);
    assert_ne!(after.3, before.3);
    stop_now(&d, "lp1");
}

#[test]
fn a_daemon_killed_in_the_middle_of_a_change_is_undone_at_restart() {
    let _l = lock();
    let mut d = Daemon::start(SETTINGS);
    define(
        &d,
        "lp1",
        "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,min_mem=256,desired_mem=256,max_mem=512",
    );
    drop(boot(&d, "lp1", 2));
    let before = truth(&d);
    // The daemon dies after the host took the new memory, before the store committed it.
    d.restart_with_env(&[("IVM_FAILPOINTS", "dlpar.commit=abort")]);
    let o = d.ivm(&[
        "chhwres", "--force", "-r", "mem", "-o", "a", "--id", "2", "-q", "128",
    ]);
    assert_ne!(o.code, 0, "{o:?}");
    let _ = d.child.wait();
    d.restart_with_env(&[]);
    assert_eq!(state(&d, "lp1"), "Running");
    assert_eq!(
        truth(&d),
        before,
        "the half-done change is undone on the host and in the store"
    );
    // And the partition takes changes again.
    d.ok(&[
        "chhwres", "--force", "-r", "mem", "-o", "a", "--id", "2", "-q", "128",
    ]);
    assert_eq!(truth(&d).1, 384);
    stop_now(&d, "lp1");
}

#[test]
fn changes_while_starting_are_refused_and_accepted_once_running() {
    let _l = lock();
    let mut d = Daemon::start(SETTINGS);
    define(
        &d,
        "lp1",
        "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,min_mem=256,desired_mem=256,max_mem=512",
    );
    let gate = Gate::new(d.data_dir(), "start.gate");
    let spec = format!("start.spawn=wait:{}", gate.0.display());
    d.restart_with_env(&[("IVM_FAILPOINTS", &spec)]);
    let dir = d.data_dir().to_path_buf();
    let activation = std::thread::spawn(move || {
        std::process::Command::new(common::ivm_bin())
            .args(["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp1"])
            .env("IVM_DATA_DIR", dir)
            .output()
            .unwrap()
    });
    wait_state(&d, "lp1", "Starting");
    for args in [
        &[
            "chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
        ][..],
        &[
            "chhwres", "--force", "-r", "mem", "-o", "a", "--id", "2", "-q", "128",
        ],
        &[
            "chsyscfg",
            "-r",
            "prof",
            "-i",
            "name=lp1,desired_proc_units=0.3",
        ],
    ] {
        let e = d.fails(args);
        assert!(
            e.contains("partition lp1 is Starting; its resources can be changed dynamically once it is Running"),
            "{args:?}: {e}"
        );
    }
    assert_eq!(
        field(
            &d,
            &[
                "lssyscfg",
                "-r",
                "prof",
                "--filter",
                "lpar_ids=2",
                "-F",
                "desired_procs,desired_mem"
            ]
        ),
        "1,256"
    );
    gate.release();
    let out = activation.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(state(&d, "lp1"), "Running");
    d.ok(&[
        "chhwres", "--force", "-r", "mem", "-o", "a", "--id", "2", "-q", "128",
    ]);
    assert_eq!(partition_json(&d, 2)["run"]["mem"], 384);
    stop_now(&d, "lp1");
}

#[test]
fn dlpar_is_bounded_by_what_qemu_was_started_with() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(
        &d,
        "lp1",
        "desired_procs=1,max_procs=2,desired_proc_units=0.4,max_proc_units=2.0,min_mem=256,desired_mem=256,max_mem=512",
    );
    activate(&d, "lp1");
    let accel = field(&d, &["lssyscfg", "-r", "sys", "-F", "accel"]);
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY", BOOT);

    // A raised maximum is the profile's; the running QEMU keeps the one it started with.
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "name=lp1,max_procs=4,max_proc_units=4.0",
    ]);
    let e = d.fails(&[
        "chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "2",
    ]);
    assert!(
        e.contains(
            "desired_procs=3 is beyond what the running partition was activated with (max_procs=2)"
        ),
        "{e}"
    );
    assert_eq!(partition_json(&d, 2)["run"]["procs"], 1);

    // Add, remove, add: under TCG the second add would abort QEMU, so it is refused first.
    d.ok(&[
        "chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
    ]);
    eventually("two CPUs in the guest", Duration::from_secs(30), || {
        con.status().0 == 2
    });
    d.ok(&[
        "chhwres", "-r", "proc", "-o", "r", "--id", "2", "--procs", "1",
    ]);
    eventually("one CPU in the guest", Duration::from_secs(30), || {
        con.status().0 == 1
    });
    let o = d.ivm(&[
        "chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
    ]);
    if accel == "tcg" {
        assert_ne!(o.code, 0);
        assert!(o.stderr.contains("can take 0 more vCPU plug(s)"), "{o:?}");
        assert!(o.stderr.contains("activate it again"), "{o:?}");
    } else {
        assert_eq!(o.code, 0, "{o:?}");
    }
    assert_eq!(state(&d, "lp1"), "Running", "the partition survives");
    assert_eq!(con.status().0, if accel == "tcg" { 1 } else { 2 });
    drop(con);

    // At the next activation the raised maximum is in force.
    stop_now(&d, "lp1");
    let mut con = boot(&d, "lp1", 2);
    d.ok(&[
        "chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "2",
    ]);
    eventually("three CPUs in the guest", Duration::from_secs(30), || {
        con.status().0 == 3
    });
    drop(con);
    stop_now(&d, "lp1");
}

#[test]
#[ignore = "needs usable KVM (here /dev/kvm is nested and ivm chooses TCG)"]
fn under_kvm_vcpus_can_be_plugged_again_and_again() {
    let _l = lock();
    let d = Daemon::start("accel = \"kvm\"\n");
    define(
        &d,
        "lp1",
        "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,desired_mem=256",
    );
    let mut con = boot(&d, "lp1", 2);
    for _ in 0..3 {
        d.ok(&[
            "chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
        ]);
        eventually("two CPUs", Duration::from_secs(30), || con.status().0 == 2);
        d.ok(&[
            "chhwres", "-r", "proc", "-o", "r", "--id", "2", "--procs", "1",
        ]);
        eventually("one CPU", Duration::from_secs(30), || con.status().0 == 1);
    }
    drop(con);
    stop_now(&d, "lp1");
}

/// Processors through the guest agent in a guest that onlines none by itself. KVM only: under
/// TCG, QEMU 10 aborts a vCPU plug once the translation buffer's regions are used up
/// (tcg_region_initial_alloc), which the agent's start-up code reaches at once.
#[test]
#[ignore = "needs usable KVM (here /dev/kvm is nested and ivm chooses TCG)"]
fn under_kvm_the_guest_agent_onlines_plugged_processors() {
    let _l = lock();
    let d = Daemon::start("accel = \"kvm\"\n");
    define(
        &d,
        "lp1",
        "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,desired_mem=256",
    );
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "name=lp1,\"boot_args=console=ttyS0 quiet ivm.stock ivm.agent\"",
    ]);
    let mut con = boot(&d, "lp1", 2);
    common::wait_rmc(&d, "lp1");
    d.ok(&[
        "chhwres", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
    ]);
    assert_eq!(con.status().0, 2, "online when chhwres returns");
    d.ok(&[
        "chhwres", "-r", "proc", "-o", "r", "--id", "2", "--procs", "1",
    ]);
    eventually("one CPU", Duration::from_secs(30), || con.status().0 == 1);
    drop(con);
    stop_now(&d, "lp1");
}

#[test]
fn racing_dedicated_activations_never_share_a_cpu() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    // Two host CPUs: one can be dedicated, the other stays in the shared pool.
    define(&d, "ded1", "proc_mode=ded,desired_procs=1,desired_mem=256");
    define(&d, "ded2", "proc_mode=ded,desired_procs=1,desired_mem=256");
    let run = |name: &'static str| {
        let dir = d.data_dir().to_path_buf();
        std::thread::spawn(move || {
            std::process::Command::new(common::ivm_bin())
                .args(["chsysstate", "-r", "lpar", "-o", "on", "-n", name])
                .env("IVM_DATA_DIR", dir)
                .output()
                .unwrap()
        })
    };
    let (a, b) = (run("ded1"), run("ded2"));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(
        [a.status.success(), b.status.success()]
            .iter()
            .filter(|x| **x)
            .count(),
        1,
        "exactly one wins: {a:?} {b:?}"
    );
    let loser = if a.status.success() { &b } else { &a };
    assert!(
        String::from_utf8_lossy(&loser.stderr).contains("not enough dedicated processors"),
        "{loser:?}"
    );
    let (winner, id) = if a.status.success() {
        ("ded1", 2)
    } else {
        ("ded2", 3)
    };
    let cpus: u32 = std::thread::available_parallelism().unwrap().get() as u32;
    assert_eq!(
        cgroup_file(&d, id, "cpuset.cpus").unwrap(),
        (cpus - 1).to_string()
    );
    stop_now(&d, winner);
}

#[test]
fn immediate_shutdown_ends_even_a_hung_qemu() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    activate(&d, "lp1");
    let pid = run_pid(&d, 2);
    // A stopped process answers nothing, QMP included.
    // SAFETY: signalling the test's own partition process.
    unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
    stop_now(&d, "lp1");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z"),
        "QEMU {pid} is gone when the command returns"
    );
    assert_eq!(state(&d, "lp1"), "Not Activated");
}

#[test]
fn a_declined_os_shutdown_forgets_the_restart() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    let mut con = boot(&d, "lp1", 2);
    con.send("mv /etc/acpi/PWRF/00000080 /tmp/; echo handler-\"\"gone");
    con.wait_for("handler-gone\r", Duration::from_secs(10));
    d.ok(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "osshutdown",
        "--restart",
        "-n",
        "lp1",
    ]);
    assert_eq!(state(&d, "lp1"), "Shutting Down");
    wait_state(&d, "lp1", "Running");
    // Later the guest powers itself off: it stays off.
    con.send("poweroff -f");
    wait_state(&d, "lp1", "Not Activated");
    drop(con);
    assert_eq!(run_pid(&d, 2), 0);
    assert_eq!(state(&d, "lp1"), "Not Activated", "not restarted");
}

fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn qemu_runs_unprivileged_and_loads_only_files_ivm_manages() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    // Boot files outside boot/, or links out of it, are refused before anything is stored.
    let boot = d.data_dir().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", boot.join("shadow-link")).unwrap();
    for (attrs, what) in [
        (
            "boot_kernel=/etc/shadow",
            "boot_kernel=/etc/shadow is not in",
        ),
        (
            "boot_kernel=shadow-link",
            "boot_kernel=shadow-link is not in",
        ),
        ("boot_kernel=../ivm.db", "boot_kernel=../ivm.db is not in"),
        ("boot_kernel=nothing-here", "does not exist in"),
    ] {
        let e = d.fails(&[
            "mksyscfg",
            "-r",
            "lpar",
            "-i",
            &format!("name=bad,desired_procs=1,desired_mem=256,{attrs}"),
        ]);
        assert!(e.contains(what), "{attrs}: {e}");
    }
    assert_eq!(
        d.ok(&["lssyscfg", "-r", "lpar", "-F", "name"])
            .lines()
            .count(),
        1
    );

    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    let e = d.fails(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "name=lp1,boot_initrd=/etc/shadow",
    ]);
    assert!(e.contains("boot_initrd=/etc/shadow is not in"), "{e}");
    // A boot file swapped for a link after it was accepted is refused at activation.
    std::fs::rename(boot.join("initramfs"), boot.join("initramfs.real")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", boot.join("initramfs")).unwrap();
    let e = d.fails(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp1"]);
    assert!(e.contains("is not in"), "{e}");
    assert_eq!(run_pid(&d, 2), 0, "no QEMU was started");
    std::fs::remove_file(boot.join("initramfs")).unwrap();
    std::fs::rename(boot.join("initramfs.real"), boot.join("initramfs")).unwrap();

    // Each partition's QEMU runs as a user and group of its own, which no account has: one
    // cannot signal (or trace, or read the memory of) another.
    define(&d, "lp2", "desired_procs=1,desired_mem=256");
    activate(&d, "lp1");
    activate(&d, "lp2");
    let pid = run_pid(&d, 2);
    let other = run_pid(&d, 3);
    let (uid, other_uid) = (uid_of(pid), uid_of(other));
    assert_ne!(uid, 0);
    assert_eq!(other_uid, uid + 1, "partition N runs as base + N");
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    assert!(
        !passwd
            .lines()
            .any(|l| l.split(':').nth(2) == Some(uid.to_string().as_str())),
        "QEMU's uid {uid} belongs to an account"
    );
    let o = d.run(common::as_uid(uid).args(["kill", "-0", &other.to_string()]));
    assert_ne!(
        o.code, 0,
        "partition 2's QEMU user signalled partition 3's: {o:?}"
    );
    let o = d.run(common::as_uid(uid).args(["head", "-c1", &format!("/proc/{other}/environ")]));
    assert_ne!(
        o.code, 0,
        "partition 2's QEMU user read partition 3's environment: {o:?}"
    );
    stop_now(&d, "lp2");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status.contains("Seccomp:\t2"),
        "QEMU's seccomp filter is on"
    );
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY", BOOT);
    drop(con);
    stop_now(&d, "lp1");
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn secrets_are_private_and_fixed_at_start() {
    let _l = lock();
    let mut d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    activate(&d, "lp1");
    let dir = d.data_dir().to_path_buf();
    for f in [
        "ivm.db",
        "ivm.db-wal",
        "ivm.db-shm",
        "tls/key.pem",
        "lpars/2/console.log",
    ] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    stop_now(&d, "lp1");
    d.stop();
    std::fs::set_permissions(dir.join("ivm.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(
        dir.join("tls/key.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    d.restart();
    assert_eq!(mode(&dir.join("ivm.db")), 0o600);
    assert_eq!(mode(&dir.join("tls/key.pem")), 0o600);
}

#[test]
fn old_tasks_are_pruned() {
    let mut d = Daemon::start("task_retention_days = 0\n");
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=a,desired_procs=1,desired_mem=256",
    ]);
    let count = |d: &Daemon| {
        let c = rusqlite::Connection::open(d.data_dir().join("ivm.db")).unwrap();
        c.query_row("SELECT count(*) FROM tasks", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    assert!(count(&d) >= 1);
    // Pruning runs at start (and hourly): with 0 days kept, every finished task goes.
    d.restart();
    eventually("the task log pruned", Duration::from_secs(10), || {
        count(&d) == 0
    });
}

/// A guest that prints 100 MB on its console cannot fill the host's disk: the log stays
/// within its bound (`console_log_max_kb`), the newest half moved to `console.log.1`.
#[test]
fn a_guest_printing_100_mb_keeps_its_console_log_bounded() {
    let _l = lock();
    let max_kb: u64 = 1024;
    let d = Daemon::start(&format!("{SETTINGS}console_log_max_kb = {max_kb}\n"));
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    let mut con = boot(&d, "lp1", 2);
    let dir = d.data_dir().join("lpars/2");
    let log = dir.join("console.log");
    assert!(log.exists(), "{}", log.display());
    // The console session is closed so that the 100 MB go only to the log.
    // The marker is computed by the guest's shell, so the echoed command line never matches.
    con.send("(dd if=/dev/zero bs=1M count=100 2>/dev/null | tr '\\000' x > /dev/ttyS0; echo PRINTED-ALL-$((50*2))MB > /dev/ttyS0) &");
    con.wait_for("PRINTED-ALL-$((50*2))MB", Duration::from_secs(30));
    drop(con);
    let started = std::time::Instant::now();
    let mut largest = 0u64;
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    eventually(
        "the guest to print 100 MB",
        Duration::from_secs(900),
        || {
            largest = largest.max(size(&log));
            let tail = |p: &std::path::Path| {
                std::fs::read(p).is_ok_and(|b| {
                    String::from_utf8_lossy(&b[b.len().saturating_sub(4096)..])
                        .contains("PRINTED-ALL-100MB")
                })
            };
            tail(&log) || tail(&dir.join("console.log.1"))
        },
    );
    let secs = started.elapsed().as_secs_f64();
    let total = size(&log) + size(&dir.join("console.log.1"));
    println!(
        "100 MB printed in {secs:.0} s; console log at most {} KB seen, {} KB on disk now (bound {max_kb} KB)",
        largest / 1024,
        total / 1024
    );
    // One check interval of output past the bound at most (the guest writes a few MB a second).
    assert!(
        largest < 16 * 1024 * 1024,
        "the log reached {largest} bytes"
    );
    assert!(
        total < 2 * max_kb * 1024 + 16 * 1024 * 1024,
        "{total} bytes on disk"
    );
    stop_now(&d, "lp1");
}
