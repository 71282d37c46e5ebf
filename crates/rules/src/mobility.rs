//! Partition mobility: which partitions may move, what a target may take, and the addresses
//! ivm hands to ssh.

use ivm_model::{
    Accel, BackingDevice, BackingKind, DiskSpec, ManagedSystem, Mapping, MemMode, MigrationKind,
    MigrationOffer, OfferedDisk, Partition, PartitionState, SharedDisk, StoragePool,
};

use crate::RuleError;

/// Refuses any change to a partition a migration holds.
pub fn check_not_migrating(p: &Partition) -> Result<(), RuleError> {
    if p.state.is_migrating() {
        return Err(RuleError::Migrating {
            name: p.name.clone(),
            state: p.state.to_string(),
        });
    }
    Ok(())
}

/// Checks `--ip` and `-u` before ssh sees them: an IPv4 or IPv6 address or a host name (with
/// an optional `:PORT` after a name or IPv4 address), and a plain user name. Nothing that
/// could read as an option or a second argument reaches ssh.
pub fn check_peer(ip: &str, user: &str) -> Result<(String, u16), RuleError> {
    let bad = |attr, why| RuleError::BadPeer {
        attr,
        given: if attr == "--ip" { ip } else { user }.to_string(),
        why,
    };
    let user_ok = !user.is_empty()
        && user.len() <= 32
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !user_ok {
        return Err(bad(
            "-u",
            "a user name is 1 to 32 letters, digits, '_', '-' or '.', not starting with '-'",
        ));
    }
    let (host, port) = check_host(ip, "--ip")?;
    Ok((host, if port == 0 { 22 } else { port }))
}

/// Checks an address for another host: an IPv6 address, or an IPv4 address or host name with
/// an optional `:PORT`; `attr` names the option in the refusal.
pub fn check_host(ip: &str, attr: &'static str) -> Result<(String, u16), RuleError> {
    let bad = |why| RuleError::BadPeer {
        attr,
        given: ip.to_string(),
        why,
    };
    if ip.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((ip.to_string(), 0));
    }
    let (host, port) = match ip.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(port) if port > 0 => (h, port),
            _ => return Err(bad("the port after ':' must be 1 to 65535")),
        },
        None => (ip, 0),
    };
    let name_ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    if !name_ok {
        return Err(bad(
            "an IP address or a host name (letters, digits, '-' and '.'), with :PORT if not the default",
        ));
    }
    Ok((host.to_string(), port))
}

/// Checks the password `mkauthkeys` logs in with once: ssh's askpass hands it over as one
/// line of text, so it must be 1 to 512 bytes with no control character (a NUL, a newline).
pub fn check_peer_password(password: &str) -> Result<(), RuleError> {
    let why = if password.is_empty() {
        Some("it is empty")
    } else if password.len() > 512 {
        Some("it is longer than 512 bytes")
    } else if password.chars().any(char::is_control) {
        Some("it holds a control character (a NUL, a newline or a tab)")
    } else {
        None
    };
    match why {
        Some(why) => Err(RuleError::BadPeerPassword { why }),
        None => Ok(()),
    }
}

