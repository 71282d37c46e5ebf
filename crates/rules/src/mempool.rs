//! The shared memory pool (Active Memory Sharing): its size, what it commits, and what its
//! partitions may declare.
//!
//! ivm's choices, documented: the pool's physical memory is committed from the system like a
//! dedicated partition's; a shared-memory partition commits none of its own. The desired
//! logical memory of the pool's partitions may sum to at most [`LOGICAL_PER_POOL`] times the
//! pool (beyond that a guest would live mostly on its paging device), and each partition's
//! minimum must fit in the pool by itself. The paging storage pool changes only while no
//! partition uses the pool.

use ivm_model::{Hdisk, ManagedSystem, MemMode, MemPool, MemPoolRequest, Partition};

use crate::totals::{configurable, Totals};
use crate::RuleError;

/// How many times the pool the partitions' desired logical memory may sum to.
pub const LOGICAL_PER_POOL: u64 = 4;

/// The pool's partitions.
pub fn shared_partitions(parts: &[Partition]) -> impl Iterator<Item = &Partition> {
    parts.iter().filter(|p| p.mem.mem_mode == MemMode::Shared)
}

/// The sum of the desired logical memory of the pool's partitions, MB.
pub fn logical_mem(parts: &[Partition]) -> u64 {
    shared_partitions(parts).map(|p| p.mem.desired_mem).sum()
}

/// Creates the pool (`sys.mem_pool` none) or changes it, from a request; `default_paging`
/// names the storage pool paging devices come from when the request names none.
pub fn resolve_pool(
    sys: &ManagedSystem,
    parts: &[Partition],
    req: &MemPoolRequest,
    default_paging: Option<&str>,
) -> Result<MemPool, RuleError> {
    let current = sys.mem_pool.as_ref();
    let pool_mem = req
        .pool_mem
        .or(current.map(|c| c.pool_mem))
        .ok_or(RuleError::Missing("pool_mem"))?;
    let max_pool_mem = req
        .max_pool_mem
        .or(current.map(|c| c.max_pool_mem))
        .unwrap_or(pool_mem);
    let paging = match (&req.paging_storage_pool, current) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => c.paging_storage_pool.clone(),
        (None, None) => default_paging
            .ok_or(RuleError::Missing("paging_storage_pool"))?
            .to_string(),
    };
    if let Some(c) = current {
        if paging != c.paging_storage_pool && shared_partitions(parts).next().is_some() {
            return Err(RuleError::InUse {
                what: "paging storage pool",
                name: c.paging_storage_pool.clone(),
                by: "shared-memory partitions have their paging devices there; the pool's \
                     paging_storage_pool changes only while no partition uses shared memory"
                    .into(),
            });
        }
    }
    crate::memory::check_mem_values(
        sys,
        &[("pool_mem", pool_mem), ("max_pool_mem", max_pool_mem)],
    )?;
    let region = sys.mem_region_size;
    if pool_mem > max_pool_mem {
        return Err(RuleError::OutOfRange {
            attr: "pool_mem",
            value: pool_mem.to_string(),
            allowed: format!("up to max_pool_mem={max_pool_mem} MB"),
        });
    }
    // Committed like a dedicated partition's memory: the system must have it free, unless
    // the pool does not grow.
    let before = Totals::with_pool(sys, parts).mem;
    let after = Totals::of(parts).mem + pool_mem;
    let cap = configurable(sys).mem;
    if after > cap && after > before {
        return Err(RuleError::Insufficient {
            resource: "memory",
            needed: format!("{} MB", after - before),
            available: format!("{} MB", cap.saturating_sub(before)),
        });
    }
    // What the pool's partitions need of it.
    if let Some(p) = shared_partitions(parts).max_by_key(|p| p.mem.min_mem) {
        if pool_mem < p.mem.min_mem {
            return Err(RuleError::OutOfRange {
                attr: "pool_mem",
                value: pool_mem.to_string(),
                allowed: format!(
                    "at least {} MB, the min_mem of partition {}",
                    p.mem.min_mem, p.name
                ),
            });
        }
    }
    let logical = logical_mem(parts);
    if logical > LOGICAL_PER_POOL * pool_mem {
        return Err(RuleError::OutOfRange {
            attr: "pool_mem",
            value: pool_mem.to_string(),
            allowed: format!(
                "at least {} MB: its partitions' desired logical memory ({logical} MB) may be at \
                 most {LOGICAL_PER_POOL} times the pool",
                logical.div_ceil(LOGICAL_PER_POOL).div_ceil(region) * region
            ),
        });
    }
    Ok(MemPool {
        pool_mem,
        max_pool_mem,
        paging_storage_pool: paging,
    })
}

