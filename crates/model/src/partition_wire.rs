//! How a partition is read from JSON: every attribute at the top level, as `Partition` writes
//! them (its parts are flattened), read field by field. serde's `flatten` buffers each record
//! whole before handing it to the parts, which was half of the commands' parsing of a
//! 1,000-partition listing. A field added to a part and not here does not compile (`from`
//! builds each part whole).

use serde::Deserialize;

use crate::partition::{default_mem_weight, BootConfig, MemConfig, ProcConfig, RunInfo};
use crate::{
    BootFirmware, BootMode, DisplayAdapter, EthConfig, LparEnv, MemMode, Partition, PartitionState,
    ProcMode, ProcUnits, SharingMode, VirtualEthAdapter,
};

/// A partition's JSON, flat.
#[derive(Deserialize)]
pub(crate) struct PartitionWire {
    lpar_id: u32,
    name: String,
    lpar_env: LparEnv,
    state: PartitionState,
    ref_code: String,
    ref_time_ms: i64,
    auto_start: bool,
    boot_mode: BootMode,
    os_version: String,
    max_virtual_slots: u32,
    proc_mode: ProcMode,
    min_procs: u32,
    desired_procs: u32,
    max_procs: u32,
    min_proc_units: Option<ProcUnits>,
    desired_proc_units: Option<ProcUnits>,
    max_proc_units: Option<ProcUnits>,
    sharing_mode: SharingMode,
    uncap_weight: u8,
    mem_mode: MemMode,
    min_mem: u64,
    desired_mem: u64,
    max_mem: u64,
    #[serde(default = "default_mem_weight")]
    mem_weight: u8,
    boot_kernel: String,
    boot_initrd: String,
    boot_args: String,
    #[serde(default)]
    boot_firmware: BootFirmware,
    #[serde(default)]
    display: DisplayAdapter,
    #[serde(default)]
    virtual_eth_adapters: Vec<VirtualEthAdapter>,
    #[serde(default)]
    virtual_eth_mac_base_value: String,
    #[serde(default)]
    run: Option<RunInfo>,
}

impl From<PartitionWire> for Partition {
    fn from(w: PartitionWire) -> Partition {
        Partition {
            lpar_id: w.lpar_id,
            name: w.name,
            lpar_env: w.lpar_env,
            state: w.state,
            ref_code: w.ref_code,
            ref_time_ms: w.ref_time_ms,
            auto_start: w.auto_start,
            boot_mode: w.boot_mode,
            os_version: w.os_version,
            max_virtual_slots: w.max_virtual_slots,
            procs: ProcConfig {
                proc_mode: w.proc_mode,
                min_procs: w.min_procs,
                desired_procs: w.desired_procs,
                max_procs: w.max_procs,
                min_proc_units: w.min_proc_units,
                desired_proc_units: w.desired_proc_units,
                max_proc_units: w.max_proc_units,
                sharing_mode: w.sharing_mode,
                uncap_weight: w.uncap_weight,
            },
            mem: MemConfig {
                mem_mode: w.mem_mode,
                min_mem: w.min_mem,
                desired_mem: w.desired_mem,
                max_mem: w.max_mem,
                mem_weight: w.mem_weight,
            },
            boot: BootConfig {
                boot_kernel: w.boot_kernel,
                boot_initrd: w.boot_initrd,
                boot_args: w.boot_args,
                boot_firmware: w.boot_firmware,
                display: w.display,
            },
            eth: EthConfig {
                virtual_eth_adapters: w.virtual_eth_adapters,
                virtual_eth_mac_base_value: w.virtual_eth_mac_base_value,
            },
            run: w.run,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts as serde's flatten reads them: the reference the flat reading must match.
    #[derive(Deserialize)]
    struct Flattened {
        #[serde(flatten)]
        procs: ProcConfig,
        #[serde(flatten)]
        mem: MemConfig,
        #[serde(flatten)]
        boot: BootConfig,
        #[serde(flatten)]
        eth: EthConfig,
    }

    #[test]
    fn a_partition_reads_back_as_written_and_defaults_as_flatten_gives_them() {
        let json = r#"{"lpar_id":3,"name":"web","lpar_env":"aixlinux","state":"Running",
            "ref_code":"00000000","ref_time_ms":5,"auto_start":true,"boot_mode":"norm",
            "os_version":"Debian","max_virtual_slots":20,"proc_mode":"shared","min_procs":1,
            "desired_procs":2,"max_procs":4,"min_proc_units":0.1,"desired_proc_units":0.5,
            "max_proc_units":2.0,"sharing_mode":"uncap","uncap_weight":128,"mem_mode":"ded",
            "min_mem":256,"desired_mem":512,"max_mem":1024,"boot_kernel":"vmlinuz",
            "boot_initrd":"","boot_args":"quiet","virtual_eth_mac_base_value":"02AB12CD3400"}"#;
        let p: Partition = serde_json::from_str(json).unwrap();
        let f: Flattened = serde_json::from_str(json).unwrap();
        assert_eq!(
            (&p.procs, &p.mem, &p.boot, &p.eth),
            (&f.procs, &f.mem, &f.boot, &f.eth)
        );
        assert_eq!(p.mem.mem_weight, crate::DEFAULT_MEM_WEIGHT);
        assert_eq!(
            (p.lpar_id, p.name.as_str(), p.run.is_none()),
            (3, "web", true)
        );
        let again: Partition = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(again, p);
    }
}
