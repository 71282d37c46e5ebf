//! Ethernet devices (`entN`) and the virtual Ethernet bridge (Shared Ethernet Adapter).
//!
//! A virtual Ethernet bridge joins the bridge of one virtual Ethernet ID to a physical NIC. The
//! NIC's addresses and routes move to the bridge in steps, each with its undo, so the host keeps
//! its network whichever step fails; `rmdev` moves them back the same way. The bridge is
//! reserved in the store before the host changes, and a daemon that died half way finishes the
//! join at its next start (the store says the bridge exists).

use ivm_model::{
    EthDevice, EthDeviceKind, NetworkView, Partition, SeaRequest, VirtualEthernet,
    MGMT_PARTITION_ID,
};
use ivm_net::{addrs, links, Link};

use super::network::bridge_name;
use super::steps::{run, step};
use super::storage::host;
use super::{Actor, Service, ServiceError};

fn hex_mac(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn link<'a>(links: &'a [Link], name: &str) -> Option<&'a Link> {
    links.iter().find(|l| l.name == name)
}

/// The devices with what the host has now: interface names, presence, hardware addresses.
fn with_host_facts(
    mut devs: Vec<EthDevice>,
    links: &[Link],
    prefix: &str,
    mgmt: Option<&Partition>,
) -> Vec<EthDevice> {
    let phys_if: Vec<(String, String)> = devs
        .iter()
        .filter(|d| d.kind == EthDeviceKind::Physical)
        .map(|d| (d.name.clone(), d.ifname.clone()))
        .collect();
    for d in devs.iter_mut() {
        match d.kind {
            EthDeviceKind::Physical => {
                let l = link(links, &d.ifname);
                d.available = l.is_some();
                d.mac = l.map(|l| hex_mac(&l.mac)).unwrap_or_default();
            }
            EthDeviceKind::Virtual => {
                d.ifname = bridge_name(prefix, d.pvid.unwrap_or(0));
                d.available = link(links, &d.ifname).is_some();
                d.mac = match (mgmt, d.slot) {
                    (Some(m), Some(s)) => m.eth.mac(s),
                    _ => String::new(),
                };
            }
            EthDeviceKind::Sea => {
                d.ifname = bridge_name(prefix, d.pvid.unwrap_or(0));
                let nic = phys_if
                    .iter()
                    .find(|(n, _)| Some(n) == d.phys.as_ref())
                    .and_then(|(_, i)| link(links, i));
                let bridge = link(links, &d.ifname);
                d.available =
                    matches!((nic, bridge), (Some(n), Some(b)) if n.master == Some(b.index));
                d.mac = nic.map(|l| hex_mac(&l.mac)).unwrap_or_default();
            }
        }
    }
    devs
}

impl Service {
    fn net_prefix(&self) -> String {
        self.runtime
            .as_ref()
            .map(|rt| rt.env.net_prefix.clone())
            .unwrap_or_default()
    }

    /// Names the host's Ethernet adapters and the management partition's virtual adapters
    /// (`entN`); at start and by `cfgdev`.
    pub(super) fn scan_eth(&self) -> Result<Vec<EthDevice>, ServiceError> {
        let found = links::list().map_err(host)?;
        let nics: Vec<String> = found
            .iter()
            .filter(|l| {
                ivm_rules::is_nic_candidate(&l.name, l.loopback, l.bridge, l.master.is_some())
            })
            .map(|l| l.name.clone())
            .collect();
        let devs = self.store.write(|tx| {
            let mgmt = tx
                .partition(MGMT_PARTITION_ID)?
                .ok_or_else(|| ServiceError::NoSuchPartition("1".into()))?;
            let devs = ivm_rules::scan_eth_devices(&tx.eth_devices()?, &nics, &mgmt);
            tx.put_eth_devices(&devs)?;
            Ok::<_, ServiceError>(devs)
        })?;
        Ok(devs)
    }

    /// The Ethernet devices and the virtual Ethernet IDs in use, with what the host has now.
    pub fn network(&self) -> Result<NetworkView, ServiceError> {
        let (devs, parts) = self
            .store
            .read(|tx| Ok::<_, ServiceError>((tx.eth_devices()?, tx.partitions()?)))?;
        let found = links::list().map_err(host)?;
        let prefix = self.net_prefix();
        let mgmt = parts.iter().find(|p| p.is_management());
        let devices = with_host_facts(devs, &found, &prefix, mgmt);
        let mut pvids: Vec<u16> = parts
            .iter()
            .flat_map(|p| p.eth.virtual_eth_adapters.iter().map(|a| a.port_vlan_id))
            .chain(devices.iter().filter_map(|d| d.pvid))
            .collect();
        pvids.sort_unstable();
        pvids.dedup();
        let ids = pvids
            .into_iter()
            .map(|pvid| {
                let bridge = bridge_name(&prefix, pvid);
                let sea = devices
                    .iter()
                    .find(|d| d.kind == EthDeviceKind::Sea && d.pvid == Some(pvid));
                VirtualEthernet {
                    pvid,
                    active: link(&found, &bridge).is_some(),
                    bridge,
                    adapters: parts
                        .iter()
                        .flat_map(|p| {
                            p.eth
                                .virtual_eth_adapters
                                .iter()
                                .filter(|a| a.port_vlan_id == pvid)
                                .map(|a| (p.lpar_id, a.slot_num))
                        })
                        .collect(),
                    sea: sea.map(|s| s.name.clone()),
                    sea_phys: sea.and_then(|s| s.phys.clone()),
                }
            })
            .collect();
        Ok(NetworkView { devices, ids })
    }