/// The system's shared memory pool, or the refusal that it has none.
pub fn existing_pool(sys: &ManagedSystem) -> Result<&MemPool, RuleError> {
    sys.mem_pool.as_ref().ok_or_else(no_mem_pool)
}

/// The refusal of a request that needs the shared memory pool when there is none.
pub fn no_mem_pool() -> RuleError {
    RuleError::NoSuch {
        what: "shared memory pool",
        name: "0".into(),
    }
}

/// A resized pool must hold what its running partitions hold now (`held`, MB).
pub fn check_pool_holds(pool_mem: u64, held: u64) -> Result<(), RuleError> {
    if pool_mem < held {
        return Err(RuleError::OutOfRange {
            attr: "pool_mem",
            value: pool_mem.to_string(),
            allowed: format!(
                "at least {held} MB, what the running shared-memory partitions hold now"
            ),
        });
    }
    Ok(())
}

/// The physical volume a shared-memory partition of `max_mem` gets as its paging device: the
/// smallest unassigned one of the pool's (`pvs`: name and partition) that is attached and
/// large enough; none when there is none (a backing device is made instead).
pub fn pick_paging_pv(
    pvs: &[ivm_model::PagingPv],
    hdisks: &[Hdisk],
    max_mem: u64,
) -> Option<String> {
    pvs.iter()
        .filter(|pv| pv.lpar_id.is_none())
        .filter_map(|pv| {
            let h = hdisks.iter().find(|h| h.name == pv.name && h.present)?;
            (h.size_mb >= max_mem).then_some((h.size_mb, pv.name.clone()))
        })
        .min()
        .map(|(_, name)| name)
}

/// A physical volume may become one of the pool's paging devices when it is attached and free
/// (`free`, as [`crate::free_hdisks`] says, with the pool's own devices counted as taken).
pub fn check_paging_pv(device: &str, hdisks: &[Hdisk], free: &[String]) -> Result<(), RuleError> {
    if !hdisks.iter().any(|h| h.name == device && h.present) {
        return Err(RuleError::NoSuch {
            what: "physical volume",
            name: device.to_string(),
        });
    }
    if !free.iter().any(|f| f == device) {
        return Err(RuleError::InUse {
            what: "physical volume",
            name: device.to_string(),
            by: "it is mapped, in a storage pool, or a paging device already; lsmemdev -r avail lists the free ones".into(),
        });
    }
    Ok(())
}

/// The pool may go only when no partition uses shared memory.
pub fn check_mempool_removal(sys: &ManagedSystem, parts: &[Partition]) -> Result<(), RuleError> {
    existing_pool(sys)?;
    let users: Vec<&str> = shared_partitions(parts).map(|p| p.name.as_str()).collect();
    if !users.is_empty() {
        return Err(RuleError::InUse {
            what: "shared memory pool",
            name: "0".into(),
            by: format!(
                "partitions {}; change them to mem_mode=ded or delete them first",
                users.join(", ")
            ),
        });
    }
    Ok(())
}

/// Checks that replacing partition `replaced` (or adding one) by `new` keeps the pool's
/// logical memory within ivm's limit and `new`'s minimum within the pool.
pub fn check_logical(
    sys: &ManagedSystem,
    existing: &[Partition],
    replaced: Option<u32>,
    new: &Partition,
) -> Result<(), RuleError> {
    if new.mem.mem_mode != MemMode::Shared {
        return Ok(());
    }
    let pool = sys
        .mem_pool
        .as_ref()
        .ok_or_else(crate::error::shared_memory_without_pool)?;
    if new.mem.min_mem > pool.pool_mem {
        return Err(RuleError::OutOfRange {
            attr: "min_mem",
            value: new.mem.min_mem.to_string(),
            allowed: format!(
                "up to {} MB, the shared memory pool's size (pool_mem)",
                pool.pool_mem
            ),
        });
    }
    let before = logical_mem(existing);
    let rest: u64 = shared_partitions(existing)
        .filter(|p| Some(p.lpar_id) != replaced)
        .map(|p| p.mem.desired_mem)
        .sum();
    let after = rest + new.mem.desired_mem;
    let limit = LOGICAL_PER_POOL * pool.pool_mem;
    if after > limit && after > before {
        return Err(RuleError::Insufficient {
            resource: "logical memory in the shared memory pool",
            needed: format!("{} MB", after - before),
            available: format!(
                "{} MB ({LOGICAL_PER_POOL} times the pool's {} MB, less what its partitions declare)",
                limit.saturating_sub(before),
                pool.pool_mem
            ),
        });
    }
    Ok(())
}

/// Memory limits of the pool and of its running partitions, MB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// The pool's group: the pool plus each running partition's QEMU overhead.
    pub pool: u64,
    /// Per running partition: (ID, hard limit, protected share).
    pub partitions: Vec<(u32, u64, u64)>,
}

