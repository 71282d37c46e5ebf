//! Taps: a partition adapter's end on the host. Opened through `/dev/net/tun` and never made
//! persistent, so when the last descriptor closes (QEMU exits, ivm dropped its copy) the kernel
//! removes the tap: nothing is left behind after a crash.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;

use crate::NetError;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;

/// Opens tap `name` (at most 15 bytes). `vnet_hdr` adds the virtio-net header QEMU's
/// virtio-net uses for offloads; without it the descriptor carries plain Ethernet frames.
pub fn open(name: &str, vnet_hdr: bool) -> Result<File, NetError> {
    crate::links::guard("tap.open")?;
    if name.is_empty() || name.len() > 15 {
        return Err(NetError::Name(name.to_string()));
    }
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| NetError::Io {
            action: "open /dev/net/tun for",
            name: name.to_string(),
            source: e,
        })?;
    // struct ifreq: the name, then the flags.
    let mut req = [0u8; 40];
    req[..name.len()].copy_from_slice(name.as_bytes());
    let flags = IFF_TAP | IFF_NO_PI | if vnet_hdr { IFF_VNET_HDR } else { 0 };
    req[16..18].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, which `req` is large enough to hold.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), TUNSETIFF, req.as_mut_ptr()) };
    if r != 0 {
        return Err(NetError::Io {
            action: "create tap",
            name: name.to_string(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(f)
}

/// The vhost-net device, where the kernel has it: a descriptor QEMU uses to move an adapter's
/// packets in the kernel (`vhost=on,vhostfd=`), since QEMU runs without the right to open it.
pub const VHOST_NET: &str = "/dev/vhost-net";

/// Whether the kernel offers vhost-net.
pub fn vhost_net_available() -> bool {
    std::path::Path::new(VHOST_NET).exists()
}

/// Opens the vhost-net device for one adapter.
pub fn open_vhost() -> Result<File, NetError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(VHOST_NET)
        .map_err(|e| NetError::Io {
            action: "open",
            name: VHOST_NET.into(),
            source: e,
        })
}