    /// `mkvdev -sea PHYS -vadapter VEA -default VEA -defaultid PVID`.
    pub fn make_sea(&self, actor: &Actor, req: &SeaRequest) -> Result<EthDevice, ServiceError> {
        self.logged(actor, "make virtual Ethernet bridge", &req.phys, || {
            let rt = self.runtime()?;
            let prefix = rt.env.net_prefix.clone();
            // Bridges are made, joined and swept under one lock.
            let _net = self.net_lock.lock().unwrap_or_else(|e| e.into_inner());
            let found = links::list().map_err(host)?;
            let sea = self.store.write(|tx| {
                let mgmt = tx.partition(MGMT_PARTITION_ID)?;
                let devs = with_host_facts(tx.eth_devices()?, &found, &prefix, mgmt.as_ref());
                let phys_bridge = devs
                    .iter()
                    .find(|d| d.name == req.phys && d.kind == EthDeviceKind::Physical)
                    .and_then(|d| link(&found, &d.ifname))
                    .and_then(|l| l.master)
                    .and_then(|m| found.iter().find(|b| b.index == m))
                    .map(|b| b.name.clone());
                let sea = ivm_rules::new_sea(&devs, req, phys_bridge.as_deref())?;
                // Reserved: no other request takes this NIC or this ID from now on.
                let mut all = devs;
                all.push(sea.clone());
                tx.put_eth_devices(&all)?;
                let nic = nic_of(&all, &sea);
                Ok::<_, ServiceError>((sea, nic))
            })?;
            let (mut sea, nic) = sea;
            if let Err(e) = join(&prefix, &sea, &nic) {
                self.forget_device(&sea.name)?;
                return Err(e);
            }
            sea.ifname = bridge_name(&prefix, sea.pvid.unwrap_or(0));
            sea.available = true;
            let target = sea.name.clone();
            Ok((sea, target))
        })
    }

    /// `rmdev -dev entN`: removes a virtual Ethernet bridge, the host's addresses and routes
    /// going back to the physical NIC.
    pub fn remove_eth_device(&self, actor: &Actor, name: &str) -> Result<EthDevice, ServiceError> {
        self.logged(actor, "remove virtual Ethernet bridge", name, || {
            let rt = self.runtime()?;
            let prefix = rt.env.net_prefix.clone();
            let _net = self.net_lock.lock().unwrap_or_else(|e| e.into_inner());
            let (sea, nic) = self.store.read(|tx| {
                let devs = tx.eth_devices()?;
                let sea = ivm_rules::check_rmdev(&devs, name)?.clone();
                let nic = nic_of(&devs, &sea);
                Ok::<_, ServiceError>((sea, nic))
            })?;
            leave(&prefix, &sea, &nic)?;
            if let Err(e) = self.forget_device(&sea.name) {
                // The store still has the bridge: the host goes back to it.
                if let Err(u) = join(&prefix, &sea, &nic) {
                    tracing::error!(sea = sea.name, error = %u, "cannot put a virtual Ethernet bridge back");
                }
                return Err(e);
            }
            let bridge = bridge_name(&prefix, sea.pvid.unwrap_or(0));
            if let Err(e) = links::delete_bridge_if_idle(&bridge) {
                tracing::warn!(bridge, error = %e, "cannot remove an idle bridge");
            }
            Ok((sea, name.to_string()))
        })
    }

    /// Takes device `name` out of the store.
    fn forget_device(&self, name: &str) -> Result<(), ServiceError> {
        self.store.write(|tx| {
            let mut d = tx.eth_devices()?;
            d.retain(|x| x.name != name);
            tx.put_eth_devices(&d)
        })?;
        Ok(())
    }

    /// At start: names new devices, and makes the host carry every virtual Ethernet bridge the
    /// store has (after a host boot, or a daemon that died half way through `mkvdev -sea`).
    pub(super) fn restore_seas(&self) {
        if let Err(e) = self.scan_eth() {
            tracing::warn!(error = %e, "cannot look for Ethernet adapters");
            return;
        }
        let prefix = self.net_prefix();
        let Ok(devs) = self.store.read(|tx| tx.eth_devices()) else {
            return;
        };
        let _net = self.net_lock.lock().unwrap_or_else(|e| e.into_inner());
        for sea in devs.iter().filter(|d| d.kind == EthDeviceKind::Sea) {
            let nic = nic_of(&devs, sea);
            if let Err(e) = join(&prefix, sea, &nic) {
                tracing::warn!(sea = sea.name, nic, error = %e, "cannot restore a virtual Ethernet bridge");
            }
        }
    }
}

