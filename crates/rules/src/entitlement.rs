//! What the kernel must enforce for a running partition: CPU time, CPU placement, memory.

use std::collections::BTreeSet;
use std::time::Duration;

use ivm_model::{Accel, ProcConfig, ProcMode, SharingMode};

use crate::RuleError;

/// CFS period for capped partitions.
pub const CFS_PERIOD_US: u64 = 100_000;

/// CPU controls for a partition's cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuLimits {
    /// CFS period in microseconds.
    pub period_us: u64,
    /// CFS quota per period; none for no limit.
    pub quota_us: Option<u64>,
    /// Relative weight on cgroup v2's scale (1..10000, default 100).
    pub weight: u32,
}

impl CpuLimits {
    /// The same weight on cgroup v1's `cpu.shares` scale (default 1024).
    pub fn shares(&self) -> u64 {
        (u64::from(self.weight) * 1024 / 100).clamp(2, 262_144)
    }
}

/// Capped partitions get a CFS quota equal to their units (0.50 units = 50 ms per 100 ms);
/// uncapped ones no quota beyond their virtual processors, and a weight proportional to units
/// times the uncapped weight (1.00 unit at weight 128 = the default weight). An uncapped
/// weight of 0 means "never more than the entitlement", so it is capped. Dedicated partitions
/// are confined by their exclusive CPUs instead.
pub fn cpu_limits(p: &ProcConfig) -> CpuLimits {
    let units = u64::from(crate::committed_units(p).hundredths());
    let weight = (units * u64::from(p.uncap_weight.max(1)) / 128).clamp(1, 10_000) as u32;
    match p.proc_mode {
        ProcMode::Dedicated => CpuLimits {
            period_us: CFS_PERIOD_US,
            quota_us: None,
            weight: (units as u32).clamp(1, 10_000),
        },
        ProcMode::Shared if p.sharing_mode == SharingMode::Capped || p.uncap_weight == 0 => {
            CpuLimits {
                period_us: CFS_PERIOD_US,
                quota_us: Some(units * CFS_PERIOD_US / 100),
                weight: (units as u32).clamp(1, 10_000),
            }
        }
        ProcMode::Shared => CpuLimits {
            period_us: CFS_PERIOD_US,
            quota_us: None,
            weight,
        },
    }
}

/// QEMU's own memory beside guest RAM: code, device state, and under TCG its translation cache.
pub fn qemu_overhead_mb(accel: Accel) -> u64 {
    match accel {
        Accel::Kvm => 128,
        Accel::Tcg => 256,
    }
}

/// The memory cgroup limit: the partition's memory plus QEMU's overhead, so the guest can use
/// all it was given and no more.
pub fn memory_limit_mb(desired_mem: u64, accel: Accel) -> u64 {
    desired_mem + qemu_overhead_mb(accel)
}

/// Picks `count` host CPUs for a dedicated partition from those not `taken` by other dedicated
/// partitions, highest first so CPU 0 (where host interrupts land) stays in the shared pool,
/// and always leaving the shared pool at least one CPU.
pub fn pick_dedicated_cpus(
    host: &[u32],
    taken: &BTreeSet<u32>,
    count: u32,
) -> Result<Vec<u32>, RuleError> {
    let free: Vec<u32> = host
        .iter()
        .rev()
        .copied()
        .filter(|c| !taken.contains(c))
        .collect();
    if free.len() < count as usize + 1 {
        return Err(RuleError::Insufficient {
            resource: "dedicated processors",
            needed: count.to_string(),
            available: free.len().saturating_sub(1).to_string(),
        });
    }
    let mut cpus: Vec<u32> = free.into_iter().take(count as usize).collect();
    cpus.sort_unstable();
    Ok(cpus)
}

/// The shared pool: every host CPU no dedicated partition holds.
pub fn shared_pool(host: &[u32], taken: &BTreeSet<u32>) -> Vec<u32> {
    host.iter()
        .copied()
        .filter(|c| !taken.contains(c))
        .collect()
}

