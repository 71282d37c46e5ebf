//! Host storage drivers. `files`: the directory of a file pool and the files of its virtual
//! disks (preallocated, or sparse in a thin pool), opened for QEMU as descriptors. `library`:
//! the virtual media library's files. `lvm`: volume groups and logical volumes; `mounts`: filesystems on them;
//! `rbd`: images in Ceph RBD pools; `image`: raw and qcow2 images imported into disks. The drivers
//! carry out; the rules and the service decide.

pub mod files;
pub mod image;
pub mod library;
pub mod lvm;
pub mod mounts;
pub mod rbd;
pub mod seed;

pub use files::{FileError, FilePool};
pub use library::{Library, Upload};
pub use rbd::{RbdError, RbdPool};
