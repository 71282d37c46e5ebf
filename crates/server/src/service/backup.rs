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
                    nvram: Default::default(),
                })
            })?;
            // UEFI variables are files beside the store, read after its transaction.
            let mut b = b;
            for p in &b.partitions {
                if p.boot.boot_firmware == ivm_model::BootFirmware::Uefi {
                    if let Ok(bytes) = std::fs::read(self.nvram_path(p.lpar_id)) {
                        b.nvram.insert(p.lpar_id, pack(&bytes));
                    }
                }
            }
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
            .map(|v| v.name)
            .collect();
        self.logged_write(actor, "clear partition configuration", "profiles", |tx| {
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
            for pv in tx.paging_pvs()? {
                tx.delete_paging_pv(&pv.name)?;
            }
            tx.put_mem_pool(None)?;
            Ok(((), format!("{n} partitions")))
        })?;
        // The paging devices went with their partitions; their files go now (a failure leaves
        // an ordinary virtual disk, removable with rmbdsp).
        for name in &paging {
            if let Err(e) = self.remove_disk_unlogged(name) {
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
            for (id, vars) in &b.nvram {
                let ok = unpack(vars).is_some();
                if !ok || !b.partitions.iter().any(|p| p.lpar_id == *id) {
                    return Err(bad(format!(
                        "holds UEFI variables for partition ID {id} that are not a flash image of one of its partitions"
                    )));
                }
            }
            Ok(b)
        };
        let parsed = backup();
        self.logged_write(actor, "restore partition configuration", "profiles", |tx| {
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
            // By name: the variables go to the partition restored from the one they were taken of.
            let nvram: Vec<(u32, String)> = b
                .nvram
                .iter()
                .filter_map(|(id, vars)| {
                    let name = &b.partitions.iter().find(|p| p.lpar_id == *id)?.name;
                    let to = parts.iter().find(|p| &p.name == name)?.lpar_id;
                    Some((to, vars.clone()))
                })
                .collect();
            Ok(((ids, parts, nvram), format!("{} partitions", b.partitions.len())))
        })
        .map(|(ids, parts, nvram)| {
            // UEFI variables are files: written once the partitions are in the store.
            for (id, vars) in nvram {
                let bytes = unpack(&vars).unwrap_or_default();
                if let Err(e) = ivm_qemu::firmware::restore_vars(&self.nvram_path(id), &bytes) {
                    tracing::warn!(lpar = id, error = %e, "cannot restore the UEFI variables; OVMF's template is used");
                }
            }
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

/// A variables file as a backup holds it: mostly erased flash (0xFF), so compressed, then hex.
fn pack(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to memory cannot fail.
    let _ = z.write_all(bytes);
    hex::encode(z.finish().unwrap_or_default())
}

/// A backup's variables file, or `None` when it is not one (at most 4 MB, OVMF's largest
/// flash layout).
fn unpack(text: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let packed = hex::decode(text).ok()?;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&packed[..])
        .take((4 << 20) + 1)
        .read_to_end(&mut out)
        .ok()?;
    (!out.is_empty() && out.len() <= 4 << 20).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_files_pack_small_and_come_back_whole() {
        let mut vars = vec![0xffu8; 540_672];
        vars[..4096]
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8);
        let text = pack(&vars);
        assert!(text.len() < 20_000, "{}", text.len());
        assert_eq!(unpack(&text).unwrap(), vars);
        assert_eq!(unpack("zz"), None);
        // More than a flash image holds is not taken.
        assert_eq!(unpack(&pack(&vec![0u8; (4 << 20) + 1])), None);
    }
}
