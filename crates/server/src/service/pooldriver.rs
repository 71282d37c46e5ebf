//! A storage pool's host driver: a directory of files, or an LVM2 volume group. The service
//! asks it to make, grow, rename, remove and open virtual disks; it decides nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ivm_model::{PoolKind, StoragePool};
use ivm_rules::REPOSITORY_BD;
use ivm_storage::image::{self, Image, Sandbox};
use ivm_storage::{FilePool, Library, RbdPool};

use super::error::host;
use super::volumes::VolumeHost;
use super::ServiceError;

/// Where a virtual disk is on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum DiskPlace {
    /// A file in a file pool.
    File(PathBuf),
    /// A logical volume's block device.
    Block(PathBuf),
}

impl DiskPlace {
    /// The file or device path.
    pub fn path(&self) -> &Path {
        match self {
            DiskPlace::File(p) | DiskPlace::Block(p) => p,
        }
    }
}

/// The driver of one pool.
pub(super) enum PoolDriver {
    /// A file pool; `thin` pools make sparse files.
    Files { pool: FilePool, thin: bool },
    /// A volume group, and the volume manager that has it.
    Lvm {
        /// The volume group's name.
        vg: String,
        /// LVM on this host (or in memory, for the unit tests).
        host: Arc<dyn VolumeHost>,
    },
    /// A Ceph RBD pool (with its user's key).
    Rbd(RbdPool),
}

impl PoolDriver {
    /// The driver of `pool` (an RBD pool's key, which the store keeps apart, in `key`), on
    /// volume manager `volumes`.
    pub fn with_key(
        pool: &StoragePool,
        key: Option<String>,
        volumes: &Arc<dyn VolumeHost>,
    ) -> PoolDriver {
        match (pool.kind, &pool.rbd) {
            (PoolKind::Rbdpool, Some(l)) => PoolDriver::Rbd(RbdPool {
                monitors: l.monitors.clone(),
                pool: l.pool.clone(),
                user: l.user.clone(),
                key: key.unwrap_or_default(),
            }),
            (PoolKind::Lvpool, _) => PoolDriver::Lvm {
                vg: pool.path.clone(),
                host: volumes.clone(),
            },
            _ => PoolDriver::Files {
                pool: FilePool::new(&pool.path),
                thin: pool.thin,
            },
        }
    }

    /// The driver of a pool that holds files or logical volumes (never an RBD pool's, whose
    /// key it lacks: see `Service::pool_driver`).
    pub fn of(pool: &StoragePool, volumes: &Arc<dyn VolumeHost>) -> PoolDriver {
        Self::with_key(pool, None, volumes)
    }

    /// The RBD pool, when this is one.
    pub fn rbd(&self) -> Option<&RbdPool> {
        match self {
            PoolDriver::Rbd(r) => Some(r),
            _ => None,
        }
    }

    /// Makes disk `name` of `size_mb`.
    pub fn create(&self, name: &str, size_mb: u64) -> Result<(), ServiceError> {
        self.create_with_progress(name, size_mb, &mut |_| {})
    }

    /// Makes disk `name` of `size_mb`, reporting how far it has come (percent).
    pub fn create_with_progress(
        &self,
        name: &str,
        size_mb: u64,
        progress: &mut dyn FnMut(u8),
    ) -> Result<(), ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, thin } => fp
                .create_disk_with_progress(name, size_mb, *thin, progress)
                .map(|_| ())
                .map_err(host),
            PoolDriver::Lvm { vg, host: h } => {
                if !h.device_mapper() {
                    // A limit of this host, not a failure: refused like any other request
                    // that cannot be met.
                    return Err(ivm_rules::RuleError::NoDeviceMapper { vg: vg.clone() }.into());
                }
                h.create_lv(vg, name, size_mb).map_err(host)
            }
            PoolDriver::Rbd(r) => {
                progress(0);
                r.create(name, size_mb).map_err(host)?;
                progress(100);
                Ok(())
            }
        }
    }

    /// Grows disk `name` to `size_mb`.
    pub fn grow(&self, name: &str, size_mb: u64) -> Result<(), ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, thin } => {
                fp.grow_disk(name, size_mb, *thin).map_err(host)
            }
            PoolDriver::Lvm { vg, host: h } => h.grow_lv(vg, name, size_mb).map_err(host),
            PoolDriver::Rbd(r) => r.grow(name, size_mb).map_err(host),
        }
    }

    /// Renames disk `from` to `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, .. } => fp.rename_disk(from, to).map_err(host),
            PoolDriver::Lvm { vg, host: h } => h.rename_lv(vg, from, to).map_err(host),
            PoolDriver::Rbd(r) => r.rename(from, to).map_err(host),
        }
    }

    /// Removes disk `name` (a missing one is fine: an interrupted removal).
    pub fn remove(&self, name: &str) -> Result<(), ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, .. } => fp.remove_disk(name).map_err(host),
            PoolDriver::Lvm { vg, host: h } => {
                if h.lv_exists(vg, name) {
                    h.remove_lv(vg, name).map_err(host)
                } else {
                    Ok(())
                }
            }
            PoolDriver::Rbd(r) => r.remove(name).map_err(host),
        }
    }

    /// Writes `image`'s contents into the new disk `name` of `size_mb` through the sandboxed
    /// converter; a full (not thin) file pool's disk has every block allocated again after.
    pub fn import(
        &self,
        name: &str,
        size_mb: u64,
        image: &Image,
        sandbox: Sandbox,
        progress: &mut dyn FnMut(u8),
    ) -> Result<(), ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, thin } => {
                let disk = fp.open_disk(name).map_err(host)?;
                image::convert(image, &disk, &fp.disk_path(name), sandbox, progress)
                    .map_err(host)?;
                if !thin {
                    fp.reallocate_disk(name, size_mb).map_err(host)?;
                }
                Ok(())
            }
            PoolDriver::Lvm { vg, host: h } => {
                let path = h.lv_path(vg, name);
                let disk = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|source| {
                        host(crate::runtime::HostError::Io {
                            action: "open",
                            path: path.clone(),
                            source,
                        })
                    })?;
                image::convert(image, &disk, &path, sandbox, progress).map_err(host)
            }
            // The service refuses an RBD pool before reserving (check_import_pool); this says
            // the same, with the Ceph pool's name, should a caller skip that.
            PoolDriver::Rbd(r) => Err(ivm_rules::RuleError::ImportPool {
                pool: r.pool.clone(),
            }
            .into()),
        }
    }

    /// Where disk `name` is on this host: a file to open, or a block device (an RBD image
    /// is on neither: QEMU opens it itself).
    pub fn locate(&self, name: &str) -> Option<DiskPlace> {
        match self {
            PoolDriver::Files { pool: fp, .. } => Some(DiskPlace::File(fp.disk_path(name))),
            PoolDriver::Lvm { vg, host: h } => Some(DiskPlace::Block(h.lv_path(vg, name))),
            PoolDriver::Rbd(_) => None,
        }
    }
}

