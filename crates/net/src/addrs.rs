//! A link's IP configuration: its addresses and the routes through it, read so they can be put
//! on another link (a physical NIC's, on the bridge it joins) and taken off again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressScope};
use rtnetlink::packet_route::route::{
    RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType,
};
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::links::{all, index_of, nl, with_handle};
use crate::NetError;

/// A route of the main table, as netlink carries it.
pub type Route = RouteMessage;

/// What a link carries of the host's network: addresses and the routes that leave through it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IpConfig {
    /// Addresses with their prefix lengths (IPv6 link-local ones stay: the kernel makes them).
    pub addresses: Vec<(IpAddr, u8)>,
    /// The IPv4 broadcast address each of `addresses` has, if any (put back as it was).
    pub broadcasts: Vec<(IpAddr, Ipv4Addr)>,
    /// Routes of the main table through the link that the kernel does not make itself from
    /// an address (gateways, static routes), kept whole so they go back as they were.
    pub routes: Vec<RouteMessage>,
}

impl IpConfig {
    /// Whether there is nothing to move.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty()
    }

    /// The routes as `ip route` would name them (for logs and tests).
    pub fn route_texts(&self) -> Vec<String> {
        self.routes.iter().map(route_text).collect()
    }
}

fn addr_of(a: &rtnetlink::packet_route::route::RouteAddress) -> Option<IpAddr> {
    use rtnetlink::packet_route::route::RouteAddress;
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

fn route_text(r: &RouteMessage) -> String {
    let mut dest = "default".to_string();
    let mut via = String::new();
    for a in &r.attributes {
        match a {
            RouteAttribute::Destination(d) => {
                if let Some(ip) = addr_of(d) {
                    dest = format!("{ip}/{}", r.header.destination_prefix_length);
                }
            }
            RouteAttribute::Gateway(g) => {
                if let Some(ip) = addr_of(g) {
                    via = format!(" via {ip}");
                }
            }
            _ => {}
        }
    }
    format!("{dest}{via}")
}

async fn routes_of(h: &Handle, index: u32) -> Result<Vec<RouteMessage>, NetError> {
    let mut out = Vec::new();
    for dump in [
        RouteMessageBuilder::<Ipv4Addr>::new().build(),
        RouteMessageBuilder::<Ipv6Addr>::new().build(),
    ] {
        let mut s = h.route().get(dump).execute();
        while let Some(r) = s.try_next().await.map_err(nl("list", "routes"))? {
            let table = r
                .attributes
                .iter()
                .find_map(|a| match a {
                    RouteAttribute::Table(t) => Some(*t),
                    _ => None,
                })
                .unwrap_or(u32::from(r.header.table));
            let through = r
                .attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == index));
            if through
                && table == u32::from(RouteHeader::RT_TABLE_MAIN)
                && r.header.protocol != RouteProtocol::Kernel
                && r.header.kind == RouteType::Unicast
            {
                out.push(r);
            }
        }
    }
    Ok(out)
}

async fn read_config(h: &Handle, index: u32) -> Result<IpConfig, NetError> {
    let mut addresses = Vec::new();
    let mut broadcasts = Vec::new();
    let mut s = h.address().get().set_link_index_filter(index).execute();
    while let Some(m) = s.try_next().await.map_err(nl("list", "addresses"))? {
        if m.header.index != index || m.header.scope == AddressScope::Link {
            continue;
        }
        // IPv4 carries the address as Local (Address is the peer on point-to-point links).
        let ip = m
            .attributes
            .iter()
            .find_map(|a| match a {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            })
            .or_else(|| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
        if let Some(ip) = ip {
            addresses.push((ip, m.header.prefix_len));
            for a in &m.attributes {
                if let AddressAttribute::Broadcast(b) = a {
                    broadcasts.push((ip, *b));
                }
            }
        }
    }
    Ok(IpConfig {
        addresses,
        broadcasts,
        routes: routes_of(h, index).await?,
    })
}

/// The addresses of link `name` and the routes through it.
pub fn read(name: &str) -> Result<IpConfig, NetError> {
    with_handle(async |h| {
        let i = index_of(&all(&h).await?, name)?;
        read_config(&h, i).await
    })
}

fn exists(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::EEXIST)
}

fn missing(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m)
        if [-libc::ESRCH, -libc::EADDRNOTAVAIL, -libc::ENOENT].contains(&m.raw_code()))
}

