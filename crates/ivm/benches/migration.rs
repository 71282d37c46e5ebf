//! What a live move costs: two ivm hosts on this machine (network namespaces joined by a veth
//! pair, the target's sshd real), a partition of 1 GB memory and a 2 GB virtual disk moved
//! there, idle and with the guest rewriting 256 MB of its memory (random bytes) as fast as it
//! can; against the baseline of `virsh migrate --live --copy-storage-all --auto-converge` of
//! the same guest (same kernel, memory, disk, machine and CPU model) between two libvirt
//! daemons in the same two namespaces, the runs interleaved.
//! Prints total time, QEMU's downtime, ivm's pause (the source's stop to the target's resume),
//! bytes and passes, median of RUNS moves each. Run with `cargo bench -p ivm --bench migration`
//! (needs the test guest in target/test-guest and libvirt: scripts/install-bench-deps.sh).

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::hosts::{hosts, Hosts, TARGET_IP};
use common::libvirt::Libvirtd;
use common::{boot, lock, Console};

const RUNS: usize = 3;

/// What one move cost.
#[derive(Default)]
struct Figures {
    /// The command's wall time (migrlpar, virsh migrate), disk copy included, ms.
    wall: u64,
    /// The memory stream (ivm) or the whole migration job (libvirt), ms.
    total: u64,
    /// QEMU's downtime, ms.
    downtime: u64,
    /// ivm's pause, the source's stop to the target's resume, ms (ivm only).
    pause: u64,
    /// Memory bytes sent.
    bytes: u64,
    /// Memory passes.
    passes: u64,
}

/// What the guest does before the move: fills 64 MB of its disk with random bytes and,
/// `writing`, rewrites 256 MB of its memory with them (zero pages cost QEMU nothing to send).
fn load(con: &mut Console, writing: bool) {
    con.send("dd if=/dev/urandom of=/dev/sda bs=1M count=64 conv=fsync 2>/dev/null; echo filled-\"\"disk");
    con.wait_for("filled-disk", Duration::from_secs(120));
    if writing {
        con.send("(while :; do for i in 0 1 2 3; do dd if=/dev/sda of=/tmp/blob$i bs=1M count=64 2>/dev/null; done; done) & echo started-\"\"writer");
        con.wait_for("started-writer", Duration::from_secs(30));
    }
}

/// One move of a new partition `name` from the source ivm to the target, which then removes it.
fn ivm_move(h: &Hosts, name: &str, writing: bool) -> Figures {
    h.src.ok(&[
        "mksyscfg", "-r", "lpar", "-i",
        &format!("name={name},desired_procs=1,min_mem=1024,desired_mem=1024,max_mem=1024,boot_kernel=vmlinuz,boot_initrd=initramfs,\"boot_args=console=ttyS0 quiet\""),
    ]);
    let id = common::lpar_id(&h.src, name);
    // The partitions before it moved away: it is partition 2 with adapter vhost0 again.
    h.src.ok(&[
        "mkbdsp",
        "2G",
        "-bd",
        &format!("{name}d"),
        "-vadapter",
        "vhost0",
    ]);
    let mut con: Console = boot(&h.src, name, id);
    load(&mut con, writing);
    drop(con);
    let t = Instant::now();
    let o = h.src.ivm(&[
        "migrlpar", "-o", "m", "--ip", TARGET_IP, "-u", "padmin", "-p", name, "-d", "1",
    ]);
    let wall = t.elapsed().as_millis() as u64;
    assert_eq!(o.code, 0, "migrlpar: {o:?}");
    let f: Vec<(String, u64)> = o
        .stdout
        .trim()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k.to_string(), v)))
        .collect();
    eprintln!("  ivm {name}: {f:?}, migrlpar {wall} ms");
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| *v).unwrap_or(0);
    // Room for the next run on the target.
    common::stop_now(&h.dst, name);
    h.dst.ok(&["rmvdev", "-vdev", &format!("{name}d")]);
    h.dst.ok(&["rmsyscfg", "-r", "lpar", "-n", name]);
    h.dst.ok(&["rmbdsp", "-bd", &format!("{name}d")]);
    Figures {
        wall,
        total: get("total_ms"),
        downtime: get("downtime_ms"),
        pause: get("pause_ms"),
        bytes: get("bytes_transmitted"),
        passes: get("passes"),
    }
}

