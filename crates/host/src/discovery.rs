//! Discovers the managed system from /proc and /sys.
//!
//! Every path is read below a root directory so tests can point it at a prepared tree.

use std::fs;
use std::path::{Path, PathBuf};

use ivm_model::{PhysicalNic, PhysicalVolume};
use sha2::{Digest, Sha256};

/// What could not be discovered.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A file every Linux host has was unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file held something unexpected.
    #[error("cannot understand {path}: {what}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
}

/// The host as found, before configuration overrides and IVM defaults are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    /// Host name.
    pub hostname: String,
    /// `type-model` from DMI, or derived from the machine ID.
    pub type_model: String,
    /// Serial number from DMI, or derived from the machine ID.
    pub serial_num: String,
    /// Online processors.
    pub processors: u32,
    /// Installed memory in megabytes.
    pub memory_mb: u64,
    /// Block devices the host does not use.
    pub physical_volumes: Vec<PhysicalVolume>,
    /// Physical network interfaces.
    pub physical_nics: Vec<PhysicalNic>,
}

/// Reads the host below `root` (`/` on a real host).
pub fn discover(root: &Path) -> Result<HostFacts, HostError> {
    ivm_txguard::host_infallible("discovery.discover");
    let machine_id = read_trimmed(&root.join("etc/machine-id")).unwrap_or_default();
    let (type_model, serial_num) = identity(root, &machine_id);
    Ok(HostFacts {
        hostname: hostname(root),
        type_model,
        serial_num,
        processors: processors(root)?,
        memory_mb: memory_mb(root)?,
        physical_volumes: physical_volumes(root),
        physical_nics: physical_nics(root),
    })
}

fn read(path: &Path) -> Result<String, HostError> {
    fs::read_to_string(path).map_err(|source| HostError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn hostname(root: &Path) -> String {
    read_trimmed(&root.join("proc/sys/kernel/hostname"))
        .or_else(|| read_trimmed(&root.join("etc/hostname")))
        .unwrap_or_else(|| "localhost".into())
}

/// DMI values that firmware leaves as filler carry no identity.
fn meaningful(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    !(l.is_empty()
        || l.contains("not specified")
        || l.contains("to be filled")
        || l.contains("default string")
        || l.contains("system serial")
        || l.chars().all(|c| c == '0' || c == ' '))
}

/// Keeps letters and digits, turns everything else into single dashes: names never carry
/// blanks, commas or the `*` that joins type-model and serial.
fn sanitize(v: &str, max: usize) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .chars()
        .take(max)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

fn identity(root: &Path, machine_id: &str) -> (String, String) {
    let dmi =
        |f: &str| read_trimmed(&root.join("sys/class/dmi/id").join(f)).filter(|v| meaningful(v));
    let digest = hex::encode_upper(Sha256::digest(machine_id.as_bytes()));
    let type_model = dmi("product_name")
        .map(|v| sanitize(&v, 32))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("KVM-{}", &digest[..3]));
    let serial = dmi("product_serial")
        .map(|v| sanitize(&v, 16).replace('-', ""))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| digest[3..10].to_string());
    (type_model, serial)
}

/// The host's online CPU numbers.
pub fn online_cpus(root: &Path) -> Vec<u32> {
    let text = fs::read_to_string(root.join("sys/devices/system/cpu/online")).unwrap_or_default();
    crate::cpulist::parse(&text).unwrap_or_default()
}

fn processors(root: &Path) -> Result<u32, HostError> {
    let path = root.join("sys/devices/system/cpu/online");
    let text = read(&path)?;
    crate::cpulist::parse(&text)
        .map(|c| c.len() as u32)
        .filter(|n| *n > 0)
        .ok_or_else(|| HostError::Parse {
            path,
            what: format!("CPU list '{}'", text.trim()),
        })
}

/// Online memory blocks times the block size when sysfs has them (the physical size), else
/// MemTotal, which is smaller by what the kernel reserved at boot.
fn memory_mb(root: &Path) -> Result<u64, HostError> {
    let mem = root.join("sys/devices/system/memory");
    if let Some(size) =
        read_trimmed(&mem.join("block_size_bytes")).and_then(|s| u64::from_str_radix(&s, 16).ok())
    {
        let online = fs::read_dir(&mem)
            .map(|dir| {
                dir.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("memory"))
                    .filter(|e| read_trimmed(&e.path().join("online")).as_deref() != Some("0"))
                    .count() as u64
            })
            .unwrap_or(0);
        if online > 0 {
            return Ok(online * size / (1024 * 1024));
        }
    }
    let path = root.join("proc/meminfo");
    let text = read(&path)?;
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .ok_or(HostError::Parse {
            path,
            what: "no MemTotal line".into(),
        })
}

