//! Drives QEMU directly, as Proxmox's qemu-server does: argument vectors (never a shell), one
//! daemonized process per partition, and QMP over a Unix socket for everything after start.
//! This crate carries out decisions; it makes none.

pub mod agent;
pub mod firmware;
pub mod launch;
pub mod migration;
pub mod probe;
pub mod process;
pub mod qmp;
pub mod vm;

pub use launch::{
    DiskPlacement, LaunchDisk, LaunchNic, LaunchOptical, LaunchSpec, Paths, RbdDrive,
};
pub use qmp::{Event, Qmp, QmpError};

/// The QEMU system emulator ivm runs.
pub const QEMU_BINARY: &str = "qemu-system-x86_64";
