//! Partition mobility between two ivm hosts on one machine: each daemon in a network namespace
//! of its own with its own data directory, joined by a veth pair; the target's padmin door is
//! a real sshd in its namespace, and the trust is set up with `mkauthkeys --ip -u` as on IVM.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::ceph::Ceph;
use common::hosts::{hosts, Hosts, TARGET_IP};
use common::{boot, install_guest, lock, Console, Daemon, Output};

fn migrlpar(d: &Daemon, op: &str, name: &str) -> Output {
    d.ivm(&[
        "migrlpar", "-o", op, "--ip", TARGET_IP, "-u", "padmin", "-p", name,
    ])
}

fn lslparmigr(d: &Daemon, name: &str) -> String {
    d.ok(&[
        "lslparmigr",
        "-r",
        "lpar",
        "--filter",
        &format!("lpar_names={name}"),
        "-F",
        "migration_state",
    ])
    .trim()
    .to_string()
}

fn names(d: &Daemon) -> Vec<String> {
    d.ok(&["lssyscfg", "-r", "lpar", "-F", "name"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn define(d: &Daemon, name: &str, extra: &str) {
    install_guest(d);
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        &format!(
            "name={name},desired_procs=1,desired_mem=256,boot_kernel=vmlinuz,boot_initrd=initramfs,{extra}"
        ),
    ]);
}

/// The ticks (`TICK-N`) a console log holds.
fn ticks(log: &Path) -> Vec<u64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .split("TICK-")
        .skip(1)
        .filter_map(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect()
}

#[test]
fn a_running_partition_moves_to_another_host_and_keeps_running() {
    let _l = lock();
    let h = hosts("");
    define(
        &h.src,
        "mover",
        "\"boot_args=console=ttyS0 quiet ivm.ip=eth0:10.9.0.2/24\",\"virtual_eth_adapters=3/0/1//0/0\"",
    );
    // Its peer on the target, on the same virtual Ethernet ID.
    define(
        &h.dst,
        "peer",
        "\"boot_args=console=ttyS0 quiet ivm.ip=eth0:10.9.0.3/24\",\"virtual_eth_adapters=3/0/1//0/0\"",
    );
    let _peer = boot(&h.dst, "peer", 2);
    let id: u32 = common::lpar_id(&h.src, "mover");
    let mut con = boot(&h.src, "mover", id);
    con.send("guest-status");
    let before = con.wait_for("nics=", Duration::from_secs(30));
    con.send("(i=0; while :; do echo TICK-$i; i=$((i+1)); sleep 0.2; done) &");
    con.wait_for("TICK-5", Duration::from_secs(30));
    drop(con);

    // The partition's ID is taken on the target: it gets the lowest free one there.
    let o = migrlpar(&h.src, "v", "mover");
    assert_eq!(o.code, 0, "validate: {o:?}");
    assert!(
        !names(&h.dst).contains(&"mover".to_string()),
        "validation reserved nothing"
    );
    let o = h.src.ivm(&[
        "migrlpar", "-o", "m", "--ip", TARGET_IP, "-u", "padmin", "-p", "mover", "-d", "1",
    ]);
    assert_eq!(o.code, 0, "migrate: {o:?}");
    // What it cost, printed for the record.
    assert!(
        o.stdout.contains("total_ms=") && o.stdout.contains("passes="),
        "{o:?}"
    );
    eprintln!("moved a 256 MB test guest: {}", o.stdout.trim());

    assert!(
        !names(&h.src).contains(&"mover".to_string()),
        "{:?}",
        names(&h.src)
    );
    let new_id: u32 = common::lpar_id(&h.dst, "mover");
    assert_eq!(common::state(&h.dst, "mover"), "Running");
    assert_eq!(lslparmigr(&h.dst, "mover"), "Not Migrating");
    let mut con = Console::open(&h.dst, new_id);
    // The counter goes on: the same guest, not a new boot.
    let last_src = *ticks(&h.src.data_dir().join(format!("lpars/{id}/console.log")))
        .last()
        .unwrap();
    let seen = con.wait_for("TICK-", Duration::from_secs(30));
    let n: u64 = seen
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n > last_src, "tick {n} after the source's last {last_src}");
    // No console line lost across the hosts: every tick is in one log or the other.
    con.wait_for(&format!("TICK-{}", n + 5), Duration::from_secs(30));
    let mut all = ticks(&h.src.data_dir().join(format!("lpars/{id}/console.log")));
    all.extend(ticks(
        &h.dst.data_dir().join(format!("lpars/{new_id}/console.log")),
    ));
    all.sort_unstable();
    all.dedup();
    let first = all[0];
    let missing: Vec<u64> = (first..=n + 5).filter(|t| !all.contains(t)).collect();
    assert!(missing.is_empty(), "ticks lost in the move: {missing:?}");
    // The same MAC, and the network on the target's virtual Ethernet 1 works.
    con.send("guest-status");
    let after = con.wait_for("nics=", Duration::from_secs(30));
    let nic = |s: &str| {
        s.split_whitespace()
            .find(|w| w.starts_with("nics="))
            .unwrap()
            .to_string()
    };
    assert_eq!(nic(&before), nic(&after));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        con.send("echo \"PONG-\"\"DONE:$(ping -c 1 -W 3 10.9.0.3 >/dev/null 2>&1 && echo yes || echo no)\"");
        if con
            .wait_for("PONG-DONE:", Duration::from_secs(30))
            .contains("yes")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the moved partition never reached its peer"
        );
    }
}

