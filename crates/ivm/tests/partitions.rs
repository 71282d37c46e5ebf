//! Running partitions: real QEMU guests (the test guest from Debian packages), real cgroups.
//! KVM when it is usable, TCG otherwise (ivm probes and says which).

mod common;

use std::time::Duration;

use common::{
    cgroup_file, define_guest as define, eventually, field, lock, run_pid, state, stop_now,
    wait_state, Console, Daemon,
};

const SETTINGS: &str = "shutdown_delay_secs = 3\n";
const BOOT: Duration = Duration::from_secs(90);

#[test]
fn activation_console_and_dlpar_seen_inside_the_guest() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,min_mem=256,desired_mem=256,max_mem=512");
    // ivm's own attributes only with -F: IVM's clients see IVM's profile.
    let prof = d.ok(&["lssyscfg", "-r", "prof", "--filter", "lpar_names=lp1"]);
    assert!(
        !prof.contains("boot_kernel") && !prof.contains("boot_args"),
        "{prof}"
    );
    assert_eq!(
        d.ok(&[
            "lssyscfg",
            "-r",
            "prof",
            "--filter",
            "lpar_names=lp1",
            "-F",
            "boot_args"
        ]),
        "console=ttyS0 quiet\n"
    );

    assert_eq!(
        d.ok(&[
            "chsysstate",
            "-r",
            "lpar",
            "-o",
            "on",
            "-n",
            "lp1",
            "-f",
            "lp1"
        ]),
        ""
    );
    assert_eq!(state(&d, "lp1"), "Running");
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY cpus=1", BOOT);
    let (cpus, mem0) = con.status();
    assert_eq!(cpus, 1);

    // One virtual terminal at a time: a second one is refused with exit 28.
    let o = d.ivm(&["mkvt", "-id", "2"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (28, "Virtual terminal is already connected\n"),
        "{o:?}"
    );

    // DLPAR: processors and memory, seen by the guest and by lshwres.
    assert_eq!(
        d.ok(&["chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1"]),
        ""
    );
    eventually(
        "the guest to online its second CPU",
        Duration::from_secs(30),
        || con.status().0 == 2,
    );
    assert_eq!(
        field(
            &d,
            &[
                "lshwres",
                "-r",
                "proc",
                "--level",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "curr_procs,run_procs"
            ]
        ),
        "2,2"
    );
    d.ok(&[
        "chhwres", "--force", "-r", "mem", "-o", "a", "--id", "2", "-q", "128",
    ]);
    let (_, mem1) = con.status();
    assert_eq!(mem1 - mem0, 128 * 1024, "guest memory grew by 128 MB");
    assert_eq!(
        field(
            &d,
            &[
                "lshwres",
                "-r",
                "mem",
                "--level",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "curr_mem"
            ]
        ),
        "384"
    );
    d.ok(&[
        "chhwres",
        "--force",
        "-r",
        "proc",
        "-o",
        "s",
        "--id",
        "2",
        "--procunits",
        "0.5",
    ]);
    assert_eq!(
        field(
            &d,
            &[
                "lshwres",
                "-r",
                "proc",
                "--level",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "curr_proc_units"
            ]
        ),
        "0.5"
    );
    // Beyond max is refused and changes nothing.
    let e = d.fails(&[
        "chhwres", "--force", "-r", "mem", "-o", "a", "--id", "2", "-q", "256",
    ]);
    assert_eq!(
        e,
        "desired_mem=640 is outside the running partition's range 256 to 512\n"
    );
    let e = d.fails(&[
        "chhwres", "--force", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
    ]);
    assert!(
        e.contains("desired_procs=3 is outside the running partition's range 1 to 2"),
        "{e}"
    );
    assert_eq!(con.status(), (2, mem1));
    // Removal.
    d.ok(&["chhwres", "-r", "mem", "-o", "r", "--id", "2", "-q", "128"]);
    d.ok(&[
        "chhwres", "-r", "proc", "-o", "r", "--id", "2", "--procs", "1",
    ]);
    eventually(
        "the guest to be back at 1 CPU and its boot memory",
        Duration::from_secs(30),
        || con.status() == (1, mem0),
    );
    // chsyscfg on a running partition is DLPAR too; memory max cannot change while it runs.
    d.ok(&[
        "chsyscfg",
        "--force",
        "-r",
        "prof",
        "-i",
        "name=lp1,desired_mem=512",
    ]);
    assert_eq!(con.status().1 - mem0, 256 * 1024);
    let e = d.fails(&["chsyscfg", "-r", "prof", "-i", "name=lp1,max_mem=1024"]);
    assert_eq!(
        e,
        "max_mem can be changed only while the partition is not running\n"
    );

    // Move memory from the partition to the management partition and back.
    let mgmt_before = field(
        &d,
        &[
            "lshwres",
            "-r",
            "mem",
            "--level",
            "lpar",
            "--filter",
            "lpar_ids=1",
            "-F",
            "curr_mem",
        ],
    );
    d.ok(&[
        "chhwres", "--force", "-r", "mem", "-o", "m", "--id", "2", "--tid", "1", "-q", "128",
    ]);
    let mgmt_after = field(
        &d,
        &[
            "lshwres",
            "-r",
            "mem",
            "--level",
            "lpar",
            "--filter",
            "lpar_ids=1",
            "-F",
            "curr_mem",
        ],
    );
    assert_eq!(
        mgmt_after.parse::<u64>().unwrap(),
        mgmt_before.parse::<u64>().unwrap() + 128
    );
    assert_eq!(con.status().1 - mem0, 128 * 1024);
    d.ok(&[
        "chhwres",
        "--force",
        "-r",
        "mem",
        "-o",
        "m",
        "-p",
        d.ok(&[
            "lssyscfg",
            "-r",
            "lpar",
            "--filter",
            "lpar_ids=1",
            "-F",
            "name",
        ])
        .trim(),
        "-t",
        "lp1",
        "-q",
        "128",
    ]);
    assert_eq!(con.status().1 - mem0, 256 * 1024);

    // rmvt closes the session; mkvt then ends by itself.
    assert_eq!(d.ok(&["rmvt", "-id", "2"]), "");
    assert_eq!(con.wait_exit(Duration::from_secs(10)), Some(0));
    // A piped mkvt works for scripts, and the terminal is free again.
    let o = d.sh("printf 'guest-status\\n' | ivm mkvt -id 2"
        .replace("ivm", common::ivm_bin().to_str().unwrap())
        .as_str());
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("cpus=1 mem_kb="), "{o:?}");

    // Exit codes: no such partition 31; not running 29; rmvt of no such partition 29.
    assert_eq!(d.ivm(&["mkvt", "-id", "9"]).code, 31);
    stop_now(&d, "lp1");
    assert_eq!(state(&d, "lp1"), "Not Activated");
    let o = d.ivm(&["mkvt", "-id", "2"]);
    assert_eq!(o.code, 29, "{o:?}");
    assert_eq!(d.ivm(&["rmvt", "-id", "9"]).code, 29);
}

