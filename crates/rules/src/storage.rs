//! Virtual storage rules: sizes, names, pool accounting (storage is committed like processors
//! and memory), and what may be mapped where.

use ivm_model::{
    BackingDevice, BackingKind, DiskSpec, Hdisk, MapRequest, Mapping, OpticalDevice,
    PhysicalVolume, PoolKind, PoolSpec, StoragePool, VirtualScsiAdapter,
};

use crate::RuleError;

/// The backing device that holds the repository, named as IVM names it (`lssp -bd` lists it).
pub const REPOSITORY_BD: &str = "VMLibrary_LV";

/// The physical partition size ivm gives a file pool when it shows it as a volume group
/// (`lssp` Alloc Size, `lsvg` PP SIZE): 32 MB.
pub const FILE_POOL_PP_MB: u64 = 32;

/// Physical partitions a virtual disk of `mb` takes in a file pool (whole partitions).
pub fn file_pool_pps(mb: u64) -> u64 {
    mb.div_ceil(FILE_POOL_PP_MB)
}

/// Longest storage object name, as on IVM (logical volume names).
pub const MAX_STORAGE_NAME: usize = 15;

/// Parses IVM's size syntax into MB: `512M`/`512m`, `7G`/`7g`, `<n>B` (512-byte blocks, rounded
/// up to whole MB), or a plain number of MB.
pub fn parse_size(text: &str) -> Result<u64, RuleError> {
    let bad = || RuleError::OutOfRange {
        attr: "size",
        value: text.to_string(),
        allowed: "a positive size such as 512M, 10G or 2048B (512-byte blocks)".into(),
    };
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], Some(c)),
        _ => (t, None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mb = match unit {
        None | Some('M' | 'm') => Some(n),
        Some('G' | 'g') => n.checked_mul(1024),
        Some('B' | 'b') => Some((n * 512).div_ceil(1 << 20)),
        Some(_) => None,
    }
    .ok_or_else(bad)?;
    if mb == 0 {
        return Err(bad());
    }
    Ok(mb)
}

/// Checks a pool, disk or target device name: 1 to 15 letters, digits, `_`, `.`, `-`,
/// starting with a letter.
pub fn validate_storage_name(name: &str) -> Result<(), RuleError> {
    check_name(
        name,
        MAX_STORAGE_NAME,
        "storage names are 1 to 15 characters",
        |c| c.is_ascii_alphabetic(),
        "it must start with a letter",
    )
}

