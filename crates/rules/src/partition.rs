//! Creating, changing and deleting partitions: every rule applied in one place.

use ivm_model::{
    BootConfig, BootMode, LparEnv, ManagedSystem, Partition, PartitionChange, PartitionSpec,
    PartitionState,
};

use crate::boot::resolve_boot;
use crate::capacity::check_fits;
use crate::memory::{resolve_memory, MemRequest};
use crate::names::{lowest_free_id, validate_partition_name};
use crate::procs::{resolve_procs, ProcRequest};
use crate::RuleError;

const DEFAULT_VIRTUAL_SLOTS: u32 = 10;
const VIRTUAL_SLOTS: std::ops::RangeInclusive<u32> = 2..=1024;

/// Builds a new client partition from a spec, or says which rule it breaks; `departed` are the
/// MAC bases of partitions that moved from here to another host.
pub fn new_partition(
    sys: &ManagedSystem,
    (existing, departed): (&[Partition], &[String]),
    spec: &PartitionSpec,
) -> Result<Partition, RuleError> {
    validate_partition_name(&spec.name)?;
    if existing.iter().any(|p| p.name == spec.name) {
        return Err(RuleError::NameInUse(spec.name.clone()));
    }
    if let Some(env) = spec.lpar_env.filter(|e| *e != LparEnv::Aixlinux) {
        return Err(RuleError::Unsupported {
            attr: "lpar_env",
            value: env.to_string(),
            reason: "client partitions are aixlinux; only the management partition is vioserver",
        });
    }
    let lpar_id = match spec.lpar_id {
        Some(id) if id < 2 || id > sys.max_lpars => {
            return Err(RuleError::IdOutOfRange {
                id,
                max: sys.max_lpars,
            })
        }
        Some(id) if existing.iter().any(|p| p.lpar_id == id) => return Err(RuleError::IdInUse(id)),
        Some(id) => id,
        None => lowest_free_id(existing, sys.max_lpars)?,
    };
    let procs = resolve_procs(
        sys,
        None,
        &ProcRequest {
            mode: spec.proc_mode,
            min_procs: spec.min_procs,
            desired_procs: spec.desired_procs,
            max_procs: spec.max_procs,
            min_units: spec.min_proc_units,
            desired_units: spec.desired_proc_units,
            max_units: spec.max_proc_units,
            sharing_mode: spec.sharing_mode,
            uncap_weight: spec.uncap_weight,
        },
    )?;
    let mem = resolve_memory(
        sys,
        None,
        &MemRequest {
            mode: spec.mem_mode,
            min: spec.min_mem,
            desired: spec.desired_mem,
            max: spec.max_mem,
            weight: spec.mem_weight,
        },
    )?;
    let max_virtual_slots = check_slots(spec.max_virtual_slots.unwrap_or(DEFAULT_VIRTUAL_SLOTS))?;
    let eth = crate::eth::new_eth(
        sys,
        (existing, departed),
        lpar_id,
        max_virtual_slots,
        spec.virtual_eth_adapters.as_deref(),
        spec.virtual_eth_mac_base_value.as_deref(),
    )?;
    let p = Partition {
        lpar_id,
        name: spec.name.clone(),
        lpar_env: LparEnv::Aixlinux,
        state: PartitionState::NotActivated,
        ref_code: String::new(),
        ref_time_ms: 0,
        auto_start: spec.auto_start.unwrap_or(false),
        boot_mode: spec.boot_mode.unwrap_or(BootMode::Normal),
        os_version: String::new(),
        max_virtual_slots,
        procs,
        mem,
        boot: BootConfig {
            boot_firmware: spec.boot_firmware.unwrap_or_default(),
            display: spec.display.unwrap_or_default(),
            ..resolve_boot(
                &BootConfig::default(),
                spec.boot_kernel.as_deref(),
                spec.boot_initrd.as_deref(),
                spec.boot_args.as_deref(),
            )?
        },
        eth,
        run: None,
    };
    check_fits(sys, existing, None, &p)?;
    Ok(p)
}

