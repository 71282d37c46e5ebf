//! The types every ivm layer shares: the managed system, partitions, users and tasks.
//!
//! Nothing here does I/O or decides policy; the rules crate owns the policy.

mod backup;
mod enums;
mod eth;
mod mempool;
mod migration;
mod netdev;
mod partition;
mod partition_wire;
mod request;
mod storage;
mod system;
mod task;
mod units;
mod user;
mod util;

pub use backup::{BackupFile, ProfileBackup, RestoreRequest};
pub use enums::{
    Accel, BootFirmware, BootMode, DisplayAdapter, DlparOp, LparEnv, MemMode, MigrationKind,
    MigrationState, PagingDeviceKind, PagingDeviceState, PartitionState, ProcMode, RmcState,
    SharingMode, ShutdownKind, UnknownValue,
};
pub use eth::{EthConfig, VirtualEthAdapter};
pub use mempool::{
    MemPool, MemPoolRequest, MemPoolView, PagingDevice, PagingPv, PagingPvRequest, PagingVolume,
    DEFAULT_MEM_WEIGHT,
};
pub use migration::{
    IncomingStatus, MachineShape, Migration, MigrationAccept, MigrationFigures, MigrationOffer,
    MigrationRequest, MigrationView, MobilityView, OfferedDisk, SharedDisk, TrustRequest,
};
pub use netdev::{EthDevice, EthDeviceKind, NetworkView, SeaRequest, VirtualEthernet};
pub use partition::{
    BootConfig, CloudInit, LaunchLimits, MemConfig, Partition, ProcConfig, RunInfo,
    MGMT_PARTITION_ID,
};
pub use request::{
    ActivateRequest, DlparRequest, EthDlparRequest, MoveRequest, PartitionChange, PartitionSpec,
    ShutdownRequest,
};
pub use storage::{
    BackingDevice, BackingKind, DiskChange, DiskSpec, Hdisk, LoadRequest, MapRequest, Mapping,
    MediaAccess, MediaChange, MediaSpec, OpticalDevice, OpticalMedia, OpticalRequest, PoolFree,
    PoolKind, PoolMember, PoolSpec, RbdLocation, RbdSpec, Repository, RepositorySpec, StoragePool,
    StorageView, VgPoolRequest, VirtualScsiAdapter,
};
pub use system::{
    CreatePreview, ManagedSystem, PhysicalNic, PhysicalVolume, ResourceSummary, SystemView,
};
pub use task::{Task, TaskResult};
pub use units::{ProcUnits, UnitsParseError};
pub use user::{Access, NewUser, PasswordChange, Role, RoleChange, User, PRIME_ADMIN};
pub use util::{RateChange, UtilConfig, UtilPoint, UtilSample};
