//! The service on a host that exists only in files and memory: a root directory with the
//! `/sys` and `/proc` it reads, the network component's fake host and LVM in memory. No
//! root, no QEMU, no block devices.

use std::path::Path;
use std::sync::Arc;

use ivm_model::{DiskChange, DiskSpec, ManagedSystem, PoolSpec, Role, StorageView, VgPoolRequest};

use super::accounts::fake::FakeAccounts;
use super::network::fake::{FakeLink, FakeNet};
use super::volumes::fake::{FakeVolumes, VolumesState, DEVICE_MB};
use super::{Actor, Service, ServiceError};

/// The managed system the service tests run on (also the utilization tests').
pub(super) fn system() -> ManagedSystem {
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

/// Partition `id` defined from `spec` on [`system`] beside only the management partition, as
/// the rules define it; the unit tests of one component start from it.
pub(super) fn partition(id: u32, spec: &ivm_model::PartitionSpec) -> ivm_model::Partition {
    let sys = system();
    let mut p = ivm_rules::new_partition(
        &sys,
        (&[ivm_rules::default_management_partition(&sys)], &[]),
        spec,
    )
    .expect("a partition");
    p.lpar_id = id;
    p
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
    let svc = svc
        .with_host_root(&root)
        .with_net_host(net.clone())
        .with_volumes(Arc::new(FakeVolumes::default()));
    (svc, net)
}

/// A service whose host has disks `vdb`, `vdc` and `vdd` of 1 GiB, named hdisk0-2, on LVM in
/// memory, after `prepare` ran on it.
fn with_disks(dir: &Path, prepare: impl Fn(&Service)) -> (Service, Arc<FakeVolumes>) {
    let (svc, _) = service(dir, &[]);
    let root = dir.join("root");
    for (i, d) in ["vdb", "vdc", "vdd"].iter().enumerate() {
        block_device(&root, d, 1, &format!("DISK{i}"));
    }
    let vols = Arc::new(FakeVolumes::default());
    let svc = svc.with_volumes(vols.clone());
    svc.cfgdev(&padmin()).unwrap();
    prepare(&svc);
    (svc, vols)
}

fn vg_request(name: &str, hdisks: &[&str]) -> VgPoolRequest {
    VgPoolRequest {
        name: name.into(),
        hdisks: hdisks.iter().map(|h| h.to_string()).collect(),
        force: false,
    }
}

/// Runs `change` once on a host `prepare` set up, then again on a fresh one failing at each of
/// its LVM and mount calls in turn: after every failure the host's volumes and the store's
/// storage must be as before. Returns both after the change that worked, and how many
/// failure points were checked.
fn each_failure_is_undone<T: std::fmt::Debug>(
    prepare: impl Fn(&Service),
    change: impl Fn(&Service) -> Result<T, ServiceError>,
) -> (VolumesState, StorageView, usize) {
    let dir = tempfile::tempdir().unwrap();
    let (svc, vols) = with_disks(dir.path(), &prepare);
    let base = vols.calls().len();
    change(&svc).unwrap();
    let calls = vols.calls()[base..].to_vec();
    assert!(!calls.is_empty(), "the change asked nothing of LVM");
    for (k, call) in calls.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, vols) = with_disks(dir.path(), &prepare);
        let fresh = (vols.snapshot(), svc.storage().unwrap());
        vols.fail_after(k);
        let e = change(&svc).expect_err("the injected failure is returned");
        assert!(e.to_string().contains("injected"), "{e}");
        assert_eq!(
            vols.snapshot(),
            fresh.0,
            "failing at {call} left LVM changed; calls: {:?}",
            vols.calls()
        );
        assert_eq!(
            svc.storage().unwrap(),
            fresh.1,
            "failing at {call} left the store changed"
        );
    }
    (vols.snapshot(), svc.storage().unwrap(), calls.len())
}