/// A name of at most `max` letters, digits, `_`, `.`, `-` whose first character passes
/// `first_ok`; the reasons name what is wrong.
pub(crate) fn check_name(
    name: &str,
    max: usize,
    length_reason: &'static str,
    first_ok: fn(char) -> bool,
    first_reason: &'static str,
) -> Result<(), RuleError> {
    let reason = if name.is_empty() || name.len() > max {
        Some(length_reason)
    } else if !name.starts_with(first_ok) {
        Some(first_reason)
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        Some("use only letters, digits, '_', '.' and '-'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(RuleError::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// MB the virtual disks of `pool` commit.
pub fn pool_allocated(pool: &str, disks: &[BackingDevice]) -> u64 {
    disks
        .iter()
        .filter(|d| d.pool == pool)
        .map(|d| d.size_mb)
        .sum()
}

/// MB still free in a pool (a thin pool reports what its size leaves, never below zero).
pub fn pool_free(pool: &StoragePool, disks: &[BackingDevice]) -> u64 {
    pool.size_mb
        .saturating_sub(pool_allocated(&pool.name, disks))
}

fn check_fits(pool: &StoragePool, disks: &[BackingDevice], more: u64) -> Result<(), RuleError> {
    let free = pool_free(pool, disks);
    if !pool.thin && more > free {
        return Err(RuleError::Insufficient {
            resource: "storage",
            needed: format!("{more} MB in pool {}", pool.name),
            available: format!("{free} MB"),
        });
    }
    Ok(())
}

/// A new file pool on a host directory (`mksp -fb NAME -path DIR -size N`).
pub fn new_file_pool(pools: &[StoragePool], spec: &PoolSpec) -> Result<StoragePool, RuleError> {
    validate_storage_name(&spec.name)?;
    if pools.iter().any(|p| p.name == spec.name) {
        return Err(RuleError::StorageNameInUse {
            what: "storage pool",
            name: spec.name.clone(),
        });
    }
    if spec.size_mb == 0 {
        return Err(RuleError::OutOfRange {
            attr: "size",
            value: "0".into(),
            allowed: "a positive size".into(),
        });
    }
    if !spec.path.starts_with('/') {
        return Err(RuleError::OutOfRange {
            attr: "path",
            value: spec.path.clone(),
            allowed: "an absolute directory path".into(),
        });
    }
    Ok(StoragePool {
        name: spec.name.clone(),
        kind: PoolKind::Fbpool,
        size_mb: spec.size_mb,
        path: spec.path.clone(),
        thin: spec.thin,
        default: pools.is_empty(),
        rbd: None,
    })
}

/// A new file pool inside a volume group pool (`mksp -fb NAME -sp PARENT -size N`): the pool,
/// at `path`, and the logical volume that holds it, committed in the parent like a virtual disk.
pub fn new_file_pool_in_vg(
    pools: &[StoragePool],
    disks: &[BackingDevice],
    spec: &PoolSpec,
    parent: &str,
    path: &str,
) -> Result<(StoragePool, BackingDevice), RuleError> {
    let pool = new_file_pool(
        pools,
        &PoolSpec {
            path: path.to_string(),
            thin: false,
            ..spec.clone()
        },
    )?;
    let vg = pick_pool(pools, Some(parent))?;
    if vg.kind != PoolKind::Lvpool {
        return Err(RuleError::OutOfRange {
            attr: "sp",
            value: parent.to_string(),
            allowed: "a volume group pool (LVPOOL); a file pool cannot hold another".into(),
        });
    }
    if disks.iter().any(|d| d.name == spec.name) {
        return Err(RuleError::StorageNameInUse {
            what: "logical volume",
            name: spec.name.clone(),
        });
    }
    check_fits(vg, disks, spec.size_mb)?;
    let lv = BackingDevice {
        name: spec.name.clone(),
        pool: vg.name.clone(),
        size_mb: spec.size_mb,
    };
    Ok((pool, lv))
}

/// The logical volume a file pool lives in, when it was made inside a volume group pool.
pub fn pool_volume<'a>(
    pools: &[StoragePool],
    disks: &'a [BackingDevice],
    pool: &StoragePool,
) -> Option<&'a BackingDevice> {
    if pool.kind != PoolKind::Fbpool {
        return None;
    }
    disks.iter().find(|d| {
        d.name == pool.name
            && pools
                .iter()
                .any(|p| p.name == d.pool && p.kind == PoolKind::Lvpool)
    })
}

/// The pool a request names, or the default one.
pub fn pick_pool<'a>(
    pools: &'a [StoragePool],
    name: Option<&str>,
) -> Result<&'a StoragePool, RuleError> {
    match name {
        Some(n) => pools.iter().find(|p| p.name == n).ok_or(RuleError::NoSuch {
            what: "storage pool",
            name: n.to_string(),
        }),
        None => pools.iter().find(|p| p.default).ok_or(RuleError::NoSuch {
            what: "default storage pool",
            name: String::new(),
        }),
    }
}

/// The size of a disk an image is imported into (`mkbdsp -file`): the size given, which must
/// hold the image, or with none given (0) the image's own size rounded up to whole MB.
pub fn import_size(image: &str, image_bytes: u64, size_mb: u64) -> Result<u64, RuleError> {
    let image_mb = image_bytes.div_ceil(1 << 20).max(1);
    match size_mb {
        0 => Ok(image_mb),
        s if s < image_mb => Err(RuleError::ImageLargerThanDisk {
            image: image.to_string(),
            image_mb,
            size_mb: s,
        }),
        s => Ok(s),
    }
}

/// Where an image may be imported: a pool whose disks are files or block devices here.
pub fn check_import_pool(pool: &StoragePool) -> Result<(), RuleError> {
    match pool.kind {
        PoolKind::Rbdpool => Err(RuleError::ImportPool {
            pool: pool.name.clone(),
        }),
        _ => Ok(()),
    }
}

/// A new virtual disk (`mkbdsp`): a unique name, in a pool it fits in.
pub fn new_disk(
    pools: &[StoragePool],
    disks: &[BackingDevice],
    spec: &DiskSpec,
) -> Result<BackingDevice, RuleError> {
    if spec.name == REPOSITORY_BD {
        return Err(RuleError::InvalidName {
            name: spec.name.clone(),
            reason: "it is the virtual media repository's name (mkrep makes it)",
        });
    }
    carve(pools, disks, spec)
}

