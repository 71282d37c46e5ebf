//! Enumerations whose text forms are IVM's attribute values.

use std::fmt;
use std::str::FromStr;

/// A text value that names no variant of an IVM enumeration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not one of: {allowed}")]
pub struct UnknownValue {
    /// The rejected text.
    pub value: String,
    /// The accepted values, comma separated.
    pub allowed: String,
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash,
                 serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $var),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The IVM text form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| UnknownValue {
                    value: s.to_string(),
                    allowed: Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                })
            }
        }
    };
}

string_enum! {
    /// Partition environment: the management partition is `vioserver`, clients `aixlinux`.
    LparEnv { Aixlinux = "aixlinux", Vioserver = "vioserver" }
}

string_enum! {
    /// Whole dedicated processors or virtual processors from the shared pool.
    ProcMode { Dedicated = "ded", Shared = "shared" }
}

string_enum! {
    /// How processors are shared: the first two for dedicated, the last two for shared partitions.
    SharingMode {
        KeepIdleProcs = "keep_idle_procs",
        ShareIdleProcs = "share_idle_procs",
        Capped = "cap",
        Uncapped = "uncap",
    }
}

string_enum! {
    /// Dedicated physical memory or logical memory from a shared memory pool.
    MemMode { Dedicated = "ded", Shared = "shared" }
}

string_enum! {
    /// Activation boot mode: normal, SMS menu, stop in Open Firmware, diagnostics.
    BootMode { Normal = "norm", Sms = "sms", OpenFirmware = "of", DiagDefault = "dd", DiagStored = "ds" }
}

string_enum! {
    /// The firmware a partition boots with (`boot_firmware`, ivm's attribute): SeaBIOS, or
    /// UEFI (OVMF) with the partition's own NVRAM variables.
    BootFirmware { Bios = "bios", Uefi = "uefi" }
}

// string_enum! writes the derives; a #[default] variant would need Default in all of them.
#[allow(clippy::derivable_impls)]
impl Default for BootFirmware {
    fn default() -> Self {
        BootFirmware::Bios
    }
}

string_enum! {
    /// A partition's display adapter (`display`, ivm's attribute): none (serial terminal
    /// only), a standard VGA, or virtio-gpu (`virtio-vga`, so firmware and boot loaders show
    /// too). Its screen is served over VNC on a Unix socket, never on a TCP port.
    DisplayAdapter { None = "none", Vga = "vga", VirtioGpu = "virtio-gpu" }
}

// string_enum! writes the derives; a #[default] variant would need Default in all of them.
#[allow(clippy::derivable_impls)]
impl Default for DisplayAdapter {
    fn default() -> Self {
        DisplayAdapter::None
    }
}

string_enum! {
    /// A partition's state, with IVM's exact strings.
    PartitionState {
        NotActivated = "Not Activated",
        Starting = "Starting",
        Running = "Running",
        OpenFirmware = "Open Firmware",
        ShuttingDown = "Shutting Down",
        Error = "Error",
        NotAvailable = "Not Available",
        /// Running on this host while it moves to another (the source's copy).
        MigratingRunning = "Migrating - Running",
        /// Reserved on this host for a partition moving in (the target's copy), or a defined
        /// partition whose definition is moving.
        MigratingNotActivated = "Migrating - Not Activated",
    }
}

string_enum! {
    /// How QEMU runs guests: hardware virtualization or software emulation.
    Accel { Kvm = "kvm", Tcg = "tcg" }
}

string_enum! {
    /// `chsysstate -o osshutdown`, `-o shutdown`, `-o shutdown --immed`.
    ShutdownKind {
        /// Ask the operating system (ACPI power button) and wait for it.
        Os = "osshutdown",
        /// Ask the operating system, then stop the partition after a delay.
        Delayed = "shutdown",
        /// Stop the partition at once.
        Immediate = "immed",
    }
}

string_enum! {
    /// The partition's RMC connection as HMC prints it (`rmc_state`): ivm's RMC is the QEMU
    /// guest agent, active while the guest has its port open.
    RmcState { Active = "active", Inactive = "inactive", None = "none" }
}

string_enum! {
    /// A paging device's state as `lshwres -r mempool --rsubtype pgdev` prints it: `Active`
    /// while the partition it pages for runs.
    PagingDeviceState { Active = "Active", Inactive = "Inactive" }
}

string_enum! {
    /// What a paging device is.
    PagingDeviceKind {
        /// A backing device made in the paging storage pool.
        Logical = "logical",
        /// A physical volume given to the pool.
        Phys = "phys",
    }
}

string_enum! {
    /// A DLPAR operation: add, remove or set a running partition's resources.
    DlparOp { Add = "a", Remove = "r", Set = "s" }
}

string_enum! {
    /// Where a migration stands, as `lslparmigr -r lpar` prints `migration_state`.
    MigrationState {
        /// No migration.
        NotMigrating = "Not Migrating",
        /// Validated and reserved on the target; nothing has moved yet.
        Starting = "Migration Starting",
        /// Memory (or the definition) is moving.
        InProgress = "Migration In Progress",
        /// Being stopped (`migrlpar -o s`).
        Stopping = "Migration Stopping",
        /// Stopped part way: the source cannot tell whether the target took over, so
        /// `migrlpar -o r` must decide (the partition runs on exactly one host until then:
        /// the source is paused, the target not resumed).
        RecoveryNeeded = "Migration Recovery Required",
    }
}

string_enum! {
    /// Active (running partition) or inactive (definition only) migration.
    MigrationKind { Active = "active", Inactive = "inactive" }
}

impl PartitionState {
    /// True while a guest process exists, so only DLPAR-style changes are allowed.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            PartitionState::Starting
                | PartitionState::Running
                | PartitionState::OpenFirmware
                | PartitionState::ShuttingDown
                | PartitionState::MigratingRunning
        )
    }

    /// True while a migration holds the partition: nothing else may change it.
    pub fn is_migrating(self) -> bool {
        matches!(
            self,
            PartitionState::MigratingRunning | PartitionState::MigratingNotActivated
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for s in PartitionState::ALL {
            assert_eq!(s.as_str().parse::<PartitionState>().unwrap(), *s);
        }
        assert_eq!(
            "Not Activated".parse::<PartitionState>().unwrap(),
            PartitionState::NotActivated
        );
        let err = "dedicated".parse::<ProcMode>().unwrap_err();
        assert_eq!(err.to_string(), "'dedicated' is not one of: ded, shared");
    }

    #[test]
    fn serde_uses_ivm_strings() {
        let json = serde_json::to_string(&PartitionState::ShuttingDown).unwrap();
        assert_eq!(json, "\"Shutting Down\"");
        let mode: SharingMode = serde_json::from_str("\"uncap\"").unwrap();
        assert_eq!(mode, SharingMode::Uncapped);
    }
}
