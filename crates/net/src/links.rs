//! Network links through rtnetlink: bridges, their ports, removal, and what exists.

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkUnspec};

/// A network step that failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A netlink request the kernel refused.
    #[error("{action} {name}: {message}")]
    Netlink {
        /// What was being done.
        action: &'static str,
        /// To which link.
        name: String,
        /// The kernel's answer.
        message: String,
    },
    /// A system call failed.
    #[error("{action} {name}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// To which link.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// An interface name the kernel cannot take.
    #[error("interface name {0:?} must be 1 to 15 bytes")]
    Name(String),
}

/// A link as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Index of the bridge it is a port of.
    pub master: Option<u32>,
    /// Whether it is a bridge.
    pub bridge: bool,
    /// Whether it is up.
    pub up: bool,
    /// Whether it is a loopback interface.
    pub loopback: bool,
    /// Its hardware address (empty when it has none).
    pub mac: Vec<u8>,
    /// Bytes received and sent since it was made.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
}

/// Refuses a network change inside a store write transaction.
pub(crate) fn guard(what: &'static str) -> Result<(), NetError> {
    ivm_txguard::host_action(what).map_err(|e| NetError::Netlink {
        action: "change",
        name: what.to_string(),
        message: e.to_string(),
    })
}

pub(crate) fn nl<'a>(
    action: &'static str,
    name: &'a str,
) -> impl FnOnce(rtnetlink::Error) -> NetError + 'a {
    move |e| NetError::Netlink {
        action,
        name: name.to_string(),
        message: e.to_string(),
    }
}

/// Runs `f` with a netlink handle on a private single-thread runtime in a thread of its own,
/// so callers stay blocking (inside an async runtime too) and the socket opens in the calling
/// thread's network namespace (a new thread starts in its creator's).
pub(crate) fn with_handle<T: Send>(
    f: impl AsyncFnOnce(Handle) -> Result<T, NetError> + Send,
) -> Result<T, NetError> {
    // Checked here, on the caller's thread: the mark does not follow into the netlink thread.
    guard("netlink")?;
    std::thread::scope(|s| {
        s.spawn(|| on_private_runtime(f))
            .join()
            .unwrap_or_else(|_| {
                Err(NetError::Netlink {
                    action: "talk to",
                    name: "netlink".into(),
                    message: "the netlink thread panicked".into(),
                })
            })
    })
}

fn on_private_runtime<T>(
    f: impl AsyncFnOnce(Handle) -> Result<T, NetError>,
) -> Result<T, NetError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NetError::Io {
            action: "start netlink for",
            name: String::new(),
            source: e,
        })?;
    rt.block_on(async {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| NetError::Io {
            action: "open netlink for",
            name: String::new(),
            source: e,
        })?;
        let task = tokio::spawn(conn);
        let out = f(handle).await;
        task.abort();
        out
    })
}

fn to_link(m: &LinkMessage) -> Link {
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        master: None,
        bridge: false,
        up: m
            .header
            .flags
            .contains(rtnetlink::packet_route::link::LinkFlags::Up),
        loopback: m
            .header
            .flags
            .contains(rtnetlink::packet_route::link::LinkFlags::Loopback),
        mac: Vec::new(),
        rx_bytes: 0,
        tx_bytes: 0,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n.clone(),
            LinkAttribute::Controller(i) => l.master = Some(*i),
            LinkAttribute::Address(a) => l.mac = a.clone(),
            LinkAttribute::Stats64(s) => {
                l.rx_bytes = s.rx_bytes;
                l.tx_bytes = s.tx_bytes;
            }
            LinkAttribute::LinkInfo(infos) => {
                l.bridge = infos
                    .iter()
                    .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge)));
            }
            _ => {}
        }
    }
    l
}

pub(crate) async fn all(handle: &Handle) -> Result<Vec<Link>, NetError> {
    let mut s = handle.link().get().execute();
    let mut out = Vec::new();
    while let Some(m) = s.try_next().await.map_err(nl("list", "links"))? {
        out.push(to_link(&m));
    }
    Ok(out)
}

/// Every link in this network namespace.
pub fn list() -> Result<Vec<Link>, NetError> {
    with_handle(async |h| all(&h).await)
}

