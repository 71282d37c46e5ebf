//! Virtual storage: storage pools, backing devices (virtual disks), virtual SCSI server
//! adapters and the mappings (virtual target devices) that join them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of a storage pool, as `lssp` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum PoolKind {
    /// A volume group of physical volumes (LVM2).
    #[serde(rename = "LVPOOL")]
    Lvpool,
    /// A directory of files.
    #[serde(rename = "FBPOOL")]
    Fbpool,
    /// A Ceph RBD pool that other ivm hosts may share (an ivm extension): its virtual disks
    /// are RBD images QEMU opens itself.
    #[serde(rename = "RBDPOOL")]
    Rbdpool,
}

impl PoolKind {
    /// IVM's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Lvpool => "LVPOOL",
            PoolKind::Fbpool => "FBPOOL",
            PoolKind::Rbdpool => "RBDPOOL",
        }
    }
}

impl std::fmt::Display for PoolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PoolKind {
    type Err = crate::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "LVPOOL" => Ok(PoolKind::Lvpool),
            "FBPOOL" => Ok(PoolKind::Fbpool),
            "RBDPOOL" => Ok(PoolKind::Rbdpool),
            other => Err(crate::UnknownValue {
                value: other.to_string(),
                allowed: "LVPOOL, FBPOOL, RBDPOOL".into(),
            }),
        }
    }
}

/// A storage pool: the space virtual disks are carved from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoragePool {
    /// Pool name (`rootvg`, ...).
    pub name: String,
    /// Volume group or file pool.
    pub kind: PoolKind,
    /// Capacity in MB: the most its virtual disks may commit together.
    pub size_mb: u64,
    /// Where its files live (file pool), or the volume group's name.
    pub path: String,
    /// Virtual disks are sparse and may together exceed the pool (an ivm extension).
    pub thin: bool,
    /// The pool `mkbdsp` uses when none is named.
    pub default: bool,
    /// Where a Ceph RBD pool is (RBDPOOL only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbd: Option<RbdLocation>,
}

/// A Ceph RBD pool as ivm reaches it. Its key is kept by the store and never shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RbdLocation {
    /// The monitors, `HOST[:PORT]` separated by commas (port 6789 when none is given).
    pub monitors: String,
    /// The Ceph pool's name.
    pub pool: String,
    /// The Ceph user ivm and QEMU log in as (`ivm` for `client.ivm`).
    pub user: String,
    /// The cluster's fsid: how two hosts know they see the same pool.
    pub fsid: String,
}

/// `mksp -rbd NAME -mon HOSTS -rbdpool POOL -user ID -size N`: a Ceph RBD pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RbdSpec {
    /// The monitors, `HOST[:PORT]` separated by commas.
    pub monitors: String,
    /// The Ceph pool's name.
    pub pool: String,
    /// The Ceph user (without `client.`).
    pub user: String,
    /// That user's key (the base64 secret `ceph auth get-key` prints).
    pub key: String,
}

/// A virtual disk carved from a pool (IVM's backing device, an LV on a volume group).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BackingDevice {
    /// Name, unique on the system.
    pub name: String,
    /// The pool it is carved from.
    pub pool: String,
    /// Size in MB.
    pub size_mb: u64,
}

/// What a virtual target device maps to a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackingKind {
    /// A backing device from a storage pool (`lsmap -type lv`).
    Lv,
    /// A whole physical volume (`lsmap -type disk`).
    Disk,
    /// A virtual optical device and its media (`lsmap -type optical`); never stored as a
    /// disk mapping, only shown as one.
    Optical,
}

impl BackingKind {
    /// IVM's `-type` name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackingKind::Lv => "lv",
            BackingKind::Disk => "disk",
            BackingKind::Optical => "optical",
        }
    }
}

/// A virtual target device (`vtscsiN`): one backing device mapped to a partition's vhost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Mapping {
    /// Virtual target device name, `vtscsiN`.
    pub vtd: String,
    /// The client partition.
    pub lpar_id: u32,
    /// Its virtual SCSI server adapter, N of `vhostN`.
    pub vhost: u32,
    /// Logical unit number on that adapter (0, 1, ...).
    pub lun: u32,
    /// The backing device or physical volume name.
    pub backing: String,
    /// Which of the two it is.
    pub kind: BackingKind,
}

