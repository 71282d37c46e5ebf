//! Virtual Ethernet rules: adapter slots and IDs, ivm's default adapters, MAC bases (unique,
//! locally administered when generated).

use ivm_model::{EthConfig, ManagedSystem, Partition, VirtualEthAdapter};

use crate::RuleError;

/// Virtual slots 0 and 1 are the serial adapters, 2 the virtual SCSI client adapter: virtual
/// Ethernet adapters start at 3.
pub const FIRST_ETH_SLOT: u32 = 3;

/// Port VLAN IDs IVM allows.
pub const PVIDS: std::ops::RangeInclusive<u16> = 1..=4094;

/// ivm's default adapters for a new client partition (IVM gives two): slot 3 on virtual
/// Ethernet ID 1 and slot 4 on ID 2, as fits the slots it has.
pub fn default_adapters(max_virtual_slots: u32) -> Vec<VirtualEthAdapter> {
    [(3, 1), (4, 2)]
        .into_iter()
        .filter(|(slot, _)| *slot < max_virtual_slots)
        .map(|(slot_num, port_vlan_id)| VirtualEthAdapter {
            slot_num,
            ieee_virtual_eth: false,
            port_vlan_id,
            addl_vlan_ids: Vec::new(),
            is_trunk: false,
            is_required: false,
        })
        .collect()
}

/// Checks an adapter list against the partition's slots and this version's limits. Trunk
/// adapters are the management partition's alone (`trunk_ok`): on a bridge of its own per ID a
/// trunk adapter carries nothing tagged, it is the ID's way out.
pub fn check_adapters(
    adapters: &[VirtualEthAdapter],
    max_virtual_slots: u32,
    trunk_ok: bool,
) -> Result<(), RuleError> {
    let mut seen = Vec::new();
    for a in adapters {
        let text = a.to_ivm();
        if a.slot_num < FIRST_ETH_SLOT || a.slot_num >= max_virtual_slots {
            return Err(RuleError::OutOfRange {
                attr: "virtual_eth_adapters",
                value: text,
                allowed: format!(
                    "slots {FIRST_ETH_SLOT} to {} (below max_virtual_slots={max_virtual_slots}; 0-1 are serial, 2 is virtual SCSI)",
                    max_virtual_slots.saturating_sub(1)
                ),
            });
        }
        if seen.contains(&a.slot_num) {
            return Err(RuleError::OutOfRange {
                attr: "virtual_eth_adapters",
                value: text,
                allowed: format!("one adapter per slot; slot {} is given twice", a.slot_num),
            });
        }
        seen.push(a.slot_num);
        if !PVIDS.contains(&a.port_vlan_id) {
            return Err(RuleError::OutOfRange {
                attr: "virtual_eth_adapters",
                value: text,
                allowed: "port VLAN IDs 1 to 4094".into(),
            });
        }
        if !a.addl_vlan_ids.is_empty() || (a.is_trunk && !trunk_ok) || a.ieee_virtual_eth {
            // Tagged VLANs on a shared bridge need bridge VLAN filtering and 802.1Q, which
            // this version does not use: each virtual Ethernet ID is a bridge of its own.
            return Err(RuleError::Unsupported {
                attr: "virtual_eth_adapters",
                value: text,
                reason: "IEEE 802.1Q adapters, additional VLAN IDs and trunk adapters need bridge VLAN filtering and 802.1Q in the host kernel, which ivm does not use yet: give ieee_virtual_eth=0, no additional VLAN IDs and is_trunk=0",
            });
        }
    }
    Ok(())
}

/// Checks a MAC base: 10 hex digits, locally administered unicast, used by no other partition.
pub fn check_mac_base(base: &str, others: &[&Partition]) -> Result<String, RuleError> {
    let bad = |why: &str| RuleError::OutOfRange {
        attr: "virtual_eth_mac_base_value",
        value: base.to_string(),
        allowed: why.to_string(),
    };
    if base.len() != 10 || !base.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad(
            "10 hexadecimal digits (the first five bytes of the MAC)",
        ));
    }
    let first = u8::from_str_radix(&base[..2], 16).unwrap_or(1);
    if first & 1 == 1 {
        return Err(bad("unicast bases only (the first byte even)"));
    }
    let up = base.to_ascii_uppercase();
    if let Some(p) = others
        .iter()
        .find(|p| p.eth.virtual_eth_mac_base_value == up)
    {
        return Err(bad(&format!(
            "a base no other partition uses ({} has it)",
            p.name
        )));
    }
    Ok(up)
}

/// A locally administered MAC base no other partition has, here or (`departed`) on the host a
/// partition moved to: `02`, two bytes from the system's serial, two from the partition ID (the
/// next free one on a clash).
pub fn generate_mac_base(
    serial: &str,
    lpar_id: u32,
    others: &[&Partition],
    departed: &[String],
) -> String {
    let mut h: u16 = 0;
    for b in serial.bytes() {
        h = h.rotate_left(5) ^ u16::from(b);
    }
    let taken = |s: &str| {
        others.iter().any(|p| p.eth.virtual_eth_mac_base_value == s)
            || departed.iter().any(|d| d == s)
    };
    (0u32..)
        .map(|i| format!("02{h:04X}{:04X}", (lpar_id + i) & 0xffff))
        .find(|s| !taken(s))
        .unwrap_or_default()
}

