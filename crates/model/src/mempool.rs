//! The shared memory pool (Active Memory Sharing) and its paging devices.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// IVM's memory weight when none is given (Medium).
pub const DEFAULT_MEM_WEIGHT: u8 = 128;

/// The one shared memory pool: physical memory committed from the system, lent to the
/// shared-memory partitions, and the storage pool their paging devices come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemPool {
    /// Physical memory in the pool, MB: committed from the system like dedicated memory.
    pub pool_mem: u64,
    /// What `pool_mem` may grow to without removing the pool, MB.
    pub max_pool_mem: u64,
    /// The storage pool paging devices are made in.
    pub paging_storage_pool: String,
}

/// A request to create or change the pool (`chhwres -r mempool -o a|s`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemPoolRequest {
    /// Physical memory in the pool, MB.
    pub pool_mem: Option<u64>,
    /// Most the pool may grow to, MB (default: `pool_mem`).
    pub max_pool_mem: Option<u64>,
    /// The storage pool for paging devices (default: the default storage pool).
    pub paging_storage_pool: Option<String>,
}

/// A paging device: a backing device that holds what a shared-memory partition's logical
/// memory does not find room for in the pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PagingDevice {
    /// Backing device name.
    pub name: String,
    /// Size, MB (at least the partition's max_mem).
    pub size_mb: u64,
    /// The partition it pages for (none: a physical volume given to the pool, unassigned).
    pub lpar_id: Option<u32>,
    /// `Active` while the partition runs, `Inactive` otherwise.
    pub state: crate::PagingDeviceState,
    /// A backing device made in the paging storage pool, or a physical volume given to it.
    pub kind: crate::PagingDeviceKind,
}

/// A backing device made as a partition's paging device, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingVolume {
    /// Backing device name.
    pub name: String,
    /// Size, MB.
    pub size_mb: u64,
    /// The partition it pages for.
    pub lpar_id: u32,
}

/// A physical volume given to the pool, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingPv {
    /// `hdiskN`.
    pub name: String,
    /// The partition it pages for (none: unassigned).
    pub lpar_id: Option<u32>,
}

/// A physical volume given to or taken from the pool as a paging device
/// (`chhwres -r mempool --rsubtype pgdev -o a|r --device hdiskN`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PagingPvRequest {
    /// The physical volume, `hdiskN`.
    pub device: String,
}

/// The pool as `lshwres -r mempool` and the API show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemPoolView {
    /// The pool's settings.
    #[serde(flatten)]
    pub pool: MemPool,
    /// Pool memory not lent to running partitions now, MB.
    pub curr_avail_pool_mem: u64,
    /// Pool memory the host keeps for its own use of the pool (page tables, QEMU), MB.
    pub sys_firmware_pool_mem: u64,
    /// Sum of the desired logical memory of the pool's partitions, MB.
    pub logical_mem: u64,
    /// What that sum may reach (ivm's limit), MB.
    pub max_logical_mem: u64,
    /// The devices partitions' memory is paged to, with their state.
    pub paging_devices: Vec<PagingDevice>,
}