#[test]
fn a_volume_group_pool_that_fails_at_any_step_leaves_no_group_and_no_pool() {
    let (lvm, view, n) = each_failure_is_undone(
        |_| {},
        |s| s.create_vg_pool(&padmin(), &vg_request("datavg", &["hdisk0", "hdisk1"])),
    );
    assert_eq!(n, 2, "create the group, read its size");
    assert_eq!(
        lvm.vgs["datavg"].devices.iter().collect::<Vec<_>>(),
        ["/dev/vdb", "/dev/vdc"]
    );
    let pool = view.pools.iter().find(|p| p.name == "datavg").unwrap();
    assert_eq!(pool.size_mb, 2 * DEVICE_MB);
    assert_eq!(view.free_hdisks, ["hdisk2"]);
}

#[test]
fn a_physical_volume_added_or_removed_with_a_failure_at_any_step_leaves_the_pool_as_it_was() {
    let make = |s: &Service| {
        s.create_vg_pool(&padmin(), &vg_request("datavg", &["hdisk0", "hdisk1"]))
            .unwrap();
    };
    let (lvm, view, n) = each_failure_is_undone(make, |s| {
        s.change_vg_pool(&padmin(), &vg_request("datavg", &["hdisk2"]), true)
    });
    assert_eq!(n, 2, "extend, read the size");
    assert_eq!(lvm.vgs["datavg"].devices.len(), 3);
    assert_eq!(view.pools[0].size_mb, 3 * DEVICE_MB);
    assert!(view.free_hdisks.is_empty());

    let (lvm, view, n) = each_failure_is_undone(make, |s| {
        s.change_vg_pool(&padmin(), &vg_request("datavg", &["hdisk1"]), false)
    });
    assert_eq!(n, 2, "reduce, read the size");
    assert_eq!(lvm.vgs["datavg"].devices.len(), 1);
    assert_eq!(view.pools[0].size_mb, DEVICE_MB);
    assert_eq!(view.free_hdisks, ["hdisk1", "hdisk2"]);
}

fn file_pool_in(parent: &str) -> PoolSpec {
    PoolSpec {
        name: "vmfiles".into(),
        path: String::new(),
        parent: Some(parent.into()),
        size_mb: 512,
        thin: false,
        rbd: None,
    }
}

#[test]
fn a_file_pool_in_a_volume_group_is_made_and_removed_whole_or_not_at_all() {
    let vg = |s: &Service| {
        s.create_vg_pool(&padmin(), &vg_request("datavg", &["hdisk0"]))
            .unwrap();
    };
    let (lvm, view, n) =
        each_failure_is_undone(vg, |s| s.create_pool(&padmin(), &file_pool_in("datavg")));
    assert_eq!(n, 3, "create the volume, make ext4, mount it");
    assert_eq!(lvm.vgs["datavg"].lvs.len(), 1);
    assert_eq!(lvm.mounts.len(), 1);
    assert!(view.pools.iter().any(|p| p.name == "vmfiles"));

    let with_pool = |s: &Service| {
        vg(s);
        s.create_pool(&padmin(), &file_pool_in("datavg")).unwrap();
    };
    let (lvm, view, n) = each_failure_is_undone(with_pool, |s| s.remove_pool(&padmin(), "vmfiles"));
    assert_eq!(n, 2, "unmount, remove the volume");
    assert!(
        lvm.vgs["datavg"].lvs.is_empty() && lvm.mounts.is_empty(),
        "{lvm:?}"
    );
    assert!(!view.pools.iter().any(|p| p.name == "vmfiles"));
    assert!(view.disks.is_empty(), "{:?}", view.disks);

    // And an empty volume group pool goes too (once another is the default), its physical
    // volumes free again.
    let two = |s: &Service| {
        vg(s);
        s.create_vg_pool(&padmin(), &vg_request("othervg", &["hdisk1"]))
            .unwrap();
        s.set_default_pool(&padmin(), "othervg").unwrap();
    };
    let (lvm, view, n) = each_failure_is_undone(two, |s| s.remove_pool(&padmin(), "datavg"));
    assert_eq!(n, 1, "remove the group");
    assert!(!lvm.vgs.contains_key("datavg"));
    assert_eq!(view.free_hdisks, ["hdisk0", "hdisk2"]);
}

