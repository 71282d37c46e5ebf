//! The service on a host that exists only in files and memory: a root directory with the
//! `/sys` and `/proc` it reads, and the network component's fake host. No root, no QEMU.

use std::path::Path;
use std::sync::Arc;

use ivm_model::{ManagedSystem, Role};

use super::network::fake::{FakeLink, FakeNet};
use super::{Actor, Service};

fn system() -> ManagedSystem {
    ManagedSystem {
        name: "host".into(),
        type_model: "KVM-X86".into(),
        serial_num: "ABC1234".into(),
        installed_procs: 4,
        installed_mem: 8192,
        mem_region_size: 64,
        firmware_mem: 128,
        max_lpars: 16,
        physical_volumes: vec![],
        physical_nics: vec![],
        mem_pool: None,
    }
}

fn padmin() -> Actor {
    Actor {
        user: "padmin".into(),
        role: Role::ViewModify,
        session: None,
    }
}

/// Puts block device `name` of `gib` GiB with serial `serial` in the root's `/sys/block`.
fn block_device(root: &Path, name: &str, gib: u64, serial: &str) {
    let d = root.join("sys/block").join(name);
    std::fs::create_dir_all(d.join("holders")).unwrap();
    std::fs::write(d.join("size"), format!("{}\n", gib * 2 * 1024 * 1024)).unwrap();
    std::fs::write(d.join("serial"), format!("{serial}\n")).unwrap();
}

/// A service whose data directory is in `dir`/data and whose host is `dir`/root (its root
/// file system mounted from `vda`) with `nics`.
fn service(dir: &Path, nics: &[&str]) -> (Service, Arc<FakeNet>) {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::write(root.join("proc/mounts"), "/dev/vda1 / ext4 rw 0 0\n").unwrap();
    std::fs::write(root.join("proc/swaps"), "").unwrap();
    block_device(&root, "vda", 20, "ROOTDISK");
    let links: Vec<(&str, FakeLink)> = nics
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, FakeLink::nic(&[0x52, 0x54, 0, 0, 0, i as u8])))
        .collect();
    let net = Arc::new(FakeNet::with(&links));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let (svc, _) = Service::open(&dir.join("data"), system()).unwrap();
    let svc = svc.with_host_root(&root).with_net_host(net.clone());
    (svc, net)
}

#[test]
fn cfgdev_names_the_hosts_free_disks_and_nics_and_keeps_names_across_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, _net) = service(dir.path(), &["eth0", "eth1"]);
    let root = dir.path().join("root");
    block_device(&root, "vdb", 4, "DATA1");
    let found = svc.cfgdev(&padmin()).unwrap();
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|h| (h.name.as_str(), h.device.as_str()))
        .collect();
    assert_eq!(names, [("hdisk0", "vdb")], "vda holds the root file system");
    let ents = svc.scan_eth().unwrap();
    let ents: Vec<(&str, &str)> = ents
        .iter()
        .map(|d| (d.name.as_str(), d.ifname.as_str()))
        .collect();
    assert!(
        ents.contains(&("ent0", "eth0")) && ents.contains(&("ent1", "eth1")),
        "{ents:?}"
    );

    // A new disk gets the next name; the disk seen before keeps its own under a new kernel
    // name (found by its serial).
    std::fs::remove_dir_all(root.join("sys/block/vdb")).unwrap();
    block_device(&root, "vdc", 4, "DATA1");
    block_device(&root, "vdd", 8, "DATA2");
    let found = svc.cfgdev(&padmin()).unwrap();
    let names: Vec<(&str, &str, u64)> = found
        .iter()
        .map(|h| (h.name.as_str(), h.device.as_str(), h.size_mb))
        .collect();
    assert_eq!(names, [("hdisk0", "vdc", 4096), ("hdisk1", "vdd", 8192)]);
}
