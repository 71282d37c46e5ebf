//! Virtual Ethernet on the host: each virtual Ethernet ID is a bridge of this instance, each
//! adapter of a starting partition a tap on its ID's bridge, handed to QEMU as a descriptor.
//! Taps vanish with QEMU; bridges no adapter uses are removed when a partition stops and at
//! start, so nothing is left behind.
//!
//! The component `Network` owns the lock under which bridges change and talks to the host
//! through `NetHost`, so its undo paths are unit-tested against a host in memory (`fake`).

#[cfg(test)]
pub(crate) mod fake;
mod host;
mod sea;

use std::sync::{Arc, Mutex, MutexGuard};

use ivm_model::{EthDlparRequest, Partition};
use ivm_net::Link;
use ivm_qemu::LaunchNic;

use super::error::host;
use super::{Actor, InheritedFile, Service, ServiceError};
use crate::runtime::Runtime;

pub(crate) use host::{LinuxNet, NetHost};

/// The host's virtual Ethernet: bridges, partition taps and virtual Ethernet bridges.
pub(super) struct Network {
    /// Held while bridges are made and ports attached, and while idle bridges are removed:
    /// a bridge made for one activation is never swept before its tap joins it.
    lock: Mutex<()>,
    host: Arc<dyn NetHost>,
}

/// Proof that the network lock is held, for the calls that need it.
pub(super) struct Held<'a>(#[allow(dead_code)] MutexGuard<'a, ()>);

impl Network {
    /// The component, acting on `host`.
    pub fn new(host: Arc<dyn NetHost>) -> Network {
        Network {
            lock: Mutex::default(),
            host,
        }
    }

    /// Takes the network lock (see `lock`).
    pub fn lock(&self) -> Held<'_> {
        Held(self.lock.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The host's links now.
    pub fn links(&self) -> Result<Vec<Link>, ServiceError> {
        self.host.links().map_err(host)
    }

    /// The host's primary IPv4 address, for the managed system's `ipaddr`.
    pub fn primary_ipv4(&self) -> Result<Option<std::net::Ipv4Addr>, ServiceError> {
        self.host.primary_ipv4().map_err(host)
    }

    /// Opens partition tap `tap` on bridge `bridge` (made if missing): no IPv6 on the tap, no
    /// queueing discipline in front of it (`ivm_net::qdisc`), attached and up. The tap goes
    /// when the last holder of the returned descriptor closes it, so a failure leaves only
    /// the bridge, which the next sweep removes.
    pub fn tap_on_bridge(
        &self,
        _held: &Held,
        tap: &str,
        bridge: &str,
    ) -> Result<std::fs::File, ServiceError> {
        let h = &self.host;
        h.ensure_bridge(bridge).map_err(host)?;
        let f = h.open_tap(tap).map_err(host)?;
        h.disable_ipv6(tap).map_err(host)?;
        h.set_noqueue(tap).map_err(host)?;
        h.attach(tap, bridge).map_err(host)?;
        Ok(f)
    }

    /// A descriptor of `/dev/vhost-net` for one more virtio-net device.
    pub fn vhost(&self) -> Result<std::fs::File, ServiceError> {
        self.host.open_vhost().map_err(host)
    }

    /// Removes the bridges named `prefix`v* that no port uses any more.
    pub fn sweep(&self, _held: &Held, prefix: &str) {
        match self.host.remove_idle_bridges(&format!("{prefix}v")) {
            Ok(gone) if !gone.is_empty() => tracing::info!(?gone, "removed idle bridges"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot remove idle bridges"),
        }
    }

    /// Removes bridge `bridge` if nothing is attached to it.
    pub fn remove_if_idle(&self, _held: &Held, bridge: &str) {
        if let Err(e) = self.host.delete_bridge_if_idle(bridge) {
            tracing::warn!(bridge, error = %e, "cannot remove an idle bridge");
        }
    }
}

/// The bridge of virtual Ethernet ID `pvid`.
pub(super) fn bridge_name(prefix: &str, pvid: u16) -> String {
    format!("{prefix}v{pvid}")
}

/// The tap of a partition's adapter in `slot`.
pub(super) fn tap_name(prefix: &str, lpar_id: u32, slot: u32) -> String {
    format!("{prefix}t{lpar_id:x}s{slot:x}")
}

/// `aa:bb:cc:dd:ee:ff` from IVM's 12 hex digits.
fn colon_mac(ivm: &str) -> String {
    ivm.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(":")
}

impl Service {
    /// The taps of a starting partition, each on its ID's bridge, numbered from `first_fd`.
    /// A failure drops the taps made so far (they vanish with their descriptors).
    pub(super) fn nics_for_launch(
        &self,
        rt: &Runtime,
        p: &Partition,
        first_fd: i32,
    ) -> Result<(Vec<LaunchNic>, Vec<InheritedFile>), ServiceError> {
        let prefix = &rt.env.net_prefix;
        let held = self.net.lock();
        let (mut nics, mut files) = (Vec::new(), Vec::new());
        for a in &p.eth.virtual_eth_adapters {
            let bridge = bridge_name(prefix, a.port_vlan_id);
            let tap = tap_name(prefix, p.lpar_id, a.slot_num);
            let f = self.net.tap_on_bridge(&held, &tap, &bridge)?;
            let fd = first_fd + files.len() as i32;
            files.push((f, fd));
            let vhostfd = if rt.env.vhost_net {
                let v = self.net.vhost()?;
                let vfd = first_fd + files.len() as i32;
                files.push((v, vfd));
                Some(vfd)
            } else {
                None
            };
            nics.push(LaunchNic {
                slot: a.slot_num,
                fd,
                mac: colon_mac(&p.eth.mac(a.slot_num)),
                vhostfd,
            });
        }
        Ok((nics, files))
    }

    /// `chhwres -r virtualio --rsubtype eth -o a|r`: adds or removes an adapter; on a running
    /// partition it is hot-plugged (tap on its ID's bridge, then the virtio-net device) or
    /// unplugged, and the profile changes only if the host change worked.
    pub fn change_eth(
        &self,
        actor: &Actor,
        id: u32,
        req: &EthDlparRequest,
    ) -> Result<Partition, ServiceError> {
        let op = format!("change virtual Ethernet ({} slot {})", req.op, req.slot_num);
        self.logged(actor, &op, &format!("lpar {id}"), || {
            let lock = self.runtime.as_ref().map(|rt| rt.partition_lock(id));
            let _held = lock
                .as_ref()
                .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()));
            let (old, next) = self.store.write(|tx| {
                let p = tx
                    .partition(id)?
                    .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
                if p.is_management() {
                    return Err(ServiceError::from(
                        ivm_rules::RuleError::ManagementPartition(
                            "given virtual Ethernet adapters this way",
                        ),
                    ));
                }
                self.check_partition_settled(tx, id)?;
                let mut next = p.clone();
                next.eth.virtual_eth_adapters = ivm_rules::change_adapters(&p, req)?;
                // Reserved: the slot is taken (or freed) for every other request from now on.
                tx.put_partition(&next)?;
                Ok::<_, ServiceError>((p, next))
            })?;
            let live = self
                .runtime
                .as_ref()
                .and_then(|rt| rt.get(id).map(|l| (rt, l)));
            if let Some((rt, live)) = live {
                let applied = self.plug_adapter(rt, &live.qmp, &next, req);
                if let Err(e) = applied {
                    self.store.write(|tx| tx.put_partition(&old))?;
                    self.sweep_bridges();
                    return Err(e);
                }
                self.sweep_bridges();
            }
            let t = super::lpar_target(&next);
            Ok((next, t))
        })
    }