fn disk_in(pool: &str, name: &str, size_mb: u64) -> DiskSpec {
    DiskSpec {
        name: name.into(),
        pool: Some(pool.into()),
        size_mb,
        image: None,
        vadapter: None,
        vtd: None,
    }
}

#[test]
fn a_virtual_disk_made_grown_renamed_or_removed_with_a_failure_at_any_step_is_as_before() {
    let vg = |s: &Service| {
        s.create_vg_pool(&padmin(), &vg_request("datavg", &["hdisk0"]))
            .unwrap();
    };
    let (lvm, view, n) = each_failure_is_undone(vg, |s| {
        s.create_disk(&padmin(), &disk_in("datavg", "lv01", 256))
    });
    assert_eq!(n, 1, "create the volume");
    assert_eq!(lvm.vgs["datavg"].lvs["lv01"], 256);
    assert!(view
        .disks
        .iter()
        .any(|d| d.name == "lv01" && d.size_mb == 256));

    let with_disk = |s: &Service| {
        vg(s);
        s.create_disk(&padmin(), &disk_in("datavg", "lv01", 256))
            .unwrap();
    };
    let change = |grow_mb, new_name: Option<&str>| DiskChange {
        grow_mb,
        new_name: new_name.map(str::to_string),
    };
    let (lvm, view, n) = each_failure_is_undone(with_disk, |s| {
        s.change_disk(&padmin(), "lv01", &change(Some(128), None))
    });
    assert_eq!(n, 1, "grow the volume");
    assert_eq!(lvm.vgs["datavg"].lvs["lv01"], 384);
    assert!(view
        .disks
        .iter()
        .any(|d| d.name == "lv01" && d.size_mb == 384));

    let (lvm, view, n) = each_failure_is_undone(with_disk, |s| {
        s.change_disk(&padmin(), "lv01", &change(None, Some("lv02")))
    });
    assert_eq!(n, 1, "rename the volume");
    assert!(lvm.vgs["datavg"].lvs.contains_key("lv02"));
    assert!(view.disks.iter().any(|d| d.name == "lv02"));

    // A removal is finished once marked (the next start completes it): a failure on the
    // host leaves the disk, marked, in the store.
    let dir = tempfile::tempdir().unwrap();
    let (svc, vols) = with_disks(dir.path(), with_disk);
    vols.fail_after(0);
    let e = svc.remove_disk(&padmin(), "lv01", false).unwrap_err();
    assert!(e.to_string().contains("injected"), "{e}");
    assert!(vols.snapshot().vgs["datavg"].lvs.contains_key("lv01"));
    svc.prepare_storage(&dir.path().join("data"), None).unwrap();
    assert!(vols.snapshot().vgs["datavg"].lvs.is_empty());
    assert!(svc.storage().unwrap().disks.is_empty());
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

const SHELL: &str = "/var/lib/ivm/shell/ivm-rksh";

/// A service keeping login accounts in memory, with user `alice` made when `alice` is set.
fn with_accounts(dir: &Path, alice: bool) -> (Service, Arc<FakeAccounts>) {
    let (svc, _) = service(dir, &[]);
    let accounts = Arc::new(FakeAccounts::default());
    let svc = svc.with_account_host(accounts.clone(), SHELL.into());
    if alice {
        svc.create_user(&padmin(), "alice", Role::ViewOnly, "first-password")
            .unwrap();
    }
    (svc, accounts)
}

/// The store's record of `name`: its Unix password hash, if the user exists.
fn unix_hash(svc: &Service, name: &str) -> Option<String> {
    svc.store
        .read(|tx| tx.user(name))
        .unwrap()
        .map(|r| r.unix_hash)
}

#[test]
fn a_user_whose_login_account_fails_at_any_step_is_not_made_and_leaves_no_account() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, acc) = with_accounts(dir.path(), false);
    svc.create_user(&padmin(), "bob", Role::ViewOnly, "bobs-password")
        .unwrap();
    let made = acc.snapshot();
    assert_eq!(made["bob"].account.shell, SHELL);
    assert_eq!(Some(made["bob"].hash.clone()), unix_hash(&svc, "bob"));
    let n = acc.calls().len();
    assert_eq!(n, 3, "group, create, password: {:?}", acc.calls());
    for k in 0..n {
        let dir = tempfile::tempdir().unwrap();
        let (svc, acc) = with_accounts(dir.path(), false);
        acc.fail_after(k);
        let e = svc
            .create_user(&padmin(), "bob", Role::ViewOnly, "bobs-password")
            .unwrap_err();
        assert!(e.to_string().contains("injected"), "{e}");
        assert!(
            acc.snapshot().is_empty(),
            "failing at {}: {:?}",
            acc.calls()[k],
            acc.snapshot()
        );
        assert_eq!(unix_hash(&svc, "bob"), None);
    }
}

