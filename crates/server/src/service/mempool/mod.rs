//! The shared memory pool: created, resized and removed in one store transaction each (the
//! pool is an amount of committed memory; its host side, a memory cgroup, follows the
//! running partitions), and the paging devices of its partitions.

use ivm_model::{
    DiskSpec, ManagedSystem, MemMode, MemPool, MemPoolRequest, MemPoolView, PagingDevice,
    PagingDeviceKind, PagingDeviceState, Partition,
};

use super::{Actor, Service, ServiceError};
use crate::runtime::Runtime;

pub(super) mod shares;

/// Whether any shared-memory partition runs.
fn running_any(parts: &[Partition], rt: Option<&std::sync::Arc<Runtime>>) -> bool {
    rt.is_some_and(|rt| ivm_rules::shared_partitions(parts).any(|p| rt.get(p.lpar_id).is_some()))
}

/// The name of partition `id`'s paging device.
pub(in crate::service) fn paging_device_name(id: u32) -> String {
    format!("amspaging{id:02}")
}

impl Service {
    /// The managed system as the rules see it now: with the shared memory pool from the store.
    pub(in crate::service) fn system_in(
        &self,
        tx: &ivm_store::Tx,
    ) -> Result<ManagedSystem, ServiceError> {
        let mut sys = self.system.clone();
        sys.mem_pool = tx.mem_pool()?;
        Ok(sys)
    }

    /// The pool with what is available now and its paging devices (`lshwres -r mempool`).
    pub fn mem_pool_view(&self) -> Result<MemPoolView, ServiceError> {
        let (pool, parts, devices, pvs, hdisks) = self.store.read(|tx| {
            Ok::<_, ServiceError>((
                tx.mem_pool()?,
                tx.partitions()?,
                tx.paging_devices()?,
                tx.paging_pvs()?,
                tx.hdisks()?,
            ))
        })?;
        let pool = pool.ok_or_else(ivm_rules::no_mem_pool)?;
        let rt = self.runtime.as_ref();
        let running = |id: u32| rt.is_some_and(|rt| rt.get(id).is_some());
        // What the kernel will still give the pool's partitions: its cgroup's limit less its
        // usage (QEMU's own memory counted in both), at most the pool.
        let avail = match rt.and_then(|rt| rt.mem_pool_usage()) {
            Some((limit, usage)) if running_any(&parts, rt) => {
                (limit.saturating_sub(usage) >> 20).min(pool.pool_mem)
            }
            _ => pool.pool_mem.saturating_sub(self.pool_memory_held()?),
        };
        Ok(MemPoolView {
            curr_avail_pool_mem: avail,
            // QEMU's own memory for the pool's partitions is not taken from the pool: the
            // pool's cgroup limit is the pool plus that overhead per running partition.
            sys_firmware_pool_mem: 0,
            logical_mem: ivm_rules::logical_mem(&parts),
            max_logical_mem: ivm_rules::LOGICAL_PER_POOL * pool.pool_mem,
            paging_devices: devices
                .into_iter()
                .map(|v| {
                    (
                        v.name,
                        v.size_mb,
                        Some(v.lpar_id),
                        PagingDeviceKind::Logical,
                    )
                })
                .chain(pvs.into_iter().map(|pv| {
                    let size = hdisks
                        .iter()
                        .find(|h| h.name == pv.name)
                        .map_or(0, |h| h.size_mb);
                    (pv.name, size, pv.lpar_id, PagingDeviceKind::Phys)
                }))
                .map(|(name, size_mb, lpar_id, kind)| PagingDevice {
                    name,
                    size_mb,
                    lpar_id,
                    state: if lpar_id.is_some_and(running) {
                        PagingDeviceState::Active
                    } else {
                        PagingDeviceState::Inactive
                    },
                    kind,
                })
                .collect(),
            pool,
        })
    }

