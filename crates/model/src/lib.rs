//! The types every ivm layer shares: the managed system, partitions, users and tasks.
//!
//! Nothing here does I/O or decides policy; the rules crate owns the policy.

mod enums;
mod partition;
mod request;
mod system;
mod task;
mod units;
mod user;

pub use enums::{BootMode, LparEnv, MemMode, PartitionState, ProcMode, SharingMode, UnknownValue};
pub use partition::{MemConfig, Partition, ProcConfig, MGMT_PARTITION_ID};
pub use request::{PartitionChange, PartitionSpec};
pub use system::{ManagedSystem, PhysicalNic, PhysicalVolume, ResourceSummary, SystemView};
pub use task::{Task, TaskResult};
pub use units::{ProcUnits, UnitsParseError};
pub use user::{Role, User, PRIME_ADMIN};