/// Applies a change to `current` (one of `existing`), or says which rule it breaks.
///
/// While the partition runs, the change is dynamic (DLPAR): desired values move only within the
/// running min..max, and memory min/max, the modes and the slot count stay as they are.
pub fn apply_change(
    sys: &ManagedSystem,
    existing: &[Partition],
    current: &Partition,
    change: &PartitionChange,
) -> Result<Partition, RuleError> {
    if change.is_empty() {
        return Err(RuleError::EmptyChange);
    }
    crate::mobility::check_not_migrating(current)?;
    let running = current.state.is_active();
    let mut next = current.clone();

    if let Some(name) = &change.new_name {
        if current.is_management() {
            return Err(RuleError::ManagementPartition("renamed"));
        }
        validate_partition_name(name)?;
        if existing
            .iter()
            .any(|p| p.name == *name && p.lpar_id != current.lpar_id)
        {
            return Err(RuleError::NameInUse(name.clone()));
        }
        next.name = name.clone();
    }
    if let Some(auto) = change.auto_start {
        if current.is_management() && !auto {
            return Err(RuleError::ManagementPartition(
                "set to auto_start=0: it always runs",
            ));
        }
        next.auto_start = auto;
    }
    if let Some(mode) = change.boot_mode {
        next.boot_mode = mode;
    }
    if running {
        let changed = |new: Option<u64>, old: u64| new.is_some_and(|v| v != old);
        if change
            .proc_mode
            .is_some_and(|m| m != current.procs.proc_mode)
        {
            return Err(RuleError::NotWhileRunning("proc_mode"));
        }
        if change.mem_mode.is_some_and(|m| m != current.mem.mem_mode) {
            return Err(RuleError::NotWhileRunning("mem_mode"));
        }
        if changed(change.min_mem, current.mem.min_mem) {
            return Err(RuleError::NotWhileRunning("min_mem"));
        }
        if changed(change.max_mem, current.mem.max_mem) {
            return Err(RuleError::NotWhileRunning("max_mem"));
        }
        if change
            .max_virtual_slots
            .is_some_and(|s| s != current.max_virtual_slots)
        {
            return Err(RuleError::NotWhileRunning("max_virtual_slots"));
        }
        check_dynamic_range(current, change)?;
    }
    next.procs = resolve_procs(
        sys,
        Some(&current.procs),
        &ProcRequest {
            mode: change.proc_mode,
            min_procs: change.min_procs,
            desired_procs: change.desired_procs,
            max_procs: change.max_procs,
            min_units: change.min_proc_units,
            desired_units: change.desired_proc_units,
            max_units: change.max_proc_units,
            sharing_mode: change.sharing_mode,
            uncap_weight: change.uncap_weight,
        },
    )?;
    next.mem = resolve_memory(
        sys,
        Some(&current.mem),
        &MemRequest {
            mode: change.mem_mode,
            min: change.min_mem,
            desired: change.desired_mem,
            max: change.max_mem,
            weight: change.mem_weight,
        },
    )?;
    next.boot = resolve_boot(
        &current.boot,
        change.boot_kernel.as_deref(),
        change.boot_initrd.as_deref(),
        change.boot_args.as_deref(),
    )?;
    if let Some(fw) = change.boot_firmware {
        if running && fw != current.boot.boot_firmware {
            return Err(RuleError::NotWhileRunning(
                "boot_firmware (the firmware is chosen at activation: shut the partition down first)",
            ));
        }
        if current.is_management() {
            return Err(RuleError::ManagementPartition(
                "given another boot_firmware",
            ));
        }
        next.boot.boot_firmware = fw;
    }
    if let Some(d) = change.display {
        if running && d != current.boot.display {
            return Err(RuleError::NotWhileRunning(
                "display (the display adapter is chosen at activation: shut the partition down first)",
            ));
        }
        if current.is_management() {
            return Err(RuleError::ManagementPartition("given a display adapter"));
        }
        next.boot.display = d;
    }
    if running
        && (change.virtual_eth_adapters.is_some() || change.virtual_eth_mac_base_value.is_some())
    {
        return Err(RuleError::NotWhileRunning(
            "virtual_eth_adapters and virtual_eth_mac_base_value (add or remove adapters of a running partition with chhwres -r virtualio)",
        ));
    }
    if change.virtual_eth_adapters.is_some() || change.virtual_eth_mac_base_value.is_some() {
        if current.is_management() {
            return Err(RuleError::ManagementPartition(
                "given virtual Ethernet adapters this way",
            ));
        }
        let slots = change
            .max_virtual_slots
            .unwrap_or(current.max_virtual_slots);
        next.eth = crate::eth::new_eth(
            sys,
            (existing, &[]),
            current.lpar_id,
            slots,
            Some(
                change
                    .virtual_eth_adapters
                    .as_deref()
                    .unwrap_or(&current.eth.virtual_eth_adapters),
            ),
            Some(
                change
                    .virtual_eth_mac_base_value
                    .as_deref()
                    .unwrap_or(&current.eth.virtual_eth_mac_base_value),
            ),
        )?;
    }
    if let Some(slots) = change.max_virtual_slots {
        next.max_virtual_slots = check_slots(slots)?;
        crate::eth::check_adapters(
            &next.eth.virtual_eth_adapters,
            next.max_virtual_slots,
            current.is_management(),
        )?;
    }
    check_fits(sys, existing, Some(current.lpar_id), &next)?;
    Ok(next)
}

