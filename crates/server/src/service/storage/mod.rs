//! Virtual storage: pools, virtual disks and their mappings to partitions. Each change is
//! reserved in the store, carried out on the host (files, QMP hot-plug), then committed or
//! undone; a virtual disk being made or removed is marked so that a daemon that dies half way
//! leaves no half-made disk after the next start.

use std::path::Path;

use ivm_model::{
    BackingDevice, BackingKind, DiskChange, DiskSpec, Hdisk, MapRequest, Mapping, PoolFree,
    PoolKind, PoolMember, PoolSpec, StoragePool, StorageView, VgPoolRequest, VirtualScsiAdapter,
};
use ivm_qemu::LaunchDisk;
use ivm_storage::image::{Image, ImageError, Sandbox};
use ivm_storage::FilePool;
use ivm_store::DiskState;

use super::error::host;
use super::steps::{self, step};
use super::{Actor, Service, ServiceError};
use crate::failpoint;
use crate::runtime::HostError;

/// The default pool's name, as on IVM.
pub const DEFAULT_POOL: &str = "rootvg";

/// A starting partition's storage: its adapter, disks, optical devices, and the open files
/// QEMU inherits (with their descriptor numbers).
pub(super) struct LaunchStorage {
    /// N of its `vhostN`.
    pub vhost: Option<u32>,
    /// Its virtual disks as QEMU opens them.
    pub disks: Vec<LaunchDisk>,
    /// Its optical devices.
    pub optical: Vec<ivm_qemu::LaunchOptical>,
    /// Descriptors QEMU inherits.
    pub files: Vec<(std::fs::File, i32)>,
}

/// Descriptor number of a partition's first disk in QEMU (0-2 are stdio).
const FIRST_DISK_FD: i32 = 10;

use super::pooldriver::{DiskPlace, PoolDriver};

mod disks;
mod mappings;
mod pools;

/// The adapter a partition has (every client partition has one).
pub(super) fn adapter_for(
    tx: &ivm_store::Tx,
    lpar_id: u32,
) -> Result<Option<VirtualScsiAdapter>, ServiceError> {
    Ok(tx.adapters()?.into_iter().find(|a| a.lpar_id == lpar_id))
}

/// Gives a new client partition its virtual SCSI server adapter.
pub(super) fn add_adapter(tx: &ivm_store::Tx, lpar_id: u32) -> Result<(), ServiceError> {
    let adapters = tx.adapters()?;
    let vhost = ivm_rules::next_vhost(&adapters);
    tx.put_adapter(&VirtualScsiAdapter {
        vhost,
        lpar_id,
        client_slot: 2,
        server_slot: 11 + vhost,
    })?;
    Ok(())
}

