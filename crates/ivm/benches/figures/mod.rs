//! What the benchmarks compute from their samples, shared by all of them.
#![allow(dead_code)]

use std::time::Duration;

/// The middle sample (the upper one of an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A process's resident memory (`VmRSS`), KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The middle of figures that are not durations (the upper one of an even count).
pub fn median_f64(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The accelerator in a QEMU command line (`-accel`'s first property).
pub fn accel_of(cmdline: &str) -> String {
    cmdline
        .split(" -accel ")
        .nth(1)
        .and_then(|r| r.split([',', ' ']).next())
        .unwrap_or("unknown")
        .to_string()
}
