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
    /// optical devices (virtual disks and media stay); only while none is active.
    pub fn clear_partitions(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.task(actor, "clear partition configuration", "profiles", |tx| {
            actor.require_modify()?;
            let parts = tx.partitions()?;
            let active: Vec<&str> = parts
                .iter()
                .filter(|p| !p.is_management())
                .filter(|p| {
                    !matches!(
                        p.state,
                        PartitionState::NotActivated | PartitionState::Error
                    )
                })
                .map(|p| p.name.as_str())
                .collect();
            if !active.is_empty() {
                return Err(ServiceError::Conflict(format!(
                    "partitions {} are active; shut them down first (chsysstate -o shutdown)",
                    active.join(", ")
                )));
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
            Ok(((), format!("{n} partitions")))
        })
    }

    /// `rstprofdata -l 1 -f FILE [--ignoremtms]`: the backup's partitions, adapters, mappings and
    /// optical devices, all in one transaction; a bad or foreign file changes nothing.
    pub fn restore(&self, actor: &Actor, req: &RestoreRequest) -> Result<Vec<u32>, ServiceError> {
        self.task(actor, "restore partition configuration", "profiles", |tx| {
            actor.require_modify()?;
            let b = ProfileBackup::from_file_text(&req.data)
                .map_err(|e| ServiceError::from(ivm_rules::RuleError::Backup(e)))?;
            let devices: Vec<String> = tx
                .disks()?
                .into_iter()
                .map(|d| d.name)
                .chain(tx.hdisks()?.into_iter().map(|h| h.name))
                .collect();
            let media: Vec<String> = tx.media()?.into_iter().map(|m| m.name).collect();
            let parts = ivm_rules::check_restore(
                &b,
                &self.system,
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
            Ok((ids, format!("{} partitions", parts.len())))
        })
    }
}
