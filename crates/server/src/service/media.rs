//! The virtual media library: its repository (a backing device of a pool), optical media
//! copied, uploaded or made blank in it, and virtual optical devices (`vtoptN`) that media
//! load into, live on a running partition.

use std::path::Path;

use ivm_model::{
    LoadRequest, MediaAccess, MediaChange, MediaSpec, OpticalDevice, OpticalMedia, OpticalRequest,
    Repository, RepositorySpec,
};
use ivm_qemu::LaunchOptical;
use ivm_storage::Library;
use ivm_store::DiskState;

use ivm_rules::RuleError;

use super::error::host;
use super::pooldriver::PoolDriver;
use super::steps::{self, step, Ledger};
use super::{Actor, InheritedFile, Service, ServiceError};
use crate::failpoint;
use crate::runtime::HostError;

/// Where a volume group pool's repository is mounted, in the data directory.
const REPOSITORY_MOUNT: &str = "VMLibrary";

impl Service {
    fn repository_mount(&self) -> std::path::PathBuf {
        self.data_dir.join(REPOSITORY_MOUNT)
    }

    /// The library's directory and its pool's driver.
    fn library(&self) -> Result<(Library, PoolDriver), ServiceError> {
        let driver = self.store.read(|tx| library_driver(tx, &self.volumes))?;
        let dir = driver.repository_dir(&self.repository_mount())?;
        Ok((Library::new(dir), driver))
    }

    /// `mkrep -sp POOL -size N`: makes the virtual media library.
    pub fn create_repository(
        &self,
        actor: &Actor,
        spec: &RepositorySpec,
    ) -> Result<Repository, ServiceError> {
        self.logged(actor, "create media repository", "VMLibrary", || {
            let (bd, pool) = self.store.write(|tx| {
                let pools = tx.pools()?;
                let bd = ivm_rules::new_repository(
                    &pools,
                    &tx.disks()?,
                    spec.pool.as_deref(),
                    spec.size_mb,
                )?;
                let pool = ivm_rules::pick_pool(&pools, Some(&bd.pool))?.clone();
                tx.put_disk(&bd, DiskState::Creating)?;
                Ok::<_, ServiceError>((bd, pool))
            })?;
            let driver = PoolDriver::of(&pool, &self.volumes);
            match driver.create_repository(bd.size_mb, &self.repository_mount()) {
                Ok(_) => self.store.write(|tx| tx.put_disk(&bd, DiskState::Ready))?,
                Err(e) => {
                    self.store.write(|tx| tx.delete_disk(&bd.name))?;
                    return Err(e);
                }
            }
            let view = self.store.read(|tx| {
                Ok::<_, ServiceError>(ivm_rules::repository_view(
                    &bd,
                    &tx.pools()?,
                    &tx.disks()?,
                    &[],
                ))
            })?;
            Ok((view, format!("VMLibrary in {}", bd.pool)))
        })
    }

    /// `chrep -size N`: grows the library within its pool.
    pub fn change_repository(
        &self,
        actor: &Actor,
        size_mb: u64,
    ) -> Result<Repository, ServiceError> {
        self.logged(actor, "change media repository", "VMLibrary", || {
            let (old, new, pool) = self.store.write(|tx| {
                let pools = tx.pools()?;
                let disks = tx.disks()?;
                let old = ivm_rules::repository(&disks)?.clone();
                let new = ivm_rules::resize_repository(&pools, &disks, &tx.media()?, size_mb)?;
                let pool = ivm_rules::pick_pool(&pools, Some(&new.pool))?.clone();
                tx.put_disk(&new, DiskState::Ready)?;
                Ok::<_, ServiceError>((old, new, pool))
            })?;
            if let Err(e) = PoolDriver::of(&pool, &self.volumes).grow_repository(new.size_mb) {
                self.store.write(|tx| tx.put_disk(&old, DiskState::Ready))?;
                return Err(e);
            }
            let view = self.store.read(|tx| {
                Ok::<_, ServiceError>(ivm_rules::repository_view(
                    &new,
                    &tx.pools()?,
                    &tx.disks()?,
                    &tx.media()?,
                ))
            })?;
            Ok((view, "VMLibrary".into()))
        })
    }

