//! Partitions and the managed system as IVM output records, attributes in IVM's order.

use ivm_model::{Partition, ProcMode, ProcUnits, ResourceSummary, StorageView, SystemView};

use crate::output::Record;

/// Each client has the two virtual serial server adapters IVM creates (slot 0 is the console).
pub(crate) const SERIAL_ADAPTERS: &str = "0/server/1/any//any/1,1/server/1/any//any/1";

fn units(u: Option<ProcUnits>) -> String {
    u.map(|u| u.to_string()).unwrap_or_default()
}

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.into()
}

/// `lssyscfg -r sys`.
pub fn system(v: &SystemView) -> Record {
    let s = &v.system;
    vec![
        ("name", s.name.clone()),
        ("type_model", s.type_model.clone()),
        ("serial_num", s.serial_num.clone()),
        ("ipaddr", v.ipaddr.clone()),
        ("state", v.state.clone()),
        ("sys_time", crate::time::now_text()),
        ("power_off_policy", "1".into()),
        ("active_lpar_mobility_capable", "0".into()),
        ("inactive_lpar_mobility_capable", "0".into()),
        ("cod_mem_capable", "0".into()),
        ("cod_proc_capable", "0".into()),
        ("vet_activation_capable", "0".into()),
        ("os400_capable", "0".into()),
        ("active_lpar_share_idle_procs_capable", "1".into()),
        ("micro_lpar_capable", "1".into()),
        ("dlpar_mem_capable", "1".into()),
        ("assign_5250_cpw_percent", "0".into()),
        ("max_lpars", s.max_lpars.to_string()),
        ("max_power_ctrl_lpars", "1".into()),
        ("service_lpar_id", v.mgmt_lpar_id.to_string()),
        ("service_lpar_name", v.mgmt_lpar_name.clone()),
        ("mfg_default_config", "0".into()),
        ("curr_configured_max_lpars", s.max_lpars.to_string()),
        ("pend_configured_max_lpars", s.max_lpars.to_string()),
        ("config_version", "0100030000000000".into()),
        ("pend_lpar_config_state", "enabled".into()),
        ("lpar_avail_priority_capable", "0".into()),
        ("lpar_proc_compat_mode_capable", "0".into()),
        ("max_vios_lpar_id", v.mgmt_lpar_id.to_string()),
        ("virtual_io_server_capable", "0".into()),
        ("mem_region_size", s.mem_region_size.to_string()),
        ("accel", v.accel.to_string()),
        ("accel_reason", v.accel_reason.clone()),
    ]
}

/// `lssyscfg -r sys` attributes printed only when `-F` names them (ivm's own).
pub const SYSTEM_EXTRAS: &[&str] = &["mem_region_size", "accel", "accel_reason"];

/// `lssyscfg -r lpar`.
pub fn lpar(p: &Partition, serial: &str, now_ms: i64) -> Record {
    let uptime = p
        .run
        .as_ref()
        .map(|r| ((now_ms - r.started_ms) / 1000).max(0))
        .unwrap_or(0);
    vec![
        ("name", p.name.clone()),
        ("lpar_id", p.lpar_id.to_string()),
        ("lpar_env", p.lpar_env.to_string()),
        ("state", p.state.to_string()),
        ("resource_config", "1".into()),
        ("os_version", p.os_version.clone()),
        ("logical_serial_num", format!("{serial}{}", p.lpar_id)),
        ("default_profile", p.name.clone()),
        ("curr_profile", p.name.clone()),
        ("work_group_id", "none".into()),
        ("allow_perf_collection", "0".into()),
        ("power_ctrl_lpar_ids", "none".into()),
        ("boot_mode", p.boot_mode.to_string()),
        ("lpar_keylock", "norm".into()),
        ("auto_start", flag(p.auto_start)),
        ("uptime", uptime.to_string()),
        ("lpar_avail_priority", "127".into()),
        ("desired_lpar_proc_compat_mode", "default".into()),
        ("curr_lpar_proc_compat_mode", "default".into()),
        (
            "virtual_eth_mac_base_value",
            p.eth.virtual_eth_mac_base_value.clone(),
        ),
        (
            "rmc_ipaddr",
            p.run
                .as_ref()
                .and_then(|r| r.rmc_ipaddr.clone())
                .unwrap_or_default(),
        ),
        ("rmc_state", rmc_state(p).to_string()),
        ("shared_proc_pool_util_auth", "0".into()),
        ("redundant_err_path_reporting", "0".into()),
        ("ref_code", p.ref_code.clone()),
    ]
}

/// The RMC connection as HMC prints it: the management partition is ivm itself; a client's
/// is its guest agent while it runs.
fn rmc_state(p: &Partition) -> ivm_model::RmcState {
    match &p.run {
        _ if p.is_management() => ivm_model::RmcState::Active,
        Some(r) => r.rmc_state,
        None => ivm_model::RmcState::Inactive,
    }
}

