//! Virtual storage: pools, virtual disks and their mappings to partitions. Each change is
//! reserved in the store, carried out on the host (files, QMP hot-plug), then committed or
//! undone; a virtual disk being made or removed is marked so that a daemon that dies half way
//! leaves no half-made disk after the next start.

use std::path::Path;

use ivm_model::{
    BackingDevice, BackingKind, DiskChange, DiskSpec, Hdisk, MapRequest, Mapping, PoolFree,
    PoolKind, PoolMember, PoolSpec, StoragePool, StorageView, VgPoolRequest, VirtualScsiAdapter,
};
use ivm_qemu::LaunchDisk;
use ivm_storage::image::{Image, ImageError, Sandbox};
use ivm_storage::FilePool;
use ivm_store::DiskState;

use super::error::host;
use super::steps::{self, step};
use super::{Actor, Service, ServiceError};
use crate::failpoint;
use crate::runtime::HostError;

/// The default pool's name, as on IVM.
pub const DEFAULT_POOL: &str = "rootvg";

/// A starting partition's storage: its adapter, disks, optical devices, and the open files
/// QEMU inherits (with their descriptor numbers).
pub(super) struct LaunchStorage {
    /// N of its `vhostN`.
    pub vhost: Option<u32>,
    /// Its virtual disks as QEMU opens them.
    pub disks: Vec<LaunchDisk>,
    /// Its optical devices.
    pub optical: Vec<ivm_qemu::LaunchOptical>,
    /// Descriptors QEMU inherits.
    pub files: Vec<(std::fs::File, i32)>,
}

/// Descriptor number of a partition's first disk in QEMU (0-2 are stdio).
const FIRST_DISK_FD: i32 = 10;

use super::pooldriver::{DiskPlace, PoolDriver};

/// The adapter a partition has (every client partition has one).
pub(super) fn adapter_for(
    tx: &ivm_store::Tx,
    lpar_id: u32,
) -> Result<Option<VirtualScsiAdapter>, ServiceError> {
    Ok(tx.adapters()?.into_iter().find(|a| a.lpar_id == lpar_id))
}

/// Gives a new client partition its virtual SCSI server adapter.
pub(super) fn add_adapter(tx: &ivm_store::Tx, lpar_id: u32) -> Result<(), ServiceError> {
    let adapters = tx.adapters()?;
    let vhost = ivm_rules::next_vhost(&adapters);
    tx.put_adapter(&VirtualScsiAdapter {
        vhost,
        lpar_id,
        client_slot: 2,
        server_slot: 11 + vhost,
    })?;
    Ok(())
}

