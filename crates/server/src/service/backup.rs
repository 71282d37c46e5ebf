//! Configuration backup and restore (`bkprofdata`, `rstprofdata`, `lpcfgop`): the client
//! partitions with their profiles, virtual SCSI adapters, mappings and optical devices, written
//! as a checksummed file and put back in one store transaction, or not at all.

use ivm_model::{PartitionState, ProfileBackup, RestoreRequest};

use super::{now_ms, Actor, Service, ServiceError};

impl Service {
    /// `bkprofdata -o backup`: the backup file's text.
    pub fn backup(&self, actor: &Actor) -> Result<String, ServiceError> {
        self.logged(actor, "back up partition configuration", "profiles", || {
            let b = self.store.read(|tx| {
                let partitions: Vec<_> = tx
                    .partitions()?
                    .into_iter()
                    .filter(|p| !p.is_management())
                    .map(|mut p| {
                        p.run = None;
                        p
                    })
                    .collect();
                let ids: Vec<u32> = partitions.iter().map(|p| p.lpar_id).collect();
                Ok::<_, ServiceError>(ProfileBackup {
                    type_model: self.system.type_model.clone(),
                    serial_num: self.system.serial_num.clone(),
                    created_ms: now_ms(),
                    adapters: tx
                        .adapters()?
                        .into_iter()
                        .filter(|a| ids.contains(&a.lpar_id))
                        .collect(),
                    mappings: tx.mappings()?,
                    optical: tx.optical_devices()?,
                    mem_pool: tx.mem_pool()?,
                    partitions,
                })
            })?;
            Ok((
                b.to_file_text(),
                format!("{} partitions", b.partitions.len()),
            ))
        })
    }

    /// `lpcfgop -o clear`: removes every client partition with its adapters, mappings and
    /// optical devices, and the shared memory pool with its paging devices (virtual disks and
    /// media stay); only while none is active.
    pub fn clear_partitions(&self, actor: &Actor) -> Result<(), ServiceError> {
        let paging: Vec<String> = self
            .store
            .read(|tx| tx.paging_devices())?
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        self.task(actor, "clear partition configuration", "profiles", |tx| {
            let parts = tx.partitions()?;
            let active: Vec<String> = parts
                .iter()
                .filter(|p| !p.is_management())
                .filter(|p| {
                    !matches!(
                        p.state,
                        PartitionState::NotActivated | PartitionState::Error
                    )
                })
                .map(|p| p.name.clone())
                .collect();
            if !active.is_empty() {
                return Err(ivm_rules::RuleError::PartitionsActive { names: active }.into());
            }
            for o in tx.optical_devices()? {
                tx.delete_optical(&o.vtd)?;
            }
            for m in tx.mappings()? {
                tx.delete_mapping(&m.vtd)?;
            }
            let mut n = 0;
            for p in parts.iter().filter(|p| !p.is_management()) {
                tx.delete_partition(p.lpar_id)?;
                n += 1;
            }
            for name in &paging {
                tx.set_paging(name, None)?;
            }
            for (name, _) in tx.paging_pvs()? {
                tx.delete_paging_pv(&name)?;
            }
            tx.put_mem_pool(None)?;
            Ok(((), format!("{n} partitions")))
        })?;
        // The paging devices went with their partitions; their files go now (a failure leaves
        // an ordinary virtual disk, removable with rmbdsp).
        for name in &paging {
            if let Err(e) = self.remove_disk_inner(name) {
                tracing::warn!(device = %name, error = %e, "cannot remove a paging device");
            }
        }
        if let Some(rt) = self.runtime.as_ref() {
            let _ = rt.remove_mem_pool();
        }
        Ok(())
    }

    /// `rstprofdata -l 1 -f FILE [--ignoremtms]`: the backup's partitions, adapters, mappings and
    /// optical devices, all in one transaction; a bad or foreign file changes nothing.
    pub fn restore(&self, actor: &Actor, req: &RestoreRequest) -> Result<Vec<u32>, ServiceError> {
        let backup = || -> Result<ProfileBackup, ServiceError> {
            let bad = |e: String| ServiceError::from(ivm_rules::RuleError::Backup(e));
            let mut b = ProfileBackup::from_file_text(&req.data).map_err(bad)?;
            // Boot files are confined to the boot directory as mksyscfg confines them (this
            // reads the filesystem, so it is done before the store's write lock is taken).
            for p in &mut b.partitions {
                let refused = |e: ServiceError| {
                    bad(format!(
                        "holds partition {} that mksyscfg would refuse: {e}",
                        p.name.escape_debug()
                    ))
                };
                let kernel = self.boot_file("boot_kernel", &p.boot.boot_kernel);
                let initrd = self.boot_file("boot_initrd", &p.boot.boot_initrd);
                p.boot.boot_kernel = kernel.map_err(refused)?;
                p.boot.boot_initrd = initrd.map_err(refused)?;
            }
            Ok(b)
        };
        let parsed = backup();
        self.task(actor, "restore partition configuration", "profiles", |tx| {
            let b = parsed?;
            let devices: Vec<String> = tx
                .disks()?
                .into_iter()
                .map(|d| d.name)
                .chain(tx.hdisks()?.into_iter().map(|h| h.name))
                .collect();
            let media: Vec<String> = tx.media()?.into_iter().map(|m| m.name).collect();
            // The backup's shared memory pool first (where this system has none), so that its
            // partitions are checked against it.
            let mut sys = self.system_in(tx)?;
            if let (Some(pool), None) = (&b.mem_pool, &sys.mem_pool) {
                let req = ivm_model::MemPoolRequest {
                    pool_mem: Some(pool.pool_mem),
                    max_pool_mem: Some(pool.max_pool_mem),
                    paging_storage_pool: Some(pool.paging_storage_pool.clone()),
                };
                let storage_pools = tx.pools()?;
                let pool = ivm_rules::resolve_pool(&sys, &tx.partitions()?, &req, None)
                    .and_then(|p| {
                        ivm_rules::pick_pool(&storage_pools, Some(&p.paging_storage_pool))
                            .map(|_| p)
                    })
                    .map_err(|e| {
                        ivm_rules::RuleError::Backup(format!(
                            "holds a shared memory pool this system cannot have: {e}"
                        ))
                    })?;
                tx.put_mem_pool(Some(&pool))?;
                sys.mem_pool = Some(pool);
            }
            let parts = ivm_rules::check_restore(
                &b,
                &sys,
                &tx.partitions()?,
                &devices,
                &media,
                req.ignore_mtms,
            )?;
            for p in &parts {
                tx.put_partition(p)?;
            }
            for a in &b.adapters {
                tx.put_adapter(a)?;
            }
            for m in &b.mappings {
                tx.put_mapping(m)?;
            }
            for o in &b.optical {
                tx.put_optical(o)?;
            }
            let ids: Vec<u32> = parts.iter().map(|p| p.lpar_id).collect();
            Ok(((ids, parts), format!("{} partitions", b.partitions.len())))
        })
        .map(|(ids, parts)| {
            // Shared-memory partitions get their paging devices; one that cannot have its
            // device now gets it at its activation.
            for p in &parts {
                if let Err(e) = self.reconcile_paging(p) {
                    tracing::warn!(lpar = p.lpar_id, error = %e, "no paging device yet");
                }
            }
            ids
        })
    }
}