    /// `rmrep [-f]`: removes the library (with its media when forced; never loaded media).
    pub fn remove_repository(&self, actor: &Actor, force: bool) -> Result<(), ServiceError> {
        self.logged(actor, "remove media repository", "VMLibrary", || {
            let (lib, driver) = self.library()?;
            let (bd, media) = self.store.write(|tx| {
                let disks = tx.disks()?;
                let bd = ivm_rules::repository(&disks)?.clone();
                let media = tx.media()?;
                ivm_rules::check_repository_removal(&media, &tx.optical_devices()?, force)?;
                for m in &media {
                    tx.put_media(m, DiskState::Removing)?;
                }
                tx.put_disk(&bd, DiskState::Removing)?;
                Ok::<_, ServiceError>((bd, media))
            })?;
            // Marked: a daemon that dies from here on finishes the removal at start.
            for m in &media {
                lib.remove_media(&m.name).map_err(host)?;
                self.store.write(|tx| tx.delete_media(&m.name))?;
            }
            driver.remove_repository(&self.repository_mount())?;
            self.store.write(|tx| tx.delete_disk(&bd.name))?;
            Ok(((), "VMLibrary".into()))
        })
    }

    /// `mkvopt -name N -file F [-ro]` (a copy, with progress in the task log) or
    /// `mkvopt -name N -size S` (blank media, read-write).
    pub fn create_media(
        &self,
        actor: &Actor,
        spec: &MediaSpec,
    ) -> Result<OpticalMedia, ServiceError> {
        self.logged_with_progress(actor, "create optical media", &spec.name, |progress| {
            let access = if spec.read_only {
                MediaAccess::Ro
            } else {
                MediaAccess::Rw
            };
            let (source, size_mb) = match (&spec.file, spec.size_mb) {
                (Some(f), None) => {
                    let path = self.managed_file(f)?;
                    let len = std::fs::metadata(&path)
                        .map_err(|source| {
                            host(HostError::Io {
                                action: "read",
                                path: path.clone().into(),
                                source,
                            })
                        })?
                        .len();
                    (Some(path), len.div_ceil(1 << 20).max(1))
                }
                (None, Some(s)) => (None, s),
                _ => {
                    return Err(ivm_rules::RuleError::Exclusive {
                        either: "-file (an ISO to copy)",
                        or: "-size (blank media)",
                    }
                    .into())
                }
            };
            let m = self.make_media(&spec.name, size_mb, access, |lib, m| {
                match &source {
                    Some(path) => lib
                        .copy_in(&m.name, Path::new(path), &mut |done, total| {
                            progress((done * 100 / total.max(1)) as u8)
                        })
                        .map(|_| ()),
                    None => lib.create_blank(&m.name, size_mb),
                }
                .map_err(host)?;
                failpoint::hit("media.copied").map_err(HostError::from)?;
                Ok(())
            })?;
            Ok((m.clone(), m.name.clone()))
        })
    }

    /// A file `mkvopt -file` may copy or `mkbdsp -file` import: only from a directory ivm
    /// manages (the boot directory or a file pool), never from anywhere a user points at.
    pub(super) fn managed_file(&self, given: &str) -> Result<String, ServiceError> {
        let mut dirs = vec![self.boot_dir.clone()];
        let pools = self.store.read(|tx| tx.pools())?;
        dirs.extend(
            pools
                .iter()
                .filter(|p| p.kind == ivm_model::PoolKind::Fbpool)
                .map(|p| std::path::PathBuf::from(&p.path)),
        );
        for d in &dirs {
            if let Ok(p) = super::files::confine(d, "file", given) {
                return Ok(p);
            }
        }
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        Err(RuleError::MediaSourceOutside {
            given: given.to_string(),
            dirs: names.join(", "),
            boot_dir: self.boot_dir.display().to_string(),
        }
        .into())
    }

    /// Makes a medium: room reserved in the store (as being made), its file written by
    /// `write` (failure point `media.copy` before it), then recorded ready; a failure at any
    /// step takes the file and the reservation back.
    fn make_media(
        &self,
        name: &str,
        size_mb: u64,
        access: MediaAccess,
        write: impl FnOnce(&Library, &OpticalMedia) -> Result<(), ServiceError>,
    ) -> Result<OpticalMedia, ServiceError> {
        let (lib, _) = self.library()?;
        // The reservation: when it is refused, nothing was written and nothing is undone.
        let m = self.store.write(|tx| {
            let m = ivm_rules::new_media(&tx.disks()?, &tx.media()?, name, size_mb, access)?;
            tx.put_media(&m, DiskState::Creating)?;
            Ok::<_, ServiceError>(m)
        })?;
        let mut taken = Ledger::new("media", m.name.clone());
        taken.step(
            "reserved",
            || Ok(()),
            || {
                if let Err(e) = self.store.write(|tx| tx.delete_media(&m.name)) {
                    tracing::error!(media = m.name, error = %e, "cannot take back a reserved medium");
                }
            },
        )?;
        taken.step(
            "copy",
            || write(&lib, &m),
            || {
                let _ = lib.remove_media(&m.name);
            },
        )?;
        taken.step(
            "record",
            || Ok(self.store.write(|tx| tx.put_media(&m, DiskState::Ready))?),
            || {},
        )?;
        taken.commit();
        Ok(m)
    }

