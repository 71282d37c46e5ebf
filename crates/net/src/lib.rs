//! Host network drivers for virtual Ethernet, through the kernel's netlink interface (never by
//! running `ip`): `links` makes and removes bridges (one per virtual Ethernet ID where the kernel
//! has no bridge VLAN filtering), attaches ports and lists what exists; `tap` opens a partition
//! adapter's tap, whose descriptor QEMU inherits, so the tap disappears with the last holder.
//! The drivers carry out; the rules and the service decide.

pub mod links;
pub mod tap;

pub use links::{Link, NetError};