/// The last tick a console log holds.
fn last_tick(d: &Daemon, id: u32) -> u64 {
    ticks(&d.data_dir().join(format!("lpars/{id}/console.log")))
        .last()
        .copied()
        .unwrap_or(0)
}

/// Boots `name` on the source and starts its counter.
fn counting(h: &Hosts, name: &str) -> u32 {
    define(&h.src, name, "\"boot_args=console=ttyS0 quiet\"");
    let id = common::lpar_id(&h.src, name);
    let mut con = boot(&h.src, name, id);
    con.send("(i=0; while :; do echo TICK-$i; i=$((i+1)); sleep 0.2; done) &");
    con.wait_for("TICK-3", Duration::from_secs(30));
    id
}

#[test]
fn a_target_without_room_or_with_the_name_refuses_and_nothing_moves() {
    let _l = lock();
    // The target has 2 GB; a partition there takes most of what its management partition
    // leaves.
    let h = hosts("installed_mem = 2048\n");
    define(&h.dst, "twin", "\"boot_args=console=ttyS0 quiet\"");
    define(&h.dst, "hog", "\"boot_args=console=ttyS0 quiet\"");
    h.dst.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "name=hog,min_mem=256,desired_mem=640,max_mem=640",
    ]);
    let id = counting(&h, "big");
    for op in ["v", "m"] {
        let o = migrlpar(&h.src, op, "big");
        assert_ne!(o.code, 0, "-o {op} should be refused: {o:?}");
        assert!(o.stderr.contains("memory"), "{o:?}");
    }
    // Nothing reserved there, nothing changed here.
    assert_eq!(names(&h.dst).iter().filter(|n| *n == "big").count(), 0);
    assert_eq!(common::state(&h.src, "big"), "Running");
    assert_eq!(lslparmigr(&h.src, "big"), "Not Migrating");
    let before = last_tick(&h.src, id);
    common::eventually("the counter to go on", Duration::from_secs(30), || {
        last_tick(&h.src, id) > before
    });
    // A name the target has: refused with the reason.
    define(&h.src, "twin", "\"boot_args=console=ttyS0 quiet\"");
    let o = migrlpar(&h.src, "m", "twin");
    assert_ne!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains("already named twin"), "{o:?}");
    assert_eq!(common::state(&h.src, "twin"), "Not Activated");
    // No trust with a host: HSCL3653, nothing reserved.
    let o = h.src.ivm(&[
        "migrlpar", "-o", "v", "--ip", TARGET_IP, "-u", "nobody", "-p", "big",
    ]);
    assert!(o.stderr.contains("HSCL3653"), "{o:?}");
    let o = h.src.ivm(&[
        "migrlpar",
        "-o",
        "v",
        "--ip",
        "-oProxyCommand=x",
        "-p",
        "big",
    ]);
    assert!(o.stderr.contains("--ip"), "{o:?}");
}

#[test]
fn a_defined_partition_moves_inactive_and_starts_on_the_target() {
    let _l = lock();
    let h = hosts("");
    define(&h.src, "sleeper", "\"boot_args=console=ttyS0 quiet\"");
    let o = migrlpar(&h.src, "m", "sleeper");
    assert_eq!(o.code, 0, "{o:?}");
    assert!(!names(&h.src).contains(&"sleeper".to_string()));
    assert_eq!(common::state(&h.dst, "sleeper"), "Not Activated");
    let id = common::lpar_id(&h.dst, "sleeper");
    let _con = boot(&h.dst, "sleeper", id);
}

