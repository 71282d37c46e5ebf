//! The no-overcommit rule: committed resources never exceed what is installed.

use ivm_model::{ManagedSystem, Partition, ProcUnits, ResourceSummary};

use crate::procs::committed_units;
use crate::totals::{committed_mem, configurable, Totals};
use crate::RuleError;

/// Checks that replacing partition `replaced` (or adding one, when `None`) by `new` fits.
///
/// A change that does not raise a total is always allowed, so that a system whose installed
/// resources shrank can still be brought back within bounds.
pub fn check_fits(
    sys: &ManagedSystem,
    existing: &[Partition],
    replaced: Option<u32>,
    new: &Partition,
) -> Result<(), RuleError> {
    let before = Totals::with_pool(sys, existing);
    let rest = Totals::with_pool(sys, existing.iter().filter(|p| Some(p.lpar_id) != replaced));
    let after = Totals {
        units: ProcUnits(rest.units.0 + committed_units(&new.procs).0),
        mem: rest.mem + committed_mem(&new.mem),
    };
    let cap = configurable(sys);
    if after.units > cap.units && after.units > before.units {
        return Err(RuleError::Insufficient {
            resource: "processing units",
            needed: ProcUnits(after.units.0 - before.units.0).to_string(),
            available: ProcUnits(cap.units.0.saturating_sub(before.units.0)).to_string(),
        });
    }
    if after.mem > cap.mem && after.mem > before.mem {
        return Err(RuleError::Insufficient {
            resource: "memory",
            needed: format!("{} MB", after.mem - before.mem),
            available: format!("{} MB", cap.mem.saturating_sub(before.mem)),
        });
    }
    crate::mempool::check_logical(sys, existing, replaced, new)
}

/// Installed, committed and available resources of the managed system.
pub fn summary(sys: &ManagedSystem, parts: &[Partition]) -> ResourceSummary {
    let used = Totals::with_pool(sys, parts);
    let cap = configurable(sys);
    let available_units = ProcUnits(cap.units.0.saturating_sub(used.units.0));
    ResourceSummary {
        installed_procs: sys.installed_procs,
        configurable_proc_units: cap.units,
        committed_proc_units: used.units,
        available_proc_units: available_units,
        available_procs: available_units.0 / 100,
        installed_mem: sys.installed_mem,
        firmware_mem: sys.firmware_mem,
        configurable_mem: cap.mem,
        committed_mem: used.mem,
        available_mem: cap.mem.saturating_sub(used.mem),
        mem_region_size: sys.mem_region_size,
        partitions: parts.len() as u32,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{default_firmware_mem, region_size_for};

    /// A managed system with the given processors and memory and the default region and reserve.
    pub(crate) fn system(procs: u32, mem: u64) -> ManagedSystem {
        let region = region_size_for(mem);
        ManagedSystem {
            name: "host".into(),
            type_model: "KVM-X86".into(),
            serial_num: "ABC1234".into(),
            installed_procs: procs,
            installed_mem: mem,
            mem_region_size: region,
            firmware_mem: default_firmware_mem(mem, region),
            max_lpars: 254,
            physical_volumes: vec![],
            physical_nics: vec![],
            mem_pool: None,
        }
    }

    #[test]
    fn summary_counts_every_partition() {
        let sys = system(4, 8192);
        let mgmt = crate::default_management_partition(&sys);
        let s = summary(&sys, std::slice::from_ref(&mgmt));
        assert_eq!(s.configurable_proc_units, ProcUnits(400));
        assert_eq!(s.committed_proc_units, ProcUnits(40));
        assert_eq!(s.available_proc_units, ProcUnits(360));
        assert_eq!(s.available_procs, 3);
        assert_eq!(s.firmware_mem, 128);
        assert_eq!(s.configurable_mem, 8064);
        assert_eq!(s.committed_mem, 1024);
        assert_eq!(s.available_mem, 7040);
    }
}