    /// Uploaded media: `len` bytes arrive in `chunks` and are written as they come (never
    /// held in memory); a short or broken upload leaves nothing.
    pub fn upload_media(
        &self,
        actor: &Actor,
        name: &str,
        read_only: bool,
        len: u64,
        chunks: crate::service::upload::Chunks,
    ) -> Result<OpticalMedia, ServiceError> {
        self.logged_with_progress(actor, "upload optical media", name, |progress| {
            let access = if read_only {
                MediaAccess::Ro
            } else {
                MediaAccess::Rw
            };
            let m = self.make_media(name, len.div_ceil(1 << 20).max(1), access, |lib, m| {
                let up = lib.begin(&m.name).map_err(host)?;
                super::upload::receive(up, len, chunks, &mut |p| progress(p))
            })?;
            Ok((m.clone(), m.name.clone()))
        })
    }

    /// `chvopt -name N [-access ro|rw] [-mv NEW]`.
    pub fn change_media(
        &self,
        actor: &Actor,
        name: &str,
        change: &MediaChange,
    ) -> Result<OpticalMedia, ServiceError> {
        let _held = self.storage_lock();
        self.logged(actor, "change optical media", name, || {
            if change.access.is_none() && change.new_name.is_none() {
                return Err(ivm_rules::RuleError::NothingToChange {
                    give: "-access ro|rw or -mv NEW",
                }
                .into());
            }
            let check = |tx: &ivm_store::Tx| {
                Ok::<_, ServiceError>(ivm_rules::change_media(
                    &tx.media()?,
                    &tx.optical_devices()?,
                    name,
                    change.access,
                    change.new_name.as_deref(),
                )?)
            };
            let m = self.store.read(check)?;
            let record = || {
                self.store.write(|tx| {
                    let m = check(tx)?;
                    if m.name != name {
                        tx.rename_media(name, &m.name)?;
                    }
                    Ok::<_, ServiceError>(tx.put_media(&m, DiskState::Ready)?)
                })
            };
            if m.name == name {
                record()?;
            } else {
                let (lib, _) = self.library()?;
                steps::run(
                    "media",
                    name,
                    &[
                        step(
                            "media-rename",
                            || lib.rename(name, &m.name).map_err(host),
                            || lib.rename(&m.name, name).map_err(host),
                        ),
                        step("media-record", record, || Ok(())),
                    ],
                )?;
            }
            Ok((m.clone(), m.name.clone()))
        })
    }

    /// `rmvopt -name N [-f]`: removes media; `-f` unloads it from every device first.
    pub fn remove_media(&self, actor: &Actor, name: &str, force: bool) -> Result<(), ServiceError> {
        self.logged(actor, "remove optical media", name, || {
            if force {
                let loaded: Vec<String> = self.store.read(|tx| {
                    Ok::<_, ServiceError>(
                        ivm_rules::loaded_in(&tx.optical_devices()?, name)
                            .into_iter()
                            .map(|o| o.vtd.clone())
                            .collect(),
                    )
                })?;
                for vtd in loaded {
                    self.unload_unlogged(&vtd)?;
                }
            }
            let (lib, _) = self.library()?;
            let m = self.store.write(|tx| {
                let media = tx.media()?;
                let m = ivm_rules::find_media(&media, name)?.clone();
                ivm_rules::check_media_removal(&tx.optical_devices()?, name)?;
                tx.put_media(&m, DiskState::Removing)?;
                Ok::<_, ServiceError>(m)
            })?;
            lib.remove_media(&m.name).map_err(host)?;
            self.store.write(|tx| tx.delete_media(&m.name))?;
            Ok(((), name.to_string()))
        })
    }