/// `lssyscfg -r lpar` attributes printed only when `-F` names them.
pub const LPAR_EXTRAS: &[&str] = &[
    "rmc_state",
    "shared_proc_pool_util_auth",
    "redundant_err_path_reporting",
    "ref_code",
];

/// `lssyscfg -r prof`: the partition's one profile, named like the partition, with IVM's
/// attributes in IVM's order (the processing-unit keys only for shared processors).
pub fn profile(p: &Partition) -> Record {
    let c = &p.procs;
    let shared = c.proc_mode == ProcMode::Shared;
    let mut r: Record = vec![
        ("name", p.name.clone()),
        ("lpar_name", p.name.clone()),
        ("lpar_id", p.lpar_id.to_string()),
        ("os_type", p.lpar_env.to_string()),
        ("all_resources", "0".into()),
        ("mem_mode", p.mem.mem_mode.to_string()),
        ("min_mem", p.mem.min_mem.to_string()),
        ("desired_mem", p.mem.desired_mem.to_string()),
        ("max_mem", p.mem.max_mem.to_string()),
        ("proc_mode", c.proc_mode.to_string()),
    ];
    if p.mem.mem_mode == ivm_model::MemMode::Shared {
        // After the memory keys, as HMC prints a shared-memory profile.
        r.insert(9, ("mem_weight", p.mem.mem_weight.to_string()));
    }
    if shared {
        r.extend([
            ("min_proc_units", units(c.min_proc_units)),
            ("desired_proc_units", units(c.desired_proc_units)),
            ("max_proc_units", units(c.max_proc_units)),
        ]);
    }
    r.extend([
        ("min_procs", c.min_procs.to_string()),
        ("desired_procs", c.desired_procs.to_string()),
        ("max_procs", c.max_procs.to_string()),
        ("sharing_mode", c.sharing_mode.to_string()),
    ]);
    if shared {
        r.push(("uncap_weight", c.uncap_weight.to_string()));
    }
    r.extend([
        ("io_slots", "none".into()),
        ("lpar_io_pool_ids", "none".into()),
        ("max_virtual_slots", p.max_virtual_slots.to_string()),
        ("virtual_serial_adapters", SERIAL_ADAPTERS.into()),
        ("virtual_scsi_adapters", "none".into()),
        ("virtual_eth_adapters", p.eth.adapters_text()),
        ("boot_mode", p.boot_mode.to_string()),
        ("conn_monitoring", "0".into()),
        ("auto_start", flag(p.auto_start)),
        ("power_ctrl_lpar_ids", "none".into()),
        ("lhea_logical_ports", "none".into()),
        ("lhea_capabilities", "none".into()),
        ("lpar_proc_compat_mode", "default".into()),
        ("virtual_fc_adapters", "none".into()),
        ("lpar_env", p.lpar_env.to_string()),
        ("boot_kernel", p.boot.boot_kernel.clone()),
        ("boot_initrd", p.boot.boot_initrd.clone()),
        ("boot_args", p.boot.boot_args.clone()),
        ("boot_firmware", p.boot.boot_firmware.to_string()),
        ("display", p.boot.display.to_string()),
    ]);
    if !shared {
        // Asked for with -F, a dedicated partition's units and weight are empty (and left out
        // of the default output, as IVM leaves them out).
        r.extend([
            ("min_proc_units", String::new()),
            ("desired_proc_units", String::new()),
            ("max_proc_units", String::new()),
            ("uncap_weight", String::new()),
        ]);
    }
    if p.mem.mem_mode != ivm_model::MemMode::Shared {
        r.push(("mem_weight", String::new()));
    }
    r
}

/// `lssyscfg -r prof` attributes printed only when `-F` names them.
pub const PROFILE_EXTRAS: &[&str] = &["lpar_env"];

/// `lsrefcode -r lpar`.
pub fn refcode(p: &Partition) -> Record {
    vec![
        ("lpar_name", p.name.clone()),
        ("lpar_id", p.lpar_id.to_string()),
        (
            "time_stamp",
            if p.ref_time_ms > 0 {
                crate::time::format_utc(p.ref_time_ms)
            } else {
                String::new()
            },
        ),
        ("refcode", p.ref_code.clone()),
    ]
}

const CURR_PROC: [&str; 10] = [
    "curr_shared_proc_pool_id",
    "curr_proc_mode",
    "curr_min_proc_units",
    "curr_proc_units",
    "curr_max_proc_units",
    "curr_min_procs",
    "curr_procs",
    "curr_max_procs",
    "curr_sharing_mode",
    "curr_uncap_weight",
];
const PEND_PROC: [&str; 10] = [
    "pend_shared_proc_pool_id",
    "pend_proc_mode",
    "pend_min_proc_units",
    "pend_proc_units",
    "pend_max_proc_units",
    "pend_min_procs",
    "pend_procs",
    "pend_max_procs",
    "pend_sharing_mode",
    "pend_uncap_weight",
];

