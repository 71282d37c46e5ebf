//! Virtual disks: made (empty or from an image), grown, renamed and removed in their pool.

use super::*;
use crate::service::steps::Ledger;

impl Service {
    /// `mkbdsp`: a new virtual disk (its file fully allocated unless the pool is thin),
    /// mapped at once when the request names an adapter.
    pub fn create_disk(
        &self,
        actor: &Actor,
        spec: &DiskSpec,
    ) -> Result<BackingDevice, ServiceError> {
        let what = match spec.image {
            Some(_) => "import virtual disk",
            None => "create virtual disk",
        };
        self.logged_with_progress(actor, what, &spec.name, |progress| {
            let disk = match &spec.image {
                Some(file) => self.import_disk(spec, file, &|p| progress(p))?,
                None => self.make_disk(spec, None, &|p| progress(p))?,
            };
            Ok((disk.clone(), disk.name.clone()))
        })
    }

    /// `mkbdsp -file IMAGE`: a new disk, of the image's size unless a larger one is given,
    /// with the image's contents; a failed import leaves no disk.
    pub(super) fn import_disk(
        &self,
        spec: &DiskSpec,
        file: &str,
        progress: &dyn Fn(u8),
    ) -> Result<BackingDevice, ServiceError> {
        let path = self.managed_file(file)?;
        self.import_disk_from(spec, file, Path::new(&path), progress)
    }

    /// Imports the image at `path` (a file ivm chose: managed, or its own staged upload).
    pub(super) fn import_disk_from(
        &self,
        spec: &DiskSpec,
        file: &str,
        path: &Path,
        progress: &dyn Fn(u8),
    ) -> Result<BackingDevice, ServiceError> {
        let image = Image::open(path).map_err(image_error)?;
        let size_mb = ivm_rules::import_size(file, image.info.virtual_bytes, spec.size_mb)?;
        self.store.read(|tx| {
            let pools = tx.pools()?;
            let pool = ivm_rules::pick_pool(&pools, spec.pool.as_deref())?;
            Ok::<_, ServiceError>(ivm_rules::check_import_pool(pool)?)
        })?;
        let sandbox = self.runtime()?.converter_identity().map_err(host)?;
        let sized = DiskSpec {
            size_mb,
            ..spec.clone()
        };
        self.make_disk_from(&sized, None, Some((&image, sandbox)), progress)
    }

    /// `PUT /storage/disks/NAME/image`: an image of `len` bytes arriving in `chunks` is staged
    /// in the data directory as it comes (never held in memory), then imported as
    /// `mkbdsp -file` imports; the staged copy is removed whatever happens.
    pub fn upload_disk_image(
        &self,
        actor: &Actor,
        spec: &DiskSpec,
        len: u64,
        chunks: crate::service::upload::Chunks,
    ) -> Result<BackingDevice, ServiceError> {
        use ivm_rules::RuleError;
        self.logged_with_progress(actor, "import virtual disk", &spec.name, |progress| {
            ivm_rules::validate_storage_name(&spec.name)?;
            // Checked before a byte is staged: a name in use or a pool that cannot take it.
            self.store.read(|tx| {
                let pools = tx.pools()?;
                ivm_rules::check_import_pool(ivm_rules::pick_pool(&pools, spec.pool.as_deref())?)?;
                if tx.disks()?.iter().any(|d| d.name == spec.name) {
                    return Err(RuleError::StorageNameInUse {
                        what: "virtual disk",
                        name: spec.name.clone(),
                    }
                    .into());
                }
                Ok::<_, ServiceError>(())
            })?;
            let staging = ivm_storage::Library::new(self.data_dir.join("uploads"));
            staging.create().map_err(host)?;
            let staged = staging.media_path(&spec.name);
            let imported = (|| {
                let up = staging.begin(&spec.name).map_err(host)?;
                // Staging is the first half of the work, the import the second.
                crate::service::upload::receive(up, len, chunks, &mut |p| progress(p / 2))?;
                // The converter reads it through a descriptor; its directory stays root's.
                std::fs::set_permissions(
                    &staged,
                    std::os::unix::fs::PermissionsExt::from_mode(0o644),
                )
                .map_err(|source| {
                    host(HostError::Io {
                        action: "open up",
                        path: staged.clone(),
                        source,
                    })
                })?;
                self.import_disk_from(spec, &spec.name, &staged, &|p| progress(50 + p / 2))
            })();
            let _ = staging.remove_media(&spec.name);
            let disk = imported?;
            Ok((disk.clone(), disk.name.clone()))
        })
    }

