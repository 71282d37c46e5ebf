//! A logical partition and its committed resources.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    Accel, BootFirmware, BootMode, DisplayAdapter, LparEnv, MemMode, PartitionState, ProcMode,
    ProcUnits, RmcState, SharingMode,
};

/// The management partition is always ID 1: the host OS that runs ivm.
pub const MGMT_PARTITION_ID: u32 = 1;

/// A logical partition: identity, state and committed resources. Field names are IVM's attributes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(from = "crate::partition_wire::PartitionWire")]
pub struct Partition {
    /// Partition ID, 1 for the management partition, 2.. for clients.
    pub lpar_id: u32,
    /// Unique name; the single profile carries the same name.
    pub name: String,
    /// `vioserver` for the management partition, `aixlinux` for clients.
    pub lpar_env: LparEnv,
    /// Current state.
    pub state: PartitionState,
    /// Last progress or error reference code.
    pub ref_code: String,
    /// When the reference code was set, ms since the Unix epoch (0 when never).
    pub ref_time_ms: i64,
    /// Activate when the managed system starts.
    pub auto_start: bool,
    /// Boot mode used at the next activation.
    pub boot_mode: BootMode,
    /// Operating system version reported for the partition, empty when unknown.
    pub os_version: String,
    /// Highest virtual adapter slot number.
    pub max_virtual_slots: u32,
    /// Committed processors.
    #[serde(flatten)]
    pub procs: ProcConfig,
    /// Committed memory.
    #[serde(flatten)]
    pub mem: MemConfig,
    /// Direct kernel boot (an ivm extension to the profile).
    #[serde(flatten)]
    pub boot: BootConfig,
    /// Virtual Ethernet adapters and the MAC base.
    #[serde(flatten)]
    pub eth: crate::EthConfig,
    /// What the running guest really has; absent while not running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
}

/// Direct kernel boot: when `boot_kernel` is set, QEMU boots it instead of firmware devices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BootConfig {
    /// Kernel image path on the host, empty when unset.
    pub boot_kernel: String,
    /// Initial ramdisk path on the host, empty when unset.
    pub boot_initrd: String,
    /// Kernel command line.
    pub boot_args: String,
    /// Firmware: BIOS, or UEFI with NVRAM variables kept for the partition.
    #[serde(default)]
    pub boot_firmware: BootFirmware,
    /// Display adapter: none (serial terminal only), `vga` or `virtio-gpu`.
    #[serde(default)]
    pub display: DisplayAdapter,
}

/// A running partition as the host really has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunInfo {
    /// QEMU's process ID.
    pub pid: u32,
    /// Accelerator the partition runs with.
    pub accel: Accel,
    /// Activation time, ms since the Unix epoch.
    pub started_ms: i64,
    /// Virtual processors present in the guest.
    pub procs: u32,
    /// Memory plugged into the guest, MB.
    pub mem: u64,
    /// Host CPUs the partition's processors may run on (kernel list format).
    pub cpus: String,
    /// Whether a virtual terminal session is open.
    pub console_attached: bool,
    /// Processing units the partition used recently (QEMU's CPU time per wall time).
    pub utilized_units: ProcUnits,
    /// Shared memory: the guest memory resident in the pool now, MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phys_mem: Option<u64>,
    /// Shared memory: logical memory in use that is not resident, MB: on the paging device
    /// (or never touched by the guest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paged_mem: Option<u64>,
    /// The guest agent (ivm's RMC): active while the guest runs it.
    pub rmc_state: RmcState,
    /// The guest's first IPv4 address outside loopback, as its agent reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rmc_ipaddr: Option<String>,
}

/// Processor assignment: min/desired/max processors (virtual ones when shared) and units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProcConfig {
    /// Dedicated or shared processors.
    pub proc_mode: ProcMode,
    /// Fewest processors DLPAR may leave.
    pub min_procs: u32,
    /// Committed processors (virtual processors when shared).
    pub desired_procs: u32,
    /// Most processors DLPAR may add up to.
    pub max_procs: u32,
    /// Fewest processing units (shared only).
    pub min_proc_units: Option<ProcUnits>,
    /// Committed processing units (shared only).
    pub desired_proc_units: Option<ProcUnits>,
    /// Most processing units (shared only).
    pub max_proc_units: Option<ProcUnits>,
    /// keep_idle_procs/share_idle_procs (dedicated) or cap/uncap (shared).
    pub sharing_mode: SharingMode,
    /// Share of idle pool capacity for uncapped partitions, 0..255.
    pub uncap_weight: u8,
}

/// Memory assignment in megabytes, multiples of the memory region size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemConfig {
    /// Dedicated or shared memory.
    pub mem_mode: MemMode,
    /// Fewest megabytes DLPAR may leave.
    pub min_mem: u64,
    /// Committed megabytes.
    pub desired_mem: u64,
    /// Most megabytes DLPAR may add up to.
    pub max_mem: u64,
    /// Shared memory: the partition's claim on pool memory against the others', 0..255.
    #[serde(default = "default_mem_weight")]
    pub mem_weight: u8,
}

pub(crate) fn default_mem_weight() -> u8 {
    crate::DEFAULT_MEM_WEIGHT
}

impl Partition {
    /// True for the management partition (ID 1).
    pub fn is_management(&self) -> bool {
        self.lpar_id == MGMT_PARTITION_ID
    }
}

/// What a running partition's QEMU was started with: the bounds of every dynamic change until
/// the next activation, whatever the profile says meanwhile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LaunchLimits {
    /// Most vCPUs QEMU can hold (`-smp maxcpus`).
    pub max_procs: u32,
    /// Boot memory, MB: never removed.
    pub min_mem: u64,
    /// Most memory the virtio-mem device can reach, MB.
    pub max_mem: u64,
    /// vCPU plugs the running QEMU can still carry out; `None` when unlimited (KVM). Under
    /// multi-threaded TCG every plugged vCPU takes a translation context that an unplug never
    /// gives back, and QEMU aborts when it runs out.
    pub vcpu_plugs_left: Option<u32>,
}

/// A partition's cloud-init NoCloud seed (`cloud_init_*`, ivm's attributes): given to the
/// guest at activation as a small read-only optical device labelled `cidata`, with
/// `meta-data` (the instance ID and hostname), `user-data` and, when set, `network-config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudInit {
    /// The guest's hostname (`local-hostname`); the partition's name when empty.
    #[serde(default)]
    pub hostname: String,
    /// `user-data`: a `#cloud-config` document or a script.
    #[serde(default)]
    pub user_data: String,
    /// `network-config` (version 1 or 2), none when empty.
    #[serde(default)]
    pub network_config: String,
}
