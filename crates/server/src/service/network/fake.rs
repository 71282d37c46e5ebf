//! A host in memory for the network component's unit tests: links, ports, addresses, routes
//! and IPv6 switches, changed as the kernel changes them, and a failure injected at any one
//! change, so each undo path is checked without root.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use ivm_net::ipv6::Ipv6State;
use ivm_net::{IpConfig, Link, NetError};

use super::super::fake::Journal;
use super::NetHost;

/// IPv6 as a new link has it (the kernel's defaults).
pub const IPV6_DEFAULT: Ipv6State = Ipv6State {
    enabled: true,
    accept_ra: 1,
};

/// IPv6 off, as `ivm_net::ipv6::disable` leaves it.
pub const IPV6_OFF: Ipv6State = Ipv6State {
    enabled: false,
    accept_ra: 0,
};

/// One link as the fake host keeps it (its index lives apart: a link made again gets a new
/// one, and the comparisons of the tests are about names).
#[derive(Clone, Debug, PartialEq)]
pub struct FakeLink {
    /// Whether it is a bridge.
    pub bridge: bool,
    /// A tap, which goes with its descriptor (`close_taps`).
    pub tap: bool,
    /// The bridge it is a port of.
    pub master: Option<String>,
    /// Hardware address.
    pub mac: Vec<u8>,
    /// Addresses with their prefix lengths.
    pub addresses: Vec<(IpAddr, u8)>,
    /// Routes through it that the kernel did not make from an address.
    pub routes: Vec<ivm_net::addrs::Route>,
    /// Its IPv6 switches.
    pub ipv6: Ipv6State,
    /// Whether it has the `noqueue` discipline.
    pub noqueue: bool,
}

impl FakeLink {
    /// A physical NIC with `mac`.
    pub fn nic(mac: &[u8]) -> FakeLink {
        FakeLink {
            bridge: false,
            tap: false,
            master: None,
            mac: mac.to_vec(),
            addresses: Vec::new(),
            routes: Vec::new(),
            ipv6: IPV6_DEFAULT,
            noqueue: false,
        }
    }
}

#[derive(Default)]
struct State {
    links: BTreeMap<String, FakeLink>,
    indices: BTreeMap<String, u32>,
    next_index: u32,
    /// Every change asked for, in order, and the one to fail.
    journal: Journal,
}

/// The host in memory.
#[derive(Default)]
pub struct FakeNet {
    state: Mutex<State>,
}

fn refused(action: &'static str, name: &str, message: &str) -> NetError {
    NetError::Netlink {
        action,
        name: name.to_string(),
        message: message.to_string(),
    }
}

impl FakeNet {
    /// A host with `links`.
    pub fn with(links: &[(&str, FakeLink)]) -> FakeNet {
        let f = FakeNet::default();
        for (n, l) in links {
            f.put(n, l.clone());
        }
        f
    }

    /// Adds or replaces link `name`.
    pub fn put(&self, name: &str, link: FakeLink) {
        let mut s = self.state.lock().unwrap();
        if !s.indices.contains_key(name) {
            s.next_index += 1;
            let i = s.next_index;
            s.indices.insert(name.to_string(), i);
        }
        s.links.insert(name.to_string(), link);
    }

    /// The links as they are now.
    pub fn snapshot(&self) -> BTreeMap<String, FakeLink> {
        self.state.lock().unwrap().links.clone()
    }

    /// The changes asked for so far.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().journal.calls()
    }

    /// Makes the `n`th change from now fail (0: the next), before it does anything.
    pub fn fail_after(&self, n: usize) {
        self.state.lock().unwrap().journal.fail_after(n);
    }

    /// Closes every tap's descriptor: the taps vanish, as they do when QEMU exits.
    pub fn close_taps(&self) {
        let mut s = self.state.lock().unwrap();
        s.links.retain(|_, l| !l.tap);
    }

    /// Records change `what` and runs `f` on the links, unless this is the change to fail.
    fn change<T>(
        &self,
        what: String,
        f: impl FnOnce(&mut State) -> Result<T, NetError>,
    ) -> Result<T, NetError> {
        let mut s = self.state.lock().unwrap();
        s.journal
            .record(&what)
            .map_err(|m| refused("inject a failure into", &what, &m))?;
        f(&mut s)
    }
}

impl State {
    fn link(&mut self, name: &str) -> Result<&mut FakeLink, NetError> {
        self.links
            .get_mut(name)
            .ok_or_else(|| refused("find", name, "no such interface"))
    }

    fn make(&mut self, name: &str, link: FakeLink) {
        self.next_index += 1;
        self.indices.insert(name.to_string(), self.next_index);
        self.links.insert(name.to_string(), link);
    }

    fn idle(&self, bridge: &str) -> bool {
        !self
            .links
            .values()
            .any(|l| l.master.as_deref() == Some(bridge))
    }
}

impl NetHost for FakeNet {
    fn links(&self) -> Result<Vec<Link>, NetError> {
        let s = self.state.lock().unwrap();
        Ok(s.links
            .iter()
            .map(|(n, l)| Link {
                index: s.indices[n],
                name: n.clone(),
                master: l.master.as_ref().map(|m| s.indices[m]),
                bridge: l.bridge,
                up: true,
                loopback: false,
                mac: l.mac.clone(),
                rx_bytes: 0,
                tx_bytes: 0,
            })
            .collect())
    }