    /// Makes a backing device: reserved in the store (as the paging device of `paging_for`
    /// when given, so it is never mapped meanwhile), made on the host, then ready, or taken
    /// back; mapped at once when the spec names an adapter.
    pub(in crate::service) fn make_disk(
        &self,
        spec: &DiskSpec,
        paging_for: Option<u32>,
        progress: &dyn Fn(u8),
    ) -> Result<BackingDevice, ServiceError> {
        self.make_disk_from(spec, paging_for, None, progress)
    }

    /// As [`Service::make_disk`], with the disk's contents written from `image` (by the
    /// converter as the given sandbox user) before it is ready.
    pub(super) fn make_disk_from(
        &self,
        spec: &DiskSpec,
        paging_for: Option<u32>,
        image: Option<(&Image, Sandbox)>,
        progress: &dyn Fn(u8),
    ) -> Result<BackingDevice, ServiceError> {
        {
            // What other hosts hold in shared pools, read before the transaction.
            let foreign = self.foreign_disks()?;
            // Reserve: the disk commits its size from here on, so no concurrent request can
            // take the same space.
            let (disk, pool) = self.store.write(|tx| {
                let pools = tx.pools()?;
                let disk = ivm_rules::new_disk(&pools, &with_foreign(tx.disks()?, &foreign), spec)?;
                let pool = ivm_rules::pick_pool(&pools, Some(&disk.pool))?.clone();
                if let Some(v) = &spec.vadapter {
                    // Check the mapping before making anything.
                    ivm_rules::new_mapping(
                        &tx.adapters()?,
                        std::slice::from_ref(&disk),
                        &[],
                        &tx.mappings()?,
                        &tx.optical_devices()?,
                        &MapRequest {
                            backing: disk.name.clone(),
                            vadapter: v.clone(),
                            vtd: spec.vtd.clone(),
                        },
                    )?;
                }
                tx.put_disk(&disk, DiskState::Creating)?;
                if let Some(id) = paging_for {
                    tx.set_paging(&disk.name, Some(id))?;
                }
                Ok::<_, ServiceError>((disk, pool))
            })?;
            let driver = self.pool_driver(&pool)?;
            let mut taken = Ledger::new("storage", disk.name.clone());
            taken.step(
                "create",
                || {
                    match image {
                        // The import reports the progress; allocating the disk is its first
                        // step.
                        Some((image, sandbox)) => {
                            driver.create(&disk.name, disk.size_mb)?;
                            failpoint::hit("storage.import").map_err(HostError::from)?;
                            driver.import(&disk.name, disk.size_mb, image, sandbox, &mut |p| {
                                progress(p)
                            })?;
                        }
                        None => driver.create_with_progress(
                            &disk.name,
                            disk.size_mb,
                            &mut |p| progress(p),
                        )?,
                    }
                    failpoint::hit("storage.created").map_err(HostError::from)?;
                    Ok(())
                },
                // The disk as far as it was made, and its reservation.
                || {
                    if let Err(e) = driver.remove(&disk.name) {
                        tracing::error!(disk = %disk.name, error = %e, "cannot remove a disk that was not finished");
                    }
                    if let Err(e) = self.store.write(|tx| tx.delete_disk(&disk.name)) {
                        tracing::error!(disk = %disk.name, error = %e, "cannot drop a disk's reservation; the next start removes it");
                    }
                },
            )?;
            taken.step(
                "disk-ready",
                || {
                    Ok(self
                        .store
                        .write(|tx| tx.put_disk(&disk, DiskState::Ready))?)
                },
                || {},
            )?;
            taken.commit();
            if let Some(v) = &spec.vadapter {
                let req = MapRequest {
                    backing: disk.name.clone(),
                    vadapter: v.clone(),
                    vtd: spec.vtd.clone(),
                };
                // On failure the disk stays (it was made); only the mapping failed.
                self.map_unlogged(&req)?;
            }
            Ok(disk)
        }
    }

