//! Host network drivers for virtual Ethernet, through the kernel's netlink interface (never by
//! running `ip`): `links` makes and removes bridges (one per virtual Ethernet ID where the kernel
//! has no bridge VLAN filtering), attaches ports and lists what exists; `tap` opens a partition
//! adapter's tap, whose descriptor QEMU inherits, so the tap disappears with the last holder.
//! `addrs` reads a link's addresses and routes and puts them on another link (the host's own
//! network moving onto the bridge of a virtual Ethernet bridge, and back).
//! `ipv6` turns IPv6 off on bridges and taps (and back on for a bridge that carries the
//! host's own network). `qdisc` gives a tap the `noqueue` discipline.
//! The drivers carry out; the rules and the service decide.

pub mod addrs;
pub mod ipv6;
pub mod links;
pub mod qdisc;
pub mod tap;

pub use addrs::IpConfig;
pub use links::{Link, NetError};
