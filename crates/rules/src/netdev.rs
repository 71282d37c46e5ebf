//! Ethernet devices (`entN`): which host interfaces are physical Ethernet adapters, the names
//! they and the management partition's virtual adapters keep, and the virtual Ethernet bridge
//! (Shared Ethernet Adapter): one physical adapter per virtual Ethernet ID, as in IVM.

use ivm_model::{EthDevice, EthDeviceKind, Partition, SeaRequest, VirtualEthAdapter};

use crate::RuleError;

/// The management partition's virtual Ethernet adapters (IVM gives it four): slots 3 to 6 on
/// virtual Ethernet IDs 1 to 4, trunk adapters (each is its ID's way out to a bridge).
pub fn management_adapters() -> Vec<VirtualEthAdapter> {
    (0..4u16)
        .map(|i| VirtualEthAdapter {
            slot_num: crate::FIRST_ETH_SLOT + u32::from(i),
            ieee_virtual_eth: false,
            port_vlan_id: i + 1,
            addl_vlan_ids: Vec::new(),
            is_trunk: true,
            is_required: true,
        })
        .collect()
}

/// Interface names ivm gives what it makes (bridges, taps): never offered as physical adapters.
pub const IVM_LINK_PREFIX: &str = "ivm";

/// Whether a host interface is offered as a physical Ethernet adapter: any interface that is not
/// ivm's own, not loopback, not a bridge and not in one (so a veth can play the physical NIC).
pub fn is_nic_candidate(name: &str, loopback: bool, bridge: bool, in_bridge: bool) -> bool {
    !loopback && !bridge && !in_bridge && !name.starts_with(IVM_LINK_PREFIX)
}

fn number(name: &str) -> Option<u32> {
    name.strip_prefix("ent")?.parse().ok()
}

fn next_name(devices: &[EthDevice]) -> String {
    let next = devices
        .iter()
        .filter_map(|d| number(&d.name))
        .max()
        .map_or(0, |n| n + 1);
    format!("ent{next}")
}

/// The devices after a scan: known ones keep their `entN` (a physical adapter that went away
/// keeps its name, absent); new physical adapters (`nics`, Linux names) and new virtual
/// adapters of the management partition take the next numbers; a virtual adapter the
/// management partition no longer has goes unless a bridge uses it.
pub fn scan_eth_devices(known: &[EthDevice], nics: &[String], mgmt: &Partition) -> Vec<EthDevice> {
    let slots: Vec<(u32, u16)> = mgmt
        .eth
        .virtual_eth_adapters
        .iter()
        .map(|a| (a.slot_num, a.port_vlan_id))
        .collect();
    let used_by_sea = |n: &str| {
        known
            .iter()
            .any(|d| d.kind == EthDeviceKind::Sea && d.vadapter.as_deref() == Some(n))
    };
    let mut out: Vec<EthDevice> = known
        .iter()
        .filter(|d| {
            d.kind != EthDeviceKind::Virtual
                || used_by_sea(&d.name)
                || slots.iter().any(|(s, _)| Some(*s) == d.slot)
        })
        .cloned()
        .collect();
    for d in out.iter_mut() {
        if d.kind == EthDeviceKind::Virtual {
            if let Some((_, pvid)) = slots.iter().find(|(s, _)| Some(*s) == d.slot) {
                d.pvid = Some(*pvid);
            }
        }
    }
    for nic in nics {
        if !out
            .iter()
            .any(|d| d.kind == EthDeviceKind::Physical && d.ifname == *nic)
        {
            let name = next_name(&out);
            out.push(EthDevice {
                name,
                kind: EthDeviceKind::Physical,
                ifname: nic.clone(),
                slot: None,
                pvid: None,
                phys: None,
                vadapter: None,
                available: false,
                mac: String::new(),
            });
        }
    }
    for (slot, pvid) in slots {
        if !out
            .iter()
            .any(|d| d.kind == EthDeviceKind::Virtual && d.slot == Some(slot))
        {
            let name = next_name(&out);
            out.push(EthDevice {
                name,
                kind: EthDeviceKind::Virtual,
                ifname: String::new(),
                slot: Some(slot),
                pvid: Some(pvid),
                phys: None,
                vadapter: None,
                available: false,
                mac: String::new(),
            });
        }
    }
    out.sort_by_key(|d| number(&d.name));
    out
}

