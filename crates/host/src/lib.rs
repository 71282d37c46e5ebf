//! Host drivers. This crate reads and changes the host; it never decides policy.

pub mod accounts;
pub mod cgroup;
pub mod cpulist;
pub mod discovery;
pub mod logs;
pub mod ssh;
pub mod usage;
pub mod users;

pub use discovery::{discover, online_cpus, physical_volumes, HostError, HostFacts};