/// Whole block devices that nothing on the host uses: not mounted (nor any partition of them),
/// not swap, not held by device-mapper or md. Loop devices count only when attached to a file.
pub fn physical_volumes(root: &Path) -> Vec<PhysicalVolume> {
    ivm_txguard::host_infallible("discovery.physical_volumes");
    let mounts = fs::read_to_string(root.join("proc/mounts")).unwrap_or_default();
    let swaps = fs::read_to_string(root.join("proc/swaps")).unwrap_or_default();
    let used_names: Vec<String> = mounts
        .lines()
        .chain(swaps.lines())
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|dev| dev.strip_prefix("/dev/"))
        .map(str::to_string)
        .collect();
    let Ok(dir) = fs::read_dir(root.join("sys/block")) else {
        return vec![];
    };
    let mut out: Vec<PhysicalVolume> = dir
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            let dev = entry.path();
            if ["ram", "zram", "dm-", "sr", "md", "nbd", "fd"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                return None;
            }
            if name.starts_with("loop") && read_trimmed(&dev.join("loop/backing_file")).is_none() {
                return None;
            }
            let sectors: u64 = read_trimmed(&dev.join("size"))?.parse().ok()?;
            if sectors == 0 {
                return None;
            }
            let in_use = used_names
                .iter()
                .any(|u| u == &name || partition_of(u, &name))
                || has_entries(&dev.join("holders"))
                || partitions_held(&dev, &name);
            if in_use {
                return None;
            }
            let id = read_trimmed(&dev.join("wwid"))
                .or_else(|| read_trimmed(&dev.join("device/wwid")))
                .map(|w| format!("wwid:{w}"))
                .or_else(|| read_trimmed(&dev.join("serial")).map(|s| format!("serial:{s}")))
                .or_else(|| read_trimmed(&dev.join("device/serial")).map(|s| format!("serial:{s}")))
                .or_else(|| {
                    read_trimmed(&dev.join("loop/backing_file")).map(|f| format!("file:{f}"))
                })
                .unwrap_or_else(|| format!("dev:{name}"));
            Some(PhysicalVolume {
                id,
                size_mb: sectors * 512 / (1024 * 1024),
                model: read_trimmed(&dev.join("device/model")).unwrap_or_default(),
                name,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `sda1` is a partition of `sda`, `nvme0n1p1` of `nvme0n1`, `loop0p1` of `loop0`.
fn partition_of(candidate: &str, disk: &str) -> bool {
    candidate.strip_prefix(disk).is_some_and(|rest| {
        let rest = rest.strip_prefix('p').unwrap_or(rest);
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
    })
}

fn has_entries(dir: &Path) -> bool {
    fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

fn partitions_held(dev: &Path, name: &str) -> bool {
    fs::read_dir(dev)
        .map(|d| {
            d.flatten().any(|e| {
                partition_of(&e.file_name().to_string_lossy(), name)
                    && has_entries(&e.path().join("holders"))
            })
        })
        .unwrap_or(false)
}

/// Interfaces backed by a device (not bridges, taps, veths or loopback).
fn physical_nics(root: &Path) -> Vec<PhysicalNic> {
    let Ok(dir) = fs::read_dir(root.join("sys/class/net")) else {
        return vec![];
    };
    let mut out: Vec<PhysicalNic> = dir
        .flatten()
        .filter(|e| e.path().join("device").exists())
        .map(|e| {
            let p = e.path();
            PhysicalNic {
                name: e.file_name().to_string_lossy().to_string(),
                mac: read_trimmed(&p.join("address"))
                    .unwrap_or_default()
                    .replace(':', "")
                    .to_ascii_uppercase(),
                link_up: read_trimmed(&p.join("operstate")).as_deref() == Some("up"),
                speed_mbps: read_trimmed(&p.join("speed"))
                    .and_then(|s| s.parse::<i64>().ok())
                    .and_then(|s| u32::try_from(s).ok().filter(|s| *s > 0)),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn reads_a_prepared_tree() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(r, "etc/machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
        write(r, "proc/sys/kernel/hostname", "vios1\n");
        write(r, "sys/devices/system/cpu/online", "0-3,6\n");
        write(r, "sys/devices/system/memory/block_size_bytes", "8000000\n");
        for i in 0..4 {
            write(
                r,
                &format!("sys/devices/system/memory/memory{i}/online"),
                "1\n",
            );
        }
        write(r, "sys/devices/system/memory/memory9/online", "0\n");
        write(r, "proc/mounts", "/dev/sda1 / ext4 rw 0 0\n");
        write(
            r,
            "proc/swaps",
            "Filename Type Size Used Priority\n/dev/sdc partition 1 0 -2\n",
        );
        write(r, "sys/block/sda/size", "2048000\n");
        write(r, "sys/block/sda/sda1/size", "1000\n");
        write(r, "sys/block/sdb/size", "2097152\n");
        write(r, "sys/block/sdb/device/model", "QEMU HARDDISK   \n");
        write(r, "sys/block/sdc/size", "2097152\n");
        write(r, "sys/block/sdd/size", "2097152\n");
        write(r, "sys/block/sdd/holders/dm-0", "");
        write(r, "sys/block/loop0/size", "0\n");
        write(r, "sys/block/loop1/size", "204800\n");
        write(r, "sys/block/loop1/loop/backing_file", "/tmp/pv.img\n");
        write(r, "sys/block/zram0/size", "100\n");
        write(r, "sys/class/net/eth0/device/vendor", "0x1af4");
        write(r, "sys/class/net/eth0/address", "52:54:00:12:34:56\n");
        write(r, "sys/class/net/eth0/operstate", "up\n");
        write(r, "sys/class/net/eth0/speed", "-1\n");
        write(r, "sys/class/net/br0/address", "aa:bb:cc:dd:ee:ff\n");
        let f = discover(r).unwrap();
        assert_eq!(f.hostname, "vios1");
        assert_eq!(f.processors, 5);
        assert_eq!(online_cpus(r), vec![0, 1, 2, 3, 6]);
        assert_eq!(f.memory_mb, 512);
        let pvs: Vec<_> = f
            .physical_volumes
            .iter()
            .map(|p| (p.name.as_str(), p.size_mb))
            .collect();
        assert_eq!(pvs, vec![("loop1", 100), ("sdb", 1024)]);
        assert_eq!(f.physical_volumes[0].id, "file:/tmp/pv.img");
        assert_eq!(f.physical_volumes[1].model, "QEMU HARDDISK");
        assert_eq!(f.physical_nics.len(), 1);
        assert_eq!(f.physical_nics[0].mac, "525400123456");
        assert!(f.physical_nics[0].link_up);
        assert_eq!(f.physical_nics[0].speed_mbps, None);
        // No DMI: identity derives from the machine ID, stably.
        assert!(f.type_model.starts_with("KVM-"));
        assert_eq!(f.serial_num.len(), 7);
        assert_eq!(discover(r).unwrap().serial_num, f.serial_num);
    }

    #[test]
    fn dmi_identity_is_sanitized() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(r, "sys/devices/system/cpu/online", "0\n");
        write(r, "proc/meminfo", "MemTotal:       2048000 kB\n");
        write(
            r,
            "sys/class/dmi/id/product_name",
            "Standard PC (Q35 + ICH9, 2009)\n",
        );
        write(r, "sys/class/dmi/id/product_serial", "Not Specified\n");
        write(r, "etc/machine-id", "abc\n");
        let f = discover(r).unwrap();
        assert_eq!(f.type_model, "STANDARD-PC-Q35-ICH9-2009");
        assert_eq!(f.memory_mb, 2000);
        assert!(!f.serial_num.contains(['-', ' ', ',', '*']));
    }

    #[test]
    fn partition_names() {
        assert!(partition_of("nvme0n1p2", "nvme0n1"));
        assert!(!partition_of("sdab", "sda"));
    }

    #[test]
    fn this_host_is_discoverable() {
        let f = discover(Path::new("/")).unwrap();
        assert!(f.processors >= 1);
        assert!(f.memory_mb >= 128);
        assert!(!f.hostname.is_empty());
    }
}
