//! Utilization data, as IVM keeps it. A cycle is a nanosecond of CPU time: entitled cycles
//! accrue at the partition's entitlement (processing units, or its dedicated processors) for
//! every nanosecond that passes; used cycles are the CPU time its cgroup counted; capped cycles
//! are the used ones within the entitlement, uncapped those beyond it, idle the entitled ones
//! not used. Utilization between two samples is (capped + uncapped) / entitled of the
//! differences, as IVM computes it.

use crate::RuleError;

/// Sample rates `chlparutil -r config -s` accepts, in seconds (0 stops sampling).
pub const SAMPLE_RATES: &[u32] = &[0, 30, 60, 300, 1800, 3600, 7200, 14400];
/// The sample rate until one is set.
pub const DEFAULT_SAMPLE_RATE: u32 = 300;
/// How long samples are kept until set otherwise: 7 days.
pub const DEFAULT_MAX_AGE_SECS: u64 = 7 * 86_400;

/// Checks a sample rate given with `chlparutil`.
pub fn check_sample_rate(rate: u32) -> Result<u32, RuleError> {
    if SAMPLE_RATES.contains(&rate) {
        Ok(rate)
    } else {
        Err(RuleError::OutOfRange {
            attr: "sample_rate",
            value: rate.to_string(),
            allowed: format!(
                "one of {} seconds (0 stops sampling)",
                SAMPLE_RATES
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// A partition's cumulative cycle counters, and the CPU time counter they were taken from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cycles {
    /// Cycles the entitlement granted.
    pub entitled: u64,
    /// Used within the entitlement.
    pub capped: u64,
    /// Used beyond it.
    pub uncapped: u64,
    /// Granted and not used.
    pub idle: u64,
    /// The partition's CPU time counter (ns) at this sample.
    pub counter_ns: u64,
}

/// The counters after `elapsed_ns` more at an entitlement of `units` hundredths, the CPU time
/// counter now reading `counter_ns` (at the first sample, `prev` is none: zero cycles). A
/// counter that went backwards (a new QEMU) counts from zero.
pub fn next_cycles(prev: Option<Cycles>, elapsed_ns: u64, counter_ns: u64, units: u32) -> Cycles {
    let Some(p) = prev else {
        return Cycles {
            counter_ns,
            ..Cycles::default()
        };
    };
    let used = if counter_ns >= p.counter_ns {
        counter_ns - p.counter_ns
    } else {
        counter_ns
    };
    let entitled = (u128::from(elapsed_ns) * u128::from(units) / 100) as u64;
    let capped = used.min(entitled);
    Cycles {
        entitled: p.entitled + entitled,
        capped: p.capped + capped,
        uncapped: p.uncapped + (used - capped),
        idle: p.idle + (entitled - capped),
        counter_ns,
    }
}

/// Utilization between two samples, as a fraction of the entitlement (none when nothing was
/// entitled in between).
pub fn utilization(earlier: &Cycles, later: &Cycles) -> Option<f64> {
    let entitled = later.entitled.checked_sub(earlier.entitled)?;
    if entitled == 0 {
        return None;
    }
    let used = (later.capped + later.uncapped).checked_sub(earlier.capped + earlier.uncapped)?;
    Some(used as f64 / entitled as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_split_at_the_entitlement() {
        let s = next_cycles(None, 0, 5_000, 50);
        assert_eq!((s.entitled, s.counter_ns), (0, 5_000));
        // One second at 0.50 units: 0.5e9 entitled; 0.8e9 used: 0.5e9 capped, 0.3e9 beyond.
        let t = next_cycles(Some(s), 1_000_000_000, 5_000 + 800_000_000, 50);
        assert_eq!(
            (t.entitled, t.capped, t.uncapped, t.idle),
            (500_000_000, 500_000_000, 300_000_000, 0)
        );
        // Then 0.1e9 used in a second: 0.4e9 idle.
        let u = next_cycles(Some(t), 1_000_000_000, t.counter_ns + 100_000_000, 50);
        assert_eq!(
            (u.capped - t.capped, u.idle - t.idle),
            (100_000_000, 400_000_000)
        );
        assert_eq!(utilization(&s, &t), Some(1.6));
        assert_eq!(utilization(&t, &u), Some(0.2));
        assert_eq!(utilization(&t, &t), None);
        assert!(check_sample_rate(30).is_ok());
        assert!(check_sample_rate(31)
            .unwrap_err()
            .to_string()
            .contains("30, 60"));
    }
}