    /// `mkvdev -fbo -vadapter vhostN [-dev VTD]`: an empty virtual optical device, hot-plugged
    /// into a running partition.
    pub fn create_optical(
        &self,
        actor: &Actor,
        req: &OpticalRequest,
    ) -> Result<OpticalDevice, ServiceError> {
        self.logged(
            actor,
            "create virtual optical device",
            &req.vadapter,
            || {
                let o = self.store.write(|tx| {
                    let o = ivm_rules::new_optical(
                        &tx.adapters()?,
                        &tx.mappings()?,
                        &tx.optical_devices()?,
                        req,
                    )?;
                    self.check_partition_settled(tx, o.lpar_id)?;
                    tx.put_optical(&o)?;
                    Ok::<_, ServiceError>(o)
                })?;
                let plugged = self.on_running(o.lpar_id, |q| {
                    failpoint::hit("media.attach").map_err(HostError::from)?;
                    ivm_qemu::vm::attach_optical(q, o.vhost, &o.vtd, o.lun)
                        .map_err(|e| HostError::from(e).into())
                });
                if let Err(e) = plugged {
                    self.store.write(|tx| tx.delete_optical(&o.vtd))?;
                    return Err(e);
                }
                Ok((o.clone(), format!("{} on {}", o.vtd, req.vadapter)))
            },
        )
    }

    /// Removes a virtual optical device (`rmvdev -vtd vtoptN`), unplugging it from a running
    /// partition.
    pub(super) fn remove_optical(&self, vtd: &str) -> Result<OpticalDevice, ServiceError> {
        let o = self.settled_optical(vtd)?;
        self.on_running(o.lpar_id, |q| {
            ivm_qemu::vm::detach_optical(q, &o.vtd, o.lun).map_err(|e| HostError::from(e).into())
        })?;
        self.store.write(|tx| tx.delete_optical(vtd))?;
        Ok(o)
    }

    /// `loadopt [-f] -disk NAME -vtd vtoptN`: live on a running partition (a media change).
    pub fn load_media(
        &self,
        actor: &Actor,
        vtd: &str,
        req: &LoadRequest,
    ) -> Result<OpticalDevice, ServiceError> {
        self.logged(actor, "load optical media", vtd, || {
            let (old, new, writable) = self.store.write(|tx| {
                let media = tx.media_with_state()?;
                if let Some((_, state)) = media.iter().find(|(m, _)| m.name == req.media) {
                    if *state != DiskState::Ready {
                        return Err(ivm_rules::RuleError::MediaBusy {
                            name: req.media.clone(),
                        }
                        .into());
                    }
                }
                let media: Vec<OpticalMedia> = media.into_iter().map(|(m, _)| m).collect();
                let devices = tx.optical_devices()?;
                let old = ivm_rules::find_optical(&devices, vtd)?.clone();
                let new = ivm_rules::load_media(&media, &devices, &req.media, vtd, req.force)?;
                self.check_partition_settled(tx, new.lpar_id)?;
                let writable = ivm_rules::find_media(&media, &req.media)?.access == MediaAccess::Rw;
                // Reserved: read-write media cannot be loaded anywhere else from now on.
                tx.put_optical(&new)?;
                Ok::<_, ServiceError>((old, new, writable))
            })?;
            let opened = self
                .library()
                .and_then(|(lib, _)| lib.open_for_guest(&req.media, writable).map_err(host));
            let file = match opened {
                Ok(f) => f,
                Err(e) => {
                    self.store.write(|tx| tx.put_optical(&old))?;
                    return Err(e);
                }
            };
            let loaded = self.on_running(new.lpar_id, |q| {
                failpoint::hit("media.load").map_err(HostError::from)?;
                ivm_qemu::vm::load_media(q, vtd, new.lun, &file, writable)
                    .map_err(|e| HostError::from(e).into())
            });
            if let Err(e) = loaded {
                // QEMU's device may now be empty: say so rather than claim the old media.
                let now = OpticalDevice {
                    media: None,
                    ..old.clone()
                };
                self.store.write(|tx| tx.put_optical(&now))?;
                return Err(e);
            }
            Ok((new.clone(), format!("{} into {vtd}", req.media)))
        })
    }

    /// `unloadopt -vtd vtoptN`.
    pub fn unload_media(&self, actor: &Actor, vtd: &str) -> Result<OpticalDevice, ServiceError> {
        self.logged(actor, "unload optical media", vtd, || {
            let o = self.unload_unlogged(vtd)?;
            Ok((o, vtd.to_string()))
        })
    }

    /// Unloads the medium of `vtd`, without a task of its own: the caller's task logs it.
    fn unload_unlogged(&self, vtd: &str) -> Result<OpticalDevice, ServiceError> {
        let o = self.settled_optical(vtd)?;
        self.on_running(o.lpar_id, |q| {
            ivm_qemu::vm::unload_media(q, vtd, o.lun).map_err(|e| HostError::from(e).into())
        })?;
        let empty = OpticalDevice { media: None, ..o };
        self.store.write(|tx| tx.put_optical(&empty))?;
        Ok(empty)
    }