/// Chooses the accelerator from how long each took to reach the same point of firmware boot
/// (`None`: unavailable or no progress within the deadline). KVM wins unless it is much slower
/// than emulation, which happens with nested, software-assisted KVM.
pub fn choose_accel(kvm: Option<Duration>, tcg: Option<Duration>) -> (Accel, String) {
    match (kvm, tcg) {
        (None, _) => (Accel::Tcg, "KVM is not usable here (no /dev/kvm, or no progress in time); using TCG".into()),
        (Some(k), Some(t)) if k > t * 2 + Duration::from_millis(500) => (
            Accel::Tcg,
            format!(
                "KVM reached firmware boot in {:.2} s, TCG in {:.2} s: KVM is nested or emulated here; using TCG",
                k.as_secs_f64(),
                t.as_secs_f64()
            ),
        ),
        (Some(k), _) => (Accel::Kvm, format!("KVM reached firmware boot in {:.2} s; using KVM", k.as_secs_f64())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ivm_model::ProcUnits;

    fn shared(units: u32, vps: u32, sharing: SharingMode, weight: u8) -> ProcConfig {
        ProcConfig {
            proc_mode: ProcMode::Shared,
            min_procs: vps,
            desired_procs: vps,
            max_procs: vps,
            min_proc_units: Some(ProcUnits(units)),
            desired_proc_units: Some(ProcUnits(units)),
            max_proc_units: Some(ProcUnits(units)),
            sharing_mode: sharing,
            uncap_weight: weight,
        }
    }

    #[test]
    fn capped_units_become_a_quota() {
        let l = cpu_limits(&shared(50, 1, SharingMode::Capped, 128));
        assert_eq!((l.period_us, l.quota_us), (100_000, Some(50_000)));
        let l = cpu_limits(&shared(150, 2, SharingMode::Capped, 128));
        assert_eq!(l.quota_us, Some(150_000));
        // Uncapped weight 0 never exceeds the entitlement.
        assert_eq!(
            cpu_limits(&shared(30, 1, SharingMode::Uncapped, 0)).quota_us,
            Some(30_000)
        );
    }

    #[test]
    fn uncapped_weight_scales_with_units_and_weight() {
        let l = cpu_limits(&shared(100, 2, SharingMode::Uncapped, 128));
        assert_eq!((l.quota_us, l.weight, l.shares()), (None, 100, 1024));
        assert_eq!(
            cpu_limits(&shared(100, 2, SharingMode::Uncapped, 255)).weight,
            199
        );
        assert_eq!(
            cpu_limits(&shared(10, 1, SharingMode::Uncapped, 1)).weight,
            1
        );
        assert_eq!(
            cpu_limits(&shared(10, 1, SharingMode::Uncapped, 1)).shares(),
            10
        );
    }

    #[test]
    fn dedicated_cpus_leave_the_pool_one() {
        let host = [0, 1, 2, 3];
        let taken = BTreeSet::new();
        assert_eq!(pick_dedicated_cpus(&host, &taken, 2).unwrap(), vec![2, 3]);
        let taken: BTreeSet<u32> = [3].into();
        assert_eq!(pick_dedicated_cpus(&host, &taken, 2).unwrap(), vec![1, 2]);
        assert!(pick_dedicated_cpus(&host, &taken, 3).is_err());
        assert_eq!(shared_pool(&host, &taken), vec![0, 1, 2]);
        assert_eq!(memory_limit_mb(256, Accel::Tcg), 512);
    }

    #[test]
    fn accelerator_choice() {
        let ms = Duration::from_millis;
        assert_eq!(choose_accel(Some(ms(100)), Some(ms(170))).0, Accel::Kvm);
        assert_eq!(choose_accel(Some(ms(2850)), Some(ms(170))).0, Accel::Tcg);
        assert_eq!(choose_accel(None, Some(ms(170))).0, Accel::Tcg);
        assert!(choose_accel(Some(ms(2850)), Some(ms(170)))
            .1
            .contains("2.85 s"));
    }
}
