//! The shared memory pool (Active Memory Sharing): its size, what it commits, and what its
//! partitions may declare.
//!
//! ivm's choices, documented: the pool's physical memory is committed from the system like a
//! dedicated partition's; a shared-memory partition commits none of its own. The desired
//! logical memory of the pool's partitions may sum to at most [`LOGICAL_PER_POOL`] times the
//! pool (beyond that a guest would live mostly on its paging device), and each partition's
//! minimum must fit in the pool by itself. The paging storage pool changes only while no
//! partition uses the pool.

use ivm_model::{ManagedSystem, MemMode, MemPool, MemPoolRequest, Partition};

use crate::capacity::{configurable, Totals};
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
    let region = sys.mem_region_size;
    let top = configurable(sys).mem;
    for (attr, v) in [("pool_mem", pool_mem), ("max_pool_mem", max_pool_mem)] {
        if v % region != 0 {
            return Err(RuleError::NotRegionMultiple {
                attr,
                value: v,
                region,
            });
        }
        if v == 0 || v > top {
            return Err(RuleError::OutOfRange {
                attr,
                value: v.to_string(),
                allowed: format!("{region} to {top} MB"),
            });
        }
    }
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

/// The pool may go only when no partition uses shared memory.
pub fn check_mempool_removal(sys: &ManagedSystem, parts: &[Partition]) -> Result<(), RuleError> {
    if sys.mem_pool.is_none() {
        return Err(RuleError::NoSuch {
            what: "shared memory pool",
            name: "0".into(),
        });
    }
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
    let pool = sys.mem_pool.as_ref().ok_or_else(no_pool)?;
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

/// The refusal for shared memory without a pool.
pub(crate) fn no_pool() -> RuleError {
    RuleError::Unsupported {
        attr: "mem_mode",
        value: "shared".into(),
        reason: "this managed system has no shared memory pool; create one with \
                 chhwres -r mempool -o a, or use mem_mode=ded",
    }
}