fn find<'a>(devices: &'a [EthDevice], name: &str) -> Result<&'a EthDevice, RuleError> {
    devices
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| RuleError::NoSuch {
            what: "Ethernet adapter",
            name: name.to_string(),
        })
}

/// The new virtual Ethernet bridge of `mkvdev -sea`, checked: a present physical adapter no
/// other bridge uses, a virtual adapter of the management partition, `-default` the same
/// adapter, `-defaultid` its port VLAN ID, and no other bridge on that ID. `devices` carries
/// what the host has now (`available`); `phys_bridge` is the Linux bridge the NIC is a port of
/// now, if any.
pub fn new_sea(
    devices: &[EthDevice],
    req: &SeaRequest,
    phys_bridge: Option<&str>,
) -> Result<EthDevice, RuleError> {
    let phys = find(devices, &req.phys)?;
    if phys.kind != EthDeviceKind::Physical {
        return Err(RuleError::OutOfRange {
            attr: "-sea",
            value: req.phys.clone(),
            allowed: "a physical Ethernet adapter (lsdev -type adapter lists them)".into(),
        });
    }
    if !phys.available {
        return Err(RuleError::OutOfRange {
            attr: "-sea",
            value: req.phys.clone(),
            allowed: format!(
                "an adapter the host has now ({} is gone; run cfgdev after it is back)",
                phys.ifname
            ),
        });
    }
    let virt = find(devices, &req.vadapter)?;
    if virt.kind != EthDeviceKind::Virtual {
        return Err(RuleError::OutOfRange {
            attr: "-vadapter",
            value: req.vadapter.clone(),
            allowed:
                "a virtual Ethernet adapter of the management partition (lsdev -virtual lists them)"
                    .into(),
        });
    }
    if let Some(d) = req.default_adapter.as_deref().filter(|d| *d != virt.name) {
        return Err(RuleError::OutOfRange {
            attr: "-default",
            value: d.to_string(),
            allowed: format!("the adapter given with -vadapter ({})", virt.name),
        });
    }
    let pvid = virt.pvid.unwrap_or(0);
    if let Some(id) = req.default_id.filter(|id| *id != pvid) {
        return Err(RuleError::OutOfRange {
            attr: "-defaultid",
            value: id.to_string(),
            allowed: format!("the port VLAN ID of {} ({pvid})", virt.name),
        });
    }
    for sea in devices.iter().filter(|d| d.kind == EthDeviceKind::Sea) {
        if sea.phys.as_deref() == Some(&phys.name) {
            return Err(RuleError::InUse {
                what: "physical Ethernet adapter",
                name: phys.name.clone(),
                by: format!(
                    "{} bridges it; remove that with rmdev -dev {}",
                    sea.name, sea.name
                ),
            });
        }
        if sea.pvid == Some(pvid) {
            return Err(RuleError::InUse {
                what: "virtual Ethernet ID",
                name: pvid.to_string(),
                by: format!(
                    "{} already joins it to {} (one physical adapter per virtual Ethernet ID); remove that with rmdev -dev {}",
                    sea.name,
                    sea.phys.as_deref().unwrap_or("?"),
                    sea.name
                ),
            });
        }
    }
    if let Some(b) = phys_bridge {
        return Err(RuleError::InUse {
            what: "physical Ethernet adapter",
            name: format!("{} ({})", phys.name, phys.ifname),
            by: format!("it is a port of bridge {b}; take it out of that bridge first"),
        });
    }
    Ok(EthDevice {
        name: next_name(devices),
        kind: EthDeviceKind::Sea,
        ifname: String::new(),
        slot: None,
        pvid: Some(pvid),
        phys: Some(phys.name.clone()),
        vadapter: Some(virt.name.clone()),
        available: false,
        mac: String::new(),
    })
}

