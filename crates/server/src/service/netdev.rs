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
use ivm_net::Link;

use super::network::bridge_name;
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
        let found = self.net.links()?;
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
        let found = self.net.links()?;
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
            let held = self.net.lock();
            let found = self.net.links()?;
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
            if let Err(e) = self.net.join(&held, &prefix, &sea, &nic) {
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
            let held = self.net.lock();
            let (sea, nic) = self.store.read(|tx| {
                let devs = tx.eth_devices()?;
                let sea = ivm_rules::check_rmdev(&devs, name)?.clone();
                let nic = nic_of(&devs, &sea);
                Ok::<_, ServiceError>((sea, nic))
            })?;
            self.net.leave(&held, &prefix, &sea, &nic)?;
            if let Err(e) = self.forget_device(&sea.name) {
                // The store still has the bridge: the host goes back to it.
                if let Err(u) = self.net.join(&held, &prefix, &sea, &nic) {
                    tracing::error!(sea = sea.name, error = %u, "cannot put a virtual Ethernet bridge back");
                }
                return Err(e);
            }
            let bridge = bridge_name(&prefix, sea.pvid.unwrap_or(0));
            self.net.remove_if_idle(&held, &bridge);
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
        let held = self.net.lock();
        for sea in devs.iter().filter(|d| d.kind == EthDeviceKind::Sea) {
            let nic = nic_of(&devs, sea);
            if let Err(e) = self.net.join(&held, &prefix, sea, &nic) {
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
