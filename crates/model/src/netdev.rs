//! Ethernet devices as IVM names them (`entN`): the host's physical NICs, the management
//! partition's virtual Ethernet adapters, and virtual Ethernet bridges (Shared Ethernet
//! Adapters) joining one virtual Ethernet ID to a physical NIC.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an `entN` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EthDeviceKind {
    /// A host network interface that is not ivm's own (a candidate for a bridge).
    Physical,
    /// A virtual Ethernet adapter of the management partition.
    Virtual,
    /// A virtual Ethernet bridge (Shared Ethernet Adapter).
    Sea,
}

/// One `entN`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EthDevice {
    /// `entN`.
    pub name: String,
    /// What it is.
    pub kind: EthDeviceKind,
    /// Physical: the Linux interface. Virtual and bridge: the bridge of its virtual Ethernet
    /// ID (filled in when listed).
    #[serde(default)]
    pub ifname: String,
    /// Virtual: the management partition's slot.
    #[serde(default)]
    pub slot: Option<u32>,
    /// Virtual and bridge: the virtual Ethernet ID.
    #[serde(default)]
    pub pvid: Option<u16>,
    /// Bridge: its physical `entN`.
    #[serde(default)]
    pub phys: Option<String>,
    /// Bridge: its virtual `entN` (the management partition's adapter on the ID).
    #[serde(default)]
    pub vadapter: Option<String>,
    /// Whether it exists on the host now (`Available`; otherwise `Defined`).
    #[serde(default)]
    pub available: bool,
    /// Hardware address, 12 upper-case hex digits (when listed).
    #[serde(default)]
    pub mac: String,
}

impl EthDevice {
    /// IVM's status word.
    pub fn status(&self) -> &'static str {
        if self.available {
            "Available"
        } else {
            "Defined"
        }
    }

    /// IVM's description, naming the Linux interface.
    pub fn description(&self) -> String {
        match self.kind {
            EthDeviceKind::Physical => format!("Physical Ethernet Adapter ({})", self.ifname),
            EthDeviceKind::Virtual => {
                format!("Virtual I/O Ethernet Adapter (l-lan) ({})", self.ifname)
            }
            EthDeviceKind::Sea => format!("Shared Ethernet Adapter ({})", self.ifname),
        }
    }
}

/// One virtual Ethernet ID in use: who is on it, and its way out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VirtualEthernet {
    /// The virtual Ethernet ID (port VLAN ID).
    pub pvid: u16,
    /// Its bridge on the host.
    pub bridge: String,
    /// Whether the bridge exists now (a running adapter or a virtual Ethernet bridge uses it).
    pub active: bool,
    /// Adapters on it: (partition ID, slot).
    pub adapters: Vec<(u32, u32)>,
    /// Its virtual Ethernet bridge (`entN`), when it has one.
    #[serde(default)]
    pub sea: Option<String>,
    /// The physical `entN` that bridge joins it to.
    #[serde(default)]
    pub sea_phys: Option<String>,
}

/// The network as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NetworkView {
    /// Every `entN`, by number.
    pub devices: Vec<EthDevice>,
    /// Every virtual Ethernet ID that an adapter or a bridge uses, by ID.
    pub ids: Vec<VirtualEthernet>,
}

/// `mkvdev -sea PHYS -vadapter VEA -default VEA -defaultid PVID`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeaRequest {
    /// The physical `entN`.
    pub phys: String,
    /// The management partition's virtual adapter `entN` on the virtual Ethernet ID.
    pub vadapter: String,
    /// The default adapter (IVM's `-default`; the same as `vadapter`).
    #[serde(default)]
    pub default_adapter: Option<String>,
    /// The default virtual Ethernet ID (IVM's `-defaultid`; the adapter's port VLAN ID).
    #[serde(default)]
    pub default_id: Option<u16>,
}