impl Service {
    /// Pools, disks, adapters and mappings.
    pub fn storage(&self) -> Result<StorageView, ServiceError> {
        // A shared pool's free space counts what other hosts hold there; a cluster that does
        // not answer leaves only this host's disks counted, with a warning.
        let foreign = self.foreign_disks().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot list the images of an RBD pool");
            Vec::new()
        });
        self.store.read(|tx| {
            let (pools, disks, media) = (tx.pools()?, tx.disks()?, tx.media()?);
            let (hdisks, mappings) = (tx.hdisks()?, tx.mappings()?);
            // The rule that mksp and the memory pool apply, so clients need not restate it.
            let free_hdisks = ivm_rules::free_hdisks(&hdisks, &mappings, &tx.hdisk_claims()?);
            let counted = with_foreign(disks.clone(), &foreign);
            Ok::<_, ServiceError>(StorageView {
                pools_free_mb: pools
                    .iter()
                    .map(|p| PoolFree {
                        pool: p.name.clone(),
                        free_mb: ivm_rules::pool_free(p, &counted),
                    })
                    .collect(),
                repository: ivm_rules::repository(&disks)
                    .ok()
                    .map(|d| ivm_rules::repository_view(d, &pools, &counted, &media)),
                pools,
                disks,
                adapters: tx.adapters()?,
                mappings,
                hdisks,
                free_hdisks,
                members: tx
                    .pool_members()?
                    .into_iter()
                    .map(|(hdisk, pool)| PoolMember { hdisk, pool })
                    .collect(),
                paging_pvs: tx.paging_pvs()?.into_iter().map(|pv| pv.name).collect(),
                media,
                optical: tx.optical_devices()?,
            })
        })
    }

    /// `cfgdev`: looks for physical volumes and Ethernet adapters again; new ones get the next
    /// `hdiskN` or `entN`.
    pub fn cfgdev(&self, actor: &Actor) -> Result<Vec<Hdisk>, ServiceError> {
        let _held = self.storage_lock();
        self.logged(actor, "scan for devices", "physical volumes", || {
            // The scan reads the host, so it runs before the transaction.
            let found = ivm_host::physical_volumes(&self.host_root);
            self.store.write(|tx| {
                let hdisks = ivm_rules::scan_hdisks(&tx.hdisks()?, &found);
                tx.put_hdisks(&hdisks)?;
                Ok((hdisks, "physical volumes".into()))
            })
        })
        .and_then(|h| {
            self.scan_eth()?;
            Ok(h)
        })
    }

    /// At start: makes the default pool when there is none (a file pool in the data directory
    /// of `size_mb`, or half the filesystem's free space), and finishes what a daemon that died
    /// left half done: disks being made are removed, disks being removed are removed.
    pub fn prepare_storage(
        &self,
        data_dir: &Path,
        size_mb: Option<u64>,
    ) -> Result<(), ServiceError> {
        // Physical volumes are configured at start, as on IVM.
        let found = ivm_host::physical_volumes(&self.host_root);
        self.store
            .write(|tx| tx.put_hdisks(&ivm_rules::scan_hdisks(&tx.hdisks()?, &found)))?;
        let pools = self.store.read(|tx| tx.pools())?;
        if pools.is_empty() {
            let dir = data_dir.join("pools").join(DEFAULT_POOL);
            let fp = FilePool::new(&dir);
            fp.create().map_err(host)?;
            let size = match size_mb {
                Some(s) => s,
                None => fp.fs_free_mb().map_err(host)? / 2,
            };
            let pool = StoragePool {
                name: DEFAULT_POOL.into(),
                kind: PoolKind::Fbpool,
                size_mb: size,
                path: dir.to_string_lossy().into_owned(),
                thin: false,
                default: true,
                rbd: None,
            };
            self.store.write(|tx| tx.put_pool(&pool))?;
            println!(
                "ivm: created the default storage pool {DEFAULT_POOL}: a file pool of {size} MB in {}",
                dir.display()
            );
        }
        self.mount_pool_volumes();
        let (pools, disks) = self
            .store
            .read(|tx| Ok::<_, ServiceError>((tx.pools()?, tx.disks_with_state()?)))?;
        for (d, state) in disks {
            // The media repository is finished by prepare_media.
            if state == DiskState::Ready || d.name == ivm_rules::REPOSITORY_BD {
                continue;
            }
            if let Some(pool) = pools.iter().find(|p| p.name == d.pool) {
                self.pool_driver(pool)?.remove(&d.name)?;
            }
            tracing::warn!(disk = %d.name, ?state, "finished an interrupted virtual disk operation: removed it");
            self.store.write(|tx| tx.delete_disk(&d.name))?;
        }
        self.prepare_media()
    }

    /// `mksp -fb NAME -path DIR -size N`: a file pool on a host directory.
    pub fn create_pool(&self, actor: &Actor, spec: &PoolSpec) -> Result<StoragePool, ServiceError> {
        if let Some(parent) = &spec.parent {
            return self.create_pool_in_vg(actor, spec, parent);
        }
        if spec.rbd.is_some() {
            return self.create_rbd_pool(actor, spec);
        }
        let _held = self.storage_lock();
        self.logged(actor, "create storage pool", &spec.name, || {
            let pool = self
                .store
                .read(|tx| Ok::<_, ServiceError>(ivm_rules::new_file_pool(&tx.pools()?, spec)?))?;
            self.check_pool_dir(&pool.path)?;
            let dir = Path::new(&pool.path);
            if dir.exists() && !dir.is_dir() {
                return Err(ivm_rules::RuleError::PoolPath {
                    path: pool.path.clone(),
                    what: "a directory".into(),
                }
                .into());
            }
            let existed = dir.exists();
            let fp = FilePool::new(&pool.path);
            steps::run(
                "storage",
                &pool.name,
                &[
                    step(
                        "pool-directory",
                        || fp.create().map_err(host),
                        || {
                            if !existed {
                                let _ = std::fs::remove_dir(dir);
                            }
                            Ok(())
                        },
                    ),
                    // A full pool must fit on its filesystem now.
                    step(
                        "pool-space",
                        || match pool.thin {
                            true => Ok(()),
                            false => fp.check_space(pool.size_mb).map_err(host),
                        },
                        || Ok(()),
                    ),
                    // The same rule again in the transaction: a pool of the same name made
                    // meanwhile is refused here and the directory taken back.
                    step(
                        "pool-record",
                        || {
                            self.store.write(|tx| {
                                ivm_rules::new_file_pool(&tx.pools()?, spec)?;
                                Ok::<_, ServiceError>(tx.put_pool(&pool)?)
                            })
                        },
                        || Ok(()),
                    ),
                ],
            )?;
            Ok((pool.clone(), pool.name.clone()))
        })
    }

    /// `mksp -fb NAME -sp PARENT -size N`: a logical volume in the volume group pool, formatted
    /// ext4 and mounted at `pools/NAME` in the data directory, becomes a file pool. The volume
    /// is reserved first, made outside the store's lock, and taken back if any step fails.
    fn create_pool_in_vg(
        &self,
        actor: &Actor,
        spec: &PoolSpec,
        parent: &str,
    ) -> Result<StoragePool, ServiceError> {
        self.logged(actor, "create storage pool", &spec.name, || {
            if !spec.path.is_empty() {
                return Err(ivm_rules::RuleError::Exclusive {
                    either: "-sp PARENT",
                    or: "-path DIR",
                }
                .into());
            }
            let mount = self.data_dir.join("pools").join(&spec.name);
            let (pool, lv) = self.store.write(|tx| {
                let (pool, lv) = ivm_rules::new_file_pool_in_vg(
                    &tx.pools()?,
                    &tx.disks()?,
                    spec,
                    parent,
                    &mount.to_string_lossy(),
                )?;
                tx.put_disk(&lv, DiskState::Creating)?;
                Ok::<_, ServiceError>((pool, lv))
            })?;
            let v = &self.volumes;
            let vg = PoolDriver::Lvm {
                vg: parent.to_string(),
                host: v.clone(),
            };
            let made = (|| {
                vg.create(&lv.name, lv.size_mb)?;
                let dev = v.lv_path(parent, &lv.name);
                v.make_ext4(&dev).map_err(host)?;
                v.mount_ext4(&dev, &mount).map_err(host)?;
                self.store.write(|tx| {
                    tx.put_disk(&lv, DiskState::Ready)?;
                    tx.put_pool(&pool)
                })?;
                Ok::<_, ServiceError>(())
            })();
            if let Err(e) = made {
                let _ = v.unmount(&mount);
                let _ = vg.remove(&lv.name);
                self.store.write(|tx| tx.delete_disk(&lv.name))?;
                return Err(e);
            }
            Ok((pool.clone(), format!("{} in {parent}", pool.name)))
        })
    }

    /// Mounts file pools that live in logical volumes again (after a host restart).
    fn mount_pool_volumes(&self) {
        let Ok((pools, disks)) = self
            .store
            .read(|tx| Ok::<_, ServiceError>((tx.pools()?, tx.disks()?)))
        else {
            return;
        };
        for p in &pools {
            if let Some(lv) = ivm_rules::pool_volume(&pools, &disks, p) {
                let dev = self.volumes.lv_path(&lv.pool, &lv.name);
                if let Err(e) = self.volumes.mount_ext4(&dev, Path::new(&p.path)) {
                    tracing::warn!(pool = %p.name, error = %e, "cannot mount the file pool's logical volume");
                }
            }
        }
    }

    /// A file pool's directory must lie inside a directory ivm manages (its data directory's
    /// `pools/`, or one `ivm.toml` lists in `pool_dirs`), judged with every link resolved, so
    /// that a pool can never put a disk a guest writes into a place the host reads.
    fn check_pool_dir(&self, path: &str) -> Result<(), ServiceError> {
        let p = Path::new(path);
        // The deepest existing ancestor, resolved, plus the part still to be made.
        let mut existing = p.to_path_buf();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name(), existing.parent()) {
                (Some(n), Some(parent)) => {
                    rest.push(n.to_owned());
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut real = existing.canonicalize().map_err(|source| {
            host(HostError::Io {
                action: "resolve",
                path: existing.clone(),
                source,
            })
        })?;
        for part in rest.iter().rev() {
            if part == ".." || part == "." {
                return Err(ivm_rules::RuleError::PoolPath {
                    path: path.to_string(),
                    what: "a plain path".into(),
                }
                .into());
            }
            real.push(part);
        }
        let inside = self.pool_roots.iter().any(|root| {
            let root = root.canonicalize().unwrap_or_else(|_| root.clone());
            real.starts_with(&root) && real != root
        });
        if !inside {
            let roots: Vec<String> = self
                .pool_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            return Err(ivm_rules::RuleError::PoolPath {
                path: path.to_string(),
                what: format!(
                    "inside a directory ivm manages for pools ({}); add its parent to pool_dirs in ivm.toml",
                    roots.join(", ")
                ),
            }
            .into());
        }
        Ok(())
    }

    /// `rmsp NAME`: removes an empty pool (its directory stays).
    pub fn remove_pool(&self, actor: &Actor, name: &str) -> Result<(), ServiceError> {
        let _held = self.storage_lock();
        self.logged(actor, "remove storage pool", name, || {
            // Out of the store first, so nothing new lands in the pool; put back if the host
            // step fails.
            let (pool, members, devices, lv) = self.store.write(|tx| {
                let pools = tx.pools()?;
                let pool = ivm_rules::pick_pool(&pools, Some(name))?.clone();
                ivm_rules::check_pool_removal(&pool, &tx.disks()?)?;
                ivm_rules::check_not_default(&pool)?;
                let members: Vec<String> = tx
                    .pool_members()?
                    .into_iter()
                    .filter(|(_, p)| p == name)
                    .map(|(h, _)| h)
                    .collect();
                let devices = self.member_devices(tx, name)?;
                let lv = ivm_rules::pool_volume(&pools, &tx.disks()?, &pool).cloned();
                tx.delete_pool(name)?;
                if let Some(lv) = &lv {
                    tx.delete_disk(&lv.name)?;
                }
                Ok::<_, ServiceError>((pool, members, devices, lv))
            })?;
            let restore = || {
                self.store.write(|tx| {
                    tx.put_pool(&pool)?;
                    for h in &members {
                        tx.set_pool_member(h, Some(&pool.name))?;
                    }
                    if let Some(lv) = &lv {
                        tx.put_disk(lv, DiskState::Ready)?;
                    }
                    Ok::<_, ServiceError>(())
                })
            };
            let dir = Path::new(&pool.path);
            let v = &self.volumes;
            let mut plan = vec![step("pool-forget", || Ok(()), restore)];
            if pool.kind == PoolKind::Lvpool {
                plan.push(step(
                    "volume-group-remove",
                    || v.remove_vg(&pool.path, &devices).map_err(host),
                    || Ok(()),
                ));
            }
            if let Some(lv) = &lv {
                let dev = v.lv_path(&lv.pool, &lv.name);
                plan.push(step(
                    "pool-unmount",
                    || v.unmount(dir).map_err(host),
                    move || v.mount_ext4(&dev, dir).map_err(host),
                ));
                plan.push(step(
                    "pool-volume-remove",
                    || v.remove_lv(&lv.pool, &lv.name).map_err(host),
                    || Ok(()),
                ));
            }
            steps::run("storage", name, &plan)?;
            Ok(((), name.to_string()))
        })
    }

    /// The block devices of a volume group pool's physical volumes.
    fn member_devices(&self, tx: &ivm_store::Tx, pool: &str) -> Result<Vec<String>, ServiceError> {
        let hdisks = tx.hdisks()?;
        Ok(tx
            .pool_members()?
            .into_iter()
            .filter(|(_, p)| p == pool)
            .filter_map(|(h, _)| hdisks.iter().find(|d| d.name == h))
            .map(|h| format!("/dev/{}", h.device))
            .collect())
    }

    /// `mksp [-f] NAME hdiskN...`: a volume group pool on free physical volumes (LVM2). The
    /// pool's size is what the volume group reports.
    pub fn create_vg_pool(
        &self,
        actor: &Actor,
        req: &VgPoolRequest,
    ) -> Result<StoragePool, ServiceError> {
        let _held = self.storage_lock();
        self.logged(actor, "create storage pool", &req.name, || {
            // Checked before the volume group is made and again when it is recorded (a disk
            // mapped meanwhile is refused there, and the volume group removed).
            let check = |tx: &ivm_store::Tx| {
                let pool = ivm_rules::new_vg_pool(&tx.pools()?, &req.name)?;
                let hdisks = tx.hdisks()?;
                let free = ivm_rules::free_hdisks(&hdisks, &tx.mappings()?, &tx.hdisk_claims()?);
                ivm_rules::check_pool_hdisks(&req.hdisks, &free)?;
                let devices: Vec<String> = req
                    .hdisks
                    .iter()
                    .filter_map(|n| hdisks.iter().find(|h| h.name == *n))
                    .map(|h| format!("/dev/{}", h.device))
                    .collect();
                Ok::<_, ServiceError>((pool, devices))
            };
            let (pool, devices) = self.store.read(check)?;
            let pool = std::cell::RefCell::new(pool);
            let path = pool.borrow().path.clone();
            let v = &self.volumes;
            steps::run(
                "storage",
                &req.name,
                &[
                    step(
                        "volume-group-create",
                        || v.create_vg(&path, &devices, req.force).map_err(host),
                        || v.remove_vg(&path, &devices).map_err(host),
                    ),
                    step(
                        "pool-record",
                        || {
                            let size_mb = v.vg_size_mb(&path).map_err(host)?;
                            let mut pool = pool.borrow_mut();
                            pool.size_mb = size_mb;
                            self.store.write(|tx| {
                                check(tx)?;
                                tx.put_pool(&pool)?;
                                for h in &req.hdisks {
                                    tx.set_pool_member(h, Some(&pool.name))?;
                                }
                                Ok::<_, ServiceError>(())
                            })
                        },
                        || Ok(()),
                    ),
                ],
            )?;
            let pool = pool.into_inner();
            Ok((pool.clone(), pool.name.clone()))
        })
    }

    /// `chsp -add|-rm [-f] -sp NAME hdiskN`: a physical volume into or out of a volume group
    /// pool (LVM refuses to take one out while logical volumes use it).
    pub fn change_vg_pool(
        &self,
        actor: &Actor,
        req: &VgPoolRequest,
        add: bool,
    ) -> Result<StoragePool, ServiceError> {
        let op = if add {
            "add physical volume"
        } else {
            "remove physical volume"
        };
        let _held = self.storage_lock();
        self.logged(actor, op, &req.name, || {
            // Checked before LVM is asked and again when the result is recorded.
            let check = |tx: &ivm_store::Tx| {
                let pools = tx.pools()?;
                let pool = ivm_rules::pick_pool(&pools, Some(&req.name))?.clone();
                if pool.kind != PoolKind::Lvpool {
                    return Err(ivm_rules::RuleError::NotAVolumeGroupPool {
                        pool: pool.name.clone(),
                    }
                    .into());
                }
                let hdisks = tx.hdisks()?;
                let members = tx.pool_members()?;
                if add {
                    let free =
                        ivm_rules::free_hdisks(&hdisks, &tx.mappings()?, &tx.hdisk_claims()?);
                    ivm_rules::check_pool_hdisks(&req.hdisks, &free)?;
                }
                let mut devices = Vec::new();
                for name in &req.hdisks {
                    let h = hdisks.iter().find(|h| h.name == *name).ok_or_else(|| {
                        ServiceError::from(ivm_rules::RuleError::NoSuch {
                            what: "physical volume",
                            name: name.clone(),
                        })
                    })?;
                    if !add && !members.iter().any(|(m, p)| m == name && *p == pool.name) {
                        return Err(ivm_rules::RuleError::NotInPool {
                            hdisk: name.clone(),
                            pool: pool.name.clone(),
                        }
                        .into());
                    }
                    devices.push((name.clone(), format!("/dev/{}", h.device)));
                }
                Ok::<_, ServiceError>((pool, devices))
            };
            let (pool, devices) = self.store.read(check)?;
            let vg = pool.path.as_str();
            let v = &self.volumes;
            let recorded = std::cell::RefCell::new(None);
            let mut plan = Vec::new();
            for (_, dev) in &devices {
                plan.push(if add {
                    step(
                        "volume-group-extend",
                        || v.extend_vg(vg, dev, req.force).map_err(host),
                        || v.reduce_vg(vg, dev).map_err(host),
                    )
                } else {
                    step(
                        "volume-group-reduce",
                        || v.reduce_vg(vg, dev).map_err(host),
                        || v.extend_vg(vg, dev, false).map_err(host),
                    )
                });
            }
            plan.push(step(
                "pool-record",
                || {
                    let size_mb = v.vg_size_mb(vg).map_err(host)?;
                    self.store.write(|tx| {
                        let (mut pool, _) = check(tx)?;
                        pool.size_mb = size_mb;
                        for (name, _) in &devices {
                            tx.set_pool_member(name, add.then_some(pool.name.as_str()))?;
                        }
                        tx.put_pool(&pool)?;
                        *recorded.borrow_mut() = Some(pool);
                        Ok::<_, ServiceError>(())
                    })
                },
                || Ok(()),
            ));
            steps::run("storage", &req.name, &plan)?;
            drop(plan);
            let pool = recorded.into_inner().unwrap_or_else(|| pool.clone());
            Ok((pool.clone(), pool.name.clone()))
        })
    }

    /// `chsp -default NAME`.
    pub fn set_default_pool(&self, actor: &Actor, name: &str) -> Result<(), ServiceError> {
        self.logged_write(actor, "set default storage pool", name, |tx| {
            let pools = tx.pools()?;
            ivm_rules::pick_pool(&pools, Some(name))?;
            for mut p in pools {
                p.default = p.name == name;
                tx.put_pool(&p)?;
            }
            Ok(((), name.to_string()))
        })
    }

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
    fn import_disk(
        &self,
        spec: &DiskSpec,
        file: &str,
        progress: &dyn Fn(u8),
    ) -> Result<BackingDevice, ServiceError> {
        let path = self.managed_file(file)?;
        self.import_disk_from(spec, file, Path::new(&path), progress)
    }

    /// Imports the image at `path` (a file ivm chose: managed, or its own staged upload).
    fn import_disk_from(
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
        chunks: &mut dyn FnMut() -> Option<Result<Vec<u8>, String>>,
    ) -> Result<BackingDevice, ServiceError> {
        use ivm_rules::{RuleError, UploadRefusal};
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
                let mut up = staging.begin(&spec.name).map_err(host)?;
                while let Some(chunk) = chunks() {
                    let chunk = chunk
                        .map_err(|cause| RuleError::Upload(UploadRefusal::BrokeOff { cause }))?;
                    if up.written + chunk.len() as u64 > len {
                        return Err(RuleError::Upload(UploadRefusal::TooLong { len }).into());
                    }
                    up.write(&chunk).map_err(host)?;
                    progress((up.written * 50 / len.max(1)) as u8);
                }
                up.finish(len).map_err(|e| match e {
                    ivm_storage::FileError::Short {
                        path,
                        expected,
                        written,
                    } => ServiceError::from(RuleError::Upload(UploadRefusal::Short {
                        path: path.display().to_string(),
                        expected,
                        written,
                    })),
                    other => host(other),
                })?;
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
    pub(super) fn make_disk(
        &self,
        spec: &DiskSpec,
        paging_for: Option<u32>,
        progress: &dyn Fn(u8),
    ) -> Result<BackingDevice, ServiceError> {
        self.make_disk_from(spec, paging_for, None, progress)
    }

    /// As [`Service::make_disk`], with the disk's contents written from `image` (by the
    /// converter as the given sandbox user) before it is ready.
    fn make_disk_from(
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
            let made = (|| {
                failpoint::hit("storage.create").map_err(HostError::from)?;
                match image {
                    // The import reports the progress; allocating the disk is its first step.
                    Some((image, sandbox)) => {
                        driver.create(&disk.name, disk.size_mb)?;
                        failpoint::hit("storage.import").map_err(HostError::from)?;
                        driver.import(&disk.name, disk.size_mb, image, sandbox, &mut |p| {
                            progress(p)
                        })?;
                    }
                    None => driver
                        .create_with_progress(&disk.name, disk.size_mb, &mut |p| progress(p))?,
                }
                failpoint::hit("storage.created").map_err(HostError::from)?;
                Ok::<_, ServiceError>(())
            })();
            match made {
                Ok(()) => self
                    .store
                    .write(|tx| tx.put_disk(&disk, DiskState::Ready))?,
                Err(e) => {
                    let _ = driver.remove(&disk.name);
                    self.store.write(|tx| tx.delete_disk(&disk.name))?;
                    return Err(e);
                }
            }
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

    fn grow_disk(&self, name: &str, grow: u64) -> Result<BackingDevice, ServiceError> {
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
        let grown = (|| {
            self.pool_driver(&pool)?.grow(name, new.size_mb)?;
            if let Some(m) = &mapping {
                if let Some(live) = self.runtime.as_ref().and_then(|rt| rt.get(m.lpar_id)) {
                    ivm_qemu::vm::resize_disk(&live.qmp, &m.vtd, new.size_mb)
                        .map_err(HostError::from)?;
                }
            }
            Ok::<_, ServiceError>(())
        })();
        if let Err(e) = grown {
            // The file may have grown; the store keeps the old size, which is what the guest
            // sees. (A file is never shrunk.)
            self.store.write(|tx| tx.put_disk(&old, DiskState::Ready))?;
            return Err(e);
        }
        Ok(new)
    }

    fn rename_disk(&self, from: &str, to: &str) -> Result<(), ServiceError> {
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
    pub(super) fn remove_disk_unlogged(&self, name: &str) -> Result<(), ServiceError> {
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

    /// `mkvdev -vdev BACKING -vadapter vhostN [-dev VTD]`: maps a disk to a partition,
    /// hot-plugging it when the partition runs.
    pub fn map(&self, actor: &Actor, req: &MapRequest) -> Result<Mapping, ServiceError> {
        self.logged(actor, "map virtual disk", &req.backing, || {
            let m = self.map_unlogged(req)?;
            Ok((m.clone(), format!("{} to {}", m.backing, req.vadapter)))
        })
    }

    /// Maps a backing device to an adapter (hot-plugged if its partition runs), without a task
    /// of its own: the caller's task logs it.
    pub(super) fn map_unlogged(&self, req: &MapRequest) -> Result<Mapping, ServiceError> {
        let (m, source) = self.store.write(|tx| {
            not_a_pool_volume(&tx.pools()?, &req.backing)?;
            not_paging(tx, &req.backing, "mapped as a virtual disk")?;
            let disks = tx.disks()?;
            let mappings = tx.mappings()?;
            let hdisks = tx.hdisks()?;
            let free = ivm_rules::free_hdisks(&hdisks, &mappings, &tx.hdisk_claims()?);
            let m = ivm_rules::new_mapping(
                &tx.adapters()?,
                &disks,
                &free,
                &mappings,
                &tx.optical_devices()?,
                req,
            )?;
            let source = self.backing_source(tx, &m)?;
            self.check_partition_settled(tx, m.lpar_id)?;
            // Reserved: no other request can map this disk or take this LUN now.
            tx.put_mapping(&m)?;
            Ok::<_, ServiceError>((m, source))
        })?;
        let plugged = self.on_running(m.lpar_id, |q| {
            failpoint::hit("storage.attach").map_err(HostError::from)?;
            if let Source::Rbd(drive, key) = &source {
                let at = ivm_qemu::DiskPlacement {
                    vhost: m.vhost,
                    vtd: &m.vtd,
                    lun: m.lun,
                    direct: false,
                    block: false,
                };
                return ivm_qemu::vm::attach_rbd(q, &at, drive, key)
                    .map_err(|e| ServiceError::from(HostError::from(e)));
            }
            let (file, direct) = source.open()?;
            let aio = self.runtime()?.env.aio;
            let at = ivm_qemu::DiskPlacement {
                vhost: m.vhost,
                vtd: &m.vtd,
                lun: m.lun,
                direct,
                block: source.is_block(),
            };
            ivm_qemu::vm::attach_disk(q, &at, &file, aio)
                .map_err(|e| ServiceError::from(HostError::from(e)))
        });
        if let Err(e) = plugged {
            self.store.write(|tx| tx.delete_mapping(&m.vtd))?;
            return Err(e);
        }
        Ok(m)
    }

    /// Where a mapping's data lives on the host.
    fn backing_source(&self, tx: &ivm_store::Tx, m: &Mapping) -> Result<Source, ServiceError> {
        match m.kind {
            BackingKind::Optical => {
                Err(ivm_rules::RuleError::OpticalDevice { vtd: m.vtd.clone() }.into())
            }
            BackingKind::Lv => {
                let disks = tx.disks()?;
                let disk = ivm_rules::find_disk(&disks, &m.backing)?;
                let pools = tx.pools()?;
                let pool = ivm_rules::pick_pool(&pools, Some(&disk.pool))?;
                let driver = PoolDriver::with_key(pool, tx.pool_secret(&pool.name)?, &self.volumes);
                match (driver.locate(&disk.name), driver.rbd()) {
                    (Some(place), _) => Ok(Source::Disk(place)),
                    (None, Some(r)) => Ok(Source::Rbd(
                        ivm_qemu::RbdDrive {
                            pool: r.pool.clone(),
                            image: disk.name.clone(),
                            servers: r.servers(),
                            user: r.user.clone(),
                        },
                        r.key.clone(),
                    )),
                    (None, None) => Err(HostError::Failed(format!(
                        "virtual disk {} has no place on this host",
                        disk.name
                    ))
                    .into()),
                }
            }
            BackingKind::Disk => {
                let h = tx
                    .hdisks()?
                    .into_iter()
                    .find(|h| h.name == m.backing)
                    .ok_or_else(|| {
                        ServiceError::from(ivm_rules::RuleError::NoSuch {
                            what: "physical volume",
                            name: m.backing.clone(),
                        })
                    })?;
                if !h.present {
                    return Err(ivm_rules::RuleError::NotPresent {
                        name: h.name.clone(),
                        id: h.id.clone(),
                    }
                    .into());
                }
                Ok(Source::Device(h))
            }
        }
    }

    /// `rmvdev -vtd VTD` (or `-vdev BACKING`): unmaps, hot-unplugging from a running partition.
    pub fn unmap(&self, actor: &Actor, vtd_or_backing: &str) -> Result<Mapping, ServiceError> {
        self.logged(actor, "unmap virtual disk", vtd_or_backing, || {
            let optical = self.store.read(|tx| {
                Ok::<_, ServiceError>(
                    tx.optical_devices()?
                        .into_iter()
                        .any(|o| o.vtd == vtd_or_backing),
                )
            })?;
            if optical {
                let o = self.remove_optical(vtd_or_backing)?;
                return Ok((
                    Mapping {
                        vtd: o.vtd,
                        lpar_id: o.lpar_id,
                        vhost: o.vhost,
                        lun: o.lun,
                        backing: o.media.unwrap_or_default(),
                        kind: BackingKind::Optical,
                    },
                    vtd_or_backing.to_string(),
                ));
            }
            let vtd = self.store.read(|tx| {
                tx.mappings()?
                    .into_iter()
                    .find(|m| m.vtd == vtd_or_backing || m.backing == vtd_or_backing)
                    .map(|m| m.vtd)
                    .ok_or_else(|| {
                        ServiceError::from(ivm_rules::RuleError::NoSuch {
                            what: "virtual target device",
                            name: vtd_or_backing.to_string(),
                        })
                    })
            })?;
            let m = self.unmap_unlogged(&vtd)?;
            Ok((m, vtd_or_backing.to_string()))
        })
    }

    /// Unmaps `vtd` (unplugged if its partition runs), without a task of its own.
    fn unmap_unlogged(&self, vtd: &str) -> Result<Mapping, ServiceError> {
        let m = self.store.read(|tx| {
            let m = tx
                .mappings()?
                .into_iter()
                .find(|m| m.vtd == vtd)
                .ok_or_else(|| {
                    ServiceError::from(ivm_rules::RuleError::NoSuch {
                        what: "virtual target device",
                        name: vtd.to_string(),
                    })
                })?;
            self.check_partition_settled(tx, m.lpar_id)?;
            Ok::<_, ServiceError>(m)
        })?;
        self.on_running(m.lpar_id, |q| {
            ivm_qemu::vm::detach_disk(q, &m.vtd, m.lun).map_err(|e| HostError::from(e).into())
        })?;
        self.store.write(|tx| tx.delete_mapping(vtd))?;
        Ok(m)
    }

    /// The disks a starting partition gets: its adapter, and each mapped disk opened for QEMU
    /// with the descriptor number it inherits it as.
    pub(super) fn storage_for_launch(&self, lpar_id: u32) -> Result<LaunchStorage, ServiceError> {
        let (adapter, sources) = self.store.read(|tx| {
            let mut sources = Vec::new();
            for m in tx.mappings()?.into_iter().filter(|m| m.lpar_id == lpar_id) {
                let src = self.backing_source(tx, &m)?;
                sources.push((m, src));
            }
            Ok::<_, ServiceError>((adapter_for(tx, lpar_id)?, sources))
        })?;
        let mut launch = Vec::new();
        let mut files = Vec::new();
        for (i, (m, src)) in sources.iter().enumerate() {
            let fd = FIRST_DISK_FD + i as i32;
            let (file, direct, rbd) = match src {
                // QEMU reads the key from this descriptor as it starts.
                Source::Rbd(drive, key) => (secret_file(key)?, false, Some(drive.clone())),
                _ => {
                    let (file, direct) = src.open()?;
                    (file, direct, None)
                }
            };
            launch.push(LaunchDisk {
                vtd: m.vtd.clone(),
                lun: m.lun,
                fd,
                direct,
                block: src.is_block(),
                boot: i == 0,
                rbd,
            });
            files.push((file, fd));
        }
        let first = FIRST_DISK_FD + files.len() as i32;
        let (optical, media) = self.optical_for_launch(lpar_id, first)?;
        files.extend(media);
        Ok(LaunchStorage {
            vhost: adapter.map(|a| a.vhost),
            disks: launch,
            optical,
            files,
        })
    }
}

/// Refuses virtual disk commands on the media repository's backing device.
fn not_the_repository(name: &str, instead: &'static str) -> Result<(), ServiceError> {
    if name == ivm_rules::REPOSITORY_BD {
        return Err(ivm_rules::RuleError::RepositoryDevice {
            name: name.to_string(),
            instead,
        }
        .into());
    }
    Ok(())
}

/// Refuses virtual disk commands on the logical volume that holds a file pool.
fn not_a_pool_volume(pools: &[StoragePool], name: &str) -> Result<(), ServiceError> {
    if pools.iter().any(|p| p.name == name) {
        return Err(ivm_rules::RuleError::PoolVolume {
            name: name.to_string(),
        }
        .into());
    }
    Ok(())
}

/// A mapping's data on the host: a virtual disk's file, or a whole physical volume.
enum Source {
    /// A virtual disk: its file, or its logical volume's block device.
    Disk(DiskPlace),
    /// A whole physical volume.
    Device(Hdisk),
    /// An RBD image, and its user's key.
    Rbd(ivm_qemu::RbdDrive, String),
}

impl Source {
    /// Opens it for QEMU (direct I/O where possible). A whole disk is opened exclusively, so
    /// the host cannot mount it while a partition has it.
    fn open(&self) -> Result<(std::fs::File, bool), ServiceError> {
        match self {
            Source::Disk(DiskPlace::File(path)) => {
                ivm_storage::files::open_for_guest(path).map_err(host)
            }
            Source::Disk(DiskPlace::Block(path)) => open_block(path, &path.display().to_string()),
            Source::Device(h) => open_block(&Path::new("/dev").join(&h.device), &h.name),
            Source::Rbd(d, _) => Err(HostError::Failed(format!(
                "RBD image {} is opened by QEMU, not by ivm",
                d.image
            ))
            .into()),
        }
    }

    /// Whether QEMU gets a block device (`host_device`) rather than a file.
    fn is_block(&self) -> bool {
        matches!(self, Source::Device(_) | Source::Disk(DiskPlace::Block(_)))
    }
}

/// This host's disks and, beside them, the shared pools' images other hosts hold (`foreign`,
/// read before the transaction; a name that became this host's meanwhile counts once).
fn with_foreign(mut disks: Vec<BackingDevice>, foreign: &[BackingDevice]) -> Vec<BackingDevice> {
    let extra: Vec<BackingDevice> = foreign
        .iter()
        .filter(|f| !disks.iter().any(|d| d.name == f.name))
        .cloned()
        .collect();
    disks.extend(extra);
    disks
}

/// A memory-only file holding `key`, read from the start: how a key reaches QEMU without a
/// file on disk or an argument others can read.
fn secret_file(key: &str) -> Result<std::fs::File, ServiceError> {
    use std::io::{Seek, Write};
    use std::os::fd::FromRawFd;
    let io = |source| HostError::Io {
        action: "make the key file for",
        path: "a Ceph disk".into(),
        source,
    };
    // SAFETY: memfd_create with a static name; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::memfd_create(c"ivm-ceph-key".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io(std::io::Error::last_os_error()).into());
    }
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(key.as_bytes()).map_err(io)?;
    f.rewind().map_err(io)?;
    Ok(f)
}

/// Opens a block device exclusively, so the host cannot mount it while a partition has it.
fn open_block(path: &Path, what: &str) -> Result<(std::fs::File, bool), ServiceError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_EXCL)
        .open(path)
        .map(|f| (f, true))
        .map_err(|source| ServiceError::DeviceBusy {
            what: what.to_string(),
            path: path.to_path_buf(),
            source,
        })
}

/// A paging device is never used as a virtual disk, nor removed or changed as one.
fn not_paging(tx: &ivm_store::Tx, name: &str, action: &str) -> Result<(), ServiceError> {
    match tx.paging_devices()?.into_iter().find(|v| v.name == name) {
        Some(v) => Err(ivm_rules::RuleError::InUse {
            what: "backing device",
            name: name.to_string(),
            by: format!(
                "it is the paging device of partition {} and cannot be {action}; it goes \
                 with the partition (or with its change to mem_mode=ded)",
                v.lpar_id
            ),
        }
        .into()),
        None => Ok(()),
    }
}

/// An image refused for what it is (a refusal with its fix), or a host failure to import it.
fn image_error(e: ImageError) -> ServiceError {
    match e {
        ImageError::Unsupported { .. }
        | ImageError::Refused { .. }
        | ImageError::NotReadable { .. } => ServiceError::BadImage(e),
        other => host(other),
    }
}