impl Service {
    /// Pools, disks, adapters and mappings.
    pub fn storage(&self) -> Result<StorageView, ServiceError> {
        // A shared pool's free space counts what other hosts hold there; a cluster that does
        // not answer leaves only this host's disks counted, with a warning.
        let foreign = self.foreign_disks().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot list the images of an RBD pool");
            Vec::new()
        });
        self.store.read(|tx| {
            let (pools, disks, media) = (tx.pools()?, tx.disks()?, tx.media()?);
            let (hdisks, mappings) = (tx.hdisks()?, tx.mappings()?);
            // The rule that mksp and the memory pool apply, so clients need not restate it.
            let free_hdisks = ivm_rules::free_hdisks(&hdisks, &mappings, &tx.hdisk_claims()?);
            let counted = with_foreign(disks.clone(), &foreign);
            Ok::<_, ServiceError>(StorageView {
                pools_free_mb: pools
                    .iter()
                    .map(|p| PoolFree {
                        pool: p.name.clone(),
                        free_mb: ivm_rules::pool_free(p, &counted),
                    })
                    .collect(),
                repository: ivm_rules::repository(&disks)
                    .ok()
                    .map(|d| ivm_rules::repository_view(d, &pools, &counted, &media)),
                pools,
                disks,
                adapters: tx.adapters()?,
                mappings,
                hdisks,
                free_hdisks,
                members: tx
                    .pool_members()?
                    .into_iter()
                    .map(|(hdisk, pool)| PoolMember { hdisk, pool })
                    .collect(),
                paging_pvs: tx.paging_pvs()?.into_iter().map(|pv| pv.name).collect(),
                media,
                optical: tx.optical_devices()?,
            })
        })
    }

    /// `cfgdev`: looks for physical volumes and Ethernet adapters again; new ones get the next
    /// `hdiskN` or `entN`.
    pub fn cfgdev(&self, actor: &Actor) -> Result<Vec<Hdisk>, ServiceError> {
        let _held = self.storage_lock();
        self.logged(actor, "scan for devices", "physical volumes", || {
            // The scan reads the host, so it runs before the transaction.
            let found = ivm_host::physical_volumes(&self.host_root);
            self.store.write(|tx| {
                let hdisks = ivm_rules::scan_hdisks(&tx.hdisks()?, &found);
                tx.put_hdisks(&hdisks)?;
                Ok((hdisks, "physical volumes".into()))
            })
        })
        .and_then(|h| {
            self.scan_eth()?;
            Ok(h)
        })
    }

    /// At start: makes the default pool when there is none (a file pool in the data directory
    /// of `size_mb`, or half the filesystem's free space), and finishes what a daemon that died
    /// left half done: disks being made are removed, disks being removed are removed.
    pub fn prepare_storage(
        &self,
        data_dir: &Path,
        size_mb: Option<u64>,
    ) -> Result<(), ServiceError> {
        // Physical volumes are configured at start, as on IVM.
        let found = ivm_host::physical_volumes(&self.host_root);
        self.store
            .write(|tx| tx.put_hdisks(&ivm_rules::scan_hdisks(&tx.hdisks()?, &found)))?;
        let pools = self.store.read(|tx| tx.pools())?;
        if pools.is_empty() {
            let dir = data_dir.join("pools").join(DEFAULT_POOL);
            let fp = FilePool::new(&dir);
            fp.create().map_err(host)?;
            let size = match size_mb {
                Some(s) => s,
                None => fp.fs_free_mb().map_err(host)? / 2,
            };
            let pool = StoragePool {
                name: DEFAULT_POOL.into(),
                kind: PoolKind::Fbpool,
                size_mb: size,
                path: dir.to_string_lossy().into_owned(),
                thin: false,
                default: true,
                rbd: None,
            };
            self.store.write(|tx| tx.put_pool(&pool))?;
            println!(
                "ivm: created the default storage pool {DEFAULT_POOL}: a file pool of {size} MB in {}",
                dir.display()
            );
        }
        self.mount_pool_volumes();
        let (pools, disks) = self
            .store
            .read(|tx| Ok::<_, ServiceError>((tx.pools()?, tx.disks_with_state()?)))?;
        for (d, state) in disks {
            // The media repository is finished by prepare_media.
            if state == DiskState::Ready || d.name == ivm_rules::REPOSITORY_BD {
                continue;
            }
            if let Some(pool) = pools.iter().find(|p| p.name == d.pool) {
                self.pool_driver(pool)?.remove(&d.name)?;
            }
            tracing::warn!(disk = %d.name, ?state, "finished an interrupted virtual disk operation: removed it");
            self.store.write(|tx| tx.delete_disk(&d.name))?;
        }
        self.prepare_media()
    }
}

/// Refuses virtual disk commands on the media repository's backing device.
fn not_the_repository(name: &str, instead: &'static str) -> Result<(), ServiceError> {
    if name == ivm_rules::REPOSITORY_BD {
        return Err(ivm_rules::RuleError::RepositoryDevice {
            name: name.to_string(),
            instead,
        }
        .into());
    }
    Ok(())
}

/// Refuses virtual disk commands on the logical volume that holds a file pool.
fn not_a_pool_volume(pools: &[StoragePool], name: &str) -> Result<(), ServiceError> {
    if pools.iter().any(|p| p.name == name) {
        return Err(ivm_rules::RuleError::PoolVolume {
            name: name.to_string(),
        }
        .into());
    }
    Ok(())
}

