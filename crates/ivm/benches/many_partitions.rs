//! Many running partitions (issue goal: as many tiny guests as the host holds, 40 of 64 MB
//! under TCG): the time to activate them all at once, the daemon's CPU per running partition
//! per second while they idle, `lssyscfg -r lpar` and DLPAR latency on one of them with the
//! others running, each beside the same measurement with one partition running (interleaved
//! where it can be). Run with `cargo bench -p ivm --bench many_partitions` (the test guest in
//! target/test-guest; `IVM_BENCH_LPARS=N` for another count).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "figures/mod.rs"]
mod figures;

use std::time::{Duration, Instant};

use common::Daemon;
use figures::{median, ms};

/// The daemon's user and system CPU time so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// The daemon's CPU use over `window`, in percent of one core.
fn idle_cpu(pid: u32, window: Duration) -> f64 {
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    std::thread::sleep(window);
    let (t1, c1) = (Instant::now(), cpu_ticks(pid));
    (c1 - c0) as f64 / hz / (t1 - t0).as_secs_f64() * 100.0
}

fn listing(d: &Daemon, runs: usize) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                d.ok(&["lssyscfg", "-r", "lpar"]);
                t.elapsed()
            })
            .collect(),
    )
}

/// `chhwres` adding then removing 0.1 processing units on partition 2 (its cgroup's quota).
fn dlpar(d: &Daemon, runs: usize) -> (Duration, Duration) {
    let (mut add, mut rm) = (vec![], vec![]);
    for _ in 0..runs {
        let t = Instant::now();
        d.ok(&[
            "chhwres",
            "-r",
            "proc",
            "-o",
            "a",
            "--procunits",
            "0.1",
            "--id",
            "2",
        ]);
        add.push(t.elapsed());
        let t = Instant::now();
        d.ok(&[
            "chhwres",
            "-r",
            "proc",
            "-o",
            "r",
            "--procunits",
            "0.1",
            "--id",
            "2",
        ]);
        rm.push(t.elapsed());
    }
    (median(add), median(rm))
}

fn main() {
    let n: u32 = std::env::var("IVM_BENCH_LPARS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    // Installed resources for n tiny partitions (0.1 processing units and 64 MB each, plus
    // room for DLPAR): more processors than the host has is what ivm.toml allows for scale.
    let d = Daemon::start(&format!(
        "shutdown_delay_secs = 3\nmem_region_size = 64\ninstalled_procs = {}\nmax_lpars = {}\n",
        (n / 8 + 2),
        n + 8
    ));
    for i in 0..n {
        common::define_guest(
            &d,
            &format!("tiny{i}"),
            "desired_procs=1,desired_proc_units=0.1,max_proc_units=0.5,min_mem=64,desired_mem=64,max_mem=128,virtual_eth_adapters=none",
        );
    }
    let pid = d.child.id();
    let accel = d.ok(&["lssyscfg", "-r", "sys", "-F", "accel"]);
    println!(
        "accelerator: {}; {n} partitions of 64 MB defined",
        accel.trim()
    );

    // One running: the baseline.
    common::activate(&d, "tiny0");
    std::thread::sleep(Duration::from_secs(10));
    let cpu_one = idle_cpu(pid, Duration::from_secs(20));
    let list_one = listing(&d, 11);
    let (add_one, rm_one) = dlpar(&d, 5);

    // All of them, activated at once (one client each, as many administrators would).
    let t = Instant::now();
    let handles: Vec<_> = (1..n)
        .map(|i| {
            let bin = d.bin.clone();
            let data = d.data_dir().to_path_buf();
            std::thread::spawn(move || {
                let out = std::process::Command::new(bin)
                    .args([
                        "chsysstate",
                        "-r",
                        "lpar",
                        "-o",
                        "on",
                        "-n",
                        &format!("tiny{i}"),
                    ])
                    .env("IVM_DATA_DIR", data)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .unwrap();
                (
                    t.elapsed(),
                    out.status.success(),
                    String::from_utf8_lossy(&out.stderr).to_string(),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let all = t.elapsed();
    let failed: Vec<&String> = results.iter().filter(|r| !r.1).map(|r| &r.2).collect();
    let running = d
        .ok(&["lssyscfg", "-r", "lpar", "-F", "state"])
        .lines()
        .filter(|s| *s == "Running")
        .count();
    println!(
        "activated {} partitions at once in {:.1} s (first returned after {:.1} s; {} refused{})",
        n - 1,
        all.as_secs_f64(),
        results.iter().map(|r| r.0).min().unwrap().as_secs_f64(),
        failed.len(),
        failed
            .first()
            .map(|e| format!(": {}", e.trim()))
            .unwrap_or_default()
    );
    println!("running now: {running} (with the management partition)");
    // The guests boot under TCG; their idle is measured once the host has settled.
    std::thread::sleep(Duration::from_secs(60));
    let cpu_all = idle_cpu(pid, Duration::from_secs(20));
    let list_all = listing(&d, 11);
    let (add_all, rm_all) = dlpar(&d, 5);
    let running_lpars = (running - 1).max(1) as f64;
    println!("daemon CPU while partitions idle (percent of one core):");
    println!(
        "  1 running: {cpu_one:.2}%   {} running: {cpu_all:.2}%   per running partition: {:.3}% (goal < 0.1%)",
        running - 1,
        (cpu_all - cpu_one).max(0.0) / (running_lpars - 1.0).max(1.0)
    );
    println!(
        "lssyscfg -r lpar (median of 11): 1 running {:.1} ms, {} running {:.1} ms ({:.2}x)",
        ms(list_one),
        running - 1,
        ms(list_all),
        ms(list_all) / ms(list_one)
    );
    println!(
        "DLPAR +0.1 / -0.1 processing units on one partition (median of 5): alone {:.0} / {:.0} ms, with {} others running {:.0} / {:.0} ms ({:.2}x / {:.2}x)",
        ms(add_one),
        ms(rm_one),
        running - 2,
        ms(add_all),
        ms(rm_all),
        ms(add_all) / ms(add_one),
        ms(rm_all) / ms(rm_one)
    );
    for i in 0..n {
        let _ = d.ivm(&[
            "chsysstate",
            "-r",
            "lpar",
            "-o",
            "shutdown",
            "--immed",
            "-n",
            &format!("tiny{i}"),
        ]);
    }
}