    fn ensure_bridge(&self, name: &str) -> Result<(), NetError> {
        self.change(format!("ensure_bridge {name}"), |s| {
            if !s.links.contains_key(name) {
                let mut b = FakeLink::nic(&[2, 0, 0, 0, 0, s.next_index as u8]);
                b.bridge = true;
                b.ipv6 = IPV6_OFF;
                s.make(name, b);
            }
            Ok(())
        })
    }

    fn delete_bridge_if_idle(&self, name: &str) -> Result<bool, NetError> {
        self.change(format!("delete_bridge_if_idle {name}"), |s| {
            if !s.idle(name) {
                return Ok(false);
            }
            s.links.remove(name);
            Ok(true)
        })
    }

    fn remove_idle_bridges(&self, prefix: &str) -> Result<Vec<String>, NetError> {
        self.change(format!("remove_idle_bridges {prefix}"), |s| {
            let gone: Vec<String> = s
                .links
                .iter()
                .filter(|(n, l)| l.bridge && n.starts_with(prefix))
                .map(|(n, _)| n.clone())
                .filter(|n| s.idle(n))
                .collect();
            for n in &gone {
                s.links.remove(n);
            }
            Ok(gone)
        })
    }

    fn set_mac(&self, name: &str, mac: &[u8]) -> Result<(), NetError> {
        self.change(format!("set_mac {name}"), |s| {
            s.link(name)?.mac = mac.to_vec();
            Ok(())
        })
    }

    fn attach(&self, port: &str, bridge: &str) -> Result<(), NetError> {
        self.change(format!("attach {port} {bridge}"), |s| {
            if !s.links.get(bridge).is_some_and(|b| b.bridge) {
                return Err(refused("attach", port, "no such bridge"));
            }
            s.link(port)?.master = Some(bridge.to_string());
            Ok(())
        })
    }

    fn detach(&self, port: &str) -> Result<(), NetError> {
        self.change(format!("detach {port}"), |s| {
            s.link(port)?.master = None;
            Ok(())
        })
    }

    fn ip_config(&self, name: &str) -> Result<IpConfig, NetError> {
        let mut s = self.state.lock().unwrap();
        let l = s.link(name)?;
        Ok(IpConfig {
            addresses: l.addresses.clone(),
            broadcasts: Vec::new(),
            routes: l.routes.clone(),
        })
    }

    fn add_addresses(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        self.change(format!("add_addresses {name}"), |s| {
            let l = s.link(name)?;
            for a in &cfg.addresses {
                if !l.addresses.contains(a) {
                    l.addresses.push(*a);
                }
            }
            Ok(())
        })
    }

    fn remove_addresses(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        self.change(format!("remove_addresses {name}"), |s| {
            let l = s.link(name)?;
            l.addresses.retain(|a| !cfg.addresses.contains(a));
            // The kernel flushes the routes whose gateway is no longer reachable.
            if l.addresses.is_empty() {
                l.routes.clear();
            }
            Ok(())
        })
    }

    fn add_routes(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        self.change(format!("add_routes {name}"), |s| {
            let l = s.link(name)?;
            if !cfg.routes.is_empty() && l.addresses.is_empty() {
                // A gateway needs an address on the link to be reachable.
                return Err(refused(
                    "add a route through",
                    name,
                    "Network is unreachable",
                ));
            }
            for r in &cfg.routes {
                if !l.routes.contains(r) {
                    l.routes.push(r.clone());
                }
            }
            Ok(())
        })
    }

    fn remove_routes(&self, name: &str, cfg: &IpConfig) -> Result<(), NetError> {
        self.change(format!("remove_routes {name}"), |s| {
            s.link(name)?.routes.retain(|r| !cfg.routes.contains(r));
            Ok(())
        })
    }

    fn ipv6(&self, name: &str) -> Result<Option<Ipv6State>, NetError> {
        let mut s = self.state.lock().unwrap();
        Ok(Some(s.link(name)?.ipv6))
    }

    fn set_ipv6(&self, name: &str, state: Ipv6State) -> Result<(), NetError> {
        self.change(format!("set_ipv6 {name}"), |s| {
            s.link(name)?.ipv6 = state;
            Ok(())
        })
    }

    fn disable_ipv6(&self, name: &str) -> Result<(), NetError> {
        self.set_ipv6(name, IPV6_OFF)
    }

    fn open_tap(&self, name: &str) -> Result<File, NetError> {
        self.change(format!("open_tap {name}"), |s| {
            if !s.links.contains_key(name) {
                let mut t = FakeLink::nic(&[0xfe, 0, 0, 0, 0, s.next_index as u8]);
                t.tap = true;
                s.make(name, t);
            }
            File::open("/dev/null").map_err(|e| NetError::Io {
                action: "open",
                name: name.to_string(),
                source: e,
            })
        })
    }

    fn set_noqueue(&self, name: &str) -> Result<(), NetError> {
        self.change(format!("set_noqueue {name}"), |s| {
            s.link(name)?.noqueue = true;
            Ok(())
        })
    }

    fn open_vhost(&self) -> Result<File, NetError> {
        Err(refused("open", "/dev/vhost-net", "not on the fake host"))
    }

    fn primary_ipv4(&self) -> Result<Option<Ipv4Addr>, NetError> {
        Ok(None)
    }
}