/// `lshwres -r proc --level lpar`: current, pending and running values.
pub fn proc_lpar(p: &Partition) -> Record {
    let c = &p.procs;
    let shared = c.proc_mode == ProcMode::Shared;
    // What the guest really has while it runs; the committed value otherwise. The management
    // partition is the host: it always runs with what it holds.
    let curr_procs = p.run.as_ref().map_or(c.desired_procs, |r| r.procs);
    let active = p.run.is_some() || p.is_management();
    let weight = if shared {
        c.uncap_weight.to_string()
    } else {
        String::new()
    };
    let values = |procs: u32| {
        [
            if shared {
                "0".to_string()
            } else {
                String::new()
            },
            c.proc_mode.to_string(),
            units(c.min_proc_units),
            units(c.desired_proc_units),
            units(c.max_proc_units),
            c.min_procs.to_string(),
            procs.to_string(),
            c.max_procs.to_string(),
            c.sharing_mode.to_string(),
            weight.clone(),
        ]
    };
    let mut r: Record = vec![
        ("lpar_name", p.name.clone()),
        ("lpar_id", p.lpar_id.to_string()),
    ];
    r.extend(CURR_PROC.into_iter().zip(values(curr_procs)));
    r.extend(PEND_PROC.into_iter().zip(values(c.desired_procs)));
    let run_units = match (active, shared) {
        (false, _) => ProcUnits::ZERO,
        (true, true) => c.desired_proc_units.unwrap_or(ProcUnits::ZERO),
        (true, false) => ProcUnits::from_procs(curr_procs),
    };
    r.extend([
        ("run_proc_units", run_units.to_string()),
        (
            "run_procs",
            if active {
                curr_procs.to_string()
            } else {
                "0".into()
            },
        ),
        (
            "run_uncap_weight",
            if active { weight } else { String::new() },
        ),
    ]);
    r
}

/// `lshwres -r mem --level lpar`.
pub fn mem_lpar(p: &Partition) -> Record {
    let m = &p.mem;
    let active = p.run.is_some() || p.is_management();
    let curr = p.run.as_ref().map_or(m.desired_mem, |r| r.mem);
    let run = |v: u64| if active { v.to_string() } else { "0".into() };
    let mut rec = vec![
        ("lpar_name", p.name.clone()),
        ("lpar_id", p.lpar_id.to_string()),
        ("curr_min_mem", m.min_mem.to_string()),
        ("curr_mem", curr.to_string()),
        ("curr_max_mem", m.max_mem.to_string()),
        ("pend_min_mem", m.min_mem.to_string()),
        ("pend_mem", m.desired_mem.to_string()),
        ("pend_max_mem", m.max_mem.to_string()),
        ("run_min_mem", run(m.min_mem)),
        ("run_mem", run(curr)),
        ("mem_mode", m.mem_mode.to_string()),
    ];
    // Shared memory's keys: empty for dedicated memory (and then left out by default).
    let shared = m.mem_mode == ivm_model::MemMode::Shared;
    let r = p.run.as_ref();
    let only = |v: String| if shared { v } else { String::new() };
    rec.extend([
        ("curr_mem_weight", only(m.mem_weight.to_string())),
        ("run_mem_weight", only(run(u64::from(m.mem_weight)))),
        (
            "phys_run_mem",
            only(r.and_then(|r| r.phys_mem).unwrap_or(0).to_string()),
        ),
        (
            "run_paged_mem",
            only(r.and_then(|r| r.paged_mem).unwrap_or(0).to_string()),
        ),
    ]);
    rec
}

/// `lshwres -r proc --level sys`.
pub fn proc_sys(s: &ResourceSummary) -> Record {
    vec![
        (
            "configurable_sys_proc_units",
            s.configurable_proc_units.to_string(),
        ),
        (
            "curr_avail_sys_proc_units",
            s.available_proc_units.to_string(),
        ),
        (
            "pend_avail_sys_proc_units",
            s.available_proc_units.to_string(),
        ),
        (
            "installed_sys_proc_units",
            ProcUnits::from_procs(s.installed_procs).to_string(),
        ),
        ("deconfig_sys_proc_units", "0".into()),
        ("min_proc_units_per_virtual_proc", "0.1".into()),
        (
            "max_virtual_procs_per_lpar",
            s.installed_procs.min(64).to_string(),
        ),
        ("max_procs_per_lpar", s.installed_procs.to_string()),
        ("max_shared_proc_pools", "1".into()),
    ]
}

