//! Cost growth with the number of defined partitions: for 100, 1,000 and 10,000 (or the
//! sizes in `IVM_BENCH_SCALE`, comma-separated), defines that many partitions on a real
//! daemon and prints the median time of `lssyscfg -r lpar`, of one partition's record
//! (`--filter`), the daemon's resident memory, and the time a restarted daemon takes until it
//! answers. Figures, not assertions: `cargo bench -p ivm --bench scale`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "figures/mod.rs"]
mod figures;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Daemon;
use figures::{median, ms, rss_kib};

const RUNS: usize = 11;
/// Clients defining partitions at once (the daemon writes them one transaction each).
const CLIENTS: usize = 4;

/// One size's figures.
struct Row {
    n: usize,
    define: Duration,
    list: Duration,
    one: Duration,
    rss_kib: u64,
    ready: Duration,
    rss_restarted_kib: u64,
}

fn measure(n: usize) -> Row {
    // A machine large enough for n small partitions (shared, 0.1 units and 256 MB each).
    let config = format!(
        "name = \"scalesys\"\ninstalled_procs = {}\ninstalled_mem = {}\nmax_lpars = {}\n",
        (n / 8).max(16),
        (n as u64 * 256 * 2).max(65536),
        n + 10
    );
    let mut d = Daemon::start(&config);
    let next = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let input = format!(
                    "name=lp{i:05},proc_mode=shared,desired_procs=1,desired_proc_units=0.1,desired_mem=256"
                );
                d.ok(&["mksyscfg", "-r", "lpar", "-i", &input]);
            });
        }
    });
    let define = t.elapsed();
    let list = |d: &Daemon| {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = d.ok(&["lssyscfg", "-r", "lpar"]);
            times.push(t.elapsed());
            assert_eq!(out.lines().count(), n + 1);
        }
        median(times)
    };
    let list_time = list(&d);
    let mut ones = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        d.ok(&[
            "lssyscfg",
            "-r",
            "lpar",
            "-F",
            "name,state",
            "--filter",
            &format!("lpar_names=lp{:05}", n / 2),
        ]);
        ones.push(t.elapsed());
    }
    let rss = rss_kib(d.child.id());
    d.stop();
    // From the process's start until it serves (it prints its address when it answers).
    let t = Instant::now();
    d.restart();
    let ready = t.elapsed();
    // What a restarted daemon holds once it has listed everything.
    let _ = list(&d);
    let rss_restarted = rss_kib(d.child.id());
    Row {
        n,
        define,
        list: list_time,
        one: median(ones),
        rss_kib: rss,
        ready,
        rss_restarted_kib: rss_restarted,
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("IVM_BENCH_SCALE")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("IVM_BENCH_SCALE: sizes like 100,1000")
        })
        .collect();
    let rows: Vec<Row> = sizes.iter().map(|&n| measure(n)).collect();
    println!("defined partitions, each size on a new daemon (medians of {RUNS})");
    println!(
        "{:>7} {:>12} {:>14} {:>12} {:>10} {:>12} {:>14}",
        "lpars", "define each", "lssyscfg all", "one lpar", "RSS", "restart", "RSS restarted"
    );
    for r in &rows {
        println!(
            "{:>7} {:>9.2} ms {:>11.1} ms {:>9.1} ms {:>7.1} MB {:>9.0} ms {:>11.1} MB",
            r.n,
            ms(r.define) / r.n as f64 * CLIENTS as f64,
            ms(r.list),
            ms(r.one),
            r.rss_kib as f64 / 1024.0,
            ms(r.ready),
            r.rss_restarted_kib as f64 / 1024.0,
        );
    }
    // How each grows from one size to the next: the factor against the factor in partitions.
    for w in rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let k = b.n as f64 / a.n as f64;
        println!(
            "{} -> {} lpars ({k:.0}x): listing {:.1}x, one lpar {:.2}x, RSS {:.2}x (+{:.1} KB per lpar), restart {:.2}x",
            a.n,
            b.n,
            ms(b.list) / ms(a.list),
            ms(b.one) / ms(a.one),
            b.rss_kib as f64 / a.rss_kib as f64,
            (b.rss_kib as f64 - a.rss_kib as f64) / (b.n - a.n) as f64,
            ms(b.ready) / ms(a.ready),
        );
    }
}
