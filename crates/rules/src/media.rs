//! Virtual media library rules: the repository is a backing device of its parent pool, its
//! media together never exceed it, read-write media load in one device at a time.

use ivm_model::{
    BackingDevice, DiskSpec, Mapping, MediaAccess, OpticalDevice, OpticalMedia, OpticalRequest,
    Repository, StoragePool, VirtualScsiAdapter,
};

use crate::storage::{
    carve, find_adapter, find_named, next_lun, pick_pool, pick_vtd, pool_free, REPOSITORY_BD,
};
use crate::RuleError;

/// Longest media name (IVM allows longer names for media than for logical volumes).
pub const MAX_MEDIA_NAME: usize = 37;

/// The repository (`mkrep -sp POOL -size N`): a backing device in the pool, committed like any
/// virtual disk.
pub fn new_repository(
    pools: &[StoragePool],
    disks: &[BackingDevice],
    pool: Option<&str>,
    size_mb: u64,
) -> Result<BackingDevice, RuleError> {
    if disks.iter().any(|d| d.name == REPOSITORY_BD) {
        return Err(RuleError::StorageNameInUse {
            what: "virtual media repository (one per system)",
            name: REPOSITORY_BD.into(),
        });
    }
    let spec = DiskSpec {
        name: REPOSITORY_BD.into(),
        pool: pool.map(str::to_string),
        size_mb,
        ..DiskSpec::default()
    };
    carve(pools, disks, &spec)
}

/// The repository's backing device, or a message saying how to make one.
pub fn repository(disks: &[BackingDevice]) -> Result<&BackingDevice, RuleError> {
    disks
        .iter()
        .find(|d| d.name == REPOSITORY_BD)
        .ok_or(RuleError::NoSuch {
            what: "virtual media repository",
            name: "(make one with mkrep -sp POOL -size N)".into(),
        })
}

/// The library as clients show it: its disk, its room and its media's use, and its parent
/// pool's free space (`disks` holds every disk counted in that pool).
pub fn repository_view(
    bd: &BackingDevice,
    pools: &[StoragePool],
    disks: &[BackingDevice],
    media: &[OpticalMedia],
) -> Repository {
    Repository {
        pool: bd.pool.clone(),
        disk: bd.name.clone(),
        size_mb: bd.size_mb,
        free_mb: bd.size_mb.saturating_sub(media_used(media)),
        pool_free_mb: pools
            .iter()
            .find(|p| p.name == bd.pool)
            .map_or(0, |p| pool_free(p, disks)),
    }
}

/// MB the media in the library take.
pub fn media_used(media: &[OpticalMedia]) -> u64 {
    media.iter().map(|m| m.size_mb).sum()
}

/// Checks a media name: 1 to 37 letters, digits, `_`, `.`, `-`, not starting with `.` or `-`.
pub fn validate_media_name(name: &str) -> Result<(), RuleError> {
    crate::storage::check_name(
        name,
        MAX_MEDIA_NAME,
        "media names are 1 to 37 characters",
        |c| c != '.' && c != '-',
        "it must not start with '.' or '-'",
    )
}

/// New media (`mkvopt`): a free name, and room in the repository for `size_mb`.
pub fn new_media(
    disks: &[BackingDevice],
    media: &[OpticalMedia],
    name: &str,
    size_mb: u64,
    access: MediaAccess,
) -> Result<OpticalMedia, RuleError> {
    let repo = repository(disks)?;
    validate_media_name(name)?;
    if media.iter().any(|m| m.name == name) {
        return Err(RuleError::StorageNameInUse {
            what: "optical media",
            name: name.to_string(),
        });
    }
    if size_mb == 0 {
        return Err(RuleError::OutOfRange {
            attr: "size",
            value: "0".into(),
            allowed: "a positive size".into(),
        });
    }
    let free = repo.size_mb.saturating_sub(media_used(media));
    if size_mb > free {
        return Err(RuleError::Insufficient {
            resource: "virtual media repository space",
            needed: format!("{size_mb} MB for {name}"),
            available: format!("{free} MB (grow it with chrep -size)"),
        });
    }
    Ok(OpticalMedia {
        name: name.to_string(),
        size_mb,
        access,
    })
}

/// Media by name.
pub fn find_media<'a>(
    media: &'a [OpticalMedia],
    name: &str,
) -> Result<&'a OpticalMedia, RuleError> {
    find_named(media, name, |m| &m.name, "optical media")
}

/// The devices `name` is loaded in.
pub fn loaded_in<'a>(optical: &'a [OpticalDevice], name: &str) -> Vec<&'a OpticalDevice> {
    optical
        .iter()
        .filter(|o| o.media.as_deref() == Some(name))
        .collect()
}