#[test]
fn shutdown_options_restart_and_cleanup() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    let cgroup = d.data_dir().join("cgroup.name");

    // OS shutdown: the guest powers off on the ACPI button.
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp1"]);
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY", BOOT);
    d.ok(&["rmvt", "-id", "2"]);
    assert_eq!(
        d.ok(&["chsysstate", "-r", "lpar", "-o", "osshutdown", "-n", "lp1"]),
        ""
    );
    wait_state(&d, "lp1", "Not Activated");
    assert_eq!(
        field(
            &d,
            &[
                "lsrefcode",
                "-r",
                "lpar",
                "--filter",
                "lpar_names=lp1",
                "-F",
                "refcode"
            ]
        ),
        ""
    );
    // Nothing of the partition is left on the host.
    let name = std::fs::read_to_string(&cgroup).unwrap();
    for mount in common::cgroup_mounts() {
        assert!(
            !mount.join(name.trim()).join("lpar2").exists(),
            "cgroup left in {}",
            mount.display()
        );
    }
    assert!(!d.data_dir().join("lpars/2/qmp.sock").exists());

    // Delayed shutdown of an OS that ignores the button: stopped after the delay (3 s here).
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp1"]);
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY", BOOT);
    con.send("mv /etc/acpi/PWRF/00000080 /tmp/; echo handler-\"\"gone");
    con.wait_for("handler-gone\r", Duration::from_secs(10));
    let asked = std::time::Instant::now();
    d.ok(&["chsysstate", "-r", "lpar", "-o", "shutdown", "-n", "lp1"]);
    assert_eq!(state(&d, "lp1"), "Shutting Down");
    wait_state(&d, "lp1", "Not Activated");
    assert!(
        asked.elapsed() >= Duration::from_millis(2900),
        "the 3 s delay ran before the stop (stopped after {:?})",
        asked.elapsed()
    );
    drop(con);

    // Immediate shutdown with restart: a new QEMU, Running again.
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "--id", "2"]);
    let first = run_pid(&d, 2);
    d.ok(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "shutdown",
        "--immed",
        "--restart",
        "--id",
        "2",
    ]);
    eventually("a restarted QEMU", Duration::from_secs(30), || {
        let p = run_pid(&d, 2);
        p != 0 && p != first
    });
    assert_eq!(state(&d, "lp1"), "Running");

    // What cannot be done, with the reason.
    let e = d.fails(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp1"]);
    assert_eq!(e, "partition lp1 is already Running\n");
    let e = d.fails(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "shutdown",
        "--immed",
        "--id",
        "1",
    ]);
    assert_eq!(e, "the management partition cannot be shut down\n");
    let e = d.fails(&["rmsyscfg", "-r", "lpar", "-n", "lp1"]);
    assert_eq!(
        e,
        "partition lp1 is Running; it must be Not Activated to be deleted\n"
    );
    let e = d.fails(&["chsysstate", "-r", "lpar", "-o", "reboot", "-n", "lp1"]);
    assert!(e.contains("The operation reboot is not valid"), "{e}");
    stop_now(&d, "lp1");
    let e = d.fails(&["chsysstate", "-r", "lpar", "-o", "osshutdown", "-n", "lp1"]);
    assert_eq!(
        e,
        "partition lp1 is Not Activated; only a running partition can be shut down\n"
    );

    // Boot mode "of" stops in firmware.
    d.ok(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "on",
        "-n",
        "lp1",
        "-b",
        "of",
    ]);
    assert_eq!(state(&d, "lp1"), "Open Firmware");
    assert_eq!(
        field(
            &d,
            &[
                "lsrefcode",
                "-r",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "refcode"
            ]
        ),
        "CA00E1F0"
    );
    stop_now(&d, "lp1");
    assert_eq!(state(&d, "lp1"), "Not Activated");
}