/// How the pool is shared among its running partitions (ID, memory weight, max logical
/// memory): each partition's share of the pool follows its weight (equal shares when every
/// weight is 0), plus QEMU's `overhead`. With `lend` (cgroup v2, where the share becomes
/// `memory.low`), a partition's hard limit is the whole pool (within its max logical memory):
/// it may use what the others leave idle, and the kernel reclaims from it, to its paging
/// device, before it touches another's share. Without (cgroup v1, which has no protection
/// under a parent's limit), the hard limit is the pool less the others' shares: each share is
/// reserved, and idle shares are not lent.
pub fn pool_limits(
    pool_mem: u64,
    overhead: u64,
    running: &[(u32, u8, u64)],
    lend: bool,
) -> PoolLimits {
    let n = running.len() as u64;
    let total: u64 = running.iter().map(|(_, w, _)| u64::from(*w)).sum();
    let share = |w: u8| match total {
        0 => pool_mem / n.max(1),
        t => pool_mem * u64::from(w) / t,
    };
    let shares: u64 = running.iter().map(|(_, w, _)| share(*w)).sum();
    PoolLimits {
        pool: pool_mem + n * overhead,
        partitions: running
            .iter()
            .map(|&(id, w, max)| {
                let others = if lend { 0 } else { shares - share(w) };
                let limit = (pool_mem - others.min(pool_mem)).min(max);
                (id, limit + overhead, share(w).min(max) + overhead)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_weights() {
        // 1024 MB, weights 192 and 64: shares 768 and 256; each may use the pool less the
        // other's share, within its own maximum.
        let l = pool_limits(1024, 256, &[(2, 192, 2048), (3, 64, 512)], false);
        assert_eq!(l.pool, 1024 + 2 * 256);
        assert_eq!(
            l.partitions,
            vec![(2, 768 + 256, 768 + 256), (3, 256 + 256, 256 + 256)]
        );
        // Alone, a partition may use the whole pool (within its max).
        let l = pool_limits(1024, 0, &[(2, 128, 2048)], false);
        assert_eq!(l.partitions, vec![(2, 1024, 1024)]);
        let l = pool_limits(1024, 0, &[(2, 128, 512)], false);
        assert_eq!(l.partitions, vec![(2, 512, 512)]);
        // Weights of 0 share equally.
        let l = pool_limits(1000, 0, &[(2, 0, 2000), (3, 0, 2000)], false);
        assert_eq!(l.partitions, vec![(2, 500, 500), (3, 500, 500)]);
        assert_eq!(pool_limits(1000, 5, &[], false).pool, 1000);
        assert!(check_pool_holds(512, 600)
            .unwrap_err()
            .to_string()
            .contains("at least 600 MB"));
        assert!(check_pool_holds(512, 512).is_ok());
        // Lent (v2): each may use the whole pool; the share is what is protected.
        let l = pool_limits(1024, 256, &[(2, 192, 2048), (3, 64, 512)], true);
        assert_eq!(
            l.partitions,
            vec![(2, 1024 + 256, 768 + 256), (3, 512 + 256, 256 + 256)]
        );
    }

    #[test]
    fn the_smallest_free_volume_that_fits_pages() {
        let disk = |name: &str, size_mb, present| Hdisk {
            name: name.into(),
            id: name.into(),
            device: name.into(),
            size_mb,
            present,
            pvid: String::new(),
        };
        let hdisks = [
            disk("hdisk1", 2048, true),
            disk("hdisk2", 1024, true),
            disk("hdisk3", 600, true),
            disk("hdisk4", 4096, false),
        ];
        let pv = |name: &str, lpar_id| ivm_model::PagingPv {
            name: name.into(),
            lpar_id,
        };
        let pvs = [
            pv("hdisk1", None),
            pv("hdisk2", Some(2)),
            pv("hdisk3", None),
            pv("hdisk4", None),
        ];
        assert_eq!(
            pick_paging_pv(&pvs, &hdisks, 512).as_deref(),
            Some("hdisk3")
        );
        assert_eq!(
            pick_paging_pv(&pvs, &hdisks, 1024).as_deref(),
            Some("hdisk1")
        );
        assert_eq!(pick_paging_pv(&pvs, &hdisks, 3000), None);
        let free = ["hdisk1".to_string()];
        assert!(check_paging_pv("hdisk1", &hdisks, &free).is_ok());
        assert!(check_paging_pv("hdisk3", &hdisks, &free)
            .unwrap_err()
            .to_string()
            .contains("in use"));
        assert!(check_paging_pv("hdisk4", &hdisks, &free)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
    }
}
