//! The managed system (this host) and its resource totals.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Accel, ProcUnits};

/// The managed system as discovered from the host (or overridden by configuration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManagedSystem {
    /// System name: the host name.
    pub name: String,
    /// Machine type and model, `type-model`.
    pub type_model: String,
    /// Serial number.
    pub serial_num: String,
    /// Installed processors.
    pub installed_procs: u32,
    /// Installed memory in megabytes (a multiple of the region size).
    pub installed_mem: u64,
    /// Memory region size in megabytes: every memory value is a multiple of it.
    pub mem_region_size: u64,
    /// Memory held back for the hypervisor (QEMU overhead), in megabytes.
    pub firmware_mem: u64,
    /// Highest partition ID.
    pub max_lpars: u32,
    /// Block devices not used by the host, usable as physical volumes.
    pub physical_volumes: Vec<PhysicalVolume>,
    /// Physical network interfaces.
    pub physical_nics: Vec<PhysicalNic>,
    /// The shared memory pool, when one exists (kept in the store; the service sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_pool: Option<crate::MemPool>,
}

/// A whole block device the host does not use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PhysicalVolume {
    /// Kernel device name, e.g. `sdb`.
    pub name: String,
    /// A stable identity that survives reboots and renumbering: the device's WWID or serial,
    /// or a loop device's backing file; the kernel name only when it has none of these.
    #[serde(default)]
    pub id: String,
    /// Size in megabytes.
    pub size_mb: u64,
    /// Vendor/model text when the device reports one.
    pub model: String,
}

/// A physical network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PhysicalNic {
    /// Interface name, e.g. `eth0`.
    pub name: String,
    /// MAC address, 12 hex digits without separators.
    pub mac: String,
    /// Whether the link is up.
    pub link_up: bool,
    /// Link speed in Mb/s when known.
    pub speed_mbps: Option<u32>,
}

/// Installed, committed and available processors and memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourceSummary {
    /// Installed processors.
    pub installed_procs: u32,
    /// Processing units that partitions may commit (installed processors as units).
    pub configurable_proc_units: ProcUnits,
    /// Units committed to all partitions, the management partition included.
    pub committed_proc_units: ProcUnits,
    /// Units still free.
    pub available_proc_units: ProcUnits,
    /// Whole processors still free for a dedicated partition.
    pub available_procs: u32,
    /// Installed memory in megabytes.
    pub installed_mem: u64,
    /// Memory reserved for the hypervisor.
    pub firmware_mem: u64,
    /// Memory that partitions may commit.
    pub configurable_mem: u64,
    /// Memory committed to all partitions, the management partition included.
    pub committed_mem: u64,
    /// Memory still free.
    pub available_mem: u64,
    /// Memory region size in megabytes.
    pub mem_region_size: u64,
    /// Number of partitions, the management partition included.
    pub partitions: u32,
}

/// What creating a partition would give, without creating it (`POST /partitions?dry_run=true`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatePreview {
    /// The partition as the rules would make it: ID, computed units, defaults filled in.
    pub partition: crate::Partition,
    /// The system's processors and memory once it is committed.
    pub after: ResourceSummary,
}

/// The managed system with its state and management partition, as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SystemView {
    /// Discovered and configured figures.
    #[serde(flatten)]
    pub system: ManagedSystem,
    /// Always `Operating` while ivm runs.
    pub state: String,
    /// ID of the management partition.
    pub mgmt_lpar_id: u32,
    /// Name of the management partition.
    pub mgmt_lpar_name: String,
    /// Accelerator partitions run with.
    pub accel: Accel,
    /// Why that accelerator was chosen.
    pub accel_reason: String,
    /// The host's primary IPv4 address (empty when it has none).
    #[serde(default)]
    pub ipaddr: String,
}
