//! A backup of the partition configuration (`bkprofdata`): every client partition with its
//! profile, its virtual SCSI adapter, mappings and optical devices, the shared memory pool, and
//! the managed system it came from.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Mapping, OpticalDevice, Partition, VirtualScsiAdapter};

/// The configuration a backup holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBackup {
    /// The managed system's type-model.
    pub type_model: String,
    /// The managed system's serial number.
    pub serial_num: String,
    /// When it was taken, ms since the Unix epoch.
    pub created_ms: i64,
    /// Client partitions (their profiles), by ID.
    pub partitions: Vec<Partition>,
    /// Their virtual SCSI server adapters.
    pub adapters: Vec<VirtualScsiAdapter>,
    /// Virtual disks and physical volumes mapped to them.
    pub mappings: Vec<Mapping>,
    /// Virtual optical devices, with the media loaded then.
    pub optical: Vec<OpticalDevice>,
    /// The shared memory pool, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_pool: Option<crate::MemPool>,
    /// UEFI partitions' variables (boot entries, settings), zlib-compressed and hex, by
    /// partition ID.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub nvram: std::collections::BTreeMap<u32, String>,
}

/// The first line of a backup file.
pub const BACKUP_HEADER: &str = "ivm-profile-backup 1";

impl ProfileBackup {
    /// The file's text: the header, the SHA-256 of the payload, the payload (JSON), so a
    /// corrupt or truncated file is known before anything is restored.
    pub fn to_file_text(&self) -> String {
        use sha2::Digest;
        let payload = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        let digest = hex::encode(sha2::Sha256::digest(payload.as_bytes()));
        format!("{BACKUP_HEADER}\nsha256 {digest}\n{payload}")
    }

    /// Reads a backup file's text, or says what is wrong with it.
    pub fn from_file_text(text: &str) -> Result<ProfileBackup, String> {
        use sha2::Digest;
        let mut parts = text.splitn(3, '\n');
        if parts.next() != Some(BACKUP_HEADER) {
            return Err(format!(
                "is not an ivm profile backup (its first line is not \"{BACKUP_HEADER}\")"
            ));
        }
        let digest = parts
            .next()
            .and_then(|l| l.strip_prefix("sha256 "))
            .ok_or("has no checksum line")?;
        let payload = parts.next().unwrap_or_default();
        if hex::encode(sha2::Sha256::digest(payload.as_bytes())) != digest {
            return Err("is corrupt or truncated (its checksum does not match)".into());
        }
        serde_json::from_str(payload).map_err(|e| format!("cannot be read: {e}"))
    }
}

/// A backup file's text (`bkprofdata -o backup -f FILE` writes it; `rstprofdata` reads it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    /// The whole file.
    pub data: String,
}

/// `rstprofdata -l 1 -f FILE [--ignoremtms]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The backup file's text.
    pub data: String,
    /// Restore a backup taken on another managed system.
    #[serde(default)]
    pub ignore_mtms: bool,
}