/// A running partition's desired values stay within the min..max it was started with, because
/// those bound what can be hot-plugged into it.
fn check_dynamic_range(current: &Partition, change: &PartitionChange) -> Result<(), RuleError> {
    let m = &current.mem;
    if let Some(d) = change.desired_mem.filter(|d| *d != m.desired_mem) {
        if !(m.min_mem..=m.max_mem).contains(&d) {
            return Err(RuleError::OutsideDynamicRange {
                attr: "desired_mem",
                value: d.to_string(),
                min: m.min_mem.to_string(),
                max: m.max_mem.to_string(),
            });
        }
    }
    let c = &current.procs;
    if let Some(d) = change.desired_procs.filter(|d| *d != c.desired_procs) {
        if !(c.min_procs..=c.max_procs).contains(&d) {
            return Err(RuleError::OutsideDynamicRange {
                attr: "desired_procs",
                value: d.to_string(),
                min: c.min_procs.to_string(),
                max: c.max_procs.to_string(),
            });
        }
    }
    if let (Some(min), Some(max), Some(d)) = (
        c.min_proc_units,
        c.max_proc_units,
        change.desired_proc_units,
    ) {
        if Some(d) != c.desired_proc_units && !(min..=max).contains(&d) {
            return Err(RuleError::OutsideDynamicRange {
                attr: "desired_proc_units",
                value: d.to_string(),
                min: min.to_string(),
                max: max.to_string(),
            });
        }
    }
    Ok(())
}

pub(crate) fn check_slots(slots: u32) -> Result<u32, RuleError> {
    if VIRTUAL_SLOTS.contains(&slots) {
        Ok(slots)
    } else {
        Err(RuleError::OutOfRange {
            attr: "max_virtual_slots",
            value: slots.to_string(),
            allowed: format!("{} to {}", VIRTUAL_SLOTS.start(), VIRTUAL_SLOTS.end()),
        })
    }
}

/// A partition is deleted only without virtual target devices (its storage goes first, with
/// rmvdev or rmsyscfg --vioscfg).
pub fn check_no_mappings(p: &Partition, mappings: &[ivm_model::Mapping]) -> Result<(), RuleError> {
    let vtds: Vec<String> = mappings
        .iter()
        .filter(|m| m.lpar_id == p.lpar_id)
        .map(|m| m.vtd.clone())
        .collect();
    if vtds.is_empty() {
        return Ok(());
    }
    Err(RuleError::HasMappings {
        name: p.name.clone(),
        vtds,
    })
}