#[test]
fn a_migration_cut_at_the_commit_point_runs_on_exactly_one_host() {
    let _l = lock();
    let mut h = hosts("");
    h.src
        .restart_with_env(&[("IVM_FAILPOINTS", "migrate.commit=abort")]);
    let id = counting(&h, "cut");
    // The source daemon dies with all memory sent and before the target was told to take
    // over: the source's copy is paused, the target's loaded and never resumed.
    let o = migrlpar(&h.src, "m", "cut");
    assert_ne!(o.code, 0, "{o:?}");
    let dst_id = common::lpar_id(&h.dst, "cut");
    assert_eq!(common::state(&h.dst, "cut"), "Migrating - Running");
    // Then the target's QEMU is killed too.
    let pid: i32 =
        std::fs::read_to_string(h.dst.data_dir().join(format!("lpars/{dst_id}/qemu.pid")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
    // SAFETY: a signal to the target's QEMU, found by its pidfile.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    common::wait_state(&h.dst, "cut", "Migrating - Not Activated");
    assert_eq!(lslparmigr(&h.dst, "cut"), "Migration In Progress");
    h.src.restart_after_kill();
    assert_eq!(common::state(&h.src, "cut"), "Migrating - Running");
    assert_eq!(lslparmigr(&h.src, "cut"), "Migration Recovery Required");
    let paused_at = last_tick(&h.src, id);
    let o = migrlpar(&h.src, "r", "cut");
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(common::state(&h.src, "cut"), "Running");
    assert_eq!(lslparmigr(&h.src, "cut"), "Not Migrating");
    assert!(
        !names(&h.dst).contains(&"cut".to_string()),
        "{:?}",
        names(&h.dst)
    );
    common::eventually(
        "the counter to go on where it was",
        Duration::from_secs(30),
        || last_tick(&h.src, id) > paused_at,
    );
}

#[test]
fn a_migration_the_target_took_over_is_finished_by_recovery() {
    let _l = lock();
    let mut h = hosts("");
    h.src
        .restart_with_env(&[("IVM_FAILPOINTS", "migrate.retire=abort")]);
    let id = counting(&h, "taken");
    // The target took the partition over; the source died before it removed its copy.
    let o = migrlpar(&h.src, "m", "taken");
    assert_ne!(o.code, 0, "{o:?}");
    assert_eq!(common::state(&h.dst, "taken"), "Running");
    let dst_id = common::lpar_id(&h.dst, "taken");
    h.src.restart_after_kill();
    assert_eq!(lslparmigr(&h.src, "taken"), "Migration Recovery Required");
    let o = migrlpar(&h.src, "r", "taken");
    assert_eq!(o.code, 0, "{o:?}");
    assert!(!names(&h.src).contains(&"taken".to_string()));
    assert_eq!(common::state(&h.dst, "taken"), "Running");
    let at = last_tick(&h.dst, dst_id);
    common::eventually(
        "the counter to go on on the target",
        Duration::from_secs(30),
        || last_tick(&h.dst, dst_id) > at,
    );
    let _ = id;
}

/// The MD5 of the first `mb` MB of a file, as `md5sum` prints it.
fn md5_of(path: &Path, mb: u64) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "dd if={} bs=1M count={mb} 2>/dev/null | md5sum",
            path.display()
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// What the guest's `md5sum` printed for its command (the answer follows a marker).
fn guest_md5(con: &mut Console, what: &str, mb: u64) -> String {
    con.send(&format!(
        "echo \"MD5-{what}\"\":$(dd if=/dev/sda bs=1M count={mb} 2>/dev/null | md5sum)\""
    ));
    let line = con.wait_for(&format!("MD5-{what}:"), Duration::from_secs(60));
    line.split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_local_disk_the_guest_is_writing_moves_with_its_partition() {
    let _l = lock();
    let h = hosts("");
    define(&h.src, "writer", "\"boot_args=console=ttyS0 quiet\"");
    let id = common::lpar_id(&h.src, "writer");
    h.src
        .ok(&["mkbdsp", "64M", "-bd", "data", "-vadapter", "vhost0"]);
    let mut con = boot(&h.src, "writer", id);
    // 8 MB written before the move, and a writer that keeps writing the next 16 MB during it.
    con.send(
        "dd if=/dev/urandom of=/dev/sda bs=1M count=8 conv=fsync 2>/dev/null; echo wrote-\"\"first",
    );
    con.wait_for("wrote-first", Duration::from_secs(60));
    let first = guest_md5(&mut con, "first", 8);
    con.send("(while :; do dd if=/dev/urandom of=/dev/sda bs=64k seek=$((128 + RANDOM % 256)) count=1 conv=fsync 2>/dev/null; done) & echo started-\"\"writer");
    con.wait_for("started-writer", Duration::from_secs(30));
    drop(con);
    let o = h.src.ivm(&[
        "migrlpar", "-o", "m", "--ip", TARGET_IP, "-u", "padmin", "-p", "writer", "-d", "1",
    ]);
    assert_eq!(o.code, 0, "migrate: {o:?}");
    eprintln!(
        "moved a 256 MB guest with a 64 MB disk being written: {}",
        o.stdout.trim()
    );
    // The disk went with it: made on the target, removed from the source.
    assert!(!h.src.data_dir().join("pools/rootvg/data").exists());
    assert!(h
        .src
        .ok(&["lssp", "-bd", "-sp", "rootvg"])
        .lines()
        .all(|l| !l.starts_with("data ")));
    let file = h.dst.data_dir().join("pools/rootvg/data");
    assert!(file.exists());
    let new_id = common::lpar_id(&h.dst, "writer");
    let mut con = Console::open(&h.dst, new_id);
    con.send("kill %1 2>/dev/null; kill $(jobs -p) 2>/dev/null; sync; echo stopped-\"\"writer");
    con.wait_for("stopped-writer", Duration::from_secs(30));
    // What was there before the move is there, and the target's file is what the guest sees,
    // the writes during the move included.
    assert_eq!(guest_md5(&mut con, "again", 8), first);
    let seen = guest_md5(&mut con, "all", 64);
    assert_eq!(
        md5_of(&file, 64),
        seen,
        "the target's disk file differs from what the guest reads"
    );
}

#[test]
fn processors_and_memory_added_while_running_move_with_the_partition() {
    let _l = lock();
    let h = hosts("");
    define(
        &h.src,
        "grown",
        "max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,min_mem=256,max_mem=512,\"boot_args=console=ttyS0 quiet\"",
    );
    let id = common::lpar_id(&h.src, "grown");
    let mut con = boot(&h.src, "grown", id);
    let (_, mem0) = con.status();
    let sid = id.to_string();
    h.src.ok(&[
        "chhwres", "--force", "-r", "proc", "-o", "a", "--id", &sid, "--procs", "1",
    ]);
    common::eventually("the second vCPU online", Duration::from_secs(30), || {
        con.status().0 == 2
    });
    h.src.ok(&[
        "chhwres", "--force", "-r", "mem", "-o", "a", "--id", &sid, "-q", "128",
    ]);
    common::eventually("the added memory online", Duration::from_secs(30), || {
        con.status().1 == mem0 + 128 * 1024
    });
    let mem1 = mem0 + 128 * 1024;
    drop(con);
    let o = migrlpar(&h.src, "m", "grown");
    assert_eq!(o.code, 0, "{o:?}");
    // The target's QEMU was made with what the source's had then: the same vCPUs and memory.
    let new_id = common::lpar_id(&h.dst, "grown");
    let mut con = Console::open(&h.dst, new_id);
    assert_eq!(con.status(), (2, mem1));
    let nid = new_id.to_string();
    let lshwres = |what: &str, fields: &str| {
        common::field(
            &h.dst,
            &[
                "lshwres",
                "-r",
                what,
                "--level",
                "lpar",
                "--filter",
                &format!("lpar_ids={new_id}"),
                "-F",
                fields,
            ],
        )
    };
    assert_eq!(lshwres("proc", "curr_procs,run_procs"), "2,2");
    assert_eq!(lshwres("mem", "curr_mem"), "384");
    // DLPAR goes on there: the vCPU and the memory go again.
    h.dst.ok(&[
        "chhwres", "-r", "proc", "-o", "r", "--id", &nid, "--procs", "1",
    ]);
    h.dst
        .ok(&["chhwres", "-r", "mem", "-o", "r", "--id", &nid, "-q", "128"]);
    common::eventually(
        "the target's guest to give them back",
        Duration::from_secs(30),
        || con.status() == (1, mem0),
    );
}

#[test]
fn a_move_stopped_while_its_disk_is_copied_leaves_the_partition_where_it_was() {
    let _l = lock();
    let h = hosts("");
    define(&h.src, "stopped", "\"boot_args=console=ttyS0 quiet\"");
    let id = common::lpar_id(&h.src, "stopped");
    // A disk large enough that its copy is still running when the stop arrives.
    h.src
        .ok(&["mkbdsp", "2G", "-bd", "big", "-vadapter", "vhost0"]);
    let _con = boot(&h.src, "stopped", id);
    let src_dir = h.src.data_dir().to_path_buf();
    let mover = std::thread::spawn(move || {
        Command::new(common::ivm_bin())
            .args([
                "migrlpar", "-o", "m", "--ip", TARGET_IP, "-u", "padmin", "-p", "stopped",
            ])
            .env("IVM_DATA_DIR", &src_dir)
            .output()
            .unwrap()
    });
    common::eventually("the move to be under way", Duration::from_secs(60), || {
        lslparmigr(&h.src, "stopped") == "Migration In Progress"
    });
    let o = migrlpar_stop(&h.src, "stopped");
    assert_eq!(o.code, 0, "migrlpar -o s: {o:?}");
    let out = mover.join().unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stopped"),
        "{out:?}"
    );
    // It runs here as before; the target gave back the partition and the disk it made.
    assert_eq!(common::state(&h.src, "stopped"), "Running");
    assert_eq!(lslparmigr(&h.src, "stopped"), "Not Migrating");
    assert!(!names(&h.dst).contains(&"stopped".to_string()));
    assert!(!h.dst.data_dir().join("pools/rootvg/big").exists());
}

fn migrlpar_stop(d: &Daemon, name: &str) -> Output {
    d.ivm(&["migrlpar", "-o", "s", "-p", name])
}

/// `mksp -rbd ceph` on a host, the Ceph user's key on standard input.
fn mksp_rbd(d: &Daemon, ceph: &Ceph) {
    let o = common::hosts::with_input(
        d,
        &[
            "mksp",
            "-rbd",
            "ceph",
            "-mon",
            &ceph.monitor,
            "-rbdpool",
            "ivm",
            "-user",
            "ivm",
            "-size",
            "1G",
        ],
        &format!("{}\n", ceph.key),
    );
    assert_eq!(o.code, 0, "mksp -rbd: {o:?}");
}

/// The virtual SCSI server adapter of partition `name`.
fn mac_base(d: &Daemon, name: &str) -> String {
    d.ok(&[
        "lssyscfg",
        "-r",
        "lpar",
        "--filter",
        &format!("lpar_names={name}"),
        "-F",
        "virtual_eth_mac_base_value",
    ])
    .trim()
    .to_string()
}

fn vhost_of(d: &Daemon, name: &str) -> String {
    let id = format!("0x{:08x}:", common::lpar_id(d, name));
    d.ok(&["lsmap", "-all", "-field", "clientid", "svsa", "-fmt", ":"])
        .lines()
        .find_map(|l| l.strip_prefix(&id).map(str::to_string))
        .unwrap_or_else(|| panic!("{name} has no vhost adapter"))
}

/// `lssp` of pool `ceph`: (type, free MB).
fn rbd_pool(d: &Daemon) -> (String, u64) {
    let line = d.ok(&["lssp", "-sp", "ceph", "-field", "type", "free", "-fmt", ":"]);
    let (kind, free) = line.trim().split_once(':').unwrap();
    (kind.to_string(), free.parse().unwrap())
}

#[test]
fn partitions_on_a_shared_rbd_pool_move_without_their_disks_being_copied() {
    let _l = lock();
    let h = hosts("");
    let ceph = Ceph::start(h.source_netns(), common::hosts::SOURCE_IP);
    mksp_rbd(&h.src, &ceph);
    mksp_rbd(&h.dst, &ceph);
    assert_eq!(rbd_pool(&h.src), ("RBDPOOL".to_string(), 1024));
    define(&h.src, "shared", "\"boot_args=console=ttyS0 quiet\"");
    let id = common::lpar_id(&h.src, "shared");
    let vhost = vhost_of(&h.src, "shared");
    h.src.ok(&[
        "mkbdsp",
        "-sp",
        "ceph",
        "64M",
        "-bd",
        "sdata",
        "-vadapter",
        &vhost,
    ]);
    assert_eq!(ceph.images(), vec!["sdata".to_string()]);
    // The other host counts the image against the pool both see.
    assert_eq!(rbd_pool(&h.dst).1, 1024 - 64);
    let mut con = boot(&h.src, "shared", id);
    // QEMU opens the image itself; the key is in no command line.
    let cmdline = common::qemu_cmdline(&h.src, id);
    assert!(cmdline.contains("\"driver\":\"rbd\""), "{cmdline}");
    assert!(
        !cmdline.contains(&ceph.key),
        "the key is on QEMU's command line"
    );
    con.send(
        "dd if=/dev/urandom of=/dev/sda bs=1M count=8 conv=fsync 2>/dev/null; echo wrote-\"\"first",
    );
    con.wait_for("wrote-first", Duration::from_secs(60));
    let first = guest_md5(&mut con, "first", 8);
    drop(con);
    let o = h.src.ivm(&[
        "migrlpar", "-o", "m", "--ip", TARGET_IP, "-u", "padmin", "-p", "shared", "-d", "1",
    ]);
    assert_eq!(o.code, 0, "migrate: {o:?}");
    eprintln!(
        "moved a 256 MB guest with a 64 MB disk on a shared RBD pool: {}",
        o.stdout.trim()
    );
    // The image stayed where it was; only which host keeps it changed.
    assert_eq!(ceph.images(), vec!["sdata".to_string()]);
    assert!(h
        .src
        .ok(&["lssp", "-bd", "-sp", "ceph"])
        .lines()
        .all(|l| !l.starts_with("sdata ")));
    assert!(h
        .dst
        .ok(&["lssp", "-bd", "-sp", "ceph"])
        .lines()
        .any(|l| l.starts_with("sdata ")));
    assert_eq!(rbd_pool(&h.src).1, 1024 - 64);
    let new_id = common::lpar_id(&h.dst, "shared");
    let mut con = Console::open(&h.dst, new_id);
    assert_eq!(guest_md5(&mut con, "after", 8), first);
    con.send("dd if=/dev/urandom of=/dev/sda bs=1M count=1 seek=16 conv=fsync 2>/dev/null; echo wrote-\"\"after");
    con.wait_for("wrote-after", Duration::from_secs(60));
    drop(con);

    // A defined partition moves inactive with its shared disk; one with a disk only this host
    // sees is refused with what to do.
    define(&h.src, "cold", "\"boot_args=console=ttyS0 quiet\"");
    // It takes the ID the moved partition had here, but not its MAC base: that is still on
    // the network, from the target.
    assert_eq!(common::lpar_id(&h.src, "cold"), id);
    assert_ne!(mac_base(&h.src, "cold"), mac_base(&h.dst, "shared"));
    let vhost = vhost_of(&h.src, "cold");
    h.src.ok(&[
        "mkbdsp",
        "-sp",
        "ceph",
        "32M",
        "-bd",
        "cdata",
        "-vadapter",
        &vhost,
    ]);
    define(&h.src, "local", "\"boot_args=console=ttyS0 quiet\"");
    let vhost = vhost_of(&h.src, "local");
    h.src
        .ok(&["mkbdsp", "16M", "-bd", "ldata", "-vadapter", &vhost]);
    let o = migrlpar(&h.src, "v", "local");
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("shared pool"), "{o:?}");
    let o = migrlpar(&h.src, "m", "cold");
    assert_eq!(o.code, 0, "inactive migrate: {o:?}");
    assert!(names(&h.dst).contains(&"cold".to_string()));
    assert!(!names(&h.src).contains(&"cold".to_string()));
    assert!(h
        .dst
        .ok(&["lsmap", "-all", "-type", "lv"])
        .contains("cdata"));
    let mut images = ceph.images();
    images.sort();
    assert_eq!(images, vec!["cdata".to_string(), "sdata".to_string()]);
    // The target owns it now: rmbdsp there removes the image.
    h.dst.ok(&[
        "rmsyscfg",
        "-r",
        "lpar",
        "-n",
        "cold",
        "--vioscfg",
        "--vdisk",
    ]);
    assert_eq!(ceph.images(), vec!["sdata".to_string()]);
}