    fn plug_adapter(
        &self,
        rt: &Runtime,
        q: &ivm_qemu::Qmp,
        p: &Partition,
        req: &EthDlparRequest,
    ) -> Result<(), ServiceError> {
        let slot = req.slot_num;
        let qmp = |e: ivm_qemu::QmpError| ServiceError::from(crate::runtime::HostError::from(e));
        match req.op {
            ivm_model::DlparOp::Remove => ivm_qemu::vm::detach_nic(q, slot).map_err(qmp),
            _ => {
                let port = ivm_qemu::launch::nic_port(slot);
                if !ivm_qemu::vm::has_device(q, &port).map_err(qmp)? {
                    return Err(ivm_rules::RuleError::NoPortInSlot {
                        slot,
                        ported: ivm_rules::MAX_PORTED_SLOTS as u32,
                    }
                    .into());
                }
                let a = p
                    .eth
                    .virtual_eth_adapters
                    .iter()
                    .find(|a| a.slot_num == slot)
                    .ok_or(ivm_rules::RuleError::NoAdapterInSlot { slot })?;
                let prefix = &rt.env.net_prefix;
                let bridge = bridge_name(prefix, a.port_vlan_id);
                let tap = tap_name(prefix, p.lpar_id, slot);
                let f = self.net.tap_on_bridge(&self.net.lock(), &tap, &bridge)?;
                let vhost = if rt.env.vhost_net {
                    Some(self.net.vhost()?)
                } else {
                    None
                };
                // QEMU keeps its own copies; ivm's go when `f` and `vhost` drop.
                ivm_qemu::vm::attach_nic(q, slot, &f, vhost.as_ref(), &colon_mac(&p.eth.mac(slot)))
                    .map_err(qmp)
            }
        }
    }

    /// Removes this instance's bridges that no tap uses any more.
    pub(super) fn sweep_bridges(&self) {
        let Some(rt) = self.runtime.as_ref() else {
            return;
        };
        self.net.sweep(&self.net.lock(), &rt.env.net_prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_an_interface_and_macs_take_colons() {
        assert_eq!(bridge_name("ivm1a2b", 4094), "ivm1a2bv4094");
        let t = tap_name("ivm1a2b", 1100, 1023);
        assert_eq!(t, "ivm1a2bt44cs3ff");
        assert!(t.len() <= 15);
        assert_eq!(colon_mac("02AB12CD3403"), "02:ab:12:cd:34:03");
    }
}
