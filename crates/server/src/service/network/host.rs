//! What the network component asks of the host, as a trait: the Linux implementation goes
//! through `ivm_net` (rtnetlink, `/proc/sys`, `/dev/net/tun`); the unit tests give the
//! component a host in memory, so every undo path runs without root.

use std::fs::File;
use std::net::Ipv4Addr;

use ivm_net::ipv6::Ipv6State;
use ivm_net::{IpConfig, Link, NetError};

/// The host's links, addresses and routes, as the network component changes them.
pub(crate) trait NetHost: Send + Sync {
    /// Every link.
    fn links(&self) -> Result<Vec<Link>, NetError>;
    /// Makes bridge `name` (up) unless it exists.
    fn ensure_bridge(&self, name: &str) -> Result<(), NetError>;
    /// Removes bridge `name` if no port is attached; whether it went.
    fn delete_bridge_if_idle(&self, name: &str) -> Result<bool, NetError>;
    /// Removes every bridge named `prefix*` with no port; their names.
    fn remove_idle_bridges(&self, prefix: &str) -> Result<Vec<String>, NetError>;
    /// Gives link `name` hardware address `mac`.
    fn set_mac(&self, name: &str, mac: &[u8]) -> Result<(), NetError>;
    /// Makes `port` a port of `bridge` (and up).
    fn attach(&self, port: &str, bridge: &str) -> Result<(), NetError>;
    /// Takes `port` out of its bridge.
    fn detach(&self, port: &str) -> Result<(), NetError>;
    /// The addresses of link `name` and the routes through it.
    fn ip_config(&self, name: &str) -> Result<IpConfig, NetError>;
    /// Gives link `name` the addresses of `cfg`.
    fn add_addresses(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError>;
    /// Takes the addresses of `cfg` off link `name`.
    fn remove_addresses(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError>;
    /// Adds the routes of `cfg` through link `name`.
    fn add_routes(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError>;
    /// Removes the routes of `cfg` through link `name`.
    fn remove_routes(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError>;
    /// Link `name`'s IPv6 switches (`None`: the host has no IPv6).
    fn ipv6(&self, name: &str) -> Result<Option<Ipv6State>, NetError>;
    /// Sets link `name`'s IPv6 switches.
    fn set_ipv6(&self, name: &str, state: Ipv6State) -> Result<(), NetError>;
    /// Turns IPv6 off on link `name`.
    fn disable_ipv6(&self, name: &str) -> Result<(), NetError>;
    /// Opens tap `name` (made if missing, with virtio-net headers); it goes with the last
    /// descriptor.
    fn open_tap(&self, name: &str) -> Result<File, NetError>;
    /// Gives link `name` no queueing discipline.
    fn set_noqueue(&self, name: &str) -> Result<(), NetError>;
    /// Opens `/dev/vhost-net` for one more virtio-net device.
    fn open_vhost(&self) -> Result<File, NetError>;
    /// The host's primary IPv4 address.
    fn primary_ipv4(&self) -> Result<Option<Ipv4Addr>, NetError>;
}

/// The host this process runs on.
pub(crate) struct LinuxNet;

impl NetHost for LinuxNet {
    fn links(&self) -> Result<Vec<Link>, NetError> {
        ivm_net::links::list()
    }
    fn ensure_bridge(&self, name: &str) -> Result<(), NetError> {
        ivm_net::links::ensure_bridge(name).map(|_| ())
    }
    fn delete_bridge_if_idle(&self, name: &str) -> Result<bool, NetError> {
        ivm_net::links::delete_bridge_if_idle(name)
    }
    fn remove_idle_bridges(&self, prefix: &str) -> Result<Vec<String>, NetError> {
        ivm_net::links::remove_idle_bridges(prefix)
    }
    fn set_mac(&self, name: &str, mac: &[u8]) -> Result<(), NetError> {
        ivm_net::links::set_mac(name, mac)
    }
    fn attach(&self, port: &str, bridge: &str) -> Result<(), NetError> {
        ivm_net::links::attach(port, bridge)
    }
    fn detach(&self, port: &str) -> Result<(), NetError> {
        ivm_net::links::detach(port)
    }
    fn ip_config(&self, name: &str) -> Result<IpConfig, NetError> {
        ivm_net::addrs::read(name)
    }
    fn add_addresses(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        ivm_net::addrs::add_addresses(name, cfg)
    }
    fn remove_addresses(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        ivm_net::addrs::remove_addresses(name, cfg)
    }
    fn add_routes(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        ivm_net::addrs::add_routes(name, cfg)
    }
    fn remove_routes(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        ivm_net::addrs::remove_routes(name, cfg)
    }
    fn ipv6(&self, name: &str) -> Result<Option<Ipv6State>, NetError> {
        ivm_net::ipv6::state(name)
    }
    fn set_ipv6(&self, name: &str, state: Ipv6State) -> Result<(), NetError> {
        ivm_net::ipv6::set(name, state)
    }
    fn disable_ipv6(&self, name: &str) -> Result<(), NetError> {
        ivm_net::ipv6::disable(name)
    }
    fn open_tap(&self, name: &str) -> Result<File, NetError> {
        ivm_net::tap::open(name, true)
    }
    fn set_noqueue(&self, name: &str) -> Result<(), NetError> {
        ivm_net::qdisc::set_noqueue(name)
    }
    fn open_vhost(&self) -> Result<File, NetError> {
        ivm_net::tap::open_vhost()
    }
    fn primary_ipv4(&self) -> Result<Option<Ipv4Addr>, NetError> {
        ivm_net::addrs::primary_ipv4()
    }
}