/// `rmdev -dev entN`: only a virtual Ethernet bridge can be removed.
pub fn check_rmdev<'a>(devices: &'a [EthDevice], name: &str) -> Result<&'a EthDevice, RuleError> {
    let d = find(devices, name)?;
    if d.kind != EthDeviceKind::Sea {
        return Err(RuleError::InUse {
            what: "Ethernet adapter",
            name: name.to_string(),
            by: format!(
                "it is {} and stays while the host or the management partition has it; rmdev removes virtual Ethernet bridges (Shared Ethernet Adapters)",
                if d.kind == EthDeviceKind::Physical {
                    "a physical adapter"
                } else {
                    "a virtual adapter of the management partition"
                }
            ),
        });
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mgmt() -> Partition {
        crate::default_management_partition(&crate::capacity::tests::system(8, 16384))
    }

    fn scanned() -> Vec<EthDevice> {
        let mut d = scan_eth_devices(&[], &["eth0".into(), "lan0".into()], &mgmt());
        for x in d.iter_mut() {
            x.available = true;
        }
        d
    }

    #[test]
    fn physical_then_virtual_adapters_get_names_that_stay() {
        let d = scanned();
        let names: Vec<(&str, EthDeviceKind, Option<u16>)> = d
            .iter()
            .map(|x| (x.name.as_str(), x.kind, x.pvid))
            .collect();
        assert_eq!(names[0], ("ent0", EthDeviceKind::Physical, None));
        assert_eq!(names[1], ("ent1", EthDeviceKind::Physical, None));
        assert_eq!(names[2], ("ent2", EthDeviceKind::Virtual, Some(1)));
        assert_eq!(names[5], ("ent5", EthDeviceKind::Virtual, Some(4)));
        // A NIC that went away keeps its name; a new one takes the next.
        let again = scan_eth_devices(&d, &["lan0".into(), "eth9".into()], &mgmt());
        assert_eq!(again.len(), 7);
        assert_eq!(again[0].ifname, "eth0");
        assert_eq!(again[6].ifname, "eth9");
        assert_eq!(again[6].name, "ent6");
        assert!(is_nic_candidate("veth1", false, false, false));
        assert!(!is_nic_candidate("lo", true, false, false));
        assert!(!is_nic_candidate("ivm1a2bv1", false, true, false));
        assert!(!is_nic_candidate("eth1", false, false, true));
    }

    fn req(phys: &str, v: &str, id: Option<u16>) -> SeaRequest {
        SeaRequest {
            phys: phys.into(),
            vadapter: v.into(),
            default_adapter: Some(v.into()),
            default_id: id,
        }
    }

    #[test]
    fn one_physical_adapter_per_virtual_ethernet_id() {
        let mut d = scanned();
        let sea = new_sea(&d, &req("ent1", "ent2", Some(1)), None).unwrap();
        assert_eq!(
            (sea.name.as_str(), sea.pvid, sea.phys.as_deref()),
            ("ent6", Some(1), Some("ent1"))
        );
        d.push(sea);
        for (r, why) in [
            (req("ent1", "ent3", Some(2)), "ent6 bridges it"),
            (
                req("ent0", "ent2", Some(1)),
                "one physical adapter per virtual Ethernet ID",
            ),
            (req("ent2", "ent3", None), "a physical Ethernet adapter"),
            (req("ent0", "ent1", None), "a virtual Ethernet adapter"),
            (req("ent0", "ent3", Some(3)), "port VLAN ID of ent3 (2)"),
            (req("ent9", "ent3", None), "does not exist"),
        ] {
            let e = new_sea(&d, &r, None).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        let mut other = req("ent0", "ent3", None);
        other.default_adapter = Some("ent4".into());
        assert!(new_sea(&d, &other, None)
            .unwrap_err()
            .to_string()
            .contains("-vadapter"));
        assert!(new_sea(&d, &req("ent0", "ent3", None), Some("br0"))
            .unwrap_err()
            .to_string()
            .contains("port of bridge br0"));
        d[0].available = false;
        assert!(new_sea(&d, &req("ent0", "ent3", None), None)
            .unwrap_err()
            .to_string()
            .contains("cfgdev"));
        assert!(check_rmdev(&d, "ent6").is_ok());
        assert!(check_rmdev(&d, "ent0").is_err());
        assert!(check_rmdev(&d, "ent2").is_err());
        assert!(check_rmdev(&d, "ent42").is_err());
        // A virtual adapter a bridge uses stays even if the partition lost it.
        let mut m = mgmt();
        m.eth.virtual_eth_adapters.clear();
        let kept = scan_eth_devices(&d, &[], &m);
        assert!(kept.iter().any(|x| x.name == "ent2"));
        assert!(!kept.iter().any(|x| x.name == "ent3"));
    }
}