    /// Creates the pool (`chhwres -r mempool -o a`).
    pub fn create_mem_pool(
        &self,
        actor: &Actor,
        req: &MemPoolRequest,
    ) -> Result<MemPool, ServiceError> {
        self.logged_write(actor, "create shared memory pool", "mempool", |tx| {
            let sys = self.system_in(tx)?;
            if sys.mem_pool.is_some() {
                return Err(ivm_rules::RuleError::MemPoolExists.into());
            }
            let pools = tx.pools()?;
            let default = pools.iter().find(|p| p.default).map(|p| p.name.clone());
            let pool = ivm_rules::resolve_pool(&sys, &tx.partitions()?, req, default.as_deref())?;
            ivm_rules::pick_pool(&pools, Some(&pool.paging_storage_pool))?;
            tx.put_mem_pool(Some(&pool))?;
            Ok((pool, "mempool".into()))
        })
    }

    /// Changes the pool (`chhwres -r mempool -o s`): its size within what is free and above
    /// what its partitions need and what running partitions hold now.
    pub fn change_mem_pool(
        &self,
        actor: &Actor,
        req: &MemPoolRequest,
    ) -> Result<MemPool, ServiceError> {
        let held = self.pool_memory_held()?;
        self.logged_write(actor, "change shared memory pool", "mempool", |tx| {
            let sys = self.system_in(tx)?;
            ivm_rules::existing_pool(&sys)?;
            let pool = ivm_rules::resolve_pool(&sys, &tx.partitions()?, req, None)?;
            ivm_rules::pick_pool(&tx.pools()?, Some(&pool.paging_storage_pool))?;
            ivm_rules::check_pool_holds(pool.pool_mem, held)?;
            tx.put_mem_pool(Some(&pool))?;
            Ok((pool, "mempool".into()))
        })
        .inspect(|_| {
            // The running partitions' shares follow the pool's new size.
            if let Some(rt) = self.runtime.as_ref() {
                if let Err(e) = self.rebalance_pool(rt, None) {
                    tracing::warn!(error = %e, "cannot share the memory pool anew");
                }
            }
        })
    }

    /// Gives a free physical volume to the pool as a paging device
    /// (`chhwres -r mempool --rsubtype pgdev -o a --device hdiskN`).
    pub fn add_paging_pv(&self, actor: &Actor, device: &str) -> Result<(), ServiceError> {
        self.logged_write(actor, "add paging device", device, |tx| {
            ivm_rules::existing_pool(&self.system_in(tx)?)?;
            let hdisks = tx.hdisks()?;
            let free = ivm_rules::free_hdisks(&hdisks, &tx.mappings()?, &tx.hdisk_claims()?);
            ivm_rules::check_paging_pv(device, &hdisks, &free)?;
            tx.put_paging_pv(device, None)?;
            Ok(((), device.to_string()))
        })
    }

    /// Takes an unassigned physical volume back from the pool
    /// (`chhwres -r mempool --rsubtype pgdev -o r --device hdiskN`).
    pub fn remove_paging_pv(&self, actor: &Actor, device: &str) -> Result<(), ServiceError> {
        self.logged_write(actor, "remove paging device", device, |tx| {
            match tx
                .paging_pvs()?
                .into_iter()
                .find(|pv| pv.name == device)
                .map(|pv| pv.lpar_id)
            {
                None => Err(ivm_rules::RuleError::NoSuch {
                    what: "paging device",
                    name: device.to_string(),
                }
                .into()),
                Some(Some(lpar)) => Err(ivm_rules::RuleError::InUse {
                    what: "paging device",
                    name: device.to_string(),
                    by: format!("it pages for partition {lpar}; delete the partition or change it to mem_mode=ded first"),
                }
                .into()),
                Some(_) => {
                    tx.delete_paging_pv(device)?;
                    Ok(((), device.to_string()))
                }
            }
        })
    }

    /// Removes the pool (`chhwres -r mempool -o r`) when no partition uses shared memory.
    pub fn remove_mem_pool(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.logged_write(actor, "remove shared memory pool", "mempool", |tx| {
            let sys = self.system_in(tx)?;
            ivm_rules::check_mempool_removal(&sys, &tx.partitions()?)?;
            // Physical volumes given to it are free again.
            for pv in tx.paging_pvs()? {
                tx.delete_paging_pv(&pv.name)?;
            }
            tx.put_mem_pool(None)?;
            Ok(((), "mempool".into()))
        })?;
        if let Some(rt) = self.runtime.as_ref() {
            if let Err(e) = rt.remove_mem_pool() {
                tracing::warn!(error = %e, "cannot remove the memory pool's cgroup");
            }
        }
        Ok(())
    }