    /// `chbdsp -bd NAME -size +N` (grow; live on a running partition) or `-mv NEW`.
    pub fn change_disk(
        &self,
        actor: &Actor,
        name: &str,
        change: &DiskChange,
    ) -> Result<BackingDevice, ServiceError> {
        self.logged(actor, "change virtual disk", name, || {
            not_the_repository(name, "chrep -size")?;
            self.store
                .read(|tx| not_paging(tx, name, "changed with chbdsp"))?;
            not_a_pool_volume(&self.store.read(|tx| tx.pools())?, name)?;
            let mut disk = self.store.read(|tx| {
                ivm_rules::find_disk(&tx.disks()?, name)
                    .cloned()
                    .map_err(ServiceError::from)
            })?;
            if let Some(grow) = change.grow_mb {
                disk = self.grow_disk(&disk.name, grow)?;
            }
            if let Some(new) = &change.new_name {
                self.rename_disk(&disk.name, new)?;
                disk.name = new.clone();
            }
            if change.grow_mb.is_none() && change.new_name.is_none() {
                return Err(ivm_rules::RuleError::NothingToChange {
                    give: "-size +N or -mv NEW",
                }
                .into());
            }
            Ok((disk, name.to_string()))
        })
    }

    pub(super) fn grow_disk(&self, name: &str, grow: u64) -> Result<BackingDevice, ServiceError> {
        let foreign = self.foreign_disks()?;
        let (old, new, pool, mapping) = self.store.write(|tx| {
            let pools = tx.pools()?;
            let disks = with_foreign(tx.disks()?, &foreign);
            let old = ivm_rules::find_disk(&disks, name)?.clone();
            let new = ivm_rules::grow_disk(&pools, &disks, name, grow)?;
            let pool = ivm_rules::pick_pool(&pools, Some(&new.pool))?.clone();
            let mapping = tx.mappings()?.into_iter().find(|m| m.backing == name);
            tx.put_disk(&new, DiskState::Ready)?;
            Ok::<_, ServiceError>((old, new, pool, mapping))
        })?;
        let mut taken = Ledger::new("storage", name.to_string());
        taken.step(
            "disk-grow",
            || {
                self.pool_driver(&pool)?.grow(name, new.size_mb)?;
                if let Some(m) = &mapping {
                    if let Some(live) = self.runtime.as_ref().and_then(|rt| rt.get(m.lpar_id)) {
                        ivm_qemu::vm::resize_disk(&live.qmp, &m.vtd, new.size_mb)
                            .map_err(HostError::from)?;
                    }
                }
                Ok(())
            },
            // The file may have grown; the store keeps the old size, which is what the guest
            // sees. (A file is never shrunk.)
            || {
                if let Err(e) = self.store.write(|tx| tx.put_disk(&old, DiskState::Ready)) {
                    tracing::error!(disk = %old.name, error = %e, "cannot put back a disk's size");
                }
            },
        )?;
        taken.commit();
        Ok(new)
    }

