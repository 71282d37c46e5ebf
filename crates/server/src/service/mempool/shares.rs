//! The shared memory pool on the host: its memory cgroup, and each running shared-memory
//! partition's share of it (a hard limit and a protected part), as `ivm_rules::pool_limits`
//! divides the pool among the running partitions by weight.

use ivm_model::{MemPool, Partition};

use crate::runtime::{HostError, Runtime};

/// What the pool's shares need of the host.
pub(crate) trait PoolHost {
    /// Whether partition `id`'s QEMU runs.
    fn is_running(&self, id: u32) -> bool;
    /// QEMU's own memory per partition, MB, which the pool's group holds on top of the pool.
    fn qemu_overhead_mb(&self) -> u64;
    /// Whether the kernel protects a share under its parent's limit (cgroup v2's
    /// `memory.low`); v1 reserves shares instead.
    fn lends_idle_shares(&self) -> Result<bool, HostError>;
    /// Creates the pool's group, or gives it a new limit (bytes).
    fn set_pool_limit(&self, bytes: u64) -> Result<(), HostError>;
    /// Makes a starting partition's memory group inside the pool's.
    fn place_in_pool(&self, id: u32) -> Result<(), HostError>;
    /// A running partition's hard limit and protected share (bytes).
    fn set_share(&self, id: u32, limit: u64, low: u64) -> Result<(), HostError>;
    /// Removes what a partition that did not start left of its groups and runtime files.
    fn remove_leftovers(&self, id: u32);
}

impl PoolHost for Runtime {
    fn is_running(&self, id: u32) -> bool {
        self.get(id).is_some()
    }
    fn qemu_overhead_mb(&self) -> u64 {
        ivm_rules::qemu_overhead_mb(self.env.accel)
    }
    fn lends_idle_shares(&self) -> Result<bool, HostError> {
        self.cgroup_v2()
    }
    fn set_pool_limit(&self, bytes: u64) -> Result<(), HostError> {
        self.set_mem_pool(bytes)
    }
    fn place_in_pool(&self, id: u32) -> Result<(), HostError> {
        Runtime::place_in_pool(self, id)
    }
    fn set_share(&self, id: u32, limit: u64, low: u64) -> Result<(), HostError> {
        self.set_pool_share(id, limit, low)
    }
    fn remove_leftovers(&self, id: u32) {
        Runtime::remove_leftovers(self, id)
    }
}

/// Shares `pool` among its running partitions of `parts`, with `starting` counted among them:
/// sets the pool's limit and every other running partition's share, and returns the share
/// (limit, protected; MB) of `starting`, which the caller sets once its group exists. A
/// share the host refuses is logged and the others are still set: the pool's limit bounds
/// them all either way.
pub(crate) fn rebalance(
    host: &dyn PoolHost,
    pool: &MemPool,
    parts: &[Partition],
    starting: Option<&Partition>,
) -> Result<Option<(u64, u64)>, HostError> {
    let skip = starting.map(|p| p.lpar_id);
    let mut running: Vec<(u32, u8, u64)> = ivm_rules::shared_partitions(parts)
        .filter(|p| Some(p.lpar_id) != skip && host.is_running(p.lpar_id))
        .map(|p| (p.lpar_id, p.mem.mem_weight, p.mem.max_mem))
        .collect();
    if let Some(p) = starting {
        running.push((p.lpar_id, p.mem.mem_weight, p.mem.max_mem));
    }
    let limits = ivm_rules::pool_limits(
        pool.pool_mem,
        host.qemu_overhead_mb(),
        &running,
        host.lends_idle_shares()?,
    );
    host.set_pool_limit(limits.pool << 20)?;
    let mut mine = None;
    for (id, limit, low) in limits.partitions {
        if Some(id) == skip {
            mine = Some((limit, low));
        } else if let Err(e) = host.set_share(id, limit << 20, low << 20) {
            tracing::warn!(lpar = id, error = %e, "cannot set the partition's share of the memory pool");
        }
    }
    Ok(mine)
}

/// Makes room in the pool for `p`, about to start: the others' shares shrink and its memory
/// group is made in the pool's. Returns its share (MB). Undone by [`leave`].
pub(crate) fn join(
    host: &dyn PoolHost,
    pool: &MemPool,
    parts: &[Partition],
    p: &Partition,
) -> Result<(u64, u64), HostError> {
    let share = rebalance(host, pool, parts, Some(p))?
        .expect("a starting partition is among those the pool is shared by");
    host.place_in_pool(p.lpar_id)?;
    Ok(share)
}

/// Takes partition `id`, which did not start, out of the pool: its groups go and the running
/// partitions share the pool again without it.
pub(crate) fn leave(host: &dyn PoolHost, pool: &MemPool, parts: &[Partition], id: u32) {
    host.remove_leftovers(id);
    if let Err(e) = rebalance(host, pool, parts, None) {
        tracing::warn!(lpar = id, error = %e, "cannot share the memory pool anew");
    }
}

#[cfg(test)]
mod tests;
