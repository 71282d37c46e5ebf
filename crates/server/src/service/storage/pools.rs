//! Storage pools: file pools (on a directory or in a volume group), volume group pools and
//! their physical volumes, the default pool.

use super::*;

impl Service {
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
    pub(super) fn create_pool_in_vg(
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
    pub(super) fn mount_pool_volumes(&self) {
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
    pub(super) fn check_pool_dir(&self, path: &str) -> Result<(), ServiceError> {
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
    pub(super) fn member_devices(
        &self,
        tx: &ivm_store::Tx,
        pool: &str,
    ) -> Result<Vec<String>, ServiceError> {
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
}