/// The same move done by libvirt: a guest started on `a`, moved to `b` with its disk copied
/// (libvirt makes the target's disk an NBD export and mirrors to it, as ivm does), removed.
fn libvirt_move(a: &Libvirtd, b: &Libvirtd, name: &str, writing: bool) -> Figures {
    a.start_guest(name, common::test_guest_paths(), 1024, 2048);
    let mut con = a.console(name);
    load(&mut con, writing);
    drop(con);
    // libvirt copies into a disk the target already has, of the same size.
    common::libvirt::allocated(&b.image(&format!("{name}.raw")), 2048);
    let t = Instant::now();
    let out = Command::new("virsh")
        .args([
            "-c",
            &a.uri(),
            "migrate",
            "--live",
            "--copy-storage-all",
            "--auto-converge",
        ])
        .args([name, &b.uri()])
        .args(["--listen-address", TARGET_IP])
        .args(["--migrateuri", &format!("tcp://{TARGET_IP}:49152")])
        .args(["--disks-port", "49153"])
        .output()
        .expect("run virsh migrate");
    let wall = t.elapsed().as_millis() as u64;
    assert!(out.status.success(), "virsh migrate: {out:?}");
    let stats = a.virsh(&["domjobinfo", "--completed", "--rawstats", name]);
    let get = |k: &str| {
        stats
            .lines()
            .find_map(|l| l.trim().strip_prefix(k)?.trim().strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {k} in {stats}"))
    };
    let f = Figures {
        wall,
        total: get("time_elapsed"),
        downtime: get("downtime"),
        pause: 0,
        bytes: get("memory_processed"),
        passes: get("memory_iteration"),
    };
    // It runs there: its shell answers on the target's console.
    drop(b.console(name));
    eprintln!(
        "  libvirt {name}: total {} ms, downtime {} ms, {} bytes in {} passes, virsh migrate {wall} ms",
        f.total, f.downtime, f.bytes, f.passes
    );
    b.remove_guest(name);
    a.remove_guest(name);
    f
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// The medians of each figure.
fn medians(runs: &[Figures]) -> Figures {
    let m = |f: fn(&Figures) -> u64| median(runs.iter().map(f).collect());
    Figures {
        wall: m(|f| f.wall),
        total: m(|f| f.total),
        downtime: m(|f| f.downtime),
        pause: m(|f| f.pause),
        bytes: m(|f| f.bytes),
        passes: m(|f| f.passes),
    }
}

fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        "-".to_string()
    } else {
        format!("{:.2}", a as f64 / b as f64)
    }
}

fn main() {
    let _l = lock();
    let h = hosts("");
    let a = Libvirtd::start(h.source_netns(), "lv-src", 1);
    let b = Libvirtd::start(h.target_netns(), "lv-dst", 2);
    for writing in [false, true] {
        let (mut ivm, mut lv) = (Vec::new(), Vec::new());
        for run in 0..RUNS {
            let tag = if writing { "w" } else { "i" };
            // Interleaved, so that what else the machine does falls on both alike.
            ivm.push(ivm_move(&h, &format!("m{tag}{run}"), writing));
            lv.push(libvirt_move(&a, &b, &format!("v{tag}{run}"), writing));
        }
        let (i, l) = (medians(&ivm), medians(&lv));
        let what = if writing {
            "guest rewriting 256 MB"
        } else {
            "idle"
        };
        println!(
            "move of a 1 GB partition with a 2 GB disk ({what}), medians of {RUNS}:\n\
             \tivm:     migrlpar {} ms (disk copy included), memory stream {} ms, QEMU downtime {} ms, pause to the target's resume {} ms, {} MB of memory in {} passes\n\
             \tlibvirt: virsh migrate {} ms (disk copy included), migration job {} ms, QEMU downtime {} ms, {} MB of memory in {} passes\n\
             \tivm/libvirt: command {}, downtime {}, memory sent {}",
            i.wall, i.total, i.downtime, i.pause, i.bytes >> 20, i.passes,
            l.wall, l.total, l.downtime, l.bytes >> 20, l.passes,
            ratio(i.wall, l.wall), ratio(i.downtime, l.downtime), ratio(i.bytes, l.bytes),
        );
    }
}
