//! The management partition's default share of the managed system.

use ivm_model::{
    BootMode, LparEnv, ManagedSystem, MemConfig, MemMode, Partition, PartitionState, ProcConfig,
    ProcMode, ProcUnits, SharingMode, MGMT_PARTITION_ID,
};

use crate::procs::{DEFAULT_UNCAP_WEIGHT, MAX_VIRTUAL_PROCS};
use crate::system::round_up_to_region;

/// ivm's default for the management partition: shared and uncapped with one virtual processor
/// per host processor at 0.10 units each, and max(1 GB, installed/8) of memory.
///
/// Its min and max span the whole machine: it is always running, so they can never be changed
/// later, and moving resources to and from it must stay possible.
pub fn default_management_partition(sys: &ManagedSystem) -> Partition {
    let region = sys.mem_region_size;
    let configurable = sys.installed_mem - sys.firmware_mem;
    let desired = round_up_to_region(1024.max(sys.installed_mem / 8), region).min(configurable);
    let min = round_up_to_region(512, region).min(desired);
    let vps = sys.installed_procs.clamp(1, MAX_VIRTUAL_PROCS);
    Partition {
        lpar_id: MGMT_PARTITION_ID,
        name: management_name(&sys.name),
        lpar_env: LparEnv::Vioserver,
        state: PartitionState::Running,
        ref_code: String::new(),
        ref_time_ms: 0,
        auto_start: true,
        boot_mode: BootMode::Normal,
        os_version: String::new(),
        max_virtual_slots: 10,
        procs: ProcConfig {
            proc_mode: ProcMode::Shared,
            min_procs: 1,
            desired_procs: vps,
            max_procs: vps,
            min_proc_units: Some(ProcUnits(10)),
            desired_proc_units: Some(ProcUnits(10 * vps)),
            max_proc_units: Some(ProcUnits::from_procs(vps)),
            sharing_mode: SharingMode::Uncapped,
            uncap_weight: DEFAULT_UNCAP_WEIGHT,
        },
        mem: MemConfig {
            mem_mode: MemMode::Dedicated,
            mem_weight: ivm_model::DEFAULT_MEM_WEIGHT,
            min_mem: min,
            desired_mem: desired,
            max_mem: configurable,
        },
        boot: ivm_model::BootConfig::default(),
        // Its adapters are the host's side of the virtual Ethernet IDs' bridges.
        eth: ivm_model::EthConfig {
            virtual_eth_adapters: crate::netdev::management_adapters(),
            virtual_eth_mac_base_value: crate::eth::generate_mac_base(
                &sys.serial_num,
                MGMT_PARTITION_ID,
                &[],
                &[],
            ),
        },
        run: None,
    }
}

/// The host name made into a valid partition name (dots and dashes kept, the rest dropped).
fn management_name(host: &str) -> String {
    let name: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(31)
        .collect();
    let name = name.trim_start_matches('-').to_string();
    if name.is_empty() {
        "vios".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::system;

    #[test]
    fn follows_the_reference_default() {
        let sys = system(2, 24576);
        let m = default_management_partition(&sys);
        assert_eq!(m.lpar_id, 1);
        assert_eq!(m.lpar_env, LparEnv::Vioserver);
        assert_eq!(m.procs.desired_procs, 2);
        assert_eq!(m.procs.desired_proc_units, Some(ProcUnits(20)));
        assert_eq!(m.mem.desired_mem, 3072);
        assert_eq!(
            (
                m.procs.min_procs,
                m.procs.max_procs,
                m.mem.min_mem,
                m.mem.max_mem
            ),
            (1, 2, 512, 24192),
            "min <= desired <= max in region multiples"
        );
        let small = system(1, 2048);
        let m = default_management_partition(&small);
        assert_eq!(m.mem.desired_mem, 1024);
        assert_eq!(m.procs.desired_proc_units, Some(ProcUnits(10)));
    }

    #[test]
    fn name_comes_from_the_host_name() {
        assert_eq!(management_name("srv-01.example.com"), "srv-01.example.com");
        assert_eq!(management_name("-weird name!"), "weirdname");
        assert_eq!(management_name("***"), "vios");
        assert_eq!(management_name(&"h".repeat(40)).len(), 31);
    }
}
