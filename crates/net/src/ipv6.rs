//! A link's IPv6 switches (`/proc/sys/net/ipv6/conf/NAME`: `disable_ipv6`, `accept_ra`), for
//! the network namespace of the calling thread. ivm's bridges and taps carry guests' frames,
//! not the host's traffic: with IPv6 on, a bridge takes a link-local address and router
//! advertisements, and guests on an internal virtual Ethernet would reach the host's services.

use std::path::PathBuf;

use crate::NetError;

/// A link's IPv6 switches as the kernel has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6State {
    /// IPv6 on (no `disable_ipv6`).
    pub enabled: bool,
    /// The `accept_ra` value (0, 1 or 2).
    pub accept_ra: u8,
}

fn conf(name: &str, key: &str) -> Result<PathBuf, NetError> {
    if name.is_empty() || name.len() > 15 || name.contains('/') || name.starts_with('.') {
        return Err(NetError::Name(name.to_string()));
    }
    Ok(PathBuf::from("/proc/sys/net/ipv6/conf")
        .join(name)
        .join(key))
}

fn io<'a>(action: &'static str, name: &'a str) -> impl FnOnce(std::io::Error) -> NetError + 'a {
    move |source| NetError::Io {
        action,
        name: name.to_string(),
        source,
    }
}

/// The link's IPv6 switches; `None` when the host has no IPv6 at all.
pub fn state(name: &str) -> Result<Option<Ipv6State>, NetError> {
    let read = |key| -> Result<Option<String>, NetError> {
        match std::fs::read_to_string(conf(name, key)?) {
            Ok(v) => Ok(Some(v.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read the IPv6 settings of", name)(e)),
        }
    };
    let (Some(disable), Some(ra)) = (read("disable_ipv6")?, read("accept_ra")?) else {
        return Ok(None);
    };
    Ok(Some(Ipv6State {
        enabled: disable == "0",
        accept_ra: ra.parse().unwrap_or(0),
    }))
}

/// Sets the link's IPv6 switches (nothing to do on a host without IPv6).
pub fn set(name: &str, s: Ipv6State) -> Result<(), NetError> {
    crate::links::guard("ipv6.set")?;
    if state(name)?.is_none() {
        return Ok(());
    }
    let write = |key, v: String| {
        std::fs::write(conf(name, key)?, v).map_err(io("set the IPv6 settings of", name))
    };
    // Router advertisements off before IPv6 comes on, so none is taken in between.
    write("accept_ra", s.accept_ra.to_string())?;
    write(
        "disable_ipv6",
        if s.enabled { "0" } else { "1" }.to_string(),
    )
}

/// IPv6 off on the link: no address, no router advertisements.
pub fn disable(name: &str) -> Result<(), NetError> {
    set(
        name,
        Ipv6State {
            enabled: false,
            accept_ra: 0,
        },
    )
}