/// Makes bridge `name` (if missing, with IPv6 off) and brings it up; returns its index.
pub fn ensure_bridge(name: &str) -> Result<u32, NetError> {
    if name.is_empty() || name.len() > 15 {
        return Err(NetError::Name(name.to_string()));
    }
    with_handle(async |h| {
        if !all(&h).await?.iter().any(|l| l.name == name) {
            // Another process may have made it meanwhile: that is the bridge wanted.
            let made = h.link().add(LinkBridge::new(name).build()).execute().await;
            match made {
                // Before it comes up: a bridge of guests' frames takes no IPv6 address.
                Ok(()) => crate::ipv6::disable(name)?,
                Err(e) if matches!(&e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::EEXIST) =>
                    {}
                Err(e) => return Err(nl("create bridge", name)(e)),
            }
        }
        let l = all(&h)
            .await?
            .into_iter()
            .find(|l| l.name == name)
            .ok_or_else(|| NetError::Netlink {
                action: "find bridge",
                name: name.to_string(),
                message: "it vanished".into(),
            })?;
        h.link()
            .set(LinkUnspec::new_with_index(l.index).up().build())
            .execute()
            .await
            .map_err(nl("bring up", name))?;
        Ok(l.index)
    })
}

/// Makes link `port` a port of bridge `bridge` and brings it up.
pub fn attach(port: &str, bridge: &str) -> Result<(), NetError> {
    with_handle(async |h| {
        let links = all(&h).await?;
        let (p, b) = (index_of(&links, port)?, index_of(&links, bridge)?);
        h.link()
            .set(LinkUnspec::new_with_index(p).controller(b).up().build())
            .execute()
            .await
            .map_err(nl("attach", port))
    })
}

/// The index of link `name` among `links`.
pub(crate) fn index_of(links: &[Link], name: &str) -> Result<u32, NetError> {
    links
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.index)
        .ok_or_else(|| NetError::Netlink {
            action: "find",
            name: name.to_string(),
            message: "no such interface".into(),
        })
}

/// Takes link `port` out of whatever bridge it is in (it stays up).
pub fn detach(port: &str) -> Result<(), NetError> {
    with_handle(async |h| {
        let p = index_of(&all(&h).await?, port)?;
        h.link()
            .set(LinkUnspec::new_with_index(p).nocontroller().build())
            .execute()
            .await
            .map_err(nl("detach", port))
    })
}

/// Brings link `name` up.
pub fn set_up(name: &str) -> Result<(), NetError> {
    with_handle(async |h| {
        let i = index_of(&all(&h).await?, name)?;
        h.link()
            .set(LinkUnspec::new_with_index(i).up().build())
            .execute()
            .await
            .map_err(nl("bring up", name))
    })
}

/// Gives link `name` the hardware address `mac` (a bridge then keeps it whatever its ports).
pub fn set_mac(name: &str, mac: &[u8]) -> Result<(), NetError> {
    with_handle(async |h| {
        let i = index_of(&all(&h).await?, name)?;
        h.link()
            .set(LinkUnspec::new_with_index(i).address(mac.to_vec()).build())
            .execute()
            .await
            .map_err(nl("set the address of", name))
    })
}

/// Removes link `name`; a missing one is fine.
pub fn delete(name: &str) -> Result<(), NetError> {
    with_handle(async |h| {
        if let Some(l) = all(&h).await?.into_iter().find(|l| l.name == name) {
            h.link()
                .del(l.index)
                .execute()
                .await
                .map_err(nl("remove", name))?;
        }
        Ok(())
    })
}

/// Removes bridge `name` if it has no port left (or is gone already); returns whether it is
/// gone.
pub fn delete_bridge_if_idle(name: &str) -> Result<bool, NetError> {
    with_handle(async |h| {
        let links = all(&h).await?;
        let Some(b) = links.iter().find(|l| l.name == name && l.bridge) else {
            return Ok(true);
        };
        if links.iter().any(|l| l.master == Some(b.index)) {
            return Ok(false);
        }
        h.link()
            .del(b.index)
            .execute()
            .await
            .map_err(nl("remove", name))?;
        Ok(true)
    })
}

/// Removes the bridges whose name starts with `prefix` and that have no port left; returns
/// their names.
pub fn remove_idle_bridges(prefix: &str) -> Result<Vec<String>, NetError> {
    with_handle(async |h| {
        let links = all(&h).await?;
        let mut removed = Vec::new();
        for b in links
            .iter()
            .filter(|l| l.bridge && l.name.starts_with(prefix))
        {
            if !links.iter().any(|l| l.master == Some(b.index)) {
                h.link()
                    .del(b.index)
                    .execute()
                    .await
                    .map_err(nl("remove", &b.name))?;
                removed.push(b.name.clone());
            }
        }
        Ok(removed)
    })
}