/// The repository may shrink to no less than its media take, or grow within its pool.
pub fn resize_repository(
    pools: &[StoragePool],
    disks: &[BackingDevice],
    media: &[OpticalMedia],
    size_mb: u64,
) -> Result<BackingDevice, RuleError> {
    let repo = repository(disks)?;
    let used = media_used(media);
    if size_mb < used.max(1) || size_mb < repo.size_mb {
        return Err(RuleError::OutOfRange {
            attr: "size",
            value: format!("{size_mb} MB"),
            allowed: format!(
                "at least the current {} MB: the repository grows, never shrinks",
                repo.size_mb
            ),
        });
    }
    let pool = pick_pool(pools, Some(&repo.pool))?;
    let others: u64 = disks
        .iter()
        .filter(|d| d.pool == pool.name && d.name != REPOSITORY_BD)
        .map(|d| d.size_mb)
        .sum();
    let free = pool.size_mb.saturating_sub(others);
    if !pool.thin && size_mb > free {
        return Err(RuleError::Insufficient {
            resource: "storage",
            needed: format!("{size_mb} MB in pool {}", pool.name),
            available: format!("{free} MB"),
        });
    }
    Ok(BackingDevice {
        size_mb,
        ..repo.clone()
    })
}

/// A change to media (`chvopt`): read-write media may be loaded in one device only, and media
/// is renamed only while nothing has it loaded.
pub fn change_media(
    media: &[OpticalMedia],
    optical: &[OpticalDevice],
    name: &str,
    access: Option<MediaAccess>,
    new_name: Option<&str>,
) -> Result<OpticalMedia, RuleError> {
    let mut m = find_media(media, name)?.clone();
    let loaded = loaded_in(optical, name);
    if let Some(a) = access {
        if a == MediaAccess::Rw && loaded.len() > 1 {
            return Err(RuleError::InUse {
                what: "optical media",
                name: name.into(),
                by: format!(
                    "it is loaded in {} devices; read-write media may be loaded in one (unloadopt first)",
                    loaded.len()
                ),
            });
        }
        m.access = a;
    }
    if let Some(n) = new_name {
        if !loaded.is_empty() {
            return Err(in_use(name, &loaded));
        }
        validate_media_name(n)?;
        if media.iter().any(|x| x.name == n) {
            return Err(RuleError::StorageNameInUse {
                what: "optical media",
                name: n.to_string(),
            });
        }
        m.name = n.to_string();
    }
    Ok(m)
}

fn in_use(name: &str, loaded: &[&OpticalDevice]) -> RuleError {
    let vtds: Vec<&str> = loaded.iter().map(|o| o.vtd.as_str()).collect();
    RuleError::InUse {
        what: "optical media",
        name: name.into(),
        by: format!(
            "it is loaded in {}; unload it first (unloadopt -vtd {})",
            vtds.join(", "),
            vtds[0]
        ),
    }
}

/// Media may be removed only when nothing has it loaded (`rmvopt -f` unloads it first).
pub fn check_media_removal(optical: &[OpticalDevice], name: &str) -> Result<(), RuleError> {
    let loaded = loaded_in(optical, name);
    if loaded.is_empty() {
        Ok(())
    } else {
        Err(in_use(name, &loaded))
    }
}

/// The repository may be removed only without media (`rmrep -f` removes unloaded media).
pub fn check_repository_removal(
    media: &[OpticalMedia],
    optical: &[OpticalDevice],
    force: bool,
) -> Result<(), RuleError> {
    if let Some(o) = optical.iter().find(|o| o.media.is_some()) {
        let name = o.media.clone().unwrap_or_default();
        return Err(in_use(&name, &loaded_in(optical, &name)));
    }
    if !media.is_empty() && !force {
        let names: Vec<&str> = media.iter().map(|m| m.name.as_str()).collect();
        return Err(RuleError::InUse {
            what: "virtual media repository",
            name: REPOSITORY_BD.into(),
            by: format!(
                "it holds the media {}; remove them (rmvopt) or use rmrep -f",
                names.join(", ")
            ),
        });
    }
    Ok(())
}

/// A new virtual optical device (`mkvdev -fbo -vadapter vhostN [-dev VTD]`): empty, on the
/// adapter's lowest free LUN.
pub fn new_optical(
    adapters: &[VirtualScsiAdapter],
    mappings: &[Mapping],
    optical: &[OpticalDevice],
    req: &OpticalRequest,
) -> Result<OpticalDevice, RuleError> {
    let adapter = find_adapter(adapters, &req.vadapter)?;
    let vtd = pick_vtd(req.vtd.as_deref(), "vtopt", mappings, optical)?;
    Ok(OpticalDevice {
        vtd,
        lpar_id: adapter.lpar_id,
        vhost: adapter.vhost,
        lun: next_lun(adapter.vhost, mappings, optical),
        media: None,
    })
}