    /// A partition's optical devices for QEMU, media opened as descriptors numbered from
    /// `first_fd`.
    pub(super) fn optical_for_launch(
        &self,
        lpar_id: u32,
        first_fd: i32,
    ) -> Result<(Vec<LaunchOptical>, Vec<InheritedFile>), ServiceError> {
        self.store.read(|tx| {
            let devices: Vec<OpticalDevice> = tx
                .optical_devices()?
                .into_iter()
                .filter(|o| o.lpar_id == lpar_id)
                .collect();
            let (mut launch, mut files) = (Vec::new(), Vec::new());
            for o in devices {
                let media = match &o.media {
                    None => None,
                    Some(name) => {
                        let media = tx.media()?;
                        let writable =
                            ivm_rules::find_media(&media, name)?.access == MediaAccess::Rw;
                        let dir = library_driver(tx, &self.volumes)?
                            .repository_dir(&self.repository_mount())?;
                        let f = Library::new(dir)
                            .open_for_guest(name, writable)
                            .map_err(host)?;
                        let fd = first_fd + files.len() as i32;
                        files.push((f, fd));
                        Some((fd, writable))
                    }
                };
                launch.push(LaunchOptical {
                    vtd: o.vtd,
                    lun: o.lun,
                    media,
                });
            }
            Ok((launch, files))
        })
    }

    /// At start: finishes media a dead daemon was making or removing, and mounts a volume
    /// group's repository again.
    pub(super) fn prepare_media(&self) -> Result<(), ServiceError> {
        // Images a dead daemon was receiving for an import: no request waits for them.
        let uploads = self.data_dir.join("uploads");
        if uploads.exists() {
            let _ = std::fs::remove_dir_all(&uploads);
        }
        let (disks, media) = self
            .store
            .read(|tx| Ok::<_, ServiceError>((tx.disks_with_state()?, tx.media_with_state()?)))?;
        let Some((repo, state)) = disks
            .iter()
            .find(|(d, _)| d.name == ivm_rules::REPOSITORY_BD)
            .cloned()
        else {
            return Ok(());
        };
        let lib = self.library().map(|(l, _)| l);
        let lib = match lib {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "the media repository is not available");
                return Ok(());
            }
        };
        for (m, s) in media {
            if s != DiskState::Ready {
                lib.remove_media(&m.name).map_err(host)?;
                self.store.write(|tx| tx.delete_media(&m.name))?;
                tracing::warn!(media = %m.name, ?s, "finished an interrupted media operation: removed it");
            }
        }
        lib.clean_partials().map_err(host)?;
        if state != DiskState::Ready {
            let pools = self.store.read(|tx| tx.pools())?;
            let pool = ivm_rules::pick_pool(&pools, Some(&repo.pool))?;
            if state == DiskState::Creating || self.store.read(|tx| tx.media())?.is_empty() {
                PoolDriver::of(pool, &self.volumes).remove_repository(&self.repository_mount())?;
                self.store.write(|tx| tx.delete_disk(&repo.name))?;
                tracing::warn!(
                    ?state,
                    "finished an interrupted media repository operation: removed it"
                );
            }
        }
        Ok(())
    }

    /// Optical device `vtd`, if its partition is not between states.
    fn settled_optical(&self, vtd: &str) -> Result<OpticalDevice, ServiceError> {
        self.store.read(|tx| {
            let o = ivm_rules::find_optical(&tx.optical_devices()?, vtd)?.clone();
            self.check_partition_settled(tx, o.lpar_id)?;
            Ok::<_, ServiceError>(o)
        })
    }

    /// Refuses storage changes on a partition that is between states.
    pub(super) fn check_partition_settled(
        &self,
        tx: &ivm_store::Tx,
        lpar_id: u32,
    ) -> Result<(), ServiceError> {
        if let Some(p) = tx.partition(lpar_id)? {
            if p.state.is_active() {
                ivm_rules::check_settled(&p)?;
            }
        }
        Ok(())
    }
}

/// The pool driver of the media repository's pool (read from the store; nothing on the host).
fn library_driver(
    tx: &ivm_store::Tx,
    volumes: &std::sync::Arc<dyn super::volumes::VolumeHost>,
) -> Result<PoolDriver, ServiceError> {
    let disks = tx.disks()?;
    let repo = ivm_rules::repository(&disks)?;
    let pools = tx.pools()?;
    Ok(PoolDriver::of(
        ivm_rules::pick_pool(&pools, Some(&repo.pool))?,
        volumes,
    ))
}