    pub(super) fn rename_disk(&self, from: &str, to: &str) -> Result<(), ServiceError> {
        ivm_rules::validate_storage_name(to)?;
        let _held = self.storage_lock();
        let check = |tx: &ivm_store::Tx| {
            let disks = tx.disks()?;
            let pools = tx.pools()?;
            let d = ivm_rules::find_disk(&disks, from)?;
            if disks.iter().any(|x| x.name == to) || pools.iter().any(|p| p.name == to) {
                return Err(ivm_rules::RuleError::StorageNameInUse {
                    what: "virtual disk",
                    name: to.to_string(),
                }
                .into());
            }
            Ok::<_, ServiceError>(ivm_rules::pick_pool(&pools, Some(&d.pool))?.clone())
        };
        let pool = self.store.read(check)?;
        let driver = self.pool_driver(&pool)?;
        let renamed = steps::run(
            "storage",
            from,
            &[
                step(
                    "disk-rename",
                    || driver.rename(from, to),
                    || driver.rename(to, from),
                ),
                step(
                    "disk-record",
                    || {
                        self.store.write(|tx| {
                            check(tx)?;
                            Ok::<_, ServiceError>(tx.rename_disk(from, to)?)
                        })
                    },
                    || Ok(()),
                ),
            ],
        );
        renamed
    }

    /// `rmbdsp -bd NAME [-vtd]`: removes a virtual disk; refused while mapped unless its
    /// mapping goes with it.
    pub fn remove_disk(
        &self,
        actor: &Actor,
        name: &str,
        with_vtd: bool,
    ) -> Result<(), ServiceError> {
        self.logged(actor, "remove virtual disk", name, || {
            not_the_repository(name, "rmrep")?;
            not_a_pool_volume(&self.store.read(|tx| tx.pools())?, name)?;
            let mapping = self.store.read(|tx| {
                ivm_rules::find_disk(&tx.disks()?, name)?;
                not_paging(tx, name, "removed")?;
                Ok::<_, ServiceError>(tx.mappings()?.into_iter().find(|m| m.backing == name))
            })?;
            if let Some(m) = mapping {
                if !with_vtd {
                    ivm_rules::check_disk_removal(name, std::slice::from_ref(&m))?;
                }
                self.unmap_unlogged(&m.vtd)?;
            }
            self.remove_disk_unlogged(name)?;
            Ok(((), name.to_string()))
        })
    }

    /// Marks a backing device as being removed, removes it from the host, then from the store;
    /// without a task of its own (the caller's task, or the restart that finishes it, logs it).
    pub(in crate::service) fn remove_disk_unlogged(&self, name: &str) -> Result<(), ServiceError> {
        let (disk, pool) = self.store.write(|tx| {
            let pools = tx.pools()?;
            let disks = tx.disks()?;
            let disk = ivm_rules::find_disk(&disks, name)?.clone();
            ivm_rules::check_disk_removal(name, &tx.mappings()?)?;
            not_paging(tx, name, "removed")?;
            tx.put_disk(&disk, DiskState::Removing)?;
            let pool = ivm_rules::pick_pool(&pools, Some(&disk.pool))?.clone();
            Ok::<_, ServiceError>((disk, pool))
        })?;
        // Once marked, the removal is finished even if the daemon dies here.
        self.pool_driver(&pool)?.remove(&disk.name)?;
        self.store.write(|tx| tx.delete_disk(name))?;
        Ok(())
    }

    /// `rmsyscfg --vioscfg [--vdisk]`: removes a stopped partition's mappings (and the virtual
    /// disks they held), checked first so that nothing goes unless all of it can.
    pub fn remove_storage_of(
        &self,
        actor: &Actor,
        id: u32,
        vdisk: bool,
    ) -> Result<(), ServiceError> {
        let maps = self.store.read(|tx| {
            let p = tx
                .partition(id)?
                .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
            ivm_rules::check_delete(&p)?;
            Ok::<_, ServiceError>(
                tx.mappings()?
                    .into_iter()
                    .filter(|m| m.lpar_id == id)
                    .collect::<Vec<_>>(),
            )
        })?;
        let optical = self.store.read(|tx| tx.optical_devices())?;
        for o in optical.into_iter().filter(|o| o.lpar_id == id) {
            self.remove_optical(&o.vtd)?;
        }
        for m in maps {
            if vdisk && m.kind == BackingKind::Lv {
                self.remove_disk(actor, &m.backing, true)?;
            } else {
                self.unmap(actor, &m.vtd)?;
            }
        }
        Ok(())
    }
}
