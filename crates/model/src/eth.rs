//! Virtual Ethernet: a partition's adapters on virtual Ethernet IDs (VLANs) and its MAC base.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One virtual Ethernet adapter, IVM's `slot/ieee_virtual_eth/port_vlan_id/addl_vlan_ids/
/// is_trunk/is_required`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VirtualEthAdapter {
    /// Virtual slot number.
    pub slot_num: u32,
    /// IEEE 802.1Q compatible (carries additional VLAN IDs).
    #[serde(default)]
    pub ieee_virtual_eth: bool,
    /// The virtual Ethernet ID (port VLAN ID), 1..4094.
    pub port_vlan_id: u16,
    /// Additional VLAN IDs it carries tagged.
    #[serde(default)]
    pub addl_vlan_ids: Vec<u16>,
    /// A trunk adapter (bridges to a physical network).
    #[serde(default)]
    pub is_trunk: bool,
    /// Required for activation.
    #[serde(default)]
    pub is_required: bool,
}

impl VirtualEthAdapter {
    /// IVM's text, e.g. `3/0/1//0/0`.
    pub fn to_ivm(&self) -> String {
        let b = |v: bool| if v { "1" } else { "0" };
        let addl: Vec<String> = self.addl_vlan_ids.iter().map(u16::to_string).collect();
        format!(
            "{}/{}/{}/{}/{}/{}",
            self.slot_num,
            b(self.ieee_virtual_eth),
            self.port_vlan_id,
            addl.join(","),
            b(self.is_trunk),
            b(self.is_required)
        )
    }

    /// Parses one adapter in IVM's text form.
    pub fn parse(text: &str) -> Result<VirtualEthAdapter, String> {
        let f: Vec<&str> = text.split('/').collect();
        let bad = |why: &str| {
            format!("{text}: {why} (slot/ieee_virtual_eth/port_vlan_id/addl_vlan_ids/is_trunk/is_required, e.g. 3/0/1//0/0)")
        };
        if f.len() != 6 {
            return Err(bad("six fields separated by / are required"));
        }
        let flag = |s: &str, what: &str| match s {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(bad(&format!("{what} is 0 or 1"))),
        };
        let num = |s: &str, what: &str| {
            s.parse::<u32>()
                .map_err(|_| bad(&format!("{what} is a number")))
        };
        let addl = if f[3].is_empty() {
            Vec::new()
        } else {
            f[3].split(',')
                .map(|v| {
                    v.parse::<u16>()
                        .map_err(|_| bad("additional VLAN IDs are numbers"))
                })
                .collect::<Result<_, _>>()?
        };
        Ok(VirtualEthAdapter {
            slot_num: num(f[0], "the slot")?,
            ieee_virtual_eth: flag(f[1], "ieee_virtual_eth")?,
            port_vlan_id: u16::try_from(num(f[2], "the port VLAN ID")?)
                .map_err(|_| bad("the port VLAN ID is 1 to 4094"))?,
            addl_vlan_ids: addl,
            is_trunk: flag(f[4], "is_trunk")?,
            is_required: flag(f[5], "is_required")?,
        })
    }
}

/// A partition's virtual Ethernet configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EthConfig {
    /// Its adapters, by slot.
    #[serde(default)]
    pub virtual_eth_adapters: Vec<VirtualEthAdapter>,
    /// The first five bytes of its adapters' MACs, 10 upper-case hex digits; the slot number
    /// is the sixth.
    #[serde(default)]
    pub virtual_eth_mac_base_value: String,
}

impl EthConfig {
    /// The MAC of the adapter in `slot`, as IVM prints it (12 hex digits, no separators).
    pub fn mac(&self, slot: u32) -> String {
        format!("{}{:02X}", self.virtual_eth_mac_base_value, slot & 0xff)
    }

    /// The adapter list as IVM prints it (`none` when there is none).
    pub fn adapters_text(&self) -> String {
        if self.virtual_eth_adapters.is_empty() {
            "none".into()
        } else {
            let v: Vec<String> = self
                .virtual_eth_adapters
                .iter()
                .map(VirtualEthAdapter::to_ivm)
                .collect();
            v.join(",")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapters_read_and_print_in_ivm_form() {
        let a = VirtualEthAdapter::parse("32/1/5/7,9/1/0").unwrap();
        assert_eq!(
            (
                a.slot_num,
                a.ieee_virtual_eth,
                a.port_vlan_id,
                a.addl_vlan_ids.clone(),
                a.is_trunk
            ),
            (32, true, 5, vec![7, 9], true)
        );
        assert_eq!(a.to_ivm(), "32/1/5/7,9/1/0");
        assert_eq!(
            VirtualEthAdapter::parse("3/0/1//0/0").unwrap().to_ivm(),
            "3/0/1//0/0"
        );
        for bad in [
            "3/0/1//0",
            "x/0/1//0/0",
            "3/2/1//0/0",
            "3/0/70000//0/0",
            "3/0/1/a/0/0",
        ] {
            assert!(VirtualEthAdapter::parse(bad).is_err(), "{bad}");
        }
        let c = EthConfig {
            virtual_eth_adapters: vec![a],
            virtual_eth_mac_base_value: "02AB12CD34".into(),
        };
        assert_eq!(c.mac(32), "02AB12CD3420");
    }
}
