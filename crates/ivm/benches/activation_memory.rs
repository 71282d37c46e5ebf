//! Activation as memory grows. For partitions of 256 MB, 1 GB, 4 GB and 16 GB: the time
//! `chsysstate -o on` takes (ivm's part: committed memory is allocated before the guest runs,
//! so that the host can never run short of it later) and the time to the test guest's ready
//! line (the guest kernel's own start grows with memory too, under TCG much more), beside the
//! time this host takes to fault in the same memory in one process (the physical limit), with
//! one thread and with one per host CPU; interleaved, medians of RUNS.
//! `IVM_BENCH_SIZES=256,1024` picks the sizes. Run with
//! `cargo bench -p ivm --bench activation_memory` (needs the test guest).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "figures/mod.rs"]
mod figures;

use std::time::{Duration, Instant};

use common::Daemon;
use figures::median;

const RUNS: usize = 3;
const READY: &[u8] = b"IVM-TEST-GUEST READY";

/// Faults in `mb` of fresh anonymous memory with `threads` threads, each populating its share
/// for writing (as QEMU's preallocation does), and gives it back; the time it took.
fn fault_in(mb: u64, threads: u32) -> Duration {
    let len = (mb as usize) << 20;
    let start = Instant::now();
    // SAFETY: a private anonymous mapping of `len` bytes, used only by the threads below
    // within its bounds, unmapped once they are done.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED, "mmap {mb} MB");
    let addr = base as usize;
    let chunk = len.div_ceil(threads as usize).next_multiple_of(4096);
    std::thread::scope(|s| {
        for i in 0..threads as usize {
            let from = i * chunk;
            let n = chunk.min(len.saturating_sub(from));
            s.spawn(move || {
                // SAFETY: this thread's own range of the mapping.
                let r = unsafe {
                    libc::madvise(
                        (addr + from) as *mut libc::c_void,
                        n,
                        libc::MADV_POPULATE_WRITE,
                    )
                };
                assert_eq!(r, 0, "MADV_POPULATE_WRITE");
            });
        }
    });
    let took = start.elapsed();
    // SAFETY: the mapping made above, no longer used.
    unsafe { libc::munmap(base, len) };
    took
}

/// Activates partition `name` (ID `id`): how long `chsysstate` took and how long until the
/// guest's ready line.
fn activate(d: &Daemon, name: &str, id: u32) -> (Duration, Duration) {
    let log = d.data_dir().join(format!("lpars/{id}/console.log"));
    let _ = std::fs::remove_file(&log);
    let start = Instant::now();
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", name]);
    let command = start.elapsed();
    let deadline = start + Duration::from_secs(600);
    while !std::fs::read(&log).is_ok_and(|b| b.windows(READY.len()).any(|w| w == READY)) {
        assert!(
            Instant::now() < deadline,
            "no ready line in {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let ready = start.elapsed();
    common::stop_now(d, name);
    (command, ready)
}

fn main() {
    let sizes: Vec<u64> = std::env::var("IVM_BENCH_SIZES")
        .unwrap_or_else(|_| "256,1024,4096,16384".into())
        .split(',')
        .map(|s| s.trim().parse().expect("IVM_BENCH_SIZES: MB,MB,..."))
        .collect();
    let d = Daemon::start("");
    let n = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let accel = d.ok(&["lssyscfg", "-r", "sys", "-F", "accel"]);
    println!(
        "accelerator {}, {} host CPUs; medians of {RUNS}, interleaved",
        accel.trim(),
        n
    );
    println!(
        "{:>8} {:>12} {:>12} {:>14} {:>16} {:>8} {:>10}",
        "memory", "chsysstate", "ready line", "fault-in 1 thr", "fault-in N thr", "N", "ivm/limit"
    );
    for mb in sizes {
        let name = format!("am{mb}");
        // Shared processors: the partition's QEMU may run on every CPU of the shared pool.
        common::define_guest(
            &d,
            &name,
            &format!(
                "proc_mode=shared,sharing_mode=uncap,desired_proc_units=0.5,desired_procs=1,min_mem={mb},desired_mem={mb},max_mem={mb},virtual_eth_adapters=none"
            ),
        );
        let id = common::lpar_id(&d, &name);
        let (mut cmd, mut ready, mut one, mut many) = (vec![], vec![], vec![], vec![]);
        for _ in 0..RUNS {
            let (c, r) = activate(&d, &name, id);
            cmd.push(c);
            ready.push(r);
            one.push(fault_in(mb, 1));
            many.push(fault_in(mb, n));
        }
        let (c, r, o, m) = (median(cmd), median(ready), median(one), median(many));
        println!(
            "{:>5} MB {:>10.3} s {:>10.3} s {:>12.3} s {:>14.3} s {:>8} {:>10.2}",
            mb,
            c.as_secs_f64(),
            r.as_secs_f64(),
            o.as_secs_f64(),
            m.as_secs_f64(),
            n,
            c.as_secs_f64() / m.min(o).as_secs_f64()
        );
        d.ok(&["rmsyscfg", "-r", "lpar", "-n", &name]);
    }
}