/// A backing device carved from a pool: a unique name, in a pool it fits in.
pub(crate) fn carve(
    pools: &[StoragePool],
    disks: &[BackingDevice],
    spec: &DiskSpec,
) -> Result<BackingDevice, RuleError> {
    // `mklv VG SIZE` without -lv: the lowest free `lvNN`, as AIX names them.
    let name = if spec.name.is_empty() {
        (0..)
            .map(|n| format!("lv{n:02}"))
            .find(|n| !disks.iter().any(|d| d.name == *n) && !pools.iter().any(|p| p.name == *n))
            .unwrap_or_default()
    } else {
        spec.name.clone()
    };
    validate_storage_name(&name)?;
    if disks.iter().any(|d| d.name == name) || pools.iter().any(|p| p.name == name) {
        return Err(RuleError::StorageNameInUse {
            what: "virtual disk",
            name,
        });
    }
    let pool = pick_pool(pools, spec.pool.as_deref())?;
    if spec.size_mb == 0 {
        return Err(RuleError::OutOfRange {
            attr: "size",
            value: "0".into(),
            allowed: "a positive size".into(),
        });
    }
    check_fits(pool, disks, spec.size_mb)?;
    Ok(BackingDevice {
        name,
        pool: pool.name.clone(),
        size_mb: spec.size_mb,
    })
}

/// A virtual disk grown by `grow_mb` (`chbdsp -size +N`); disks never shrink.
pub fn grow_disk(
    pools: &[StoragePool],
    disks: &[BackingDevice],
    name: &str,
    grow_mb: u64,
) -> Result<BackingDevice, RuleError> {
    let disk = find_disk(disks, name)?;
    if grow_mb == 0 {
        return Err(RuleError::OutOfRange {
            attr: "size",
            value: "+0".into(),
            allowed: "a positive amount to add: virtual disks grow, never shrink".into(),
        });
    }
    let pool = pick_pool(pools, Some(&disk.pool))?;
    check_fits(pool, disks, grow_mb)?;
    Ok(BackingDevice {
        size_mb: disk.size_mb + grow_mb,
        ..disk.clone()
    })
}

/// A virtual disk by name.
pub fn find_disk<'a>(
    disks: &'a [BackingDevice],
    name: &str,
) -> Result<&'a BackingDevice, RuleError> {
    find_named(disks, name, |d| &d.name, "virtual disk")
}

/// The item whose `key` is `name`, or a NoSuch error naming `what`.
pub(crate) fn find_named<'a, T>(
    items: &'a [T],
    name: &str,
    key: impl Fn(&T) -> &str,
    what: &'static str,
) -> Result<&'a T, RuleError> {
    items
        .iter()
        .find(|i| key(i) == name)
        .ok_or(RuleError::NoSuch {
            what,
            name: name.to_string(),
        })
}

/// The adapter a request names (`vhostN`).
pub(crate) fn find_adapter<'a>(
    adapters: &'a [VirtualScsiAdapter],
    vadapter: &str,
) -> Result<&'a VirtualScsiAdapter, RuleError> {
    let vhost = parse_vhost(vadapter)?;
    adapters
        .iter()
        .find(|a| a.vhost == vhost)
        .ok_or(RuleError::NoSuch {
            what: "virtual SCSI server adapter",
            name: vadapter.to_string(),
        })
}

/// A virtual target device name: the one asked for, if valid and free, else the lowest free
/// `<prefix>N`. Disks and optical devices share one namespace.
pub(crate) fn pick_vtd(
    asked: Option<&str>,
    prefix: &str,
    mappings: &[Mapping],
    optical: &[OpticalDevice],
) -> Result<String, RuleError> {
    let taken = |n: &str| mappings.iter().any(|m| m.vtd == n) || optical.iter().any(|o| o.vtd == n);
    match asked {
        Some(v) => {
            validate_storage_name(v)?;
            if taken(v) {
                return Err(RuleError::StorageNameInUse {
                    what: "virtual target device",
                    name: v.to_string(),
                });
            }
            Ok(v.to_string())
        }
        None => Ok((0..)
            .map(|n| format!("{prefix}{n}"))
            .find(|n| !taken(n))
            .unwrap_or_default()),
    }
}