/// The Ethernet configuration of a new partition; a generated MAC base avoids `departed` too.
pub fn new_eth(
    sys: &ManagedSystem,
    (existing, departed): (&[Partition], &[String]),
    lpar_id: u32,
    max_virtual_slots: u32,
    adapters: Option<&[VirtualEthAdapter]>,
    mac_base: Option<&str>,
) -> Result<EthConfig, RuleError> {
    let adapters = match adapters {
        Some(a) => a.to_vec(),
        None => default_adapters(max_virtual_slots),
    };
    check_adapters(&adapters, max_virtual_slots, false)?;
    let others: Vec<&Partition> = existing.iter().filter(|p| p.lpar_id != lpar_id).collect();
    let base = match mac_base.filter(|b| !b.is_empty()) {
        Some(b) => check_mac_base(b, &others)?,
        None => generate_mac_base(&sys.serial_num, lpar_id, &others, departed),
    };
    let mut adapters = adapters;
    adapters.sort_by_key(|a| a.slot_num);
    Ok(EthConfig {
        virtual_eth_adapters: adapters,
        virtual_eth_mac_base_value: base,
    })
}

/// Most adapter slots a running partition has ports for (each a PCI Express root port).
pub const MAX_PORTED_SLOTS: usize = 8;

/// The slots a starting partition gets ports for: every adapter's, then free slots from the
/// lowest, up to [`MAX_PORTED_SLOTS`] in all (adapters can be hot-plugged only there).
pub fn ported_slots(p: &Partition) -> Vec<u32> {
    let mut slots: Vec<u32> = p
        .eth
        .virtual_eth_adapters
        .iter()
        .map(|a| a.slot_num)
        .collect();
    for s in FIRST_ETH_SLOT..p.max_virtual_slots {
        if slots.len() >= MAX_PORTED_SLOTS.max(p.eth.virtual_eth_adapters.len()) {
            break;
        }
        if !slots.contains(&s) {
            slots.push(s);
        }
    }
    slots.sort_unstable();
    slots
}

/// The adapters after `chhwres -r virtualio --rsubtype eth -o a|r`.
pub fn change_adapters(
    p: &Partition,
    req: &ivm_model::EthDlparRequest,
) -> Result<Vec<VirtualEthAdapter>, RuleError> {
    let mut list = p.eth.virtual_eth_adapters.clone();
    let slot = req.slot_num;
    match req.op {
        ivm_model::DlparOp::Add => {
            if list.iter().any(|a| a.slot_num == slot) {
                return Err(RuleError::OutOfRange {
                    attr: "slot",
                    value: slot.to_string(),
                    allowed: format!("a free slot: {} has an adapter in slot {slot}", p.name),
                });
            }
            list.push(VirtualEthAdapter {
                slot_num: slot,
                ieee_virtual_eth: req.ieee_virtual_eth.unwrap_or(false),
                port_vlan_id: req.port_vlan_id.unwrap_or(1),
                addl_vlan_ids: Vec::new(),
                is_trunk: false,
                is_required: false,
            });
            check_adapters(&list, p.max_virtual_slots, false)?;
            list.sort_by_key(|a| a.slot_num);
        }
        ivm_model::DlparOp::Remove => {
            let before = list.len();
            list.retain(|a| a.slot_num != slot);
            if list.len() == before {
                return Err(RuleError::OutOfRange {
                    attr: "slot",
                    value: slot.to_string(),
                    allowed: format!("a slot with a virtual Ethernet adapter of {}", p.name),
                });
            }
        }
        ivm_model::DlparOp::Set => {
            return Err(RuleError::Unsupported {
                attr: "-o",
                value: "s".into(),
                reason: "virtual Ethernet adapters are added (-o a) or removed (-o r)",
            })
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(slot: u32, pvid: u16) -> VirtualEthAdapter {
        VirtualEthAdapter {
            slot_num: slot,
            ieee_virtual_eth: false,
            port_vlan_id: pvid,
            addl_vlan_ids: vec![],
            is_trunk: false,
            is_required: false,
        }
    }

    #[test]
    fn adapters_keep_to_their_slots_and_ids() {
        assert!(check_adapters(&[adapter(3, 1), adapter(9, 4094)], 10, false).is_ok());
        for (list, why) in [
            (vec![adapter(2, 1)], "slots 3 to 9"),
            (vec![adapter(10, 1)], "slots 3 to 9"),
            (vec![adapter(3, 1), adapter(3, 2)], "given twice"),
            (vec![adapter(3, 0)], "1 to 4094"),
            (vec![adapter(3, 4095)], "1 to 4094"),
        ] {
            let e = check_adapters(&list, 10, false).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        let mut trunk = adapter(3, 1);
        trunk.is_trunk = true;
        assert!(check_adapters(&[trunk.clone()], 10, true).is_ok());
        assert!(check_adapters(&[trunk], 10, false)
            .unwrap_err()
            .to_string()
            .contains("VLAN filtering"));
        assert_eq!(default_adapters(10).len(), 2);
        assert_eq!(default_adapters(4).len(), 1);
    }

    #[test]
    fn mac_bases_are_unique_and_well_formed() {
        let base = generate_mac_base("21A5E7V", 2, &[], &[]);
        assert!(base.starts_with("02") && base.len() == 10, "{base}");
        // A base that moved with its partition to another host is not handed out again.
        let next = generate_mac_base("21A5E7V", 2, &[], std::slice::from_ref(&base));
        assert_ne!(next, base);
        assert_eq!(&next[..6], &base[..6]);
        assert!(check_mac_base("02ab12cd34", &[]).unwrap() == "02AB12CD34");
        for bad in ["02AB12CD3", "02AB12CD3G", "03AB12CD34"] {
            assert!(check_mac_base(bad, &[]).is_err(), "{bad}");
        }
    }
}