impl PoolDriver {
    /// Makes the media repository of `size_mb` in this pool and returns its directory: a
    /// directory in a file pool; in a volume group, a logical volume with an ext4 filesystem
    /// mounted on `mount`.
    pub fn create_repository(&self, size_mb: u64, mount: &Path) -> Result<PathBuf, ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, .. } => {
                let lib = Library::new(fp.dir.join(REPOSITORY_BD));
                lib.create().map_err(host)?;
                Ok(lib.dir)
            }
            PoolDriver::Lvm { vg, host: h } => {
                self.create(REPOSITORY_BD, size_mb)?;
                let dev = h.lv_path(vg, REPOSITORY_BD);
                let made = h
                    .make_ext4(&dev)
                    .and_then(|()| h.mount_ext4(&dev, mount))
                    .map_err(host);
                if let Err(e) = made {
                    let _ = h.remove_lv(vg, REPOSITORY_BD);
                    return Err(e);
                }
                Ok(mount.to_path_buf())
            }
            PoolDriver::Rbd(_) => Err(no_repository()),
        }
    }

    /// The repository's directory (mounting a volume group's repository again after a
    /// restart of the host).
    pub fn repository_dir(&self, mount: &Path) -> Result<PathBuf, ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, .. } => Ok(fp.dir.join(REPOSITORY_BD)),
            PoolDriver::Lvm { vg, host: h } => {
                h.mount_ext4(&h.lv_path(vg, REPOSITORY_BD), mount)
                    .map_err(host)?;
                Ok(mount.to_path_buf())
            }
            PoolDriver::Rbd(_) => Err(no_repository()),
        }
    }

    /// Grows the repository to `size_mb` (a file pool's is only accounting).
    pub fn grow_repository(&self, size_mb: u64) -> Result<(), ServiceError> {
        match self {
            PoolDriver::Files { .. } => Ok(()),
            PoolDriver::Lvm { vg, host: h } => {
                h.grow_lv(vg, REPOSITORY_BD, size_mb).map_err(host)?;
                h.grow_ext4(&h.lv_path(vg, REPOSITORY_BD)).map_err(host)
            }
            PoolDriver::Rbd(_) => Err(no_repository()),
        }
    }

    /// Removes the (empty) repository.
    pub fn remove_repository(&self, mount: &Path) -> Result<(), ServiceError> {
        match self {
            PoolDriver::Files { pool: fp, .. } => Library::new(fp.dir.join(REPOSITORY_BD))
                .remove()
                .map_err(host),
            PoolDriver::Lvm { host: h, .. } => {
                h.unmount(mount).map_err(host)?;
                self.remove(REPOSITORY_BD)
            }
            PoolDriver::Rbd(_) => Err(no_repository()),
        }
    }
}

/// The media repository is a directory on this host; an RBD pool cannot hold one.
fn no_repository() -> ServiceError {
    ivm_rules::RuleError::OutOfRange {
        attr: "sp",
        value: "an RBD pool".into(),
        allowed: "a file or volume group pool: the media repository is a directory of this host"
            .into(),
    }
    .into()
}
