//! Ceph RBD pools: storage that other ivm hosts see too. A pool is its monitors, Ceph pool,
//! user and key (kept by the store apart from the pool's listing); its virtual disks are RBD
//! images QEMU opens itself. The images other hosts made in the same Ceph pool count against
//! its size here, so two hosts sharing it commit from one budget.

use ivm_model::{BackingDevice, MapRequest, OfferedDisk, PoolKind, PoolSpec, StoragePool};
use ivm_storage::RbdPool;
use ivm_store::DiskState;

use super::error::host;
use super::pooldriver::PoolDriver;
use super::{Actor, Service, ServiceError};

impl Service {
    /// The driver of `pool`, with its key when it is an RBD pool.
    pub(super) fn pool_driver(&self, pool: &StoragePool) -> Result<PoolDriver, ServiceError> {
        let key = match pool.kind {
            PoolKind::Rbdpool => self.store.read(|tx| tx.pool_secret(&pool.name))?,
            _ => None,
        };
        Ok(PoolDriver::with_key(pool, key, &self.volumes))
    }

    /// The images of this host's RBD pools that are not its own virtual disks (other hosts'
    /// disks in the same Ceph pool), as backing devices of the pool that sees them. Read from
    /// Ceph before a change's transaction, which adds them to its own disks.
    pub(super) fn foreign_disks(&self) -> Result<Vec<BackingDevice>, ServiceError> {
        let pools = self.store.read(|tx| tx.pools())?;
        let mut out = Vec::new();
        for p in pools.iter().filter(|p| p.kind == PoolKind::Rbdpool) {
            let driver = self.pool_driver(p)?;
            let Some(r) = driver.rbd() else { continue };
            let images = r.images().map_err(host)?;
            out.extend(images.into_iter().map(|(name, size_mb)| BackingDevice {
                name,
                pool: p.name.clone(),
                size_mb,
            }));
        }
        let mine = self.store.read(|tx| tx.disks())?;
        out.retain(|f| !mine.iter().any(|d| d.name == f.name && d.pool == f.pool));
        Ok(out)
    }

    /// A migration's target takes over a disk on shared storage as it is: recorded in this
    /// host's pool of the same Ceph pool and mapped to `vadapter` (nothing made on the host).
    pub(super) fn adopt_shared_disk(
        &self,
        d: &OfferedDisk,
        vadapter: &str,
    ) -> Result<(), ServiceError> {
        let Some(sh) = &d.shared else {
            return Ok(());
        };
        self.store.write(|tx| {
            let pools = tx.pools()?;
            let pool = ivm_rules::storage_pool_of(&pools, sh).ok_or_else(|| {
                ivm_rules::RuleError::NoSuch {
                    what: "RBD pool of this host on the same Ceph pool",
                    name: format!("{} of cluster {}", sh.pool, sh.fsid),
                }
            })?;
            if tx.disks()?.iter().any(|x| x.name == d.name) {
                return Err(ivm_rules::RuleError::StorageNameInUse {
                    what: "virtual disk",
                    name: d.name.clone(),
                }
                .into());
            }
            let disk = BackingDevice {
                name: d.name.clone(),
                pool: pool.name.clone(),
                size_mb: d.size_mb,
            };
            Ok::<_, ServiceError>(tx.put_disk(&disk, DiskState::Ready)?)
        })?;
        let mapped = self.map_unlogged(&MapRequest {
            backing: d.name.clone(),
            vadapter: vadapter.to_string(),
            vtd: None,
        });
        if let Err(e) = mapped {
            self.forget_disks(std::slice::from_ref(&d.name));
            return Err(e);
        }
        Ok(())
    }

    /// Forgets virtual disks on shared storage that another host owns now (or again): the
    /// records go, the images stay.
    pub(super) fn forget_disks(&self, names: &[String]) {
        for name in names {
            if let Err(e) = self.store.write(|tx| tx.delete_disk(name)) {
                tracing::warn!(disk = %name, error = %e, "cannot forget a shared virtual disk");
            }
        }
    }

    /// Whether virtual disk `name` is in an RBD pool (storage other hosts see).
    pub(super) fn is_shared_disk(&self, name: &str) -> bool {
        self.store
            .read(|tx| {
                let pools = tx.pools()?;
                Ok::<_, ServiceError>(tx.disks()?.into_iter().any(|d| {
                    d.name == name
                        && pools
                            .iter()
                            .any(|p| p.name == d.pool && p.kind == PoolKind::Rbdpool)
                }))
            })
            .unwrap_or(false)
    }

    /// `mksp -rbd NAME -mon HOSTS -rbdpool POOL -user ID -size N` (key on standard input): a
    /// pool on a Ceph RBD pool. The rules check what was given before Ceph's tools see it;
    /// the monitors are asked for the cluster's fsid with the key, which proves both.
    pub(super) fn create_rbd_pool(
        &self,
        actor: &Actor,
        spec: &PoolSpec,
    ) -> Result<StoragePool, ServiceError> {
        let _held = self.storage_lock();
        self.logged(actor, "create storage pool", &spec.name, || {
            let r = ivm_rules::check_rbd_spec(spec)?;
            // The name first, so a clash is refused before Ceph is asked anything.
            self.store.read(|tx| {
                Ok::<_, ServiceError>(ivm_rules::new_rbd_pool(&tx.pools()?, spec, "")?)
            })?;
            let ceph = RbdPool {
                monitors: r.monitors.clone(),
                pool: r.pool.clone(),
                user: r.user.clone(),
                key: r.key.clone(),
            };
            let unusable = |e: ivm_storage::RbdError| ivm_rules::RuleError::CephUnusable {
                pool: r.pool.clone(),
                monitors: r.monitors.clone(),
                user: r.user.clone(),
                cause: e.to_string(),
            };
            let fsid = ceph.fsid().map_err(unusable)?;
            // The Ceph pool must exist and be readable by the user.
            ceph.images().map_err(unusable)?;
            let pool = self.store.write(|tx| {
                let pool = ivm_rules::new_rbd_pool(&tx.pools()?, spec, &fsid)?;
                tx.put_pool(&pool)?;
                tx.set_pool_secret(&pool.name, &r.key)?;
                Ok::<_, ServiceError>(pool)
            })?;
            Ok((pool.clone(), pool.name.clone()))
        })
    }
}