    /// Physical memory the running shared-memory partitions hold now, MB.
    fn pool_memory_held(&self) -> Result<u64, ServiceError> {
        let parts = self.store.read(|tx| tx.partitions())?;
        let Some(rt) = self.runtime.as_ref() else {
            return Ok(0);
        };
        Ok(ivm_rules::shared_partitions(&parts)
            .filter_map(|p| rt.get(p.lpar_id))
            .map(|l| self.guest_resident_mb(&l))
            .sum())
    }

    /// Gives a new shared-memory partition its paging device (at least its max_mem, from the
    /// paging storage pool); a partition that cannot have one is taken back.
    pub(in crate::service) fn add_paging_device(&self, p: &Partition) -> Result<(), ServiceError> {
        if p.mem.mem_mode != MemMode::Shared {
            return Ok(());
        }
        // A physical volume given to the pool, the smallest that is large enough, first.
        let taken = self.store.write(|tx| {
            let pick = ivm_rules::pick_paging_pv(&tx.paging_pvs()?, &tx.hdisks()?, p.mem.max_mem);
            if let Some(name) = &pick {
                tx.put_paging_pv(name, Some(p.lpar_id))?;
            }
            Ok::<_, ServiceError>(pick.is_some())
        })?;
        if taken {
            return Ok(());
        }
        let sys = self.store.read(|tx| self.system_in(tx))?;
        let pool = ivm_rules::existing_pool(&sys)?;
        let spec = DiskSpec {
            name: paging_device_name(p.lpar_id),
            pool: Some(pool.paging_storage_pool.clone()),
            size_mb: p.mem.max_mem,
            vadapter: None,
            vtd: None,
            image: None,
        };
        self.make_disk(&spec, Some(p.lpar_id), &|_| {}).map(|_| ())
    }

    /// A running shared-memory partition's guest memory held in the pool now, MB: the resident
    /// part of its paging device's mapping (QEMU's own memory is not the pool's).
    pub(in crate::service) fn guest_resident_mb(&self, l: &crate::runtime::Live) -> u64 {
        let file = match self.paging_of(l.id) {
            Ok(Some((name, _, true))) => self
                .store
                .read(|tx| tx.hdisks())
                .ok()
                .and_then(|hs| hs.into_iter().find(|h| h.name == name))
                .map(|h| h.device),
            Ok(Some((name, _, false))) => Some(name),
            _ => None,
        };
        file.and_then(|f| ivm_qemu::process::mapping_rss_mb(l.pid, &f))
            .unwrap_or(0)
    }

    /// Partition `id`'s paging device: its name, size (MB), and whether it is a physical
    /// volume given to the pool.
    fn paging_of(&self, id: u32) -> Result<Option<(String, u64, bool)>, ServiceError> {
        self.store.read(|tx| {
            if let Some(v) = tx.paging_devices()?.into_iter().find(|v| v.lpar_id == id) {
                return Ok(Some((v.name, v.size_mb, false)));
            }
            let hdisks = tx.hdisks()?;
            Ok(tx
                .paging_pvs()?
                .into_iter()
                .find(|pv| pv.lpar_id == Some(id))
                .map(|pv| {
                    let size = hdisks
                        .iter()
                        .find(|h| h.name == pv.name)
                        .map_or(0, |h| h.size_mb);
                    (pv.name, size, true)
                }))
        })
    }

    /// Gives a partition the paging device its memory mode and max_mem call for: one of at
    /// least max_mem for shared memory (a smaller one is made anew: a stopped partition's
    /// paging device holds nothing it needs), none for dedicated memory.
    pub(in crate::service) fn reconcile_paging(&self, p: &Partition) -> Result<(), ServiceError> {
        let have = self.paging_of(p.lpar_id)?;
        match (p.mem.mem_mode, have) {
            (MemMode::Shared, Some((_, size, _))) if size >= p.mem.max_mem => Ok(()),
            (MemMode::Shared, Some(_)) => {
                self.remove_paging_device(p.lpar_id)?;
                self.add_paging_device(p)
            }
            (MemMode::Shared, None) => self.add_paging_device(p),
            (MemMode::Dedicated, Some(_)) => self.remove_paging_device(p.lpar_id),
            (MemMode::Dedicated, None) => Ok(()),
        }
    }

