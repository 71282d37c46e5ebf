//! Virtual Ethernet on the host: each virtual Ethernet ID is a bridge of this instance, each
//! adapter of a starting partition a tap on its ID's bridge, handed to QEMU as a descriptor.
//! Taps vanish with QEMU; bridges no adapter uses are removed when a partition stops and at
//! start, so nothing is left behind.

use ivm_model::Partition;
use ivm_qemu::LaunchNic;

use super::storage::host;
use super::{InheritedFile, Service, ServiceError};
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
        let (mut nics, mut files) = (Vec::new(), Vec::new());
        for a in &p.eth.virtual_eth_adapters {
            let bridge = bridge_name(prefix, a.port_vlan_id);
            let tap = tap_name(prefix, p.lpar_id, a.slot_num);
            ivm_net::links::ensure_bridge(&bridge).map_err(host)?;
            let f = ivm_net::tap::open(&tap, true).map_err(host)?;
            ivm_net::links::attach(&tap, &bridge).map_err(host)?;
            let fd = first_fd + files.len() as i32;
            nics.push(LaunchNic {
                slot: a.slot_num,
                fd,
                mac: colon_mac(&p.eth.mac(a.slot_num)),
            });
            files.push((f, fd));
        }
        Ok((nics, files))
    }

    /// Removes this instance's bridges that no tap uses any more.
    pub(super) fn sweep_bridges(&self) {
        let Some(rt) = self.runtime.as_ref() else {
            return;
        };
        match ivm_net::links::remove_idle_bridges(&format!("{}v", rt.env.net_prefix)) {
            Ok(gone) if !gone.is_empty() => tracing::info!(?gone, "removed idle bridges"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot remove idle bridges"),
        }
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
