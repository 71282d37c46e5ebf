//! What the host as a whole is using now: busy CPU time since boot (`/proc/stat`) and memory
//! in use (`/proc/meminfo`). The management partition's share is what remains after the
//! partitions' own counters are taken away.

use std::path::Path;
use std::time::Duration;

/// CPU time every processor spent busy since boot (user, nice, system, irq, softirq, steal;
/// guest time is already in user), from `/proc/stat` below `root`.
pub fn busy_cpu_time(root: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(root.join("proc/stat")).ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    parse_busy_ticks(&text).map(|t| ticks_to_duration(t, if hz > 0 { hz as u64 } else { 100 }))
}

/// Memory in use, bytes: MemTotal - MemAvailable from `/proc/meminfo` below `root`.
pub fn memory_in_use(root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(root.join("proc/meminfo")).ok()?;
    parse_in_use(&text)
}

fn ticks_to_duration(ticks: u64, hz: u64) -> Duration {
    Duration::from_nanos((u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64)
}

/// The busy ticks of the aggregate `cpu` line.
fn parse_busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    (v.len() >= 4).then(|| at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

fn parse_in_use(meminfo: &str) -> Option<u64> {
    let kb = |key: &str| {
        meminfo.lines().find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    Some(kb("MemTotal:")?.saturating_sub(kb("MemAvailable:")?) * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_and_memory_in_use() {
        let stat = "cpu  100 5 50 1000 20 3 2 1 40 0\ncpu0 50 2 25 500 10 1 1 0 20 0\nintr 1\n";
        assert_eq!(parse_busy_ticks(stat), Some(161));
        assert_eq!(ticks_to_duration(161, 100), Duration::from_millis(1610));
        assert_eq!(parse_busy_ticks("cpu0 1 2 3 4\n"), None);
        assert_eq!(parse_busy_ticks("cpu  1 x 3 4\n"), None);
        let meminfo =
            "MemTotal:       24000000 kB\nMemFree:  1000 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(parse_in_use(meminfo), Some(4_000_000 * 1024));
        assert_eq!(parse_in_use("MemTotal: 5 kB\n"), None);
        let here = Path::new("/");
        assert!(busy_cpu_time(here).is_some_and(|d| d > Duration::ZERO));
        assert!(memory_in_use(here).is_some_and(|b| b > 0));
    }
}