/// Whether `p` may move, and how: a running partition moves active, a defined one inactive.
/// Its virtual disks (`mappings` to pool backing devices, in `disks`) move with a running
/// partition, copied while it runs; a whole physical volume stays with its host and an
/// optical device (`optical`, its virtual target devices) is not moved, so both are refused
/// with what to do. Returns the kind and the disks that move, in LUN order.
pub fn migration_kind(
    p: &Partition,
    mappings: &[Mapping],
    optical: &[String],
    storage: (&[StoragePool], &[BackingDevice]),
) -> Result<(MigrationKind, Vec<OfferedDisk>), RuleError> {
    let (pools, disks) = storage;
    let refuse = |reason: String| RuleError::NotMigratable {
        name: p.name.clone(),
        reason,
    };
    if p.is_management() {
        return Err(RuleError::ManagementPartition("migrated"));
    }
    if p.boot.boot_firmware == ivm_model::BootFirmware::Uefi {
        // Its UEFI variables are a file of this host that the migration stream does not carry.
        return Err(refuse(
            "it boots with UEFI, whose variables do not move yet; set boot_firmware=bios (its disk's own boot loader still boots with BIOS only if it has one) or recreate it on the target".into(),
        ));
    }
    check_not_migrating(p)?;
    let kind = match p.state {
        PartitionState::Running => MigrationKind::Active,
        PartitionState::NotActivated => MigrationKind::Inactive,
        s => {
            return Err(refuse(format!(
                "it is {s}; only a Running or Not Activated partition moves"
            )))
        }
    };
    if !optical.is_empty() {
        return Err(refuse(format!(
            "it has virtual optical devices ({}), which do not move; remove them (rmvdev) first",
            optical.join(", ")
        )));
    }
    let mut mine: Vec<&Mapping> = mappings.iter().filter(|m| m.lpar_id == p.lpar_id).collect();
    mine.sort_by_key(|m| m.lun);
    if let Some(m) = mine.iter().find(|m| m.kind != BackingKind::Lv) {
        return Err(refuse(format!(
            "{} maps the whole physical volume {}, which stays with this host; map a virtual disk instead",
            m.vtd, m.backing
        )));
    }
    let mut moving = Vec::new();
    for (i, m) in mine.iter().enumerate() {
        if m.lun != i as u32 {
            return Err(refuse(format!(
                "its LUNs are not 0 to {} in order ({} is LUN {}); the target numbers them so",
                mine.len() - 1,
                m.vtd,
                m.lun
            )));
        }
        let d = disks.iter().find(|d| d.name == m.backing).ok_or_else(|| {
            refuse(format!(
                "{} maps {}, which is not a virtual disk here",
                m.vtd, m.backing
            ))
        })?;
        let shared = pools
            .iter()
            .find(|p| p.name == d.pool)
            .and_then(|p| p.rbd.as_ref())
            .map(|l| SharedDisk {
                fsid: l.fsid.clone(),
                pool: l.pool.clone(),
            });
        if shared.is_none() && kind == MigrationKind::Inactive {
            return Err(refuse(format!(
                "its virtual disk {} is in a pool only this host sees, and such disks are copied only while the partition runs; activate it and move it, or put its disks in a shared pool (mksp -rbd)",
                d.name
            )));
        }
        moving.push(OfferedDisk {
            vtd: m.vtd.clone(),
            lun: m.lun,
            name: d.name.clone(),
            size_mb: d.size_mb,
            shared,
        });
    }
    Ok((kind, moving))
}

/// What the source says its QEMU holds must be the partition's committed values: the target
/// preallocates the boot memory and plugged blocks, so a shape holding more than the desired
/// memory (a balloon holding memory, or a forged offer) would use what is not committed here.
fn check_shape(
    sys: &ManagedSystem,
    p: &Partition,
    s: &ivm_model::MachineShape,
) -> Result<(), String> {
    let l = &s.limits;
    if s.vcpus != p.procs.desired_procs
        || s.vcpus == 0
        || s.vcpus > l.max_procs
        || l.max_procs > crate::procs::MAX_VIRTUAL_PROCS
    {
        return Err(format!(
            "its QEMU has {} vCPUs of at most {}, which is not its desired_procs={} within 1 to {}",
            s.vcpus,
            l.max_procs,
            p.procs.desired_procs,
            crate::procs::MAX_VIRTUAL_PROCS
        ));
    }
    let resident = s.boot_mem_mb + s.plugged_mem_mb;
    if resident != p.mem.desired_mem {
        return Err(format!(
            "its QEMU holds {resident} MB (boot {} MB, plugged {} MB) but desired_mem={}: memory given back below the boot memory stays with the balloon; set the memory back to at least {} MB (chhwres -r mem -o s) or shut it down and move it inactive",
            s.boot_mem_mb, s.plugged_mem_mb, p.mem.desired_mem, s.boot_mem_mb
        ));
    }
    if l.max_mem < resident || l.max_mem > sys.installed_mem {
        return Err(format!(
            "its QEMU's memory maximum {} MB is outside {resident} to {} MB",
            l.max_mem, sys.installed_mem
        ));
    }
    Ok(())
}

