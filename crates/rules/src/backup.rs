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
        check_restored_partition(sys, p).map_err(|e| {
            RuleError::Backup(format!(
                "holds partition {} that mksyscfg would refuse: {e}",
                p.name.escape_debug()
            ))
        })?;
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
    check_restored_devices(b)?;
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

/// Text that reaches IVM-format output or QEMU's command line: no control characters.
fn plain_text(attr: &'static str, v: &str) -> Result<(), RuleError> {
    if v.chars().any(char::is_control) {
        return Err(RuleError::OutOfRange {
            attr,
            value: v.escape_debug().to_string(),
            allowed: "text without control characters".into(),
        });
    }
    Ok(())
}

/// A partition from a backup passes the rules `mksyscfg` applies: its name, ID, processors,
/// memory, slots, adapters and boot settings, each as a new partition would have them.
pub fn check_restored_partition(sys: &ManagedSystem, p: &Partition) -> Result<(), RuleError> {
    crate::validate_partition_name(&p.name)?;
    if p.lpar_id < 2 || p.lpar_id > sys.max_lpars {
        return Err(RuleError::IdOutOfRange {
            id: p.lpar_id,
            max: sys.max_lpars,
        });
    }
    if p.lpar_env != ivm_model::LparEnv::Aixlinux {
        return Err(RuleError::Unsupported {
            attr: "lpar_env",
            value: p.lpar_env.to_string(),
            reason: "client partitions are aixlinux; only the management partition is vioserver",
        });
    }
    let c = &p.procs;
    let procs = crate::resolve_procs(
        sys,
        None,
        &crate::ProcRequest {
            mode: Some(c.proc_mode),
            min_procs: Some(c.min_procs),
            desired_procs: Some(c.desired_procs),
            max_procs: Some(c.max_procs),
            min_units: c.min_proc_units,
            desired_units: c.desired_proc_units,
            max_units: c.max_proc_units,
            sharing_mode: Some(c.sharing_mode),
            // What mksyscfg takes for the mode (a dedicated partition has no weight to give).
            uncap_weight: (c.proc_mode == ivm_model::ProcMode::Shared).then_some(c.uncap_weight),
        },
    )?;
    let m = &p.mem;
    let mem = crate::resolve_memory(
        sys,
        None,
        &crate::MemRequest {
            mode: Some(m.mem_mode),
            min: Some(m.min_mem),
            desired: Some(m.desired_mem),
            max: Some(m.max_mem),
            weight: (m.mem_mode == ivm_model::MemMode::Shared).then_some(m.mem_weight),
        },
    )?;
    if procs != p.procs || mem != p.mem {
        return Err(RuleError::OutOfRange {
            attr: "processors and memory",
            value: "as stored".into(),
            allowed: "the values the rules make of them".into(),
        });
    }
    crate::partition::check_slots(p.max_virtual_slots)?;
    let mut slots = Vec::new();
    for a in &p.eth.virtual_eth_adapters {
        if a.slot_num < 2 || a.slot_num >= p.max_virtual_slots || slots.contains(&a.slot_num) {
            return Err(RuleError::OutOfRange {
                attr: "virtual_eth_adapters slot",
                value: a.slot_num.to_string(),
                allowed: format!("2 to {}, each once", p.max_virtual_slots - 1),
            });
        }
        if !(1..=4094).contains(&a.port_vlan_id) {
            return Err(RuleError::OutOfRange {
                attr: "port_vlan_id",
                value: a.port_vlan_id.to_string(),
                allowed: "1 to 4094".into(),
            });
        }
        slots.push(a.slot_num);
    }
    let mac = &p.eth.virtual_eth_mac_base_value;
    if !(mac.is_empty() || mac.len() == 10 && mac.chars().all(|c| c.is_ascii_hexdigit())) {
        return Err(RuleError::OutOfRange {
            attr: "virtual_eth_mac_base_value",
            value: mac.escape_debug().to_string(),
            allowed: "10 hex digits".into(),
        });
    }
    // Boot files as every profile stores them (absolute paths; the service confines them to
    // the boot directory as it does for mksyscfg), arguments on one line.
    crate::resolve_boot(&p.boot, None, None, None)?;
    plain_text("os_version", &p.os_version)?;
    Ok(())
}

/// A backup's adapters, mappings and optical devices as `mkvdev` would have made them: names
/// that are names, each disk mapped once, each adapter and LUN once.
pub fn check_restored_devices(b: &ProfileBackup) -> Result<(), RuleError> {
    let bad = |what: String| RuleError::Backup(what);
    let mut vhosts = Vec::new();
    for a in &b.adapters {
        if vhosts.contains(&a.vhost) {
            return Err(bad(format!("holds vhost{} twice", a.vhost)));
        }
        vhosts.push(a.vhost);
    }
    let adapter_of = |vhost: u32, lpar: u32| {
        b.adapters
            .iter()
            .any(|a| a.vhost == vhost && a.lpar_id == lpar)
    };
    let mut luns: Vec<(u32, u32)> = Vec::new();
    let mut vtds: Vec<&str> = Vec::new();
    let mut backings: Vec<&str> = Vec::new();
    let devices = b
        .mappings
        .iter()
        .map(|m| (m.vtd.as_str(), m.vhost, m.lun, m.lpar_id))
        .chain(
            b.optical
                .iter()
                .map(|o| (o.vtd.as_str(), o.vhost, o.lun, o.lpar_id)),
        );
    for (vtd, vhost, lun, lpar) in devices {
        crate::validate_storage_name(vtd)
            .map_err(|_| bad(format!("holds a device named {}", vtd.escape_debug())))?;
        if vtds.contains(&vtd) {
            return Err(bad(format!("holds device {vtd} twice")));
        }
        if !adapter_of(vhost, lpar) {
            return Err(bad(format!(
                "puts {vtd} on vhost{vhost}, not an adapter of partition {lpar}"
            )));
        }
        if luns.contains(&(vhost, lun)) {
            return Err(bad(format!(
                "puts two devices at LUN {lun} of vhost{vhost}"
            )));
        }
        vtds.push(vtd);
        luns.push((vhost, lun));
    }
    for m in &b.mappings {
        crate::validate_storage_name(&m.backing)
            .map_err(|_| bad(format!("maps a device named {}", m.backing.escape_debug())))?;
        if backings.contains(&m.backing.as_str()) {
            return Err(bad(format!(
                "maps {} twice (a disk belongs to one partition)",
                m.backing
            )));
        }
        backings.push(&m.backing);
    }
    for o in &b.optical {
        if let Some(media) = &o.media {
            crate::validate_media_name(media)
                .map_err(|_| bad(format!("loads media named {}", media.escape_debug())))?;
        }
    }
    Ok(())
}
