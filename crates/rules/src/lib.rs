//! IVM's resource rules as pure functions over the model.
//!
//! Every decision about what a partition may have lives here: names and IDs, processors and
//! processing units, memory and its region size, the management partition's share, and the
//! no-overcommit check. Nothing here does I/O, so every rule is tested exhaustively.

mod backup;
mod boot;
mod capacity;
mod dlpar;
mod entitlement;
mod error;
mod eth;
mod guest_memory;
mod live;
mod live_plan;
mod management;
mod media;
mod memory;
mod mempool;
mod mobility;
mod names;
mod netdev;
mod partition;
mod procs;
mod storage;
mod system;
mod totals;
mod users;
mod util;

pub use backup::check_restore;
pub use boot::{
    check_cloud_init, check_display, cloud_init_meta_data, resolve_boot, MAX_NETWORK_CONFIG,
    MAX_USER_DATA,
};
pub use capacity::{check_fits, summary};
pub use dlpar::{dlpar_change, move_changes};
pub use entitlement::{
    choose_accel, cpu_limits, memory_limit_mb, pick_dedicated_cpus, qemu_overhead_mb, shared_pool,
    CpuLimits, CFS_PERIOD_US,
};
pub use error::{RefusalKind, RuleError, UploadRefusal};
pub use eth::{
    change_adapters, check_adapters, check_mac_base, default_adapters, generate_mac_base, new_eth,
    ported_slots, FIRST_ETH_SLOT, MAX_PORTED_SLOTS, PVIDS,
};
pub use guest_memory::{guest_memory_mb, memory_layout, plug_seen, MemoryLayout, PlugSeen};
pub use live::{
    check_live_change, check_rmc, check_settled, check_tcg_plug, launch_limits, tcg_regions,
    TCG_TB_SIZE_MB,
};
pub use live_plan::{live_plan, LiveShape, LiveStep};
pub use management::default_management_partition;
pub use media::{
    change_media, check_media_removal, check_repository_removal, find_media, find_optical,
    load_media, loaded_in, media_used, new_media, new_optical, new_repository, repository,
    repository_view, resize_repository, validate_media_name, MAX_MEDIA_NAME,
};
pub use memory::{resolve_memory, MemRequest};
pub use mempool::{
    check_logical, check_mempool_removal, check_paging_pv, check_pool_holds, existing_pool,
    logical_mem, no_mem_pool, pick_paging_pv, pool_limits, resolve_pool, shared_partitions,
    PoolLimits, LOGICAL_PER_POOL,
};
pub use mobility::{
    check_host, check_incoming, check_not_migrating, check_peer, check_peer_password,
    migration_kind, storage_pool_of,
};
pub use names::{lowest_free_id, validate_partition_name};
pub use netdev::{
    check_rmdev, is_nic_candidate, management_adapters, new_sea, scan_eth_devices, IVM_LINK_PREFIX,
};
pub use partition::{apply_change, check_delete, check_no_mappings, new_partition};
pub use procs::{committed_units, resolve_procs, sharing_fits, ProcRequest};
pub use storage::{
    check_disk_removal, check_import_pool, check_not_default, check_pool_hdisks,
    check_pool_removal, check_rbd_spec, file_pool_pps, find_disk, free_hdisks, grow_disk,
    import_size, new_disk, new_file_pool, new_file_pool_in_vg, new_mapping, new_rbd_pool,
    new_vg_pool, next_vhost, parse_size, parse_vhost, pick_pool, pool_allocated, pool_free,
    pool_volume, pvid, scan_hdisks, validate_storage_name, FILE_POOL_PP_MB, MAX_STORAGE_NAME,
    REPOSITORY_BD,
};
pub use system::{default_firmware_mem, region_size_for, round_down_to_region, validate_system};
pub use totals::{committed_mem, Totals};
pub use users::{login_delay_secs, may, validate_password, validate_ssh_key, validate_user_name};
pub use util::{
    check_sample_rate, next_cycles, util_points, utilization, Cycles, DEFAULT_MAX_AGE_SECS,
    DEFAULT_SAMPLE_RATE, SAMPLE_RATES,
};