/// A partition's virtual SCSI server adapter and what is mapped to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VirtualScsiAdapter {
    /// N of `vhostN`.
    pub vhost: u32,
    /// The client partition.
    pub lpar_id: u32,
    /// Client slot number of the adapter in the partition.
    pub client_slot: u32,
    /// Server slot number on the management partition.
    pub server_slot: u32,
}

/// `mksp -fb NAME -path DIR -size N` (file pool on a host directory) or
/// `mksp -fb NAME -sp PARENT -size N` (file pool in a logical volume of a volume group pool).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Pool name.
    pub name: String,
    /// Host directory for its files (empty with `parent`).
    #[serde(default)]
    pub path: String,
    /// The volume group pool it is carved from: a logical volume with an ext4 filesystem
    /// ivm mounts in its data directory.
    #[serde(default)]
    pub parent: Option<String>,
    /// Size in MB.
    pub size_mb: u64,
    /// Sparse virtual disks that may exceed the pool.
    #[serde(default)]
    pub thin: bool,
    /// A Ceph RBD pool instead of a directory.
    #[serde(default)]
    pub rbd: Option<RbdSpec>,
}

/// `mkbdsp [-sp POOL] SIZE -bd NAME [-vadapter vhostN [-tn VTD]]`, or
/// `mkbdsp [-sp POOL] [SIZE] -bd NAME -file IMAGE` (an image imported into the new disk).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    /// Name of the new virtual disk.
    pub name: String,
    /// Pool; the default pool when unset.
    pub pool: Option<String>,
    /// Size in MB; with `image`, 0 takes the image's own size.
    pub size_mb: u64,
    /// A raw or qcow2 image (in the boot directory or a file pool) whose contents the new
    /// disk starts with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Map it at once to this adapter (`vhostN`).
    pub vadapter: Option<String>,
    /// Name for that mapping's virtual target device.
    pub vtd: Option<String>,
}

/// `chbdsp -bd NAME -size +SIZE` / `-mv NEW`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskChange {
    /// MB to add (grow only).
    pub grow_mb: Option<u64>,
    /// The disk's name after `-mv`.
    pub new_name: Option<String>,
}

/// `mkvdev -vdev BACKING -vadapter vhostN [-dev VTD]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MapRequest {
    /// Backing device or physical volume name.
    pub backing: String,
    /// Adapter, `vhostN`.
    pub vadapter: String,
    /// Virtual target device name; `vtscsiN` (lowest free) when unset.
    pub vtd: Option<String>,
}

/// A physical volume as IVM names it: `hdiskN`, kept for the same device across reboots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hdisk {
    /// `hdiskN`.
    pub name: String,
    /// The device's stable identity (WWID, serial, a loop device's backing file).
    pub id: String,
    /// Its kernel name now, e.g. `sdb` or `loop3`.
    pub device: String,
    /// Size in MB.
    pub size_mb: u64,
    /// Whether the last scan found it, unused by the host.
    pub present: bool,
    /// The physical volume identifier `lspv` prints (16 hex digits, from the identity).
    pub pvid: String,
}

/// Everything about virtual storage, as `lssp`, `lsmap` and the console show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StorageView {
    /// Pools with their disks.
    pub pools: Vec<StoragePool>,
    /// Virtual disks.
    pub disks: Vec<BackingDevice>,
    /// Virtual SCSI server adapters (`vhostN`), one per client partition.
    pub adapters: Vec<VirtualScsiAdapter>,
    /// Virtual target devices (`vtscsiN`, `vtoptN`): which backing device each adapter sees.
    pub mappings: Vec<Mapping>,
    /// Physical volumes.
    pub hdisks: Vec<Hdisk>,
    /// Which physical volumes belong to which volume group pool.
    pub members: Vec<PoolMember>,
    /// Physical volumes given to the shared memory pool as paging devices.
    #[serde(default)]
    pub paging_pvs: Vec<String>,
    /// Physical volumes nothing holds (present, not mapped, in no pool, not a paging device):
    /// what `mksp`, `chsp -add` and the memory pool accept, as the server's rule decides.
    #[serde(default)]
    pub free_hdisks: Vec<String>,
    /// MB each pool has free, as `lssp` counts it (a shared pool's counts other hosts' disks).
    pub pools_free_mb: Vec<PoolFree>,
    /// The virtual media library, once made.
    pub repository: Option<Repository>,
    /// Optical media in it.
    pub media: Vec<OpticalMedia>,
    /// Virtual optical devices.
    pub optical: Vec<OpticalDevice>,
}