/// The target's room for an offer's disks: each made, in order, in the default pool under
/// its own name, as `mkbdsp` would; a disk on shared storage is taken as it is, in the
/// target's pool of the same Ceph pool (`disks` holds what this host keeps, so a name in
/// use here is refused).
fn check_disk_room(
    pools: &[StoragePool],
    disks: &[BackingDevice],
    offered: &[OfferedDisk],
) -> Result<(), RuleError> {
    let mut planned = disks.to_vec();
    for d in offered {
        if let Some(sh) = &d.shared {
            let pool = storage_pool_of(pools, sh).ok_or_else(|| RuleError::NoSuch {
                what: "RBD pool of this host on the same Ceph pool",
                name: format!(
                    "{} of cluster {} (make one with mksp -rbd)",
                    sh.pool, sh.fsid
                ),
            })?;
            if planned.iter().any(|x| x.name == d.name) || pools.iter().any(|p| p.name == d.name) {
                return Err(RuleError::StorageNameInUse {
                    what: "virtual disk",
                    name: d.name.clone(),
                });
            }
            planned.push(BackingDevice {
                name: d.name.clone(),
                pool: pool.name.clone(),
                size_mb: d.size_mb,
            });
            continue;
        }
        let made = crate::new_disk(
            pools,
            &planned,
            &DiskSpec {
                name: d.name.clone(),
                pool: None,
                size_mb: d.size_mb,
                vadapter: None,
                vtd: None,
                image: None,
            },
        )?;
        planned.push(made);
    }
    Ok(())
}

/// This host's pool on the shared storage `sh`, if it has one.
pub fn storage_pool_of<'a>(pools: &'a [StoragePool], sh: &SharedDisk) -> Option<&'a StoragePool> {
    pools.iter().find(|p| {
        p.rbd
            .as_ref()
            .is_some_and(|l| l.fsid == sh.fsid && l.pool == sh.pool)
    })
}

