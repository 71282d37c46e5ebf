//! Defines 1,000 partitions on a real daemon, then prints the median time of
//! `lssyscfg -r lpar` and the daemon's resident memory. Figures, not assertions:
//! run with `cargo bench -p ivm --bench partitions`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "figures/mod.rs"]
mod figures;

use std::time::Instant;

use common::Daemon;
use figures::{median, rss_kib};

/// A machine large enough for 1,000 small partitions (0.10 units and 256 MB each).
const SYSTEM: &str = r#"
name = "benchsys"
installed_procs = 128
installed_mem = 1048576
max_lpars = 1100
"#;

const PARTITIONS: usize = 1000;
const RUNS: usize = 21;

fn main() {
    let d = Daemon::start(SYSTEM);
    let pid = d.child.id();
    let rss_start = rss_kib(pid);

    let mut creates = Vec::with_capacity(PARTITIONS);
    for i in 0..PARTITIONS {
        let input = format!("name=bench{i:04},desired_procs=1,desired_mem=256");
        let t = Instant::now();
        d.ok(&["mksyscfg", "-r", "lpar", "-i", &input]);
        creates.push(t.elapsed());
    }

    let mut lists = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = d.ok(&["lssyscfg", "-r", "lpar"]);
        lists.push(t.elapsed());
        assert_eq!(out.lines().count(), PARTITIONS + 1);
    }
    let mut filtered = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        d.ok(&[
            "lssyscfg",
            "-r",
            "lpar",
            "-F",
            "name,state",
            "--filter",
            "lpar_names=bench0500",
        ]);
        filtered.push(t.elapsed());
    }
    let rss_end = rss_kib(pid);

    println!("partitions defined:                 {PARTITIONS} (+ management partition)");
    println!(
        "mksyscfg -r lpar, median:           {:.1} ms",
        median(creates).as_secs_f64() * 1e3
    );
    println!(
        "lssyscfg -r lpar ({} lines), median: {:.1} ms over {RUNS} runs (min {:.1} ms, max {:.1} ms)",
        PARTITIONS + 1,
        median(lists.clone()).as_secs_f64() * 1e3,
        lists.iter().min().unwrap().as_secs_f64() * 1e3,
        lists.iter().max().unwrap().as_secs_f64() * 1e3,
    );
    println!(
        "lssyscfg --filter one lpar, median: {:.1} ms",
        median(filtered).as_secs_f64() * 1e3
    );
    println!(
        "daemon RSS:                         {:.1} MiB at start, {:.1} MiB after",
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0
    );
}