#[test]
fn a_password_whose_login_account_cannot_follow_stays_the_old_one_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, acc) = with_accounts(dir.path(), true);
    let old = unix_hash(&svc, "alice").unwrap();
    assert_eq!(acc.snapshot()["alice"].hash, old);
    acc.fail_after(1);
    let e = svc
        .set_password(&padmin(), "alice", "second-password")
        .unwrap_err();
    assert!(e.to_string().contains("injected"), "{e}");
    assert_eq!(unix_hash(&svc, "alice").as_deref(), Some(old.as_str()));
    assert_eq!(acc.snapshot()["alice"].hash, old);
    // And when it can, both move.
    svc.set_password(&padmin(), "alice", "second-password")
        .unwrap();
    let new = unix_hash(&svc, "alice").unwrap();
    assert_ne!(new, old);
    assert_eq!(acc.snapshot()["alice"].hash, new);
}

#[test]
fn an_account_ivm_did_not_make_is_never_taken_over_or_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, acc) = with_accounts(dir.path(), false);
    acc.put_foreign("carol");
    let before = acc.snapshot();
    let e = svc
        .create_user(&padmin(), "carol", Role::ViewOnly, "carols-password")
        .unwrap_err();
    assert!(e.to_string().contains("carol"), "{e}");
    assert_eq!(acc.snapshot(), before);
    assert_eq!(unix_hash(&svc, "carol"), None);

    // Taken by someone else between ivm's look and its useradd: refused, and the undo of the
    // failed creation leaves that account alone.
    acc.race_foreign("dave");
    svc.create_user(&padmin(), "dave", Role::ViewOnly, "daves-password")
        .unwrap_err();
    assert!(
        !acc.snapshot()["dave"].account.is_ivm(),
        "{:?}",
        acc.snapshot()
    );
    assert_eq!(unix_hash(&svc, "dave"), None);
}

#[test]
fn a_removed_user_loses_its_account_and_a_failed_removal_leaves_it_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, acc) = with_accounts(dir.path(), true);
    svc.delete_user(&padmin(), "alice").unwrap();
    assert!(acc.snapshot().is_empty());

    let dir = tempfile::tempdir().unwrap();
    let (svc, acc) = with_accounts(dir.path(), true);
    // Locked (hash, then expiry), then its processes: that fails.
    acc.fail_after(2);
    let e = svc.delete_user(&padmin(), "alice").unwrap_err();
    assert!(e.to_string().contains("injected"), "{e}");
    let left = &acc.snapshot()["alice"];
    assert!(left.locked && left.hash == "!", "{left:?}");
    assert_eq!(unix_hash(&svc, "alice"), None, "the user is gone from ivm");
}