/// CPU time the partition's cgroup has used, from its own counter (cgroup v1 `cpuacct.usage`
/// in ns, or v2 `cpu.stat` usage_usec).
fn cgroup_cpu_time(d: &Daemon, id: u32) -> Duration {
    if let Some(ns) = cgroup_file(d, id, "cpuacct.usage") {
        return Duration::from_nanos(ns.parse().unwrap());
    }
    let stat = cgroup_file(d, id, "cpu.stat").expect("the partition has a cpu cgroup");
    let us = stat
        .lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .unwrap()
        .parse()
        .unwrap();
    Duration::from_micros(us)
}

/// The share of one CPU the partition's cgroup used over a measured interval of at least
/// `window` (the interval is timed, not assumed).
fn cpu_share(d: &Daemon, id: u32, window: Duration) -> f64 {
    let (t0, c0) = (std::time::Instant::now(), cgroup_cpu_time(d, id));
    // Measuring over an interval is what a rate is; the interval itself is timed below.
    std::thread::sleep(window);
    let (t1, c1) = (std::time::Instant::now(), cgroup_cpu_time(d, id));
    (c1 - c0).as_secs_f64() / (t1 - t0).as_secs_f64()
}

fn allowed_cpus(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .map(|t| {
            let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .collect()
}

#[test]
fn the_kernel_enforces_units_and_dedicated_processors() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    assert!(
        !common::cgroup_mounts().is_empty(),
        "this test needs a cgroup hierarchy, which every supported host has"
    );
    let host_cpus = ivm_host_cpus();
    assert!(
        host_cpus >= 2,
        "a dedicated processor needs a host with 2 or more CPUs (this one has {host_cpus})"
    );
    define(
        &d,
        "capped",
        "desired_procs=1,desired_proc_units=0.5,max_proc_units=1.0,sharing_mode=cap,desired_mem=256",
    );
    define(&d, "ded", "proc_mode=ded,desired_procs=1,desired_mem=256");
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "ded"]);
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "capped"]);
    let (capped, ded) = (run_pid(&d, 2), run_pid(&d, 3));

    // The dedicated partition's threads run only on its reserved CPU (the highest one); the
    // shared partition's only on the rest.
    let last = (host_cpus - 1).to_string();
    assert!(
        allowed_cpus(ded).iter().all(|c| *c == last),
        "{:?}",
        allowed_cpus(ded)
    );
    assert!(
        allowed_cpus(capped).iter().all(|c| !c.contains(&last)),
        "{:?}",
        allowed_cpus(capped)
    );

    // A busy loop in the capped 0.50-unit partition gets 0.50 of a CPU.
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY", BOOT);
    con.send("while :; do :; done &");
    // Measure only once the loop runs: the partition is then held at its cap.
    eventually("the busy loop to run", Duration::from_secs(30), || {
        cpu_share(&d, 2, Duration::from_millis(500)) > 0.35
    });
    let share = cpu_share(&d, 2, Duration::from_secs(10));
    assert!(
        (0.45..=0.55).contains(&share),
        "capped 0.50 partition used {share:.3} of a CPU"
    );

    // Raising its units live raises the quota.
    d.ok(&[
        "chhwres",
        "--force",
        "-r",
        "proc",
        "-o",
        "s",
        "--id",
        "2",
        "--procunits",
        "0.8",
    ]);
    eventually(
        "the new quota to take hold",
        Duration::from_secs(30),
        || cpu_share(&d, 2, Duration::from_millis(500)) > 0.65,
    );
    let share = cpu_share(&d, 2, Duration::from_secs(10));
    assert!(
        (0.75..=0.85).contains(&share),
        "capped 0.80 partition used {share:.3} of a CPU"
    );
    stop_now(&d, "capped");
    stop_now(&d, "ded");
}