/// Loading media (`loadopt [-f] -disk NAME -vtd vtoptN`): the device exists and is empty (or
/// `force` replaces what it holds), and read-write media is loaded nowhere else. Returns the
/// device with the media in it.
pub fn load_media(
    media: &[OpticalMedia],
    optical: &[OpticalDevice],
    name: &str,
    vtd: &str,
    force: bool,
) -> Result<OpticalDevice, RuleError> {
    let m = find_media(media, name)?;
    let dev = find_optical(optical, vtd)?;
    if let Some(current) = &dev.media {
        if !force {
            return Err(RuleError::InUse {
                what: "virtual optical device",
                name: vtd.into(),
                by: format!(
                    "it holds {current}; unload it first (unloadopt -vtd {vtd}) or use loadopt -f"
                ),
            });
        }
    }
    if m.access == MediaAccess::Rw {
        if let Some(other) = loaded_in(optical, name).into_iter().find(|o| o.vtd != vtd) {
            return Err(RuleError::InUse {
                what: "read-write optical media",
                name: name.into(),
                by: format!(
                    "it is loaded in {} (partition {}); read-write media may be loaded in one device (make it read-only with chvopt -access ro to share it)",
                    other.vtd, other.lpar_id
                ),
            });
        }
    }
    Ok(OpticalDevice {
        media: Some(name.to_string()),
        ..dev.clone()
    })
}

