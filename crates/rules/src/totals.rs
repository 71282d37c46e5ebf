//! What partitions commit, summed: processing units and memory, and what the system has
//! for them.

use ivm_model::{ManagedSystem, MemConfig, MemMode, Partition, ProcUnits};

use crate::procs::committed_units;

/// Resources committed by a set of partitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Processing units (dedicated processors count 1.00 each).
    pub units: ProcUnits,
    /// Memory in megabytes.
    pub mem: u64,
}

impl Totals {
    /// Sums what every partition commits, whatever its state. A shared-memory partition
    /// commits no physical memory of its own: its logical memory comes from the pool.
    pub fn of<'a>(parts: impl IntoIterator<Item = &'a Partition>) -> Totals {
        parts.into_iter().fold(Totals::default(), |t, p| Totals {
            units: ProcUnits(t.units.0 + committed_units(&p.procs).0),
            mem: t.mem + committed_mem(&p.mem),
        })
    }

    /// What the partitions and the shared memory pool commit together.
    pub fn with_pool<'a>(
        sys: &ManagedSystem,
        parts: impl IntoIterator<Item = &'a Partition>,
    ) -> Totals {
        let t = Totals::of(parts);
        Totals {
            mem: t.mem + sys.mem_pool.as_ref().map_or(0, |p| p.pool_mem),
            ..t
        }
    }
}

/// Physical memory a partition commits: its desired memory, or none for shared memory.
pub fn committed_mem(m: &MemConfig) -> u64 {
    match m.mem_mode {
        MemMode::Dedicated => m.desired_mem,
        MemMode::Shared => 0,
    }
}

/// What partitions may commit in all: installed processors, and memory less the firmware's.
pub(crate) fn configurable(sys: &ManagedSystem) -> Totals {
    Totals {
        units: ProcUnits::from_procs(sys.installed_procs),
        mem: sys.installed_mem.saturating_sub(sys.firmware_mem),
    }
}
