//! Ethernet devices (`entN`): the names ivm gave the host's NICs and the management
//! partition's virtual adapters, and the virtual Ethernet bridges made with `mkvdev -sea`.

use ivm_model::{EthDevice, EthDeviceKind};
use rusqlite::params;

use crate::{StoreError, Tx};

fn kind_text(k: EthDeviceKind) -> &'static str {
    match k {
        EthDeviceKind::Physical => "physical",
        EthDeviceKind::Virtual => "virtual",
        EthDeviceKind::Sea => "sea",
    }
}

fn kind_of(s: &str) -> EthDeviceKind {
    match s {
        "virtual" => EthDeviceKind::Virtual,
        "sea" => EthDeviceKind::Sea,
        _ => EthDeviceKind::Physical,
    }
}

impl Tx<'_> {
    /// Every Ethernet device ivm has named, by number (host facts left unset).
    pub fn eth_devices(&self) -> Result<Vec<EthDevice>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT name, kind, ifname, slot, pvid, phys, vadapter FROM eth_devices",
        )?;
        let rows = st.query_map([], |r| {
            Ok(EthDevice {
                name: r.get(0)?,
                kind: kind_of(&r.get::<_, String>(1)?),
                ifname: r.get(2)?,
                slot: r.get(3)?,
                pvid: r.get(4)?,
                phys: r.get(5)?,
                vadapter: r.get(6)?,
                available: false,
                mac: String::new(),
            })
        })?;
        let mut out: Vec<EthDevice> = rows.collect::<Result<_, _>>()?;
        out.sort_by_key(|d| {
            d.name
                .strip_prefix("ent")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        });
        Ok(out)
    }

    /// Replaces the Ethernet devices with `devices`.
    pub fn put_eth_devices(&self, devices: &[EthDevice]) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM eth_devices", [])?;
        for d in devices {
            // The bridge's interface name is the host's business, not the record's.
            let ifname = if d.kind == EthDeviceKind::Physical {
                d.ifname.as_str()
            } else {
                ""
            };
            self.tx.execute(
                "INSERT INTO eth_devices (name, kind, ifname, slot, pvid, phys, vadapter) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![d.name, kind_text(d.kind), ifname, d.slot, d.pvid, d.phys, d.vadapter],
            )?;
        }
        Ok(())
    }
}