/// A physical volume that belongs to a volume group pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoolMember {
    /// The physical volume, `hdiskN`.
    pub hdisk: String,
    /// The pool it belongs to.
    pub pool: String,
}

/// A pool's free space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoolFree {
    /// The pool's name.
    pub pool: String,
    /// MB not committed to its virtual disks.
    pub free_mb: u64,
}

/// `mksp [-f] NAME hdiskN...` / `chsp -add|-rm [-f] -sp NAME hdiskN`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VgPoolRequest {
    /// Pool (volume group) name.
    pub name: String,
    /// Physical volumes, `hdiskN`.
    pub hdisks: Vec<String>,
    /// Overwrite what the physical volumes held.
    #[serde(default)]
    pub force: bool,
}

/// Whether optical media may be written: read-only media load in many partitions at once,
/// read-write media in one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaAccess {
    /// Read-only.
    Ro,
    /// Read-write.
    Rw,
}

impl MediaAccess {
    /// IVM's name (`ro`, `rw`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaAccess::Ro => "ro",
            MediaAccess::Rw => "rw",
        }
    }
}

impl std::str::FromStr for MediaAccess {
    type Err = crate::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ro" => Ok(MediaAccess::Ro),
            "rw" => Ok(MediaAccess::Rw),
            other => Err(crate::UnknownValue {
                value: other.to_string(),
                allowed: "ro, rw".into(),
            }),
        }
    }
}

/// The virtual media library: one per system, carved from a storage pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Repository {
    /// The pool it is carved from.
    pub pool: String,
    /// The virtual disk that holds it (`VMLibrary_LV`): not a disk for partitions.
    pub disk: String,
    /// Its size in MB: the most its media may hold together.
    pub size_mb: u64,
    /// MB its media leave free.
    pub free_mb: u64,
    /// MB its parent pool has free, as `lssp` counts it.
    pub pool_free_mb: u64,
}

/// Optical media (an ISO image) in the virtual media library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpticalMedia {
    /// Name, unique in the library (also its file name).
    pub name: String,
    /// Size in MB (rounded up).
    pub size_mb: u64,
    /// Read-only or read-write.
    pub access: MediaAccess,
}

/// A virtual optical device (`vtoptN`) on a partition's vhost, with the media loaded in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpticalDevice {
    /// Virtual target device name, `vtoptN`.
    pub vtd: String,
    /// The client partition.
    pub lpar_id: u32,
    /// Its virtual SCSI server adapter, N of `vhostN`.
    pub vhost: u32,
    /// Logical unit number on that adapter.
    pub lun: u32,
    /// The media loaded, if any.
    pub media: Option<String>,
}

/// `mkrep -sp POOL -size N` / `chrep -size N`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositorySpec {
    /// Parent pool; the default pool when unset (ignored by `chrep`).
    pub pool: Option<String>,
    /// Size in MB.
    pub size_mb: u64,
}

/// `mkvopt -name N -file F [-ro]` / `mkvopt -name N -size S`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaSpec {
    /// Name of the new media.
    pub name: String,
    /// Copy it from this file (in a directory ivm manages).
    pub file: Option<String>,
    /// Or make blank media of this many MB.
    pub size_mb: Option<u64>,
    /// Read-only (default read-write).
    #[serde(default)]
    pub read_only: bool,
}

/// `chvopt -name N [-access ro|rw] [-mv NEW]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaChange {
    /// New access.
    pub access: Option<MediaAccess>,
    /// The volume's name after `-mv`.
    pub new_name: Option<String>,
}

/// `mkvdev -fbo -vadapter vhostN [-dev VTD]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpticalRequest {
    /// Adapter, `vhostN`.
    pub vadapter: String,
    /// Device name; `vtoptN` (lowest free) when unset.
    pub vtd: Option<String>,
}

/// `loadopt [-f] -disk NAME -vtd vtoptN`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadRequest {
    /// Media to load.
    pub media: String,
    /// Replace media already loaded.
    #[serde(default)]
    pub force: bool,
}
