//! Partition mobility: a running or defined partition moved to another ivm host.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Accel, LaunchLimits, MigrationKind, MigrationState, Partition};

/// `migrlpar -o v|m`: move partition `lpar_id` to the ivm host at `ip`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MigrationRequest {
    /// The partition to move.
    pub lpar_id: u32,
    /// The target host's address (`--ip`).
    pub ip: String,
    /// The user on the target host (`-u`, default padmin).
    #[serde(default = "default_remote_user")]
    pub user: String,
    /// The target managed system's name (`-t`), checked against what the target says.
    #[serde(default)]
    pub target_system: Option<String>,
    /// The partition ID to take on the target (`-i dest_lpar_id=N`); default the same ID if free.
    #[serde(default)]
    pub dest_lpar_id: Option<u32>,
    /// Validate only (`-o v`): nothing is reserved, nothing moves.
    #[serde(default)]
    pub validate_only: bool,
}

fn default_remote_user() -> String {
    crate::PRIME_ADMIN.to_string()
}

/// What a running partition's QEMU was started with and holds now: the target's QEMU must be
/// made with the same devices for the migration stream to load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MachineShape {
    /// vCPUs present now (the boot vCPU and cores 1..vcpus as devices).
    pub vcpus: u32,
    /// Boot memory, MB.
    pub boot_mem_mb: u64,
    /// Memory plugged through virtio-mem now, MB.
    pub plugged_mem_mb: u64,
    /// Whether it has a balloon below its boot memory.
    pub balloon: bool,
    /// The limits it was launched with (`-smp maxcpus`, the virtio-mem maximum, TCG plugs left).
    pub limits: LaunchLimits,
    /// The accelerator it runs on (the target must use the same).
    pub accel: Accel,
}

/// What the source sends the target to validate or reserve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MigrationOffer {
    /// The migration's identifier (made by the source, unique).
    pub migration_id: String,
    /// The source managed system's name.
    pub source_system: String,
    /// The partition as the source has it (its current values).
    pub partition: Partition,
    /// The running QEMU's devices; absent for an inactive migration.
    #[serde(default)]
    pub shape: Option<MachineShape>,
    /// The ID wanted on the target.
    #[serde(default)]
    pub dest_lpar_id: Option<u32>,
    /// The managed system name the source was told to move to, if it was.
    #[serde(default)]
    pub target_system: Option<String>,
    /// Its virtual disks, in LUN order: the target makes each (same name and size) and the
    /// source copies it while the partition runs.
    #[serde(default)]
    pub disks: Vec<OfferedDisk>,
}

/// A virtual disk that moves with its partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfferedDisk {
    /// The source's virtual target device (the NBD export's name).
    pub vtd: String,
    /// Its logical unit on the partition's virtual SCSI adapter (kept on the target).
    pub lun: u32,
    /// The virtual disk's name.
    pub name: String,
    /// Its size, MB.
    pub size_mb: u64,
    /// Where it is when both hosts see it (a shared pool): nothing is copied, the target
    /// opens the same image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<SharedDisk>,
}

/// A virtual disk on storage both hosts see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SharedDisk {
    /// The Ceph cluster's fsid.
    pub fsid: String,
    /// The Ceph pool.
    pub pool: String,
}

/// The target's answer to a validation or reservation (and, once moved, what it cost).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MigrationAccept {
    /// The target managed system's name.
    pub system: String,
    /// The partition's ID on the target.
    pub lpar_id: u32,
    /// What an active move cost, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<MigrationFigures>,
}

/// What an active migration cost, as QEMU measured it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MigrationFigures {
    /// From the start of the memory stream to its end, ms.
    pub total_ms: u64,
    /// The guest's pause at the switch-over, ms (QEMU's own figure, source side).
    pub downtime_ms: u64,
    /// Memory bytes sent.
    pub bytes: u64,
    /// Memory passes.
    pub passes: u64,
    /// From the source's pause to the target's resume, ms, as ivm saw it (the commit included).
    pub switch_ms: u64,
}

/// What the target says of a migration it was offered (asked by `migrlpar -o r`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncomingStatus {
    /// The migration.
    pub migration_id: String,
    /// `reserved` (nothing runs yet or it is loading), `owned` (the target took it over) or
    /// `unknown` (never offered, or aborted).
    pub status: String,
    /// The partition's ID on the target, when it has one.
    pub lpar_id: Option<u32>,
}

/// One partition's migration as `lslparmigr -r lpar` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MigrationView {
    /// Partition name.
    pub name: String,
    /// Partition ID on this host.
    pub lpar_id: u32,
    /// Where it stands.
    pub migration_state: MigrationState,
    /// The migration, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<Migration>,
}

/// A migration this host takes part in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Migration {
    /// Its identifier.
    pub id: String,
    /// Active or inactive.
    pub kind: MigrationKind,
    /// Whether this host is the source (else the target).
    pub outgoing: bool,
    /// The partition's ID here.
    pub lpar_id: u32,
    /// The other host's address.
    pub peer_ip: String,
    /// The user on the other host.
    pub peer_user: String,
    /// The source managed system's name.
    pub source_system: String,
    /// The destination managed system's name.
    pub dest_system: String,
    /// The partition's ID on the destination.
    pub dest_lpar_id: u32,
    /// Where it stands.
    pub state: MigrationState,
    /// Bytes sent so far.
    pub bytes_transmitted: u64,
    /// Bytes QEMU still has to send (dirty memory).
    pub bytes_remaining: u64,
    /// Memory passes so far (QEMU's dirty-sync count).
    pub passes: u64,
    /// QEMU's expected downtime at the switch-over, ms.
    pub expected_downtime_ms: u64,
    /// When it started, ms since the Unix epoch.
    pub started_ms: i64,
    /// The virtual disks that move with it (the source's to remove once moved, the target's
    /// to remove if it is given back).
    #[serde(default)]
    pub disks: Vec<String>,
    /// The virtual disks on shared storage that move with it: never copied nor removed,
    /// only taken over (the target's to forget if it is given back).
    #[serde(default)]
    pub shared_disks: Vec<String>,
}

/// `lslparmigr -r sys`: what this host's mobility can do and what it is doing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MobilityView {
    /// Inactive migration supported.
    pub inactive_capable: bool,
    /// Active migration supported.
    pub active_capable: bool,
    /// How many migrations of each kind may run at once.
    pub migrations_supported: u32,
    /// Inactive migrations under way.
    pub inactive_in_progress: u32,
    /// Active migrations under way.
    pub active_in_progress: u32,
}

/// `mkauthkeys --ip HOST -u USER`: give this host's key to a user of another ivm host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrustRequest {
    /// The other host's address.
    pub ip: String,
    /// The user there.
    pub user: String,
    /// That user's password (used once for the SSH login that adds the key; never stored).
    #[serde(default)]
    pub password: Option<String>,
    /// Only check that the key already works (`--test`).
    #[serde(default)]
    pub test: bool,
}