/// A mapping's data on the host: a virtual disk's file, or a whole physical volume.
enum Source {
    /// A virtual disk: its file, or its logical volume's block device.
    Disk(DiskPlace),
    /// A whole physical volume.
    Device(Hdisk),
    /// An RBD image, and its user's key.
    Rbd(ivm_qemu::RbdDrive, String),
}

impl Source {
    /// Opens it for QEMU (direct I/O where possible). A whole disk is opened exclusively, so
    /// the host cannot mount it while a partition has it.
    fn open(&self) -> Result<(std::fs::File, bool), ServiceError> {
        match self {
            Source::Disk(DiskPlace::File(path)) => {
                ivm_storage::files::open_for_guest(path).map_err(host)
            }
            Source::Disk(DiskPlace::Block(path)) => open_block(path, &path.display().to_string()),
            Source::Device(h) => open_block(&Path::new("/dev").join(&h.device), &h.name),
            Source::Rbd(d, _) => Err(HostError::Failed(format!(
                "RBD image {} is opened by QEMU, not by ivm",
                d.image
            ))
            .into()),
        }
    }

    /// Whether QEMU gets a block device (`host_device`) rather than a file.
    fn is_block(&self) -> bool {
        matches!(self, Source::Device(_) | Source::Disk(DiskPlace::Block(_)))
    }
}

/// This host's disks and, beside them, the shared pools' images other hosts hold (`foreign`,
/// read before the transaction; a name that became this host's meanwhile counts once).
fn with_foreign(mut disks: Vec<BackingDevice>, foreign: &[BackingDevice]) -> Vec<BackingDevice> {
    let extra: Vec<BackingDevice> = foreign
        .iter()
        .filter(|f| !disks.iter().any(|d| d.name == f.name))
        .cloned()
        .collect();
    disks.extend(extra);
    disks
}

/// A memory-only file holding `key`, read from the start: how a key reaches QEMU without a
/// file on disk or an argument others can read.
fn secret_file(key: &str) -> Result<std::fs::File, ServiceError> {
    use std::io::{Seek, Write};
    use std::os::fd::FromRawFd;
    let io = |source| HostError::Io {
        action: "make the key file for",
        path: "a Ceph disk".into(),
        source,
    };
    // SAFETY: memfd_create with a static name; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::memfd_create(c"ivm-ceph-key".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io(std::io::Error::last_os_error()).into());
    }
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(key.as_bytes()).map_err(io)?;
    f.rewind().map_err(io)?;
    Ok(f)
}

/// Opens a block device exclusively, so the host cannot mount it while a partition has it.
fn open_block(path: &Path, what: &str) -> Result<(std::fs::File, bool), ServiceError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_EXCL)
        .open(path)
        .map(|f| (f, true))
        .map_err(|source| ServiceError::DeviceBusy {
            what: what.to_string(),
            path: path.to_path_buf(),
            source,
        })
}

/// A paging device is never used as a virtual disk, nor removed or changed as one.
fn not_paging(tx: &ivm_store::Tx, name: &str, action: &str) -> Result<(), ServiceError> {
    match tx.paging_devices()?.into_iter().find(|v| v.name == name) {
        Some(v) => Err(ivm_rules::RuleError::InUse {
            what: "backing device",
            name: name.to_string(),
            by: format!(
                "it is the paging device of partition {} and cannot be {action}; it goes \
                 with the partition (or with its change to mem_mode=ded)",
                v.lpar_id
            ),
        }
        .into()),
        None => Ok(()),
    }
}

/// An image refused for what it is (a refusal with its fix), or a host failure to import it.
fn image_error(e: ImageError) -> ServiceError {
    match e {
        ImageError::Unsupported { .. }
        | ImageError::Refused { .. }
        | ImageError::NotReadable { .. } => ServiceError::BadImage(e),
        other => host(other),
    }
}
