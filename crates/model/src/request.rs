//! What a caller asks for: a new partition or a change to one, in IVM attribute names.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{BootMode, DlparOp, LparEnv, MemMode, ProcMode, ProcUnits, SharingMode, ShutdownKind};

/// Declares a partition request type: its own fields, then the settings a partition is created
/// with and changed by, so that a change can set exactly what a creation can (each unset value
/// takes IVM's default at creation and stays as it is in a change).
macro_rules! partition_request {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// `shared` or `ded`; default `shared`, changed only while not running.
            pub proc_mode: Option<ProcMode>,
            /// Minimum processors; defaults to desired_procs.
            pub min_procs: Option<u32>,
            /// Committed processors (virtual processors when shared); required at creation.
            pub desired_procs: Option<u32>,
            /// Maximum processors; defaults to desired_procs.
            pub max_procs: Option<u32>,
            /// Shared only: minimum processing units; computed from virtual processors when unset.
            pub min_proc_units: Option<ProcUnits>,
            /// Shared only: committed processing units; computed from virtual processors when unset.
            pub desired_proc_units: Option<ProcUnits>,
            /// Shared only: maximum processing units; computed from virtual processors when unset.
            pub max_proc_units: Option<ProcUnits>,
            /// Default `uncap` (shared) or `keep_idle_procs` (dedicated).
            pub sharing_mode: Option<SharingMode>,
            /// Uncapped weight, 0..255; default 128.
            pub uncap_weight: Option<u8>,
            /// `ded` or `shared`; default `ded`, changed only while not running.
            pub mem_mode: Option<MemMode>,
            /// Minimum megabytes of memory; defaults to desired_mem, changed only while not running.
            pub min_mem: Option<u64>,
            /// Committed megabytes of memory; required at creation.
            pub desired_mem: Option<u64>,
            /// Maximum megabytes of memory; defaults to desired_mem, changed only while not running.
            pub max_mem: Option<u64>,
            /// Shared memory only: 0..255, default 128.
            pub mem_weight: Option<u8>,
            /// Activate when the managed system starts; default false.
            pub auto_start: Option<bool>,
            /// Boot mode for the next activation; default `norm`.
            pub boot_mode: Option<BootMode>,
            /// Highest virtual slot number; default 10.
            pub max_virtual_slots: Option<u32>,
            /// Kernel for direct kernel boot (absolute host path; empty to unset).
            pub boot_kernel: Option<String>,
            /// Initial ramdisk for direct kernel boot (absolute host path; empty to unset).
            pub boot_initrd: Option<String>,
            /// Kernel command line for direct kernel boot.
            pub boot_args: Option<String>,
            /// Firmware (`bios` or `uefi`); default `bios`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub boot_firmware: Option<crate::BootFirmware>,
            /// Display adapter (`none`, `vga` or `virtio-gpu`); default `none`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub display: Option<crate::DisplayAdapter>,
            /// Virtual Ethernet adapters; ivm's defaults when unset (see the rules' `default_eth`).
            pub virtual_eth_adapters: Option<Vec<crate::VirtualEthAdapter>>,
            /// MAC base, 10 hex digits; generated (locally administered, unique) when unset.
            pub virtual_eth_mac_base_value: Option<String>,
        }
    };
}

partition_request! {
    /// A partition to create (`mksyscfg -r lpar`). Unset values take IVM's defaults.
    pub struct PartitionSpec {
        /// Unique name, 1..31 characters.
        pub name: String,
        /// Partition ID; the lowest free ID when unset.
        pub lpar_id: Option<u32>,
        /// Must be `aixlinux` when given.
        pub lpar_env: Option<LparEnv>,
        /// Accepted for compatibility; the profile is always named like the partition.
        pub profile_name: Option<String>,
    }
}

partition_request! {
    /// A change to a partition and its profile (`chsyscfg -r lpar|prof`). Unset values stay.
    pub struct PartitionChange {
        /// Rename the partition and its profile.
        pub new_name: Option<String>,
    }
}

impl PartitionChange {
    /// True when the change touches no attribute at all.
    pub fn is_empty(&self) -> bool {
        *self == PartitionChange::default()
    }
}

/// `chsysstate -o on`: activate with the partition's profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// Boot mode for this activation; the profile's when unset.
    pub boot_mode: Option<BootMode>,
}

/// `chsysstate -o osshutdown|shutdown [--immed] [--restart]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShutdownRequest {
    /// How to shut down.
    pub kind: ShutdownKind,
    /// Activate again once stopped.
    #[serde(default)]
    pub restart: bool,
}

/// `chhwres -o a|r|s`: add, remove or set processors, units or memory of a partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DlparRequest {
    /// Add, remove or set.
    pub op: DlparOp,
    /// Processors (virtual processors when shared).
    pub procs: Option<u32>,
    /// Processing units.
    pub proc_units: Option<ProcUnits>,
    /// Memory in MB.
    pub mem: Option<u64>,
    /// Add even without an active RMC connection (the guest agent), as HMC's `--force`:
    /// the administrator knows the OS onlines what is added.
    #[serde(default)]
    pub force: bool,
}

/// `chhwres -o m`: move processors, units or memory from one partition to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// Partition that gives.
    pub source: u32,
    /// Partition that receives.
    pub target: u32,
    /// Processors to move.
    pub procs: Option<u32>,
    /// Processing units to move.
    pub proc_units: Option<ProcUnits>,
    /// Memory to move, MB.
    pub mem: Option<u64>,
    /// Move even when the target has no active RMC connection (`--force`).
    #[serde(default)]
    pub force: bool,
}

/// `chhwres -r virtualio --rsubtype eth -o a|r -s SLOT [-a port_vlan_id=N,ieee_virtual_eth=0]`:
/// adds or removes a virtual Ethernet adapter (hot-plugged when the partition runs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EthDlparRequest {
    /// `a` (add) or `r` (remove).
    pub op: DlparOp,
    /// The adapter's virtual slot.
    pub slot_num: u32,
    /// Its virtual Ethernet ID when added (default 1).
    #[serde(default)]
    pub port_vlan_id: Option<u16>,
    /// IEEE 802.1Q compatible (refused by this version when true).
    #[serde(default)]
    pub ieee_virtual_eth: Option<bool>,
}