/// `lshwres -r mem --level sys`.
pub fn mem_sys(s: &ResourceSummary) -> Record {
    vec![
        ("configurable_sys_mem", s.configurable_mem.to_string()),
        ("curr_avail_sys_mem", s.available_mem.to_string()),
        ("pend_avail_sys_mem", s.available_mem.to_string()),
        ("installed_sys_mem", s.installed_mem.to_string()),
        ("deconfig_sys_mem", "0".into()),
        ("sys_firmware_mem", s.firmware_mem.to_string()),
        ("mem_region_size", s.mem_region_size.to_string()),
    ]
}

/// `lshwres -r virtualio --rsubtype eth --level lpar`: one record per adapter.
pub fn eth_adapters(p: &Partition) -> Vec<Record> {
    p.eth
        .virtual_eth_adapters
        .iter()
        .map(|a| {
            let addl: Vec<String> = a.addl_vlan_ids.iter().map(u16::to_string).collect();
            vec![
                ("lpar_name", p.name.clone()),
                ("lpar_id", p.lpar_id.to_string()),
                ("slot_num", a.slot_num.to_string()),
                ("state", "1".into()),
                ("is_required", flag(a.is_required)),
                ("is_trunk", flag(a.is_trunk)),
                ("ieee_virtual_eth", flag(a.ieee_virtual_eth)),
                ("port_vlan_id", a.port_vlan_id.to_string()),
                ("addl_vlan_ids", addl.join(",")),
                ("mac_addr", p.eth.mac(a.slot_num)),
            ]
        })
        .collect()
}

/// Every virtual slot of a partition that holds an adapter, as `lshwres -r virtualio
/// --rsubtype slot --level slot` prints it (`drc_name` last): serial 0 and 1, the client
/// virtual SCSI adapter (2) or the management partition's server adapters, Ethernet adapters.
pub fn virtual_slots(p: &Partition, sys: &SystemView, st: &StorageView) -> Vec<Record> {
    let mut slots: Vec<(u32, &str)> = vec![(0, "serial"), (1, "serial")];
    if p.is_management() {
        slots.extend(st.adapters.iter().map(|a| (a.server_slot, "scsi")));
    } else if st.adapters.iter().any(|a| a.lpar_id == p.lpar_id) {
        slots.push((2, "scsi"));
    }
    slots.extend(
        p.eth
            .virtual_eth_adapters
            .iter()
            .map(|a| (a.slot_num, "eth")),
    );
    slots.sort_by_key(|s| s.0);
    slots
        .into_iter()
        .map(|(slot, config)| {
            vec![
                ("lpar_name", p.name.clone()),
                ("lpar_id", p.lpar_id.to_string()),
                ("slot_num", slot.to_string()),
                ("config", config.to_string()),
                ("state", "1".into()),
                (
                    "drc_name",
                    format!(
                        "U{}.{}-V{}-C{slot}",
                        sys.system.type_model, sys.system.serial_num, p.lpar_id
                    ),
                ),
            ]
        })
        .collect()
}

/// A partition's virtual slot limits, as `lshwres -r virtualio --rsubtype slot --level lpar`
/// prints them.
pub fn virtual_slot_limits(p: &Partition) -> Record {
    vec![
        ("lpar_name", p.name.clone()),
        ("lpar_id", p.lpar_id.to_string()),
        ("curr_max_virtual_slots", p.max_virtual_slots.to_string()),
        ("pend_max_virtual_slots", p.max_virtual_slots.to_string()),
    ]
}

/// `lshwres -r mempool`: the shared memory pool, with HMC's attribute names.
pub fn mempool(v: &ivm_model::MemPoolView) -> Record {
    vec![
        ("pool_mem", v.pool.pool_mem.to_string()),
        ("max_pool_mem", v.pool.max_pool_mem.to_string()),
        ("curr_avail_pool_mem", v.curr_avail_pool_mem.to_string()),
        ("sys_firmware_pool_mem", v.sys_firmware_pool_mem.to_string()),
        ("paging_storage_pool", v.pool.paging_storage_pool.clone()),
        ("curr_logical_mem", v.logical_mem.to_string()),
        ("max_logical_mem", v.max_logical_mem.to_string()),
    ]
}

/// `lshwres -r mempool --rsubtype pgdev`: one paging device.
pub fn paging_device(d: &ivm_model::PagingDevice, parts: &[Partition]) -> Record {
    vec![
        ("device_name", d.name.clone()),
        ("size", d.size_mb.to_string()),
        ("type", d.kind.to_string()),
        ("state", d.state.to_string()),
        (
            "lpar_id",
            d.lpar_id.map_or_else(|| "none".into(), |id| id.to_string()),
        ),
        (
            "lpar_name",
            parts
                .iter()
                .find(|p| Some(p.lpar_id) == d.lpar_id)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "none".into()),
        ),
    ]
}