/// A virtual disk may be removed only when nothing maps it.
pub fn check_disk_removal(name: &str, mappings: &[Mapping]) -> Result<(), RuleError> {
    match mappings
        .iter()
        .find(|m| m.kind == BackingKind::Lv && m.backing == name)
    {
        Some(m) => Err(RuleError::InUse {
            what: "virtual disk",
            name: name.to_string(),
            by: format!(
                "it is mapped to vhost{} as {}; remove the mapping first (rmvdev -vtd {}) or remove both with rmbdsp -vtd {}",
                m.vhost, m.vtd, m.vtd, m.vtd
            ),
        }),
        None => Ok(()),
    }
}

/// The default pool stays until another pool is the default (new disks go to it).
pub fn check_not_default(pool: &StoragePool) -> Result<(), RuleError> {
    if pool.default {
        return Err(RuleError::DefaultPool {
            pool: pool.name.clone(),
        });
    }
    Ok(())
}

/// A pool may be removed only when it holds no virtual disk.
pub fn check_pool_removal(pool: &StoragePool, disks: &[BackingDevice]) -> Result<(), RuleError> {
    let held: Vec<&str> = disks
        .iter()
        .filter(|d| d.pool == pool.name)
        .map(|d| d.name.as_str())
        .collect();
    if held.is_empty() {
        Ok(())
    } else {
        Err(RuleError::InUse {
            what: "storage pool",
            name: pool.name.clone(),
            by: format!(
                "it holds the virtual disks {}; remove them first",
                held.join(", ")
            ),
        })
    }
}

/// N of `vhostN` for a new client partition: the lowest free.
pub fn next_vhost(adapters: &[VirtualScsiAdapter]) -> u32 {
    (0..)
        .find(|n| !adapters.iter().any(|a| a.vhost == *n))
        .unwrap_or(0)
}

/// Parses `vhostN`.
pub fn parse_vhost(name: &str) -> Result<u32, RuleError> {
    name.strip_prefix("vhost")
        .and_then(|n| n.parse().ok())
        .ok_or(RuleError::NoSuch {
            what: "virtual SCSI server adapter",
            name: name.to_string(),
        })
}

/// A new mapping (`mkvdev -vdev BACKING -vadapter vhostN [-dev VTD]`): the adapter and the
/// backing exist, the backing is not mapped already, the target device name is free.
/// `free_pvs` are the physical volumes nothing uses (whole-disk mappings).
pub fn new_mapping(
    adapters: &[VirtualScsiAdapter],
    disks: &[BackingDevice],
    free_pvs: &[String],
    mappings: &[Mapping],
    optical: &[OpticalDevice],
    req: &MapRequest,
) -> Result<Mapping, RuleError> {
    if req.backing == REPOSITORY_BD {
        return Err(RuleError::InUse {
            what: "backing device",
            name: req.backing.clone(),
            by: "it holds the virtual media library; map media with mkvdev -fbo and loadopt".into(),
        });
    }
    let adapter = find_adapter(adapters, &req.vadapter)?;
    let vhost = adapter.vhost;
    if let Some(m) = mappings.iter().find(|m| m.backing == req.backing) {
        return Err(RuleError::InUse {
            what: "backing device",
            name: req.backing.clone(),
            by: format!("it is already mapped to vhost{} as {}", m.vhost, m.vtd),
        });
    }
    let kind = if disks.iter().any(|d| d.name == req.backing) {
        BackingKind::Lv
    } else if free_pvs.contains(&req.backing) {
        BackingKind::Disk
    } else {
        return Err(RuleError::NoSuch {
            what: "backing device (virtual disk or free physical volume)",
            name: req.backing.clone(),
        });
    };
    let vtd = pick_vtd(req.vtd.as_deref(), "vtscsi", mappings, optical)?;
    Ok(Mapping {
        vtd,
        lpar_id: adapter.lpar_id,
        vhost,
        lun: next_lun(vhost, mappings, optical),
        backing: req.backing.clone(),
        kind,
    })
}

/// The lowest LUN on `vhost` that no disk and no optical device has.
pub(crate) fn next_lun(vhost: u32, mappings: &[Mapping], optical: &[OpticalDevice]) -> u32 {
    (0..)
        .find(|l| {
            !mappings.iter().any(|m| m.vhost == vhost && m.lun == *l)
                && !optical.iter().any(|o| o.vhost == vhost && o.lun == *l)
        })
        .unwrap_or(0)
}