fn ivm_host_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[test]
fn partitions_outlive_the_daemon_and_deaths_are_recorded() {
    let _l = lock();
    let mut d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    define(&d, "lp2", "desired_procs=1,desired_mem=256,auto_start=1");
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp1"]);
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp2"]);
    let pids = (run_pid(&d, 2), run_pid(&d, 3));

    // SIGKILL the daemon; a new one finds both running, same QEMU processes.
    d.restart_after_kill();
    assert_eq!(
        (state(&d, "lp1"), state(&d, "lp2")),
        ("Running".into(), "Running".into())
    );
    assert_eq!((run_pid(&d, 2), run_pid(&d, 3)), pids);
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY", BOOT);
    assert_eq!(con.status().0, 1);
    drop(con);

    // A QEMU that dies turns its partition to Error with a reference code; its resources stay.
    let avail = field(
        &d,
        &[
            "lshwres",
            "-r",
            "mem",
            "--level",
            "sys",
            "-F",
            "curr_avail_sys_mem",
        ],
    );
    // SAFETY: killing the test's own partition process.
    unsafe { libc::kill(pids.0 as i32, libc::SIGKILL) };
    wait_state(&d, "lp1", "Error");
    assert_eq!(
        field(
            &d,
            &[
                "lsrefcode",
                "-r",
                "lpar",
                "--filter",
                "lpar_names=lp1",
                "-F",
                "refcode"
            ]
        ),
        "B2001100"
    );
    assert_eq!(
        field(
            &d,
            &[
                "lshwres",
                "-r",
                "mem",
                "--level",
                "sys",
                "-F",
                "curr_avail_sys_mem"
            ]
        ),
        avail
    );
    // An Error partition can be activated again.
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "lp1"]);
    assert_eq!(state(&d, "lp1"), "Running");

    // A partition that ends while ivm is down is found ended at the next start.
    d.stop();
    // SAFETY: as above.
    let pid = run_pid_file(&d, 2);
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    eventually("QEMU to be gone", Duration::from_secs(10), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    d.restart();
    assert_eq!(state(&d, "lp1"), "Not Activated");
    assert_eq!(
        field(
            &d,
            &[
                "lsrefcode",
                "-r",
                "lpar",
                "--filter",
                "lpar_names=lp1",
                "-F",
                "refcode"
            ]
        ),
        "B2001300"
    );

    // After a host boot (a new boot ID), auto_start partitions are activated, in ID order
    // and `auto_start_delay_secs` apart.
    define(&d, "lp3", "desired_procs=1,desired_mem=256,auto_start=1");
    stop_now(&d, "lp2");
    d.stop();
    std::fs::write(d.data_dir().join("boot_id"), "an earlier boot\n").unwrap();
    std::fs::write(
        d.data_dir().join("ivm.toml"),
        format!("{SETTINGS}auto_start_delay_secs = 1\nunix_accounts = false\n"),
    )
    .unwrap();
    d.restart();
    // Activated once the daemon is ready, in the background.
    wait_state(&d, "lp2", "Running");
    wait_state(&d, "lp3", "Running");
    assert_eq!(state(&d, "lp1"), "Not Activated", "auto_start=0 stays down");
    let tasks = common::tasks(&d);
    // Tasks name their partition "lpar ID (NAME)"; lp2 has the lower ID.
    let started = |name: &str| {
        tasks
            .iter()
            .filter(|t| {
                t["operation"] == "activate partition"
                    && t["target"]
                        .as_str()
                        .is_some_and(|s| s.ends_with(&format!("({name})")))
            })
            .map(|t| t["started_ms"].as_i64().unwrap())
            .max()
            .unwrap_or_else(|| panic!("no activation of {name} in the task log: {tasks:?}"))
    };
    let (two, three) = (started("lp2"), started("lp3"));
    assert!(
        three - two >= 1000,
        "lp3 was activated {} ms after lp2 (ID order, 1 s apart)",
        three - two
    );
    // An ordinary daemon restart does not start them again.
    stop_now(&d, "lp2");
    stop_now(&d, "lp3");
    d.restart();
    assert_eq!(state(&d, "lp2"), "Not Activated");
    assert_eq!(state(&d, "lp3"), "Not Activated");
}

