//! Utilization data, as IVM keeps it. A cycle is a nanosecond of CPU time: entitled cycles
//! accrue at the partition's entitlement (processing units, or its dedicated processors) for
//! every nanosecond that passes; used cycles are the CPU time its cgroup counted; capped cycles
//! are the used ones within the entitlement, uncapped those beyond it, idle the entitled ones
//! not used. Utilization between two samples is (capped + uncapped) / entitled of the
//! differences, as IVM computes it.

use std::collections::BTreeMap;

use ivm_model::{UtilPoint, UtilSample};

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

/// Chart points from samples, oldest first: each partition's differences between consecutive
/// samples (none across a restart of the counters, which begin again at zero), for one
/// partition, or summed at each sample time over every partition (`lpar` none: the system).
pub fn util_points(samples: &[UtilSample], lpar: Option<u32>) -> Vec<UtilPoint> {
    let mut by_lpar: BTreeMap<u32, Vec<&UtilSample>> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| lpar.is_none_or(|id| s.lpar_id == id))
    {
        by_lpar.entry(s.lpar_id).or_default().push(s);
    }
    let mut at: BTreeMap<i64, UtilPoint> = BTreeMap::new();
    for list in by_lpar.values_mut() {
        list.sort_by_key(|s| s.time_ms);
        for w in list.windows(2) {
            let (a, b) = (w[0], w[1]);
            let used = |s: &UtilSample| s.capped_cycles + s.uncapped_cycles;
            let dt_ns = (b.time_ms - a.time_ms) as f64 * 1e6;
            if dt_ns <= 0.0 || b.entitled_cycles < a.entitled_cycles || used(b) < used(a) {
                continue;
            }
            let p = at.entry(b.time_ms).or_insert(UtilPoint {
                time_ms: b.time_ms,
                entitled_units: 0.0,
                used_units: 0.0,
                curr_mem: 0,
                mem_resident: 0,
            });
            p.entitled_units += (b.entitled_cycles - a.entitled_cycles) as f64 / dt_ns;
            p.used_units += (used(b) - used(a)) as f64 / dt_ns;
            p.curr_mem += b.curr_mem;
            p.mem_resident += b.mem_resident;
        }
    }
    at.into_values().collect()
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

    fn sample(lpar_id: u32, time_ms: i64, c: Cycles, mem: u64) -> UtilSample {
        UtilSample {
            time_ms,
            event_type: "sample".into(),
            lpar_id,
            lpar_name: format!("lp{lpar_id}"),
            state: "Running".into(),
            curr_proc_mode: "shared".into(),
            curr_proc_units: ivm_model::ProcUnits(50),
            curr_procs: 1,
            curr_sharing_mode: "cap".into(),
            curr_uncap_weight: 0,
            curr_mem: mem,
            mem_resident: mem / 2,
            entitled_cycles: c.entitled,
            capped_cycles: c.capped,
            uncapped_cycles: c.uncapped,
            idle_cycles: c.idle,
            counter_ns: c.counter_ns,
        }
    }

    #[test]
    fn points_per_partition_and_summed_for_the_system() {
        const S: u64 = 1_000_000_000;
        // Partition 2: 0.50 units, busy (0.5 s a second); partition 3: 0.50, a tenth used.
        let a0 = next_cycles(None, 0, 0, 50);
        let a1 = next_cycles(Some(a0), 10 * S, 5 * S, 50);
        let a2 = next_cycles(Some(a1), 10 * S, 10 * S, 50);
        let b0 = next_cycles(None, 0, 0, 50);
        let b1 = next_cycles(Some(b0), 10 * S, S / 2, 50);
        let samples = vec![
            sample(2, 20_000, a2, 512),
            sample(2, 0, a0, 512),
            sample(2, 10_000, a1, 512),
            sample(3, 0, b0, 256),
            sample(3, 10_000, b1, 256),
            // A restart of the counters: no point from the pair across it.
            sample(3, 20_000, next_cycles(None, 0, 0, 50), 256),
        ];
        let one = util_points(&samples, Some(2));
        assert_eq!(
            one.iter().map(|p| p.time_ms).collect::<Vec<_>>(),
            [10_000, 20_000]
        );
        assert!(
            (one[0].entitled_units - 0.5).abs() < 1e-9 && (one[0].used_units - 0.5).abs() < 1e-9
        );
        let sys = util_points(&samples, None);
        assert_eq!(sys.len(), 2);
        assert!((sys[0].entitled_units - 1.0).abs() < 1e-9, "{sys:?}");
        assert!((sys[0].used_units - 0.55).abs() < 1e-9, "{sys:?}");
        assert_eq!((sys[0].curr_mem, sys[0].mem_resident), (768, 384));
        assert_eq!((sys[1].curr_mem, sys[1].entitled_units), (512, 0.5));
        assert!(util_points(&samples, Some(9)).is_empty());
    }
}