/// A virtual optical device by name.
pub fn find_optical<'a>(
    optical: &'a [OpticalDevice],
    vtd: &str,
) -> Result<&'a OpticalDevice, RuleError> {
    find_named(optical, vtd, |o| &o.vtd, "virtual optical device")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ivm_model::PoolKind;

    fn pool(size: u64) -> StoragePool {
        StoragePool {
            name: "rootvg".into(),
            kind: PoolKind::Fbpool,
            size_mb: size,
            path: "/p".into(),
            thin: false,
            default: true,
            rbd: None,
        }
    }

    fn disk(name: &str, size: u64) -> BackingDevice {
        BackingDevice {
            name: name.into(),
            pool: "rootvg".into(),
            size_mb: size,
        }
    }

    fn media(name: &str, size: u64, access: MediaAccess) -> OpticalMedia {
        OpticalMedia {
            name: name.into(),
            size_mb: size,
            access,
        }
    }

    fn dev(vtd: &str, lpar: u32, m: Option<&str>) -> OpticalDevice {
        OpticalDevice {
            vtd: vtd.into(),
            lpar_id: lpar,
            vhost: lpar - 2,
            lun: 0,
            media: m.map(str::to_string),
        }
    }

    #[test]
    fn the_repository_is_committed_from_its_pool_and_one_per_system() {
        let pools = [pool(1000)];
        let disks = [disk("lv00", 600)];
        let r = new_repository(&pools, &disks, None, 400).unwrap();
        assert_eq!((r.name.as_str(), r.size_mb), (REPOSITORY_BD, 400));
        let e = new_repository(&pools, &disks, None, 401).unwrap_err();
        assert!(e.to_string().contains("400 MB"), "{e}");
        let e = new_repository(&pools, &[disk(REPOSITORY_BD, 10)], None, 10).unwrap_err();
        assert!(e.to_string().contains("one per system"), "{e}");
    }

    #[test]
    fn the_repository_view_names_its_disk_and_counts_its_pool() {
        let pools = vec![pool(1000)];
        let disks = vec![disk(REPOSITORY_BD, 300), disk("data", 200)];
        let media = vec![media("a", 100, MediaAccess::Ro)];
        let v = repository_view(&disks[0], &pools, &disks, &media);
        assert_eq!(v.disk, REPOSITORY_BD);
        assert_eq!((v.size_mb, v.free_mb, v.pool_free_mb), (300, 200, 500));
    }

    #[test]
    fn media_fit_in_the_repository() {
        let disks = [disk(REPOSITORY_BD, 100)];
        let have = [media("a.iso", 60, MediaAccess::Ro)];
        assert!(new_media(&disks, &have, "b.iso", 40, MediaAccess::Rw).is_ok());
        let e = new_media(&disks, &have, "b.iso", 41, MediaAccess::Rw).unwrap_err();
        assert!(e.to_string().contains("40 MB"), "{e}");
        assert!(new_media(&disks, &have, "a.iso", 1, MediaAccess::Rw).is_err());
        assert!(new_media(&[], &[], "a.iso", 1, MediaAccess::Rw)
            .unwrap_err()
            .to_string()
            .contains("mkrep"));
        for bad in ["", ".hidden", "-x", "a/b", &"x".repeat(38)] {
            assert!(
                new_media(&disks, &[], bad, 1, MediaAccess::Rw).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn read_write_media_load_in_one_device_read_only_in_many() {
        let m = [
            media("rw.iso", 1, MediaAccess::Rw),
            media("ro.iso", 1, MediaAccess::Ro),
        ];
        let devs = [dev("vtopt0", 2, Some("rw.iso")), dev("vtopt1", 3, None)];
        let e = load_media(&m, &devs, "rw.iso", "vtopt1", false).unwrap_err();
        assert!(e.to_string().contains("vtopt0"), "{e}");
        let devs = [dev("vtopt0", 2, Some("ro.iso")), dev("vtopt1", 3, None)];
        let d = load_media(&m, &devs, "ro.iso", "vtopt1", false).unwrap();
        assert_eq!(d.media.as_deref(), Some("ro.iso"));
        // A device that holds media needs -f.
        let e = load_media(&m, &devs, "rw.iso", "vtopt0", false).unwrap_err();
        assert!(e.to_string().contains("loadopt -f"), "{e}");
        assert!(load_media(&m, &devs, "rw.iso", "vtopt0", true).is_ok());
        assert!(load_media(&m, &devs, "nope", "vtopt0", true).is_err());
        assert!(load_media(&m, &devs, "ro.iso", "vtopt9", true).is_err());
    }

    #[test]
    fn loaded_media_stay_until_unloaded() {
        let m = [media("ro.iso", 1, MediaAccess::Ro)];
        let devs = [
            dev("vtopt0", 2, Some("ro.iso")),
            dev("vtopt1", 3, Some("ro.iso")),
        ];
        assert!(check_media_removal(&devs, "ro.iso").is_err());
        assert!(change_media(&m, &devs, "ro.iso", Some(MediaAccess::Rw), None).is_err());
        assert!(change_media(&m, &devs, "ro.iso", None, Some("new.iso")).is_err());
        assert!(check_repository_removal(&m, &devs, true).is_err());
        assert!(check_repository_removal(&m, &[], false).is_err());
        assert!(check_repository_removal(&m, &[], true).is_ok());
        let c = change_media(&m, &[], "ro.iso", Some(MediaAccess::Rw), Some("n.iso")).unwrap();
        assert_eq!((c.name.as_str(), c.access), ("n.iso", MediaAccess::Rw));
    }

    #[test]
    fn optical_devices_take_a_free_lun_and_name() {
        let adapters = [VirtualScsiAdapter {
            vhost: 0,
            lpar_id: 2,
            client_slot: 2,
            server_slot: 11,
        }];
        let maps = [Mapping {
            vtd: "vtscsi0".into(),
            lpar_id: 2,
            vhost: 0,
            lun: 0,
            backing: "lv00".into(),
            kind: ivm_model::BackingKind::Lv,
        }];
        let req = OpticalRequest {
            vadapter: "vhost0".into(),
            vtd: None,
        };
        let o = new_optical(&adapters, &maps, &[], &req).unwrap();
        assert_eq!((o.vtd.as_str(), o.lun), ("vtopt0", 1));
        let o2 = new_optical(&adapters, &maps, &[o], &req).unwrap();
        assert_eq!((o2.vtd.as_str(), o2.lun), ("vtopt1", 2));
        let named = OpticalRequest {
            vadapter: "vhost0".into(),
            vtd: Some("vtscsi0".into()),
        };
        assert!(new_optical(&adapters, &maps, &[], &named).is_err());
        // Disks and optical devices share the names: a disk's mapping never takes the name an
        // optical device was given.
        let named_like_a_disk = OpticalDevice {
            vtd: "vtscsi0".into(),
            ..new_optical(&adapters, &[], &[], &req).unwrap()
        };
        let m = crate::new_mapping(
            &adapters,
            &[ivm_model::BackingDevice {
                name: "d".into(),
                pool: "rootvg".into(),
                size_mb: 1,
            }],
            &[],
            &[],
            &[named_like_a_disk],
            &ivm_model::MapRequest {
                backing: "d".into(),
                vadapter: "vhost0".into(),
                vtd: None,
            },
        )
        .unwrap();
        assert_eq!((m.vtd.as_str(), m.lun), ("vtscsi1", 1));
        let missing = OpticalRequest {
            vadapter: "vhost7".into(),
            vtd: None,
        };
        assert!(new_optical(&adapters, &maps, &[], &missing).is_err());
    }

    #[test]
    fn the_repository_grows_within_its_pool() {
        let pools = [pool(1000)];
        let disks = [disk(REPOSITORY_BD, 100), disk("lv00", 500)];
        assert_eq!(
            resize_repository(&pools, &disks, &[], 500).unwrap().size_mb,
            500
        );
        assert!(resize_repository(&pools, &disks, &[], 501).is_err());
        assert!(resize_repository(&pools, &disks, &[], 50).is_err());
    }
}