/// What the target checks of an offer: the managed system asked for, the accelerator, the
/// name, the ID (the one asked for, else the partition's own when free, else the lowest free),
/// the boot files (`missing_boot_files`: those the target's boot directory lacks), that the
/// committed resources fit beside the target's own, and that its disks fit in the target's
/// default pool (`storage`: the pools and backing devices there) under their own names. Returns the partition as the target
/// reserves it (`Migrating - Not Activated`).
pub fn check_incoming(
    sys: &ManagedSystem,
    existing: &[Partition],
    storage: (&[StoragePool], &[BackingDevice]),
    accel: Accel,
    offer: &MigrationOffer,
    missing_boot_files: &[String],
) -> Result<Partition, RuleError> {
    let p = &offer.partition;
    let refuse = |reason: String| RuleError::TargetRefuses {
        system: sys.name.clone(),
        name: p.name.clone(),
        reason,
    };
    if let Some(t) = &offer.target_system {
        if *t != sys.name {
            return Err(refuse(format!(
                "the host at that address is managed system {}, not {t}",
                sys.name
            )));
        }
    }
    if p.is_management() {
        return Err(RuleError::ManagementPartition("migrated"));
    }
    if let Some(shape) = &offer.shape {
        if shape.accel != accel {
            return Err(refuse(format!(
                "it runs under {} on the source and this host runs partitions under {accel}; a running partition moves only between hosts with the same accelerator",
                shape.accel
            )));
        }
    }
    if let Some(shape) = &offer.shape {
        check_shape(sys, p, shape).map_err(refuse)?;
    }
    crate::validate_partition_name(&p.name)?;
    if let Some(other) = existing.iter().find(|e| e.name == p.name) {
        return Err(refuse(format!(
            "partition {} here is already named {}; rename one of them first",
            other.lpar_id, p.name
        )));
    }
    let free = |id: u32| id > 1 && id <= sys.max_lpars && existing.iter().all(|e| e.lpar_id != id);
    let id = match offer.dest_lpar_id {
        Some(id) if free(id) => id,
        Some(id) => {
            return Err(refuse(format!(
                "dest_lpar_id={id} is in use or outside 2 to {}",
                sys.max_lpars
            )))
        }
        None if free(p.lpar_id) => p.lpar_id,
        None => crate::lowest_free_id(existing, sys.max_lpars)?,
    };
    if p.mem.mem_mode == MemMode::Shared {
        return Err(refuse("it uses shared memory".into()));
    }
    // It keeps its MACs (its network peers know them): none may be a partition's here.
    let others: Vec<&Partition> = existing.iter().collect();
    crate::check_mac_base(&p.eth.virtual_eth_mac_base_value, &others).map_err(|e| {
        refuse(format!(
            "{e}; change the MAC base of one of them (chsyscfg virtual_eth_mac_base_value=) first"
        ))
    })?;
    if !missing_boot_files.is_empty() {
        return Err(refuse(format!(
            "its boot files are not in this host's boot directory: {}; copy them there (same names) first",
            missing_boot_files.join(", ")
        )));
    }
    let mut next = p.clone();
    next.lpar_id = id;
    next.state = PartitionState::MigratingNotActivated;
    next.ref_code = String::new();
    next.run = None;
    // Every rule mksyscfg applies, as for a restored backup: an offer is what the other host
    // says, and this host takes no partition its own rules would refuse.
    crate::backup::check_restored_partition(sys, &next).map_err(|e| refuse(e.to_string()))?;
    crate::check_fits(sys, existing, None, &next).map_err(|e| refuse(e.to_string()))?;
    check_disk_room(storage.0, storage.1, &offer.disks).map_err(|e| refuse(e.to_string()))?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::system;
    use ivm_model::{LaunchLimits, MachineShape};

    fn client(id: u32, name: &str, procs: u32, mem: u64) -> Partition {
        let mut p = crate::default_management_partition(&system(4, 4096));
        p.lpar_id = id;
        p.name = name.into();
        p.lpar_env = ivm_model::LparEnv::Aixlinux;
        p.state = PartitionState::NotActivated;
        p.procs.min_procs = 1;
        p.procs.desired_procs = procs;
        p.procs.max_procs = procs;
        p.procs.min_proc_units = Some(ivm_model::ProcUnits(10));
        p.procs.desired_proc_units = Some(ivm_model::ProcUnits(10 * procs));
        p.procs.max_proc_units = Some(ivm_model::ProcUnits(100 * procs));
        p.mem.min_mem = mem;
        p.mem.desired_mem = mem;
        p.mem.max_mem = mem;
        let tag = name
            .bytes()
            .fold(0u16, |h, b| h.rotate_left(5) ^ u16::from(b));
        p.eth.virtual_eth_mac_base_value = format!("02AABB{tag:04X}");
        p
    }

    fn offer(p: Partition) -> MigrationOffer {
        MigrationOffer {
            migration_id: "m1".into(),
            source_system: "src".into(),
            shape: Some(MachineShape {
                vcpus: p.procs.desired_procs,
                boot_mem_mb: p.mem.desired_mem,
                plugged_mem_mb: 0,
                balloon: false,
                limits: LaunchLimits {
                    max_procs: p.procs.max_procs,
                    min_mem: p.mem.desired_mem,
                    max_mem: p.mem.max_mem,
                    vcpu_plugs_left: None,
                },
                accel: Accel::Tcg,
            }),
            partition: p,
            dest_lpar_id: None,
            target_system: None,
            disks: vec![],
        }
    }

    #[test]
    fn a_peer_password_is_one_line_of_text() {
        assert!(check_peer_password("pa ss'\"$w0rd名前").is_ok());
        for bad in ["", "a\0b", "a\nb", "a\tb", &"x".repeat(513)] {
            assert!(
                matches!(
                    check_peer_password(bad),
                    Err(RuleError::BadPeerPassword { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn peers_are_addresses_and_plain_user_names() {
        assert_eq!(
            check_peer("10.1.2.3", "padmin").unwrap(),
            ("10.1.2.3".into(), 22)
        );
        assert_eq!(
            check_peer("ivm2.example:2222", "padmin").unwrap(),
            ("ivm2.example".into(), 2222)
        );
        assert_eq!(
            check_peer("fe80::1", "a.b").unwrap(),
            ("fe80::1".into(), 22)
        );
        for (ip, user) in [
            ("-oProxyCommand=x", "padmin"),
            ("host name", "padmin"),
            ("", "padmin"),
            ("h:0", "padmin"),
            ("h;id", "padmin"),
            ("h", "-l"),
            ("h", "a b"),
            ("h", ""),
            ("h", "x$(id)"),
        ] {
            assert!(
                matches!(check_peer(ip, user), Err(RuleError::BadPeer { .. })),
                "{ip} {user}"
            );
        }
    }

    #[test]
    fn only_running_or_defined_partitions_without_storage_move() {
        let mut p = client(2, "a", 1, 256);
        p.state = PartitionState::Running;
        assert_eq!(
            migration_kind(&p, &[], &[], (&[], &[])).unwrap().0,
            MigrationKind::Active
        );
        let disk = BackingDevice {
            name: "d1".into(),
            pool: "rootvg".into(),
            size_mb: 64,
        };
        let map = |lun, kind| Mapping {
            vtd: format!("vtscsi{lun}"),
            lpar_id: 2,
            vhost: 0,
            lun,
            backing: "d1".into(),
            kind,
        };
        let (_, moving) = migration_kind(
            &p,
            &[map(0, BackingKind::Lv)],
            &[],
            (&[], std::slice::from_ref(&disk)),
        )
        .unwrap();
        assert_eq!(moving.len(), 1);
        assert_eq!((moving[0].name.as_str(), moving[0].size_mb), ("d1", 64));
        for (maps, optical) in [
            (vec![map(0, BackingKind::Disk)], vec![]),
            (vec![map(1, BackingKind::Lv)], vec![]),
            (vec![], vec!["vtopt0".to_string()]),
        ] {
            assert!(matches!(
                migration_kind(&p, &maps, &optical, (&[], std::slice::from_ref(&disk))),
                Err(RuleError::NotMigratable { .. })
            ));
        }
        p.state = PartitionState::NotActivated;
        assert_eq!(
            migration_kind(&p, &[], &[], (&[], &[])).unwrap().0,
            MigrationKind::Inactive
        );
        assert!(matches!(
            migration_kind(
                &p,
                &[map(0, BackingKind::Lv)],
                &[],
                (&[], std::slice::from_ref(&disk))
            ),
            Err(RuleError::NotMigratable { .. })
        ));
        // A disk on a shared pool moves with a defined partition too: nothing is copied.
        let ceph = StoragePool {
            name: "rootvg".into(),
            kind: ivm_model::PoolKind::Rbdpool,
            size_mb: 1024,
            path: "rbd:ivm".into(),
            thin: false,
            default: true,
            rbd: Some(ivm_model::RbdLocation {
                monitors: "10.0.0.1".into(),
                pool: "ivm".into(),
                user: "ivm".into(),
                fsid: "f1".into(),
            }),
        };
        let (_, moving) = migration_kind(
            &p,
            &[map(0, BackingKind::Lv)],
            &[],
            (std::slice::from_ref(&ceph), std::slice::from_ref(&disk)),
        )
        .unwrap();
        assert_eq!(
            moving[0].shared,
            Some(SharedDisk {
                fsid: "f1".into(),
                pool: "ivm".into()
            })
        );
        for s in [
            PartitionState::Starting,
            PartitionState::OpenFirmware,
            PartitionState::Error,
        ] {
            p.state = s;
            assert!(matches!(
                migration_kind(&p, &[], &[], (&[], &[])),
                Err(RuleError::NotMigratable { .. })
            ));
        }
        p.state = PartitionState::MigratingRunning;
        assert!(matches!(
            migration_kind(&p, &[], &[], (&[], &[])),
            Err(RuleError::Migrating { .. })
        ));
    }

    #[test]
    fn the_target_keeps_the_id_when_free_and_refuses_clashes_and_overcommit() {
        let sys = system(4, 4096);
        let existing = vec![client(3, "other", 1, 256)];
        let got = check_incoming(
            &sys,
            &existing,
            (&[], &[]),
            Accel::Tcg,
            &offer(client(2, "a", 1, 256)),
            &[],
        )
        .unwrap();
        assert_eq!(got.lpar_id, 2);
        assert_eq!(got.state, PartitionState::MigratingNotActivated);
        // Its ID taken: the lowest free one.
        let got = check_incoming(
            &sys,
            &existing,
            (&[], &[]),
            Accel::Tcg,
            &offer(client(3, "a", 1, 256)),
            &[],
        )
        .unwrap();
        assert_eq!(got.lpar_id, 2);
        // Asked for an ID in use.
        let mut o = offer(client(2, "a", 1, 256));
        o.dest_lpar_id = Some(3);
        assert!(check_incoming(&sys, &existing, (&[], &[]), Accel::Tcg, &o, &[]).is_err());
        // The same name.
        assert!(check_incoming(
            &sys,
            &existing,
            (&[], &[]),
            Accel::Tcg,
            &offer(client(2, "other", 1, 256)),
            &[]
        )
        .is_err());
        // More memory than is free.
        let full = vec![client(3, "other", 1, 3072)];
        let e = check_incoming(
            &sys,
            &full,
            (&[], &[]),
            Accel::Tcg,
            &offer(client(2, "big", 1, 1024)),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not enough memory"), "{e}");
        // A shape that holds more memory or vCPUs than the partition commits.
        for forge in [
            |s: &mut MachineShape| s.boot_mem_mb = 20_000,
            |s: &mut MachineShape| s.vcpus = 2,
            |s: &mut MachineShape| s.limits.max_mem = 1 << 30,
        ] {
            let mut o = offer(client(2, "a", 1, 256));
            forge(o.shape.as_mut().unwrap());
            assert!(
                check_incoming(&sys, &existing, (&[], &[]), Accel::Tcg, &o, &[]).is_err(),
                "{:?}",
                o.shape
            );
        }
        // A MAC base one of the target's partitions has.
        let mut clash = client(2, "a", 1, 256);
        clash.eth.virtual_eth_mac_base_value = existing[0].eth.virtual_eth_mac_base_value.clone();
        let e = check_incoming(&sys, &existing, (&[], &[]), Accel::Tcg, &offer(clash), &[])
            .unwrap_err();
        assert!(e.to_string().contains("MAC base"), "{e}");
        // Another accelerator, another system name, missing boot files.
        assert!(check_incoming(
            &sys,
            &existing,
            (&[], &[]),
            Accel::Kvm,
            &offer(client(2, "a", 1, 256)),
            &[]
        )
        .is_err());
        let mut o = offer(client(2, "a", 1, 256));
        o.target_system = Some("elsewhere".into());
        assert!(check_incoming(&sys, &existing, (&[], &[]), Accel::Tcg, &o, &[]).is_err());
        assert!(check_incoming(
            &sys,
            &existing,
            (&[], &[]),
            Accel::Tcg,
            &offer(client(2, "a", 1, 256)),
            &["vmlinuz".into()]
        )
        .is_err());
    }
}