    /// The paging device's path on the host (made now if the partition lacks one).
    pub(in crate::service) fn paging_path(
        &self,
        p: &Partition,
    ) -> Result<std::path::PathBuf, ServiceError> {
        self.reconcile_paging(p)?;
        let (name, _, phys) = self.paging_of(p.lpar_id)?.ok_or_else(|| {
            ServiceError::Host(crate::runtime::HostError::Failed(format!(
                "partition {} has no paging device",
                p.name
            )))
        })?;
        self.store.read(|tx| {
            if phys {
                let hdisks = tx.hdisks()?;
                let h = hdisks
                    .iter()
                    .find(|h| h.name == name && h.present)
                    .ok_or_else(|| {
                        ServiceError::Host(crate::runtime::HostError::Unavailable(format!(
                            "{name}, the paging device of partition {}, is not attached",
                            p.name
                        )))
                    })?;
                return Ok(std::path::Path::new("/dev").join(&h.device));
            }
            let disks = tx.disks()?;
            let disk = ivm_rules::find_disk(&disks, &name)?;
            let pools = tx.pools()?;
            let pool = ivm_rules::pick_pool(&pools, Some(&disk.pool))?;
            super::pooldriver::PoolDriver::of(pool, &self.volumes)
                .locate(&name)
                .map(|l| l.path().to_path_buf())
                .ok_or_else(|| {
                    ivm_rules::RuleError::OutOfRange {
                        attr: "paging device pool",
                        value: pool.name.clone(),
                        allowed: "a file or volume group pool (QEMU's memory backend is a file of this host, not an RBD image)".into(),
                    }
                    .into()
                })
        })
    }

    /// Sets the pool's cgroup limit and each running shared-memory partition's share, with
    /// `starting` counted among them; returns the share (limit, protected) of `starting`, MB.
    pub(in crate::service) fn rebalance_pool(
        &self,
        rt: &Runtime,
        starting: Option<&Partition>,
    ) -> Result<Option<(u64, u64)>, ServiceError> {
        let (pool, parts) = self.pool_and_partitions()?;
        let Some(pool) = pool else {
            return Ok(None);
        };
        Ok(shares::rebalance(rt, &pool, &parts, starting)?)
    }

    /// Takes partition `id`, which did not start, out of the pool (see [`shares::leave`]),
    /// with the partitions as the store has them now.
    pub(in crate::service) fn leave_pool(&self, rt: &Runtime, id: u32) {
        match self.pool_and_partitions() {
            Ok((Some(pool), parts)) => shares::leave(rt, &pool, &parts, id),
            Ok((None, _)) => rt.remove_leftovers(id),
            Err(e) => {
                rt.remove_leftovers(id);
                tracing::warn!(lpar = id, error = %e, "cannot share the memory pool anew");
            }
        }
    }

    /// The pool, if there is one, and every partition.
    pub(in crate::service) fn pool_and_partitions(
        &self,
    ) -> Result<(Option<MemPool>, Vec<Partition>), ServiceError> {
        self.store
            .read(|tx| Ok::<_, ServiceError>((tx.mem_pool()?, tx.partitions()?)))
    }

    /// Removes partition `id`'s paging device, if it has one.
    pub(in crate::service) fn remove_paging_device(&self, id: u32) -> Result<(), ServiceError> {
        match self.paging_of(id)? {
            // A physical volume stays the pool's, unassigned.
            Some((name, _, true)) => self.store.write(|tx| tx.put_paging_pv(&name, None))?,
            Some((name, _, false)) => {
                self.store.write(|tx| tx.set_paging(&name, None))?;
                self.remove_disk_unlogged(&name)?;
            }
            None => {}
        }
        Ok(())
    }
}
