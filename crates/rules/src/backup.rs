//! Whether a configuration backup may be restored: taken on this managed system (or the
//! administrator says otherwise), onto a system with no client partitions, each partition
//! fitting what is free as the ones before it take their share, every mapped device present.

use ivm_model::{ManagedSystem, Partition, PartitionState, ProfileBackup};

use crate::{check_fits, RuleError};

/// The partitions to restore, as they will be stored (Not Activated, not running), or why the
/// backup cannot be restored. `existing` are the partitions the system has now; `devices` the
/// backing devices (virtual disks and physical volumes) and `media` the optical media it has.
pub fn check_restore(
    b: &ProfileBackup,
    sys: &ManagedSystem,
    existing: &[Partition],
    devices: &[String],
    media: &[String],
    ignore_mtms: bool,
) -> Result<Vec<Partition>, RuleError> {
    let here = format!("{}*{}", sys.type_model, sys.serial_num);
    let there = format!("{}*{}", b.type_model, b.serial_num);
    if here != there && !ignore_mtms {
        return Err(RuleError::Backup(format!(
            "was taken on managed system {there}, and this is {here}; restore it here with --ignoremtms"
        )));
    }
    let clients: Vec<&str> = existing
        .iter()
        .filter(|p| !p.is_management())
        .map(|p| p.name.as_str())
        .collect();
    if !clients.is_empty() {
        return Err(RuleError::Backup(format!(
            "is restored only onto a system without client partitions, and this one has {}; clear them first with lpcfgop -o clear",
            clients.join(", ")
        )));
    }
    let mut now: Vec<Partition> = existing.to_vec();
    let mut out = Vec::new();
    for p in &b.partitions {
        if p.is_management() {
            return Err(RuleError::Backup(
                "holds the management partition, which is never restored".into(),
            ));
        }
        if now
            .iter()
            .any(|q| q.lpar_id == p.lpar_id || q.name == p.name)
        {
            return Err(RuleError::Backup(format!(
                "holds partition {} (ID {}) twice",
                p.name, p.lpar_id
            )));
        }
        let mut p = p.clone();
        p.state = PartitionState::NotActivated;
        p.ref_code = String::new();
        p.run = None;
        check_fits(sys, &now, None, &p).map_err(|e| {
            RuleError::Backup(format!(
                "does not fit this system at partition {}: {e}",
                p.name
            ))
        })?;
        now.push(p.clone());
        out.push(p);
    }
    let ids: Vec<u32> = out.iter().map(|p| p.lpar_id).collect();
    if let Some(a) = b.adapters.iter().find(|a| !ids.contains(&a.lpar_id)) {
        return Err(RuleError::Backup(format!(
            "maps vhost{} to partition ID {}, which it does not hold",
            a.vhost, a.lpar_id
        )));
    }
    let missing: Vec<&str> = b
        .mappings
        .iter()
        .map(|m| m.backing.as_str())
        .filter(|d| !devices.iter().any(|x| x == d))
        .chain(
            b.optical
                .iter()
                .filter_map(|o| o.media.as_deref())
                .filter(|m| !media.iter().any(|x| x == m)),
        )
        .collect();
    if !missing.is_empty() {
        return Err(RuleError::Backup(format!(
            "maps devices or media this system does not have: {}",
            missing.join(", ")
        )));
    }
    Ok(out)
}
