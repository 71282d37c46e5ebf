//! Virtual Ethernet on the host: each virtual Ethernet ID is a bridge of this instance, each
//! adapter of a starting partition a tap on its ID's bridge, handed to QEMU as a descriptor.
//! Taps vanish with QEMU; bridges no adapter uses are removed when a partition stops and at
//! start, so nothing is left behind.

use ivm_model::{EthDlparRequest, Partition};
use ivm_qemu::LaunchNic;

use super::storage::host;
use super::{Actor, InheritedFile, Service, ServiceError};
use crate::runtime::Runtime;

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
        let _net = self.net_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (mut nics, mut files) = (Vec::new(), Vec::new());
        for a in &p.eth.virtual_eth_adapters {
            let bridge = bridge_name(prefix, a.port_vlan_id);
            let tap = tap_name(prefix, p.lpar_id, a.slot_num);
            let f = tap_on_bridge(&tap, &bridge)?;
            let fd = first_fd + files.len() as i32;
            files.push((f, fd));
            let vhostfd = if rt.env.vhost_net {
                let v = ivm_net::tap::open_vhost().map_err(host)?;
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
            let t = format!("lpar {} ({})", next.lpar_id, next.name);
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
                let f = {
                    let _net = self.net_lock.lock().unwrap_or_else(|e| e.into_inner());
                    tap_on_bridge(&tap, &bridge)?
                };
                let vhost = if rt.env.vhost_net {
                    Some(ivm_net::tap::open_vhost().map_err(host)?)
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
        let _net = self.net_lock.lock().unwrap_or_else(|e| e.into_inner());
        match ivm_net::links::remove_idle_bridges(&format!("{}v", rt.env.net_prefix)) {
            Ok(gone) if !gone.is_empty() => tracing::info!(?gone, "removed idle bridges"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot remove idle bridges"),
        }
    }
}

/// Opens partition tap `tap` on bridge `bridge` (made if missing): no IPv6 on the tap, no
/// queueing discipline in front of it (`ivm_net::qdisc`), attached and up. The tap goes when
/// the last holder of the returned descriptor closes it.
fn tap_on_bridge(tap: &str, bridge: &str) -> Result<std::fs::File, ServiceError> {
    ivm_net::links::ensure_bridge(bridge).map_err(host)?;
    let f = ivm_net::tap::open(tap, true).map_err(host)?;
    ivm_net::ipv6::disable(tap).map_err(host)?;
    ivm_net::qdisc::set_noqueue(tap).map_err(host)?;
    ivm_net::links::attach(tap, bridge).map_err(host)?;
    Ok(f)
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
