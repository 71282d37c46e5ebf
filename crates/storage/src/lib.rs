//! Host storage drivers. `files`: the directory of a file pool and the files of its virtual
//! disks (preallocated, or sparse in a thin pool), opened for QEMU as descriptors. The drivers
//! carry out; the rules and the service decide.

pub mod files;
pub mod lvm;

pub use files::{FileError, FilePool};
