//! Where an activation's time goes: laps taken phase by phase along the path, and their sums
//! over every activation since start, served at `/metrics` (`ivm_activation_phase_seconds`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Laps of one operation, in the order taken.
#[derive(Debug)]
pub struct Laps {
    last: Instant,
    laps: Vec<(&'static str, Duration)>,
}

impl Default for Laps {
    fn default() -> Self {
        Laps {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }
}

impl Laps {
    /// Ends the phase `name`: the time since the previous lap (or the start) is its own.
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }

    /// The laps taken.
    pub fn laps(&self) -> &[(&'static str, Duration)] {
        &self.laps
    }
}

/// Sums and counts per phase, in the order phases were first seen.
#[derive(Debug, Default)]
pub struct PhaseStats {
    inner: Mutex<Vec<PhaseSum>>,
}

/// One phase's total time and how many times it ran.
#[derive(Debug)]
struct PhaseSum {
    name: &'static str,
    sum: Duration,
    count: u64,
}

impl PhaseStats {
    /// Adds one operation's laps.
    pub fn record(&self, laps: &Laps) {
        let mut sums = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for &(name, d) in laps.laps() {
            let at = match sums.iter().position(|s| s.name == name) {
                Some(i) => i,
                None => {
                    sums.push(PhaseSum {
                        name,
                        sum: Duration::ZERO,
                        count: 0,
                    });
                    sums.len() - 1
                }
            };
            sums[at].sum += d;
            sums[at].count += 1;
        }
    }

    /// Prometheus text: `<metric>_sum{phase=...}` and `<metric>_count{phase=...}`.
    pub fn render(&self, metric: &str, help: &str) -> String {
        let sums = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = format!("# HELP {metric} {help}\n# TYPE {metric} summary\n");
        for PhaseSum { name, sum, count } in sums.iter() {
            out.push_str(&format!(
                "{metric}_sum{{phase=\"{name}\"}} {:.6}\n{metric}_count{{phase=\"{name}\"}} {count}\n",
                sum.as_secs_f64()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_add_up_per_phase() {
        let stats = PhaseStats::default();
        for _ in 0..2 {
            let mut l = Laps::default();
            l.lap("spawn");
            l.lap("qmp");
            assert_eq!(l.laps().len(), 2);
            stats.record(&l);
        }
        let text = stats.render("ivm_activation_phase_seconds", "Time per phase.");
        assert!(text.contains("# TYPE ivm_activation_phase_seconds summary\n"));
        assert!(text.contains("ivm_activation_phase_seconds_count{phase=\"spawn\"} 2\n"));
        let spawn = text.find("phase=\"spawn\"").unwrap();
        assert!(spawn < text.find("phase=\"qmp\"").unwrap(), "{text}");
    }
}