fn run_pid_file(d: &Daemon, id: u32) -> u32 {
    std::fs::read_to_string(d.data_dir().join(format!("lpars/{id}/qemu.pid")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Found with a stock Debian guest: it booted with min_mem and saw the rest of its committed
/// memory only if something in it onlined hot-added memory, which a stock distribution does
/// not do. The test guest with `ivm.stock` onlines nothing, as such a guest.
#[test]
fn a_stock_guest_sees_its_desired_memory_at_boot_and_gives_back_below_it() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(
        &d,
        "stock",
        "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,min_mem=256,desired_mem=512,max_mem=768",
    );
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "name=stock,\"boot_args=console=ttyS0 quiet ivm.stock ivm.agent ivm.ip=eth0:192.0.2.7/24\"",
    ]);
    let mut con = common::boot(&d, "stock", 2);
    common::wait_rmc(&d, "stock");
    // The guest agent is the partition's RMC: its state and the guest's address.
    let rmc = |d: &Daemon| {
        field(
            d,
            &[
                "lssyscfg",
                "-r",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "rmc_state,rmc_ipaddr",
            ],
        )
    };
    eventually(
        "the guest's address from its agent",
        Duration::from_secs(30),
        || rmc(&d) == "active,192.0.2.7",
    );
    let (_, mem0) = con.status();
    println!(
        "MemTotal at boot: {} kB of desired_mem 512 MB ({} kB kept by the kernel)",
        mem0,
        512 * 1024 - mem0
    );
    // The kernel keeps some for itself: its image and page structures (about 50 MB here) and,
    // because hot-pluggable memory lies above 4 GiB, a 64 MB bounce buffer (SWIOTLB). Booted
    // with min_mem (256 MB) as before, this guest saw about 140 MB.
    assert!(
        mem0 > 384 * 1024 && mem0 <= 512 * 1024,
        "the guest sees {mem0} kB of 512 MB"
    );
    let curr = |d: &Daemon| {
        field(
            d,
            &[
                "lshwres",
                "-r",
                "mem",
                "--level",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "curr_mem",
            ],
        )
    };
    assert_eq!(curr(&d), "512");
    // Below the boot memory: the balloon takes it, and the guest's MemTotal goes down with it
    // without anything in the guest doing so.
    d.ok(&["chhwres", "-r", "mem", "-o", "r", "--id", "2", "-q", "128"]);
    assert_eq!(curr(&d), "384");
    eventually(
        "the guest to give back 128 MB",
        Duration::from_secs(30),
        || con.status().1 == mem0 - 128 * 1024,
    );
    d.ok(&["chhwres", "-r", "mem", "-o", "r", "--id", "2", "-q", "128"]);
    assert_eq!(curr(&d), "256");
    eventually(
        "the guest to be at its minimum",
        Duration::from_secs(30),
        || con.status().1 == mem0 - 256 * 1024,
    );
    // Below min is refused and changes nothing.
    let e = d.fails(&["chhwres", "-r", "mem", "-o", "r", "--id", "2", "-q", "128"]);
    assert!(
        e.contains("outside the running partition's range 256 to 768"),
        "{e}"
    );
    d.ok(&["chhwres", "-r", "mem", "-o", "a", "--id", "2", "-q", "256"]);
    assert_eq!(curr(&d), "512");
    eventually(
        "the guest to have its boot memory back",
        Duration::from_secs(30),
        || con.status().1 == mem0,
    );
    // Above the boot memory: this guest leaves hot-added memory offline; the agent onlines
    // it before chhwres returns.
    d.ok(&["chhwres", "-r", "mem", "-o", "a", "--id", "2", "-q", "128"]);
    assert_eq!(curr(&d), "640");
    assert_eq!(con.status().1, mem0 + 128 * 1024);
    // One more processor, onlined by the agent. Under TCG QEMU 10 aborts a vCPU plug when its
    // translation buffer has no free region, which this guest's agent start-up can cause: ivm
    // then refuses the plug instead. Either way the partition runs on and the guest has what
    // lshwres says.
    let o = d.ivm(&[
        "chhwres", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
    ]);
    let procs = if o.code == 0 {
        println!("processor plug: done, onlined by the agent");
        2
    } else {
        assert!(o.stderr.contains("translation buffer has no room"), "{o:?}");
        println!("processor plug: held ({})", o.stderr.trim());
        1
    };
    assert_eq!(state(&d, "stock"), "Running");
    assert_eq!(con.status().0, procs);
    assert_eq!(
        field(
            &d,
            &[
                "lshwres",
                "-r",
                "proc",
                "--level",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "curr_procs"
            ]
        ),
        procs.to_string()
    );
    // (Not taken back here: the agent onlines blocks as `online`, and the kernel may not be
    // able to empty such a block again; the unplug-then-balloon path is in the next test.)
    drop(con);
    stop_now(&d, "stock");
}