/// Checks that a partition may be deleted: not the management partition, not running.
pub fn check_delete(p: &Partition) -> Result<(), RuleError> {
    if p.is_management() {
        return Err(RuleError::ManagementPartition("deleted"));
    }
    crate::mobility::check_not_migrating(p)?;
    if p.state.is_active() {
        return Err(RuleError::MustBeInactive {
            name: p.name.clone(),
            state: p.state.to_string(),
            action: "deleted",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::system;
    use crate::default_management_partition;
    use ivm_model::{ProcMode, ProcUnits};

    fn spec(name: &str, procs: u32, mem: u64) -> PartitionSpec {
        PartitionSpec {
            name: name.into(),
            desired_procs: Some(procs),
            desired_mem: Some(mem),
            ..Default::default()
        }
    }

    #[test]
    fn a_partition_with_virtual_target_devices_is_not_deleted() {
        let sys = system(4, 8192);
        let parts = vec![default_management_partition(&sys)];
        let p = new_partition(&sys, (&parts, &[]), &spec("a", 1, 512)).unwrap();
        let map = |vtd: &str, lpar_id| ivm_model::Mapping {
            vtd: vtd.into(),
            lpar_id,
            vhost: 0,
            lun: 1,
            backing: "d".into(),
            kind: ivm_model::BackingKind::Lv,
        };
        assert!(check_no_mappings(&p, &[map("vtscsi0", 3)]).is_ok());
        let e = check_no_mappings(&p, &[map("vtscsi0", 2), map("vtscsi1", 2)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "partition a has virtual target devices vtscsi0, vtscsi1; remove them first (rmvdev -vtd NAME)"
        );
        assert_eq!(e.kind(), crate::RefusalKind::Conflict);
    }

    #[test]
    fn create_assigns_ids_and_defaults() {
        let sys = system(4, 8192);
        let mut parts = vec![default_management_partition(&sys)];
        let a = new_partition(&sys, (&parts, &[]), &spec("a", 1, 512)).unwrap();
        assert_eq!(a.lpar_id, 2);
        assert_eq!(a.procs.proc_mode, ProcMode::Shared);
        assert_eq!(a.state, PartitionState::NotActivated);
        parts.push(a);
        let b = new_partition(
            &sys,
            (&parts, &[]),
            &PartitionSpec {
                lpar_id: Some(7),
                ..spec("b", 1, 512)
            },
        )
        .unwrap();
        assert_eq!(b.lpar_id, 7);
        parts.push(b);
        assert_eq!(
            new_partition(&sys, (&parts, &[]), &spec("c", 1, 512))
                .unwrap()
                .lpar_id,
            3
        );
        assert_eq!(
            new_partition(&sys, (&parts, &[]), &spec("a", 1, 512)).unwrap_err(),
            RuleError::NameInUse("a".into())
        );
        let dup = PartitionSpec {
            lpar_id: Some(7),
            ..spec("d", 1, 512)
        };
        assert_eq!(
            new_partition(&sys, (&parts, &[]), &dup).unwrap_err(),
            RuleError::IdInUse(7)
        );
        let one = PartitionSpec {
            lpar_id: Some(1),
            ..spec("d", 1, 512)
        };
        assert!(matches!(
            new_partition(&sys, (&parts, &[]), &one),
            Err(RuleError::IdOutOfRange { .. })
        ));
        let vios = PartitionSpec {
            lpar_env: Some(LparEnv::Vioserver),
            ..spec("d", 1, 512)
        };
        assert!(matches!(
            new_partition(&sys, (&parts, &[]), &vios),
            Err(RuleError::Unsupported { .. })
        ));
    }

    #[test]
    fn create_refuses_overcommit() {
        let sys = system(2, 4096); // configurable 4032 MB, mgmt takes 1024 MB and 0.20 units
        let parts = vec![default_management_partition(&sys)];
        let ded = PartitionSpec {
            proc_mode: Some(ProcMode::Dedicated),
            ..spec("a", 2, 512)
        };
        let e = new_partition(&sys, (&parts, &[]), &ded).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not enough processing units available: the request needs 2.0 more, 1.8 available"
        );
        let e = new_partition(&sys, (&parts, &[]), &spec("a", 1, 3040)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not enough memory available: the request needs 3040 MB more, 3008 MB available"
        );
        new_partition(&sys, (&parts, &[]), &spec("a", 1, 3008)).unwrap();
    }

    #[test]
    fn running_partitions_change_only_within_their_bounds() {
        let sys = system(4, 8192);
        let parts = vec![default_management_partition(&sys)];
        let mut p = new_partition(
            &sys,
            (&parts, &[]),
            &PartitionSpec {
                max_procs: Some(3),
                max_mem: Some(2048),
                ..spec("a", 1, 1024)
            },
        )
        .unwrap();
        p.state = PartitionState::Running;
        let all = [parts.clone(), vec![p.clone()]].concat();
        let ch = |c: PartitionChange| apply_change(&sys, &all, &p, &c);
        let grown = ch(PartitionChange {
            desired_mem: Some(2048),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(grown.mem.desired_mem, 2048);
        assert_eq!(
            ch(PartitionChange {
                max_mem: Some(4096),
                ..Default::default()
            })
            .unwrap_err(),
            RuleError::NotWhileRunning("max_mem")
        );
        // Processor max may change while running, but desired stays within the running max.
        let e = ch(PartitionChange {
            desired_procs: Some(4),
            max_procs: Some(4),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            matches!(
                e,
                RuleError::OutsideDynamicRange {
                    attr: "desired_procs",
                    ..
                }
            ),
            "{e}"
        );
        let up = ch(PartitionChange {
            desired_procs: Some(3),
            ..Default::default()
        });
        // 3 VPs with 0.10 units fails the units rule; with units it works.
        assert!(matches!(up, Err(RuleError::UnitsPerProc { .. })));
        let up = ch(PartitionChange {
            desired_procs: Some(3),
            desired_proc_units: Some(ProcUnits(30)),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(up.procs.desired_procs, 3);
        assert_eq!(
            ch(PartitionChange {
                proc_mode: Some(ProcMode::Dedicated),
                ..Default::default()
            })
            .unwrap_err(),
            RuleError::NotWhileRunning("proc_mode")
        );
        assert!(matches!(
            check_delete(&p),
            Err(RuleError::MustBeInactive { .. })
        ));
    }

    #[test]
    fn management_partition_is_protected() {
        let sys = system(4, 8192);
        let mgmt = default_management_partition(&sys);
        let parts = vec![mgmt.clone()];
        let rename = PartitionChange {
            new_name: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(
            apply_change(&sys, &parts, &mgmt, &rename).unwrap_err(),
            RuleError::ManagementPartition("renamed")
        );
        assert_eq!(
            check_delete(&mgmt).unwrap_err(),
            RuleError::ManagementPartition("deleted")
        );
        // Its share can be changed dynamically.
        let more = PartitionChange {
            desired_mem: Some(2048),
            ..Default::default()
        };
        assert_eq!(
            apply_change(&sys, &parts, &mgmt, &more)
                .unwrap()
                .mem
                .desired_mem,
            2048
        );
        assert_eq!(
            apply_change(&sys, &parts, &mgmt, &PartitionChange::default()).unwrap_err(),
            RuleError::EmptyChange
        );
    }

    #[test]
    fn rename_checks_uniqueness() {
        let sys = system(4, 8192);
        let mut parts = vec![default_management_partition(&sys)];
        let a = new_partition(&sys, (&parts, &[]), &spec("a", 1, 512)).unwrap();
        parts.push(a.clone());
        parts.push(new_partition(&sys, (&parts, &[]), &spec("b", 1, 512)).unwrap());
        let to_b = PartitionChange {
            new_name: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(
            apply_change(&sys, &parts, &a, &to_b).unwrap_err(),
            RuleError::NameInUse("b".into())
        );
        let to_c = PartitionChange {
            new_name: Some("c".into()),
            ..Default::default()
        };
        assert_eq!(apply_change(&sys, &parts, &a, &to_c).unwrap().name, "c");
    }
}