/// Gives link `name` the addresses of `cfg` (one it has already is fine).
pub fn add_addresses(name: &str, cfg: &IpConfig) -> Result<(), NetError> {
    with_handle(async |h| {
        let i = index_of(&all(&h).await?, name)?;
        for (ip, len) in &cfg.addresses {
            let mut req = h.address().add(i, *ip, *len);
            // The builder gives IPv4 addresses a broadcast address; keep the one it had, or none.
            let attrs = &mut req.message_mut().attributes;
            attrs.retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
            if let Some((_, b)) = cfg.broadcasts.iter().find(|(a, _)| a == ip) {
                attrs.push(AddressAttribute::Broadcast(*b));
            }
            if let Err(e) = req.execute().await {
                if !exists(&e) {
                    return Err(nl("add an address to", name)(e));
                }
            }
        }
        Ok(())
    })
}

/// Takes the addresses of `cfg` off link `name` (with the routes the kernel made for them);
/// one it does not have is fine.
pub fn remove_addresses(name: &str, cfg: &IpConfig) -> Result<(), NetError> {
    with_handle(async |h| {
        let i = index_of(&all(&h).await?, name)?;
        for (ip, len) in &cfg.addresses {
            let msg = match ip {
                IpAddr::V4(v) => rtnetlink::AddressMessageBuilder::<Ipv4Addr>::new()
                    .index(i)
                    .address(*v, *len)
                    .build(),
                IpAddr::V6(v) => rtnetlink::AddressMessageBuilder::<Ipv6Addr>::new()
                    .index(i)
                    .address(*v, *len)
                    .build(),
            };
            if let Err(e) = h.address().del(msg).execute().await {
                if !missing(&e) {
                    return Err(nl("remove an address from", name)(e));
                }
            }
        }
        Ok(())
    })
}

fn through(r: &RouteMessage, index: u32) -> RouteMessage {
    let mut r = r.clone();
    r.attributes.retain(|a| {
        !matches!(
            a,
            RouteAttribute::Oif(_) | RouteAttribute::CacheInfo(_) | RouteAttribute::Expires(_)
        )
    });
    r.attributes.push(RouteAttribute::Oif(index));
    r
}

/// Adds the routes of `cfg` through link `name` (one that exists is fine).
pub fn add_routes(name: &str, cfg: &IpConfig) -> Result<(), NetError> {
    with_handle(async |h| {
        let i = index_of(&all(&h).await?, name)?;
        for r in &cfg.routes {
            if let Err(e) = h.route().add(through(r, i)).execute().await {
                if !exists(&e) {
                    return Err(nl("add a route through", name)(e));
                }
            }
        }
        Ok(())
    })
}

/// Removes the routes of `cfg` through link `name` (one that is gone is fine).
pub fn remove_routes(name: &str, cfg: &IpConfig) -> Result<(), NetError> {
    with_handle(async |h| {
        let i = index_of(&all(&h).await?, name)?;
        for r in &cfg.routes {
            if let Err(e) = h.route().del(through(r, i)).execute().await {
                if !missing(&e) {
                    return Err(nl("remove a route through", name)(e));
                }
            }
        }
        Ok(())
    })
}

/// The host's primary IPv4 address: the first address of the link the default route leaves
/// through, or else the first global IPv4 address of any link.
pub fn primary_ipv4() -> Result<Option<Ipv4Addr>, NetError> {
    with_handle(async |h| {
        let mut v4 = Vec::new();
        let mut s = h.address().get().execute();
        while let Some(m) = s.try_next().await.map_err(nl("list", "addresses"))? {
            if m.header.scope != AddressScope::Universe {
                continue;
            }
            for a in &m.attributes {
                if let AddressAttribute::Local(IpAddr::V4(ip)) = a {
                    v4.push((m.header.index, *ip));
                }
            }
        }
        let mut default_oif = None;
        let mut r = h
            .route()
            .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
            .execute();
        while let Some(m) = r.try_next().await.map_err(nl("list", "routes"))? {
            let is_default = m.header.destination_prefix_length == 0
                && m.header.table == RouteHeader::RT_TABLE_MAIN;
            if is_default && default_oif.is_none() {
                default_oif = m.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Oif(i) => Some(*i),
                    _ => None,
                });
            }
        }
        Ok(default_oif
            .and_then(|oif| v4.iter().find(|(i, _)| *i == oif))
            .or(v4.first())
            .map(|(_, ip)| *ip))
    })
}