/// Without the guest agent nothing in the guest would online what DLPAR adds (in a stock
/// distribution), so the store and the guest would disagree: the add is refused with the
/// reason unless forced, as HMC refuses DLPAR without an RMC connection.
#[test]
fn without_a_guest_agent_dlpar_adds_are_refused_unless_forced() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(
        &d,
        "noagent",
        "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,min_mem=256,desired_mem=384,max_mem=640",
    );
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "noagent"]);
    let mut con = Console::open(&d, 2);
    con.wait_for("IVM-TEST-GUEST READY", BOOT);
    let rmc = field(
        &d,
        &[
            "lssyscfg",
            "-r",
            "lpar",
            "--filter",
            "lpar_ids=2",
            "-F",
            "rmc_state,rmc_ipaddr",
        ],
    );
    assert_eq!(rmc, "inactive,");
    let mut truth = || {
        (
            con.status(),
            field(
                &d,
                &[
                    "lssyscfg",
                    "-r",
                    "prof",
                    "--filter",
                    "lpar_ids=2",
                    "-F",
                    "desired_procs,desired_mem",
                ],
            ),
        )
    };
    let before = truth();
    for (args, what) in [
        (vec!["-r", "proc", "-o", "a", "--procs", "1"], "processors"),
        (vec!["-r", "mem", "-o", "a", "-q", "128"], "memory"),
    ] {
        let mut argv = vec!["chhwres", "--id", "2"];
        argv.extend(args);
        let e = d.fails(&argv);
        assert!(
            e.contains("no active RMC connection")
                && e.contains(&format!("would not use the {what} added"))
                && e.contains("qemu-guest-agent")
                && e.contains("--force"),
            "{e}"
        );
    }
    let after = truth();
    assert_eq!(after, before, "refused changes change nothing");
    // Forced, it goes through (this guest onlines hot-added processors and memory itself).
    d.ok(&[
        "chhwres", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1", "--force",
    ]);
    d.ok(&[
        "chhwres", "-r", "mem", "-o", "a", "--id", "2", "-q", "128", "--force",
    ]);
    eventually(
        "the guest to use what was forced",
        Duration::from_secs(30),
        || con.status() == (2, before.0 .1 + 128 * 1024),
    );
    // Removal needs no agent. Below the boot memory in one change: the plugged blocks (this
    // guest onlined them movable) go first, then the balloon takes the rest.
    d.ok(&["chhwres", "-r", "mem", "-o", "r", "--id", "2", "-q", "256"]);
    eventually(
        "the guest 128 MB below its boot memory",
        Duration::from_secs(30),
        || con.status().1 == before.0 .1 - 128 * 1024,
    );
    // osshutdown without an agent is the power button.
    d.ok(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "osshutdown",
        "-n",
        "noagent",
    ]);
    common::wait_state(&d, "noagent", "Not Activated");
}
