//! Mappings of backing devices to partitions' virtual SCSI adapters, hot-plugged when the
//! partition runs, and the storage a starting partition's QEMU opens.

use super::*;

impl Service {
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
    pub(in crate::service) fn map_unlogged(
        &self,
        req: &MapRequest,
    ) -> Result<Mapping, ServiceError> {
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
    pub(super) fn backing_source(
        &self,
        tx: &ivm_store::Tx,
        m: &Mapping,
    ) -> Result<Source, ServiceError> {
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
    pub(super) fn unmap_unlogged(&self, vtd: &str) -> Result<Mapping, ServiceError> {
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
    pub(in crate::service) fn storage_for_launch(
        &self,
        lpar_id: u32,
    ) -> Result<LaunchStorage, ServiceError> {
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