/// The physical volume identifier of a device identity: 16 hex digits (FNV-1a), stable for the
/// same device.
pub fn pvid(id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `cfgdev`: the physical volumes after a scan. A device seen before keeps its `hdiskN` (by its
/// identity, whatever its kernel name now); a new one gets the next number; one not found is
/// kept, marked absent, so its name is never given to another device.
pub fn scan_hdisks(known: &[Hdisk], found: &[PhysicalVolume]) -> Vec<Hdisk> {
    let mut out: Vec<Hdisk> = known
        .iter()
        .map(|h| match found.iter().find(|f| f.id == h.id) {
            Some(f) => Hdisk {
                device: f.name.clone(),
                size_mb: f.size_mb,
                present: true,
                ..h.clone()
            },
            None => Hdisk {
                present: false,
                ..h.clone()
            },
        })
        .collect();
    let mut next = known
        .iter()
        .filter_map(|h| h.name.strip_prefix("hdisk")?.parse::<u32>().ok())
        .max()
        .map_or(0, |n| n + 1);
    for f in found {
        if !out.iter().any(|h| h.id == f.id) {
            out.push(Hdisk {
                name: format!("hdisk{next}"),
                id: f.id.clone(),
                device: f.name.clone(),
                size_mb: f.size_mb,
                present: true,
                pvid: pvid(&f.id),
            });
            next += 1;
        }
    }
    out
}

/// Physical volumes that can be used (mapped whole, or put in a pool): present, not mapped,
/// in no volume group pool.
pub fn free_hdisks(
    hdisks: &[Hdisk],
    mappings: &[Mapping],
    members: &[(String, String)],
) -> Vec<String> {
    hdisks
        .iter()
        .filter(|h| {
            h.present
                && !mappings.iter().any(|m| m.backing == h.name)
                && !members.iter().any(|(m, _)| *m == h.name)
        })
        .map(|h| h.name.clone())
        .collect()
}

/// Checks that `hdisks` may go into a volume group pool: at least one, each free (as
/// [`free_hdisks`] says), none twice.
pub fn check_pool_hdisks(hdisks: &[String], free: &[String]) -> Result<(), RuleError> {
    if hdisks.is_empty() {
        return Err(RuleError::Missing("a physical volume (hdiskN)"));
    }
    for (i, h) in hdisks.iter().enumerate() {
        if hdisks[..i].contains(h) {
            return Err(RuleError::OutOfRange {
                attr: "physical volume",
                value: h.clone(),
                allowed: "each physical volume once".into(),
            });
        }
        if !free.contains(h) {
            return Err(RuleError::InUse {
                what: "physical volume",
                name: h.clone(),
                by: "it is mapped, in a storage pool, used by the host, or not present (see lspv -free)".into(),
            });
        }
    }
    Ok(())
}

/// A new volume group pool named `name` (its size comes from the volume group once made).
pub fn new_vg_pool(pools: &[StoragePool], name: &str) -> Result<StoragePool, RuleError> {
    validate_storage_name(name)?;
    if pools.iter().any(|p| p.name == name) {
        return Err(RuleError::StorageNameInUse {
            what: "storage pool",
            name: name.to_string(),
        });
    }
    Ok(StoragePool {
        name: name.to_string(),
        kind: PoolKind::Lvpool,
        size_mb: 0,
        path: name.to_string(),
        thin: false,
        default: pools.is_empty(),
        rbd: None,
    })
}

/// A new Ceph RBD pool (`mksp -rbd NAME -mon HOSTS -rbdpool POOL -user ID -size N`) of the
/// cluster `fsid` (asked of the monitors once the spec passed these rules). Its size is what
/// ivm commits of it, counting the images other hosts made there too.
pub fn new_rbd_pool(
    pools: &[StoragePool],
    spec: &PoolSpec,
    fsid: &str,
) -> Result<StoragePool, RuleError> {
    let r = check_rbd_spec(spec)?;
    validate_storage_name(&spec.name)?;
    if pools.iter().any(|p| p.name == spec.name) {
        return Err(RuleError::StorageNameInUse {
            what: "storage pool",
            name: spec.name.clone(),
        });
    }
    if let Some(p) = pools.iter().find(|p| {
        p.rbd
            .as_ref()
            .is_some_and(|l| l.fsid == fsid && l.pool == r.pool)
    }) {
        return Err(RuleError::OutOfRange {
            attr: "rbdpool",
            value: r.pool.clone(),
            allowed: format!(
                "a Ceph pool no other storage pool is (pool {} is this one)",
                p.name
            ),
        });
    }
    Ok(StoragePool {
        name: spec.name.clone(),
        kind: PoolKind::Rbdpool,
        size_mb: spec.size_mb,
        path: format!("rbd:{}", r.pool),
        thin: false,
        default: pools.is_empty(),
        rbd: Some(ivm_model::RbdLocation {
            monitors: r.monitors.clone(),
            pool: r.pool.clone(),
            user: r.user.clone(),
            fsid: fsid.to_string(),
        }),
    })
}

/// Checks what `mksp -rbd` gives before any of it reaches the `rbd` tool or QEMU: monitors
/// as host names or addresses with optional ports, Ceph names of letters, digits, '_', '-'
/// and '.', and a key that is base64 text. Returns the RBD part of the spec.
pub fn check_rbd_spec(spec: &PoolSpec) -> Result<&ivm_model::RbdSpec, RuleError> {
    let r = spec
        .rbd
        .as_ref()
        .ok_or(RuleError::Missing("-rbd's Ceph pool"))?;
    if spec.size_mb == 0 {
        return Err(RuleError::OutOfRange {
            attr: "size",
            value: "0".into(),
            allowed: "a positive size".into(),
        });
    }
    let mons: Vec<&str> = r.monitors.split(',').collect();
    if r.monitors.is_empty() || mons.len() > 8 {
        return Err(RuleError::OutOfRange {
            attr: "mon",
            value: r.monitors.clone(),
            allowed: "1 to 8 monitors, HOST[:PORT] separated by commas".into(),
        });
    }
    for m in &mons {
        crate::mobility::check_host(m, "-mon")?;
    }
    let ceph_name = |v: &str| {
        !v.is_empty()
            && v.len() <= 64
            && !v.starts_with(['-', '.'])
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    for (attr, v) in [("rbdpool", &r.pool), ("user", &r.user)] {
        if !ceph_name(v) {
            return Err(RuleError::OutOfRange {
                attr,
                value: v.clone(),
                allowed: "1 to 64 letters, digits, '_', '-' or '.', not starting with '-' or '.'"
                    .into(),
            });
        }
    }
    let key_ok = r.key.len() >= 16
        && r.key.len() <= 128
        && r.key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    if !key_ok {
        return Err(RuleError::OutOfRange {
            attr: "key",
            value: "(not shown)".into(),
            allowed: "the user's base64 key, as `ceph auth get-key client.USER` prints it".into(),
        });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str, size: u64, thin: bool) -> StoragePool {
        StoragePool {
            name: name.into(),
            kind: PoolKind::Fbpool,
            size_mb: size,
            path: format!("/p/{name}"),
            thin,
            default: name == "rootvg",
            rbd: None,
        }
    }

    fn disk(name: &str, pool: &str, size: u64) -> BackingDevice {
        BackingDevice {
            name: name.into(),
            pool: pool.into(),
            size_mb: size,
        }
    }

    #[test]
    fn an_import_takes_the_images_size_or_a_larger_one() {
        assert_eq!(import_size("i", (2 << 30) + 1, 0), Ok(2049));
        assert_eq!(import_size("i", 10, 0), Ok(1));
        assert_eq!(import_size("i", 2 << 30, 4096), Ok(4096));
        let e = import_size("cloud.qcow2", 2 << 30, 1024)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("holds 2048 MB, more than the 1024 MB given"),
            "{e}"
        );
    }

    #[test]
    fn the_default_pool_and_a_pool_with_disks_stay() {
        let root = pool("rootvg", 1000, false);
        let other = pool("p2", 1000, false);
        assert_eq!(
            check_not_default(&root).unwrap_err().to_string(),
            "rootvg is the default storage pool; make another pool the default first (chsp -default)"
        );
        assert!(check_not_default(&other).is_ok());
        let e = check_pool_removal(&other, &[disk("d1", "p2", 10)]).unwrap_err();
        assert_eq!(e.kind(), crate::RefusalKind::Conflict);
        assert!(check_pool_removal(&other, &[disk("d1", "rootvg", 10)]).is_ok());
    }

    #[test]
    fn sizes_in_ivm_syntax() {
        assert_eq!(parse_size("512M").unwrap(), 512);
        assert_eq!(parse_size("512m").unwrap(), 512);
        assert_eq!(parse_size("7g").unwrap(), 7168);
        assert_eq!(parse_size("2048B").unwrap(), 1);
        assert_eq!(parse_size("4096b").unwrap(), 2);
        assert_eq!(parse_size("100").unwrap(), 100);
        for bad in [
            "",
            "G",
            "0M",
            "-5M",
            "1.5G",
            "10T",
            "1 0M",
            "99999999999999999999G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(validate_storage_name("lp1_disk0").is_ok());
        for bad in ["", "0disk", "a b", "a,b", "sixteen-chars-xx", "ö"] {
            assert!(validate_storage_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn disks_never_overcommit_a_pool_unless_it_is_thin() {
        let pools = [pool("rootvg", 1000, false), pool("thin", 100, true)];
        let disks = vec![disk("a", "rootvg", 600)];
        let spec = |name: &str, pool: Option<&str>, size| DiskSpec {
            name: name.into(),
            pool: pool.map(str::to_string),
            size_mb: size,
            ..Default::default()
        };
        let d = new_disk(&pools, &disks, &spec("b", None, 400)).unwrap();
        assert_eq!(d.pool, "rootvg", "the default pool");
        assert_eq!(
            new_disk(&pools, &disks, &spec("", None, 1)).unwrap().name,
            "lv00"
        );
        let e = new_disk(&pools, &disks, &spec("b", None, 401)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not enough storage available: the request needs 401 MB in pool rootvg more, 400 MB available"
        );
        assert!(new_disk(&pools, &disks, &spec("b", Some("thin"), 5000)).is_ok());
        assert!(matches!(
            new_disk(&pools, &disks, &spec("a", None, 1)),
            Err(RuleError::StorageNameInUse { .. })
        ));
        assert!(matches!(
            new_disk(&pools, &disks, &spec("b", Some("nope"), 1)),
            Err(RuleError::NoSuch { .. })
        ));
        // Growing is bounded the same way; shrinking is not a thing.
        assert_eq!(grow_disk(&pools, &disks, "a", 400).unwrap().size_mb, 1000);
        assert!(grow_disk(&pools, &disks, "a", 401).is_err());
        assert!(grow_disk(&pools, &disks, "a", 0).is_err());
        assert_eq!(pool_free(&pools[0], &disks), 400);
    }

    #[test]
    fn mappings() {
        let adapters = [VirtualScsiAdapter {
            vhost: 0,
            lpar_id: 2,
            client_slot: 2,
            server_slot: 11,
        }];
        let disks = [disk("d1", "rootvg", 10), disk("d2", "rootvg", 10)];
        let pvs = ["hdisk1".to_string()];
        let req = |b: &str, v: &str, vtd: Option<&str>| MapRequest {
            backing: b.into(),
            vadapter: v.into(),
            vtd: vtd.map(str::to_string),
        };
        let m0 = new_mapping(
            &adapters,
            &disks,
            &pvs,
            &[],
            &[],
            &req("d1", "vhost0", None),
        )
        .unwrap();
        assert_eq!((m0.vtd.as_str(), m0.lun, m0.lpar_id), ("vtscsi0", 0, 2));
        let maps = vec![m0];
        let m1 = new_mapping(
            &adapters,
            &disks,
            &pvs,
            &maps,
            &[],
            &req("hdisk1", "vhost0", None),
        )
        .unwrap();
        assert_eq!(
            (m1.vtd.as_str(), m1.lun, m1.kind),
            ("vtscsi1", 1, BackingKind::Disk)
        );
        let again = |r: MapRequest| new_mapping(&adapters, &disks, &pvs, &maps, &[], &r);
        assert!(matches!(
            again(req("d1", "vhost0", None)),
            Err(RuleError::InUse { .. })
        ));
        assert!(matches!(
            again(req("d2", "vhost7", None)),
            Err(RuleError::NoSuch { .. })
        ));
        assert!(matches!(
            again(req("d2", "vhost0", Some("vtscsi0"))),
            Err(RuleError::StorageNameInUse { .. })
        ));
        assert!(again(req("hdisk9", "vhost0", None)).is_err());
        let e = check_disk_removal("d1", &maps).unwrap_err().to_string();
        assert!(e.contains("rmvdev -vtd vtscsi0"), "{e}");
        assert!(check_disk_removal("d2", &maps).is_ok());
        assert_eq!(next_vhost(&adapters), 1);
    }

    #[test]
    fn hdisk_names_follow_the_device_not_the_kernel_name() {
        let pv = |name: &str, id: &str| PhysicalVolume {
            name: name.into(),
            id: id.into(),
            size_mb: 100,
            model: String::new(),
        };
        let first = scan_hdisks(&[], &[pv("sdb", "wwid:A"), pv("loop0", "file:/x")]);
        let names: Vec<_> = first
            .iter()
            .map(|h| (h.name.as_str(), h.device.as_str()))
            .collect();
        assert_eq!(names, [("hdisk0", "sdb"), ("hdisk1", "loop0")]);
        // After a reboot sdb is sdc and a new disk took sdb; A keeps hdisk0.
        let again = scan_hdisks(&first, &[pv("sdb", "wwid:B"), pv("sdc", "wwid:A")]);
        let names: Vec<_> = again
            .iter()
            .map(|h| (h.name.as_str(), h.device.as_str(), h.present))
            .collect();
        assert_eq!(
            names,
            [
                ("hdisk0", "sdc", true),
                ("hdisk1", "loop0", false),
                ("hdisk2", "sdb", true)
            ]
        );
        assert_eq!(again[0].pvid, pvid("wwid:A"));
        assert_eq!(pvid("wwid:A").len(), 16);
        let maps = [Mapping {
            vtd: "vtscsi0".into(),
            lpar_id: 2,
            vhost: 0,
            lun: 0,
            backing: "hdisk2".into(),
            kind: BackingKind::Disk,
        }];
        assert_eq!(free_hdisks(&again, &maps, &[]), ["hdisk0"]);
        let members = [("hdisk0".to_string(), "vg1".to_string())];
        assert!(free_hdisks(&again, &maps, &members).is_empty());
        let free = free_hdisks(&again, &maps, &[]);
        assert!(check_pool_hdisks(&["hdisk0".into()], &free).is_ok());
        assert!(check_pool_hdisks(&[], &free).is_err());
        assert!(
            check_pool_hdisks(&["hdisk2".into()], &free).is_err(),
            "mapped"
        );
        assert!(check_pool_hdisks(&["hdisk0".into(), "hdisk0".into()], &free).is_err());
    }

    #[test]
    fn an_rbd_pool_takes_only_names_ssh_and_qemu_cannot_misread() {
        let spec = |mons: &str, pool: &str, user: &str, key: &str| PoolSpec {
            name: "ceph".into(),
            size_mb: 1024,
            rbd: Some(ivm_model::RbdSpec {
                monitors: mons.into(),
                pool: pool.into(),
                user: user.into(),
                key: key.into(),
            }),
            ..PoolSpec::default()
        };
        let key = "AQDnoRFrNDGmLxAAUOjie4Os+taYeMMeDnumXQ==";
        let p = new_rbd_pool(&[], &spec("10.0.0.1,ceph2:3300", "ivm", "ivm", key), "f1").unwrap();
        assert_eq!(p.kind, PoolKind::Rbdpool);
        assert_eq!(p.rbd.as_ref().unwrap().fsid, "f1");
        assert!(p.default);
        for bad in [
            spec("", "ivm", "ivm", key),
            spec("-oProxyCommand=x", "ivm", "ivm", key),
            spec("10.0.0.1;rm", "ivm", "ivm", key),
            spec("10.0.0.1", "-p", "ivm", key),
            spec("10.0.0.1", "ivm", "a,b=c", key),
            spec("10.0.0.1", "ivm", "ivm", "key with spaces"),
            spec("10.0.0.1", "ivm", "ivm", "short"),
        ] {
            assert!(new_rbd_pool(&[], &bad, "f1").is_err(), "{bad:?}");
        }
        // The same Ceph pool twice is refused; another pool of the cluster is not.
        let again = PoolSpec {
            name: "ceph2".into(),
            ..spec("10.0.0.1", "ivm", "ivm", key)
        };
        assert!(new_rbd_pool(std::slice::from_ref(&p), &again, "f1").is_err());
        assert!(new_rbd_pool(std::slice::from_ref(&p), &again, "f2").is_ok());
    }
}