/// The Linux interface of a virtual Ethernet bridge's physical adapter.
fn nic_of(devs: &[EthDevice], sea: &EthDevice) -> String {
    devs.iter()
        .find(|d| Some(&d.name) == sea.phys.as_ref())
        .map(|d| d.ifname.clone())
        .unwrap_or_default()
}

/// Joins `nic` to the bridge of the bridge's ID, its addresses and routes moving to the bridge.
/// Already joined, it only moves what the NIC still carries.
fn join(prefix: &str, sea: &EthDevice, nic: &str) -> Result<(), ServiceError> {
    let br = bridge_name(prefix, sea.pvid.unwrap_or(0));
    let found = links::list().map_err(host)?;
    let phys = link(&found, nic).ok_or_else(|| {
        ServiceError::Host(crate::runtime::HostError::Unavailable(format!(
            "the physical adapter's interface {nic} does not exist now; bring it back and run cfgdev"
        )))
    })?;
    let joined = link(&found, &br).is_some_and(|b| phys.master == Some(b.index));
    let cfg = addrs::read(nic).map_err(host)?;
    let mac = phys.mac.clone();
    // The host's own network moves onto the bridge: IPv6 there as the NIC has it.
    let nic_v6 = ivm_net::ipv6::state(nic).map_err(host)?;
    let mut steps = Vec::new();
    if !joined {
        steps.push(step(
            "bridge",
            || links::ensure_bridge(&br).map(|_| ()).map_err(host),
            || links::delete_bridge_if_idle(&br).map(|_| ()).map_err(host),
        ));
        // The bridge answers with the NIC's MAC, so neighbours and DHCP see the same host.
        steps.push(step(
            "mac",
            || links::set_mac(&br, &mac).map_err(host),
            || Ok(()),
        ));
    }
    steps.push(step(
        "ipv6",
        || nic_v6.map_or(Ok(()), |v| ivm_net::ipv6::set(&br, v).map_err(host)),
        || ivm_net::ipv6::disable(&br).map_err(host),
    ));
    steps.push(step(
        "addresses",
        || addrs::add_addresses(&br, &cfg).map_err(host),
        || addrs::remove_addresses(&br, &cfg).map_err(host),
    ));
    if !joined {
        steps.push(step(
            "port",
            || links::attach(nic, &br).map_err(host),
            || links::detach(nic).map_err(host),
        ));
    }
    steps.push(step(
        "leave",
        || addrs::remove_addresses(nic, &cfg).map_err(host),
        || {
            addrs::add_addresses(nic, &cfg).map_err(host)?;
            addrs::add_routes(nic, &cfg).map_err(host)
        },
    ));
    steps.push(step(
        "routes",
        || addrs::add_routes(&br, &cfg).map_err(host),
        || addrs::remove_routes(&br, &cfg).map_err(host),
    ));
    run("sea", &sea.name, &steps)?;
    tracing::info!(sea = sea.name, nic, bridge = br, moved = ?cfg.addresses, routes = ?cfg.route_texts(), "physical adapter joined to its virtual Ethernet");
    Ok(())
}

/// Takes `nic` out of its bridge, the bridge's addresses and routes going back to it.
fn leave(prefix: &str, sea: &EthDevice, nic: &str) -> Result<(), ServiceError> {
    let br = bridge_name(prefix, sea.pvid.unwrap_or(0));
    let found = links::list().map_err(host)?;
    if link(&found, nic).is_none() {
        // The NIC is gone: nothing to give back; the bridge goes with its last port.
        return Ok(());
    }
    let cfg = if link(&found, &br).is_some() {
        addrs::read(&br).map_err(host)?
    } else {
        ivm_net::IpConfig::default()
    };
    let steps = [
        step(
            "addresses",
            || addrs::add_addresses(nic, &cfg).map_err(host),
            || addrs::remove_addresses(nic, &cfg).map_err(host),
        ),
        step(
            "port",
            || links::detach(nic).map_err(host),
            || links::attach(nic, &br).map_err(host),
        ),
        step(
            "leave",
            || {
                if cfg.is_empty() {
                    return Ok(());
                }
                addrs::remove_addresses(&br, &cfg).map_err(host)
            },
            || {
                addrs::add_addresses(&br, &cfg).map_err(host)?;
                addrs::add_routes(&br, &cfg).map_err(host)
            },
        ),
        step(
            "routes",
            || addrs::add_routes(nic, &cfg).map_err(host),
            || addrs::remove_routes(nic, &cfg).map_err(host),
        ),
        // The bridge carries guests' frames only again.
        step(
            "ipv6",
            || match link(&found, &br) {
                Some(_) => ivm_net::ipv6::disable(&br).map_err(host),
                None => Ok(()),
            },
            || Ok(()),
        ),
    ];
    run("sea-remove", &sea.name, &steps)?;
    tracing::info!(sea = sea.name, nic, moved = ?cfg.addresses, "physical adapter left its virtual Ethernet");
    Ok(())
}
