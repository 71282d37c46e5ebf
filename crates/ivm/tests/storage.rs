//! Virtual storage on real backing: a file pool, virtual disks as files, mappings seen by a real
//! guest (virtio-scsi), hot-plug, live growth, and what survives a restart of the partition.

mod common;

use std::time::Duration;

use common::{boot, define_guest as define, eventually, lock, state, stop_now, Console, Daemon};

const SETTINGS: &str = "shutdown_delay_secs = 3\nrootvg_size_mb = 1024\n";

/// The guest's SCSI disks and their sizes in 512-byte sectors.
fn disks(con: &mut Console) -> Vec<(String, u64)> {
    con.send("guest-status");
    let line = con.wait_for("disks=", Duration::from_secs(30));
    let list = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("disks="))
        .unwrap_or("")
        .trim()
        .to_string();
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|d| {
            let (n, s) = d.split_once(':').unwrap();
            (n.to_string(), s.parse().unwrap())
        })
        .collect()
}

#[test]
fn disks_are_committed_mapped_and_refused_with_reasons() {
    let d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    let lssp = d.ok(&["lssp"]);
    assert_eq!(
        lssp,
        "Pool            Size(mb)   Free(mb)   Alloc Size(mb)  BDs  Type\n\
         rootvg          1024       1024       32              0    FBPOOL\n"
    );
    assert_eq!(d.ok(&["mkbdsp", "600M", "-bd", "d1"]), "d1\n");
    let file = d.data_dir().join("pools/rootvg/d1");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 600 << 20);
    // Storage is committed: what does not fit is refused and nothing is made.
    let e = d.fails(&["mkbdsp", "-sp", "rootvg", "500M", "-bd", "d2"]);
    assert_eq!(
        e,
        "not enough storage available: the request needs 500 MB in pool rootvg more, 424 MB available\n"
    );
    assert!(!d.data_dir().join("pools/rootvg/d2").exists());
    for (args, msg) in [
        (
            &["mkbdsp", "10M", "-bd", "d1"][..],
            "virtual disk name d1 is already in use",
        ),
        (
            &["mkbdsp", "10M", "-bd", "this-name-is-too-long"],
            "storage names are 1 to 15 characters",
        ),
        (&["mkbdsp", "0M", "-bd", "z"], "size=0M is out of range"),
        (
            &["mkbdsp", "-sp", "nopool", "10M", "-bd", "z"],
            "storage pool nopool does not exist",
        ),
        (
            &["mkbdsp", "10M", "-bd", "z", "-vadapter", "vhost9"],
            "virtual SCSI server adapter vhost9 does not exist",
        ),
        (
            &["chbdsp", "-bd", "d1", "-size", "+500M"],
            "not enough storage available",
        ),
        (
            &["chbdsp", "-bd", "d1", "-size", "100M"],
            "virtual disks grow, never shrink",
        ),
        (
            &["mkvdev", "-vdev", "nothing", "-vadapter", "vhost0"],
            "does not exist",
        ),
        (
            &["mksp", "-fb", "p2", "-path", "relative", "-size", "1G"],
            "path=relative is out of range",
        ),
        (&["rmsp", "rootvg"], "it holds the virtual disks d1"),
    ] {
        let e = d.fails(args);
        assert!(e.contains(msg), "{args:?}: {e}");
    }
    assert_eq!(
        d.ok(&["lssp", "-field", "pool", "free", "bds", "-fmt", ":"]),
        "rootvg:424:1\n"
    );

    // Mapping: lsmap in IBM's layouts; a mapped disk cannot go, nor can a mapped partition.
    assert_eq!(
        d.ok(&["mkvdev", "-vdev", "d1", "-vadapter", "vhost0"]),
        "vtscsi0 Available\n"
    );
    assert_eq!(
        d.ok(&["lsmap", "-all", "-field", "clientid", "svsa", "-fmt", ":"]),
        "0x00000002:vhost0\n"
    );
    assert_eq!(
        d.ok(&[
            "lsmap",
            "-vadapter",
            "vhost0",
            "-field",
            "backing",
            "-fmt",
            ":"
        ]),
        "d1\n"
    );
    assert!(d
        .ok(&["lsmap", "-all", "-fmt", ","])
        .ends_with(",0x00000002,vtscsi0,Available,0x8100000000000000,d1,,N/A\n"));
    assert_eq!(
        d.ok(&["lsmap", "-all", "-type", "disk", "-field", "vtd", "-fmt", ":"]),
        ""
    );
    assert_eq!(
        d.ok(&["lsmap", "-all", "-type", "lv", "-field", "vtd", "-fmt", ":"]),
        "vtscsi0\n"
    );
    let o = d.ivm(&["lsmap", "-vadapter", "vhost7"]);
    assert_eq!(o.code, 15, "{o:?}");
    let e = d.fails(&["mkvdev", "-vdev", "d1", "-vadapter", "vhost0"]);
    assert!(e.contains("already mapped to vhost0 as vtscsi0"), "{e}");
    let e = d.fails(&["rmbdsp", "-bd", "d1"]);
    assert!(e.contains("rmvdev -vtd vtscsi0"), "{e}");
    let e = d.fails(&["rmsyscfg", "-r", "lpar", "-n", "lp1"]);
    assert!(e.contains("has virtual target devices vtscsi0"), "{e}");
    assert_eq!(d.ok(&["rmvdev", "-vtd", "vtscsi0"]), "vtscsi0 deleted\n");
    // Removing by virtual target device takes the disk with it.
    d.ok(&[
        "mkbdsp",
        "100M",
        "-bd",
        "d3",
        "-vadapter",
        "vhost0",
        "-tn",
        "boot0",
    ]);
    assert_eq!(
        d.ok(&["lsmap", "-vadapter", "vhost0", "-field", "vtd", "-fmt", ":"]),
        "boot0\n"
    );
    d.ok(&["rmbdsp", "-vtd", "boot0"]);
    assert!(!d.data_dir().join("pools/rootvg/d3").exists());
    d.ok(&["chbdsp", "-bd", "d1", "-mv", "data1"]);
    assert!(d.data_dir().join("pools/rootvg/data1").exists());
    d.ok(&["rmbdsp", "-bd", "data1"]);
    assert!(!d.data_dir().join("pools/rootvg/data1").exists());
    assert_eq!(d.ok(&["lssp", "-field", "free", "-fmt", ":"]), "1024\n");
    // A second file pool, thin: it may hold more than its size.
    for bad in ["/etc/ivm-pool", "/root/.ssh"] {
        let e = d.fails(&["mksp", "-fb", "p3", "-path", bad, "-size", "1G"]);
        assert!(
            e.contains("is not inside a directory ivm manages"),
            "{bad}: {e}"
        );
        assert!(!std::path::Path::new(bad).exists() || bad == "/root/.ssh");
    }
    let escape = format!("{}/pools/../elsewhere", d.data_dir().display());
    assert!(d
        .fails(&["mksp", "-fb", "p3", "-path", &escape, "-size", "1G"])
        .contains("not"));
    // A full (not thin) pool on a new directory; one larger than its filesystem is refused
    // and leaves no directory behind.
    let full = d.data_dir().join("pools/full1");
    d.ok(&[
        "mksp",
        "-fb",
        "full1",
        "-path",
        full.to_str().unwrap(),
        "-size",
        "10M",
    ]);
    assert!(full.is_dir());
    d.ok(&["rmsp", "full1"]);
    let huge = d.data_dir().join("pools/huge1");
    let e = d.fails(&[
        "mksp",
        "-fb",
        "huge1",
        "-path",
        huge.to_str().unwrap(),
        "-size",
        "999999999G",
    ]);
    assert!(e.contains("MB free"), "{e}");
    assert!(!huge.exists());
    let dir = d.data_dir().join("pools/thinpool");
    d.ok(&[
        "mksp",
        "-fb",
        "thin1",
        "-path",
        dir.to_str().unwrap(),
        "-size",
        "100M",
        "-thin",
    ]);
    d.ok(&["mkbdsp", "-sp", "thin1", "1G", "-bd", "big"]);
    d.ok(&["rmbdsp", "-bd", "big"]);
    d.ok(&["chsp", "-default", "thin1"]);
    assert_eq!(d.ok(&["lssp", "-default"]), "thin1\n");
    d.ok(&["chsp", "-default", "rootvg"]);
    d.ok(&["rmsp", "thin1"]);
    // rmsyscfg --vioscfg takes the mappings with the partition, --vdisk the disks too.
    d.ok(&["mkbdsp", "50M", "-bd", "keep", "-vadapter", "vhost0"]);
    d.ok(&["mkbdsp", "50M", "-bd", "gone", "-vadapter", "vhost0"]);
    let e = d.fails(&["rmsyscfg", "-r", "lpar", "-n", "lp1", "--vdisk"]);
    assert!(e.contains("--vdisk goes with --vioscfg"), "{e}");
    d.ok(&["rmvdev", "-vtd", "vtscsi0"]);
    d.ok(&[
        "rmsyscfg",
        "-r",
        "lpar",
        "-n",
        "lp1",
        "--vioscfg",
        "--vdisk",
    ]);
    assert!(!d.data_dir().join("pools/rootvg/gone").exists());
    assert!(
        d.data_dir().join("pools/rootvg/keep").exists(),
        "unmapped first, so kept"
    );
    d.ok(&["rmbdsp", "-bd", "keep"]);
    assert_eq!(d.ok(&["lsmap", "-all", "-field", "svsa", "-fmt", ":"]), "");
}

#[test]
fn a_daemon_killed_while_making_a_disk_leaves_no_half_made_disk() {
    let mut d = Daemon::start(SETTINGS);
    d.restart_with_env(&[("IVM_FAILPOINTS", "storage.created=abort")]);
    let o = d.ivm(&["mkbdsp", "100M", "-bd", "half"]);
    assert_ne!(o.code, 0);
    let _ = d.child.wait();
    assert!(
        d.data_dir().join("pools/rootvg/half").exists(),
        "the file was made"
    );
    d.restart_with_env(&[]);
    assert!(!d.data_dir().join("pools/rootvg/half").exists());
    assert_eq!(
        d.ok(&["lssp", "-field", "free", "bds", "-fmt", ":"]),
        "1024:0\n"
    );
    // And a failure before the file exists leaves nothing either.
    d.restart_with_env(&[("IVM_FAILPOINTS", "storage.create=error")]);
    let e = d.fails(&["mkbdsp", "100M", "-bd", "half"]);
    assert!(e.contains("injected failure at storage.create"), "{e}");
    assert_eq!(
        d.ok(&["lssp", "-field", "free", "bds", "-fmt", ":"]),
        "1024:0\n"
    );
}

#[test]
fn a_guest_keeps_what_it_wrote_sees_hot_plugged_disks_and_live_growth() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    d.ok(&["mkbdsp", "64M", "-bd", "data", "-vadapter", "vhost0"]);
    let mut con = boot(&d, "lp1", 2);
    assert_eq!(disks(&mut con), vec![("sda".to_string(), 64 * 2048)]);
    con.send("echo ivm-was-here-42 | dd of=/dev/sda bs=512 count=1 conv=sync 2>/dev/null; sync; echo wrote-\"\"it");
    con.wait_for("wrote-it\r", Duration::from_secs(30));
    // The write and the kernel's reads show in the metrics, per virtual target device; each
    // adapter's counters too.
    let m = d.metrics();
    let disk = |what: &str| {
        Daemon::metric(
            &m,
            &format!("ivm_partition_disk_{what}_bytes_total{{lpar_id=\"2\",lpar_name=\"lp1\",device=\"vtscsi0\"}}"),
        )
    };
    assert!(disk("written").is_some_and(|b| b >= 512.0), "{m}");
    assert!(disk("read").is_some_and(|b| b > 0.0), "{m}");
    for slot in [3, 4] {
        assert!(
            Daemon::metric(
                &m,
                &format!("ivm_partition_network_receive_bytes_total{{lpar_id=\"2\",lpar_name=\"lp1\",slot=\"{slot}\"}}")
            )
            .is_some(),
            "slot {slot}: {m}"
        );
    }

    // QEMU got the disk as a descriptor: it runs unprivileged and cannot open the file itself.
    let pid: u32 = std::fs::read_to_string(d.data_dir().join("lpars/2/qemu.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(cmdline.contains("/dev/fdset/1"), "{cmdline}");

    // Hot-plug a second disk; the guest sees it.
    d.ok(&["mkbdsp", "32M", "-bd", "more", "-vadapter", "vhost0"]);
    eventually(
        "the guest to see the new disk",
        Duration::from_secs(30),
        || disks(&mut con).len() == 2,
    );
    // Grow it live.
    d.ok(&["chbdsp", "-bd", "more", "-size", "+32M"]);
    eventually(
        "the guest to see the disk grow",
        Duration::from_secs(30),
        || disks(&mut con).contains(&("sdb".to_string(), 64 * 2048)),
    );
    // Hot-unplug it.
    d.ok(&["rmvdev", "-vdev", "more"]);
    eventually(
        "the guest to lose the disk",
        Duration::from_secs(30),
        || disks(&mut con).len() == 1,
    );
    d.ok(&["rmbdsp", "-bd", "more"]);
    drop(con);

    // Shut down and activate again: what the guest wrote is still there.
    stop_now(&d, "lp1");
    let mut con = boot(&d, "lp1", 2);
    con.send("dd if=/dev/sda bs=512 count=1 2>/dev/null | head -c 16; echo");
    con.wait_for("ivm-was-here-42", Duration::from_secs(30));
    drop(con);
    stop_now(&d, "lp1");
    assert_eq!(state(&d, "lp1"), "Not Activated");
}

/// A loop device over a sparse file, playing a disk attached to the host; detached on drop.
struct LoopDisk {
    dev: String,
    file: std::path::PathBuf,
}

impl LoopDisk {
    fn new(dir: &std::path::Path, mb: u64) -> LoopDisk {
        let file = dir.join("pv.img");
        let f = std::fs::File::create(&file).unwrap();
        f.set_len(mb << 20).unwrap();
        let out = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "losetup: {out:?}");
        let dev = String::from_utf8(out.stdout).unwrap().trim().to_string();
        LoopDisk { dev, file }
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.dev])
            .status();
    }
}

#[test]
fn a_whole_physical_volume_is_named_mapped_and_written_by_a_guest() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    let before = d.ok(&["lspv", "-field", "name", "-fmt", ":"]);
    let pv = LoopDisk::new(d.data_dir(), 64);
    // Attached after ivm started: seen only after cfgdev, as the next hdiskN.
    assert_eq!(d.ok(&["lspv", "-field", "name", "-fmt", ":"]), before);
    assert_eq!(d.ok(&["cfgdev"]), "");
    let after = d.ok(&["lspv", "-field", "name", "pvid", "-fmt", ":"]);
    let new: Vec<&str> = after
        .lines()
        .filter(|l| !before.contains(l.split(':').next().unwrap()))
        .collect();
    assert_eq!(new.len(), 1, "{after}");
    let hdisk = new[0].split(':').next().unwrap().to_string();
    assert!(hdisk.starts_with("hdisk"), "{hdisk}");
    assert_eq!(
        new[0].split(':').nth(1).unwrap().len(),
        16,
        "a 16-digit PVID"
    );
    assert_eq!(d.ok(&["lspv", "-size", &hdisk]), "64\n");
    assert!(d.ok(&["lspv", "-free"]).contains(&hdisk));

    assert_eq!(
        d.ok(&["mkvdev", "-vdev", &hdisk, "-vadapter", "vhost0"]),
        "vtscsi0 Available\n"
    );
    assert_eq!(
        d.ok(&["lsmap", "-all", "-type", "disk", "-field", "vtd", "backing", "-fmt", ":"]),
        format!("vtscsi0:{hdisk}\n")
    );
    assert!(
        !d.ok(&["lspv", "-free"]).contains(&hdisk),
        "a mapped disk is not free"
    );
    let e = d.fails(&["mkvdev", "-vdev", &hdisk, "-vadapter", "vhost0"]);
    assert!(e.contains("already mapped"), "{e}");

    let mut con = boot(&d, "lp1", 2);
    assert_eq!(disks(&mut con), vec![("sda".to_string(), 64 * 2048)]);
    con.send("echo written-on-the-pv | dd of=/dev/sda bs=512 count=1 conv=sync 2>/dev/null; sync; echo done-\"\"pv");
    con.wait_for("done-pv\r", Duration::from_secs(30));
    drop(con);
    stop_now(&d, "lp1");
    let head = std::fs::read(&pv.file).unwrap();
    assert!(
        head.starts_with(b"written-on-the-pv"),
        "the host's device holds it"
    );
    d.ok(&["rmvdev", "-vtd", "vtscsi0"]);
    // Gone from the host: cfgdev keeps its name for it but lspv no longer lists it.
    drop(pv);
    d.ok(&["cfgdev"]);
    assert!(!d.ok(&["lspv"]).contains(&format!("{hdisk} ")));
}

/// Converts `raw` into a qcow2 image `name` in the daemon's boot directory (readable by
/// others, as boot files are), as an administrator brings a cloud image or another host's disk.
fn stage_qcow2(d: &Daemon, raw: &std::path::Path, name: &str) -> std::path::PathBuf {
    let boot = d.data_dir().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    let q = boot.join(name);
    let out = std::process::Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(raw)
        .arg(&q)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(&q, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    q
}

#[test]
fn a_partition_boots_from_a_virtual_disk_imported_from_a_qcow2_image() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    let (kernel, _) = common::test_guest();
    let image = kernel.parent().unwrap().join("disk.img");
    assert!(
        image.is_file(),
        "scripts/build-test-guest.sh builds {}",
        image.display()
    );
    stage_qcow2(&d, &image, "guest.qcow2");
    // No boot_kernel: the firmware boots the first disk.
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=diskboot,desired_procs=1,desired_mem=256",
    ]);
    // No size: the disk takes the image's (rounded up to whole MB).
    d.ok(&[
        "mkbdsp",
        "-bd",
        "bootdisk",
        "-file",
        "guest.qcow2",
        "-vadapter",
        "vhost0",
    ]);
    let image_mb = std::fs::metadata(&image).unwrap().len().div_ceil(1 << 20);
    let disk = d.data_dir().join("pools/rootvg/bootdisk");
    let meta = std::fs::metadata(&disk).unwrap();
    assert_eq!(meta.len(), image_mb << 20);
    // Every block of a full pool's disk is allocated, the image's holes included.
    assert!(std::os::unix::fs::MetadataExt::blocks(&meta) * 512 >= meta.len());
    assert_eq!(
        (
            std::os::unix::fs::MetadataExt::uid(&meta),
            std::os::unix::fs::MetadataExt::mode(&meta) & 0o777
        ),
        (0, 0o600)
    );
    let task = common::tasks(&d)
        .into_iter()
        .find(|t| t["operation"] == "import virtual disk")
        .expect("the import is in the task log");
    assert_eq!(
        (&task["result"], &task["progress"]),
        (&"succeeded".into(), &100.into()),
        "{task}"
    );
    let mut con = boot(&d, "diskboot", 2);
    con.send("cat /proc/cmdline");
    con.wait_for("ivm.boot=disk", Duration::from_secs(30));
    drop(con);
    stop_now(&d, "diskboot");
}

#[test]
fn images_that_are_not_self_contained_or_do_not_fit_are_refused_and_leave_nothing() {
    let d = Daemon::start(SETTINGS);
    let boot = d.data_dir().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    let raw = boot.join("four.raw");
    std::fs::write(&raw, vec![7u8; 4 << 20]).unwrap();
    std::fs::set_permissions(&raw, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let q = stage_qcow2(&d, &raw, "four.qcow2");
    let free = || d.ok(&["lssp", "-field", "pool", "free", "-fmt", ":"]);
    let before = free();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["2M", "-bd", "small", "-file", "four.qcow2"],
            "holds 4 MB, more than the 2 MB given",
        ),
        (
            vec!["-bd", "out", "-file", "/etc/shadow"],
            "not a regular file in a directory ivm manages",
        ),
        (
            vec!["-bd", "up", "-file", "../ivm.db"],
            "not a regular file in a directory ivm manages",
        ),
        (
            vec!["-bd", "nofile", "-file", "missing.qcow2"],
            "missing.qcow2",
        ),
        (
            vec!["-sp", "nosuch", "-bd", "nopool", "-file", "four.qcow2"],
            "nosuch",
        ),
        (vec!["-bd", "bad/name", "-file", "four.qcow2"], "bad/name"),
    ];
    for (args, want) in &cases {
        let mut a = vec!["mkbdsp"];
        a.extend(args);
        let e = d.fails(&a);
        assert!(e.contains(want), "{a:?}: {e}");
    }
    // A backing file on the host, and an image only root may read.
    let leak = boot.join("leak.qcow2");
    let out = std::process::Command::new("qemu-img")
        .args([
            "create",
            "-f",
            "qcow2",
            "-F",
            "raw",
            "-b",
            "/etc/shadow",
            "-u",
        ])
        .arg(&leak)
        .arg("4M")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::set_permissions(&leak, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let e = d.fails(&["mkbdsp", "-bd", "leak", "-file", "leak.qcow2"]);
    assert!(
        e.contains("names a backing file") && e.contains("flatten it first"),
        "{e}"
    );
    std::fs::set_permissions(&q, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let e = d.fails(&["mkbdsp", "-bd", "private", "-file", "four.qcow2"]);
    assert!(
        e.contains("not readable by others") && e.contains("chmod o+r"),
        "{e}"
    );
    assert_eq!(free(), before, "nothing was committed");
    let pool: Vec<_> = std::fs::read_dir(d.data_dir().join("pools/rootvg"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(pool.is_empty(), "no disk file is left: {pool:?}");
    // A raw image is imported as it is, into a disk larger than it.
    std::fs::set_permissions(&q, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    d.ok(&["mkbdsp", "8M", "-bd", "fromraw", "-file", "four.raw"]);
    let bytes = std::fs::read(d.data_dir().join("pools/rootvg/fromraw")).unwrap();
    assert_eq!(bytes.len(), 8 << 20);
    assert!(bytes[..4 << 20].iter().all(|b| *b == 7) && bytes[4 << 20..].iter().all(|b| *b == 0));
}

#[test]
fn volume_group_views_answer_as_clients_parse_them() {
    let d = Daemon::start(SETTINGS);
    assert_eq!(d.ok(&["lsvg"]), "rootvg\n");
    // The shapes libvirt's phyp driver and the IVM cloud drivers parse.
    assert_eq!(d.ok(&["mklv", "-lv", "vol1", "rootvg", "100M"]), "vol1\n");
    assert_eq!(d.ok(&["mklv", "rootvg", "204800B"]), "lv00\n");
    assert_eq!(
        d.ok(&["lsvg", "rootvg", "-field", "vgname", "freepps", "-fmt", ":"]),
        "rootvg:24 (768 megabytes)\n"
    );
    assert_eq!(
        d.ok(&["lsvg", "rootvg", "-field", "totalpps", "usedpps", "freepps", "-fmt", ":"]),
        "32 (1024 megabytes):8 (256 megabytes):24 (768 megabytes)\n"
    );
    let ivm = common::ivm_bin();
    let ivm = ivm.display();
    assert_eq!(
        d.sh(&format!("{ivm} lsvg -lv rootvg -field lvname | sed '1,2d'"))
            .stdout,
        "lv00\nvol1\n"
    );
    assert_eq!(
        d.ok(&["lslv", "vol1", "-fmt", ":", "-field", "pps", "ppsize"]),
        "4:32 megabyte(s)\n"
    );
    let id = d.sh(&format!(
        "{ivm} lslv vol1 -field lvid | sed -e 's/^LV IDENTIFIER://' -e 's/ //g'"
    ));
    assert_eq!(id.stdout.trim().len(), 34, "{id:?}");
    assert!(d
        .ok(&["lslv", "vol1", "-field", "vgname"])
        .starts_with("VOLUME GROUP:"));
    assert_eq!(
        d.sh(&format!(
            "{ivm} lssp -detail -sp rootvg -field size | sed '1d; s/ //g'"
        ))
        .stdout,
        "1024\n"
    );
    let e = d.fails(&["lslv", "nothing"]);
    assert!(e.contains("Logical volume nothing was not found"), "{e}");
    d.ok(&["rmlv", "-f", "vol1"]);
    d.ok(&["rmlv", "lv00"]);
    assert_eq!(
        d.ok(&["lssp", "-field", "free", "bds", "-fmt", ":"]),
        "1024:0\n"
    );
}

/// A volume group the test made, removed on drop (before its loop devices go).
struct VgGuard(String);

impl Drop for VgGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("lvm")
            .args(["vgremove", "-y", "-f", &self.0])
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .output();
    }
}

/// The two hdisks cfgdev names for two new loop devices.
fn new_hdisks(d: &Daemon, before: &str) -> Vec<String> {
    d.ok(&["cfgdev"]);
    d.ok(&["lspv", "-field", "name", "-fmt", ":"])
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .map(str::to_string)
        .collect()
}

#[test]
fn volume_group_pools_are_made_of_physical_volumes() {
    let d = Daemon::start(SETTINGS);
    let before = d.ok(&["lspv", "-field", "name", "-fmt", ":"]);
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let (a, b) = (
        LoopDisk::new(dir_a.path(), 128),
        LoopDisk::new(dir_b.path(), 128),
    );
    let hd = new_hdisks(&d, &before);
    assert_eq!(hd.len(), 2, "{hd:?}");
    let vg = format!("vgt{}", std::process::id() % 100_000);
    let _guard = VgGuard(vg.clone());
    assert_eq!(d.ok(&["mksp", "-f", &vg, &hd[0]]), format!("{vg}\n"));
    let size = |d: &Daemon| -> u64 {
        d.ok(&["lssp", "-sp", &vg, "-field", "size", "type", "-fmt", ":"])
            .trim()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!((120..=128).contains(&size(&d)), "{}", size(&d));
    assert_eq!(
        d.ok(&["lssp", "-sp", &vg, "-field", "type", "-fmt", ":"]),
        "LVPOOL\n"
    );
    assert!(d
        .ok(&["lspv"])
        .lines()
        .any(|l| l.starts_with(&hd[0]) && l.contains(&vg)));
    assert!(!d.ok(&["lspv", "-free"]).contains(&hd[0]));
    // A physical volume in a pool is neither mapped nor put in another pool.
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    let e = d.fails(&["mkvdev", "-vdev", &hd[0], "-vadapter", "vhost0"]);
    assert!(e.contains("does not exist"), "{e}");
    let e = d.fails(&["mksp", "other", &hd[0]]);
    assert!(e.contains("physical volume"), "{e}");
    let e = d.fails(&["mksp", "bad", "hdisk999"]);
    assert!(e.contains("hdisk999"), "{e}");
    d.ok(&["chsp", "-add", "-f", "-sp", &vg, &hd[1]]);
    assert!(size(&d) >= 240, "{}", size(&d));
    let dm = std::fs::read_to_string("/proc/misc").unwrap_or_default();
    if !dm.lines().any(|l| l.trim_end().ends_with(" device-mapper")) {
        // Logical volumes need device-mapper: refused with the reason, nothing made.
        let e = d.fails(&["mkbdsp", "-sp", &vg, "16M", "-bd", "lv1"]);
        assert!(e.contains("no device-mapper"), "{e}");
        assert_eq!(
            d.ok(&["lssp", "-bd", "-sp", &vg, "-field", "name", "-fmt", ":"]),
            ""
        );
        // So is a file pool inside it, and nothing of it stays.
        let e = d.fails(&["mksp", "-fb", "fpinvg", "-sp", &vg, "-size", "16M"]);
        assert!(e.contains("no device-mapper"), "{e}");
        assert!(!d.ok(&["lssp"]).contains("fpinvg"));
        assert!(!d.data_dir().join("pools/fpinvg").exists());
        assert_eq!(
            d.ok(&["lssp", "-bd", "-sp", &vg, "-field", "name", "-fmt", ":"]),
            ""
        );
    }
    let e = d.fails(&["mksp", "-fb", "fp2", "-sp", "rootvg", "-size", "16M"]);
    assert!(e.contains("a file pool cannot hold another"), "{e}");
    d.ok(&["chsp", "-rm", "-sp", &vg, &hd[1]]);
    assert!((120..=128).contains(&size(&d)));
    assert!(d.ok(&["lspv", "-free"]).contains(&hd[1]));
    d.ok(&["rmsp", &vg]);
    assert!(!d.ok(&["lssp"]).contains(&vg));
    assert!(d.ok(&["lspv", "-free"]).contains(&hd[0]));
    drop((a, b));
}

#[test]
#[ignore = "needs device-mapper in the kernel (device-mapper in /proc/misc) for logical volumes"]
fn logical_volumes_of_a_volume_group_pool_reach_a_guest() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    let before = d.ok(&["lspv", "-field", "name", "-fmt", ":"]);
    let dir = tempfile::tempdir().unwrap();
    let pv = LoopDisk::new(dir.path(), 128);
    let hd = new_hdisks(&d, &before);
    let vg = format!("vgl{}", std::process::id() % 100_000);
    let _guard = VgGuard(vg.clone());
    d.ok(&["mksp", "-f", &vg, &hd[0]]);
    define(&d, "lp1", "desired_procs=1,desired_mem=256");
    d.ok(&[
        "mkbdsp",
        "-sp",
        &vg,
        "32M",
        "-bd",
        "lvdisk",
        "-vadapter",
        "vhost0",
    ]);
    let mut con = boot(&d, "lp1", 2);
    assert_eq!(disks(&mut con), vec![("sda".to_string(), 32 * 2048)]);
    d.ok(&["chbdsp", "-bd", "lvdisk", "-size", "+32M"]);
    eventually(
        "the guest to see the LV grow",
        Duration::from_secs(30),
        || disks(&mut con) == vec![("sda".to_string(), 64 * 2048)],
    );
    drop(con);
    stop_now(&d, "lp1");
    d.ok(&["rmbdsp", "-vtd", "vtscsi0"]);
    d.ok(&["rmsp", &vg]);
    drop(pv);
}

#[test]
#[ignore = "needs device-mapper in the kernel (device-mapper in /proc/misc) for logical volumes"]
fn a_file_pool_and_the_media_library_live_in_a_volume_group_pool() {
    let d = Daemon::start(SETTINGS);
    let before = d.ok(&["lspv", "-field", "name", "-fmt", ":"]);
    let dir = tempfile::tempdir().unwrap();
    let pv = LoopDisk::new(dir.path(), 256);
    let hd = new_hdisks(&d, &before);
    let vg = format!("vgf{}", std::process::id() % 100_000);
    let _guard = VgGuard(vg.clone());
    d.ok(&["mksp", "-f", &vg, &hd[0]]);
    let mounted = |p: &std::path::Path| {
        std::fs::read_to_string("/proc/self/mounts")
            .unwrap()
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(p.to_str().unwrap()))
    };
    // A file pool in a logical volume of the volume group, formatted and mounted by ivm.
    assert_eq!(
        d.ok(&["mksp", "-fb", "fp", "-sp", &vg, "-size", "64M"]),
        "fp\n"
    );
    let fp_dir = d.data_dir().join("pools/fp");
    assert!(mounted(&fp_dir));
    assert_eq!(
        d.ok(&["lssp", "-sp", "fp", "-field", "size", "type", "-fmt", ":"]),
        "64:FBPOOL\n"
    );
    assert!(d.ok(&["lssp", "-bd", "-sp", &vg]).contains("fp"));
    d.ok(&["mkbdsp", "-sp", "fp", "16M", "-bd", "d1"]);
    assert!(fp_dir.join("d1").is_file());
    let e = d.fails(&["rmbdsp", "-bd", "fp"]);
    assert!(e.contains("rmsp fp"), "{e}");
    let e = d.fails(&["rmsp", &vg]);
    assert!(e.contains("fp"), "{e}");
    // The media library in the volume group: its own logical volume, mounted.
    d.ok(&["mkrep", "-sp", &vg, "-size", "32M"]);
    assert!(mounted(&d.data_dir().join("VMLibrary")));
    d.ok(&["mkvopt", "-name", "blank", "-size", "4M"]);
    assert!(d.data_dir().join("VMLibrary/blank").is_file());
    d.ok(&["chrep", "-size", "48M"]);
    d.ok(&["rmrep", "-f"]);
    assert!(!mounted(&d.data_dir().join("VMLibrary")));
    d.ok(&["rmbdsp", "-bd", "d1"]);
    d.ok(&["rmsp", "fp"]);
    assert!(!mounted(&fp_dir));
    assert!(!d.ok(&["lssp", "-bd", "-sp", &vg]).contains("fp"));
    d.ok(&["rmsp", &vg]);
    drop(pv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_qcow2_image_becomes_a_disk_and_a_broken_upload_leaves_nothing() {
    let d = Daemon::start(SETTINGS);
    d.set_password("padmin", "padmin-pass-1");
    let http = d.https();
    let token = d.token("padmin", "padmin-pass-1").await;
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("pattern.raw");
    let pattern: Vec<u8> = (0..6u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&raw, &pattern).unwrap();
    let q = dir.path().join("pattern.qcow2");
    let out = std::process::Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&q)
        .output()
        .unwrap();
    assert!(out.status.success());
    let image = std::fs::read(&q).unwrap();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        image.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect();
    let r = http
        .put(d.url("/storage/disks/up/image?size_mb=8"))
        .bearer_auth(&token)
        .header("content-length", image.len())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let disk = std::fs::read(d.data_dir().join("pools/rootvg/up")).unwrap();
    assert_eq!(disk.len(), 8 << 20);
    assert_eq!(&disk[..6 << 20], &pattern[..]);
    assert!(disk[6 << 20..].iter().all(|b| *b == 0));
    assert!(
        d.ok(&["lssp", "-bd", "-sp", "rootvg"]).contains("up "),
        "the disk is in its pool"
    );

    // Broken off half way: refused, and neither a disk nor the staged image stays.
    let half: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(image[..1 << 20].to_vec()),
        Err(std::io::Error::other("the client went away")),
    ];
    let r = http
        .put(d.url("/storage/disks/broken/image"))
        .bearer_auth(&token)
        .header("content-length", image.len())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(half)))
        .send()
        .await;
    if let Ok(r) = r {
        assert!(r.status().is_client_error(), "{r:?}");
    }
    let staged = d.data_dir().join("uploads");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let tasks: serde_json::Value = http
            .get(d.url("/tasks"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ended = tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == "broken" && t["finished_ms"].is_number());
        if let Some(t) = ended {
            assert_eq!(t["result"], "failed", "{t}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the broken import never ended: {tasks}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!d.data_dir().join("pools/rootvg/broken").exists());
    assert_eq!(
        std::fs::read_dir(&staged).unwrap().count(),
        0,
        "no staged image is left"
    );
    // A name in use is refused before a byte is staged (View Only users: the authority matrix).
    // The refusal comes before the body is read, so the body is small enough to sit in the
    // socket's buffer: a whole image would meet the closed connection before the answer.
    let head = image[..4096].to_vec();
    let r = http
        .put(d.url("/storage/disks/up/image"))
        .bearer_auth(&token)
        .header("content-length", head.len())
        .body(head)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "{:?}", r.text().await);
}

#[test]
fn a_uefi_partition_boots_its_gpt_disk_and_keeps_its_variables_in_backups() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    let (kernel, _) = common::test_guest();
    let image = kernel.parent().unwrap().join("disk-uefi.img");
    assert!(
        image.is_file(),
        "scripts/build-test-guest.sh builds {}",
        image.display()
    );
    let boot_dir = d.data_dir().join("boot");
    std::fs::create_dir_all(&boot_dir).unwrap();
    std::fs::copy(&image, boot_dir.join("uefi.img")).unwrap();
    let e = d.fails(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=efi,desired_procs=1,desired_mem=256,boot_firmware=efi",
    ]);
    assert!(
        e.contains("boot_firmware") && e.contains("bios, uefi"),
        "{e}"
    );
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=efi,desired_procs=1,desired_mem=256,boot_firmware=uefi",
    ]);
    assert_eq!(
        d.ok(&[
            "lssyscfg",
            "-r",
            "prof",
            "--filter",
            "lpar_names=efi",
            "-F",
            "boot_firmware"
        ]),
        "uefi\n"
    );
    // A raw image (a GPT disk with an EFI system partition) imported as it is.
    d.ok(&[
        "mkbdsp",
        "-bd",
        "efidisk",
        "-file",
        "uefi.img",
        "-vadapter",
        "vhost0",
    ]);
    let mut con = boot(&d, "efi", 2);
    con.send("cat /proc/cmdline; [ -d /sys/firmware/efi ] && echo FIRMWARE-IS-EFI");
    con.wait_for("ivm.boot=uefi", Duration::from_secs(30));
    con.wait_for("FIRMWARE-IS-EFI", Duration::from_secs(30));
    drop(con);
    let cmdline = common::qemu_cmdline(&d, 2);
    assert!(
        cmdline.contains("if=pflash") && cmdline.contains("OVMF_CODE_4M.fd"),
        "{cmdline}"
    );
    let e = d.fails(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "lpar_name=efi,boot_firmware=bios",
    ]);
    assert!(
        e.contains("boot_firmware") && e.contains("shut the partition down"),
        "{e}"
    );
    stop_now(&d, "efi");
    // The firmware wrote its boot entries into the partition's own variables.
    let nvram = d.data_dir().join("nvram/lpar-2.fd");
    let vars = std::fs::read(&nvram).unwrap();
    assert_ne!(
        vars,
        std::fs::read("/usr/share/OVMF/OVMF_VARS_4M.fd").unwrap()
    );
    // They are in the backup, and come back with the partition.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profile.bak");
    let f = file.to_str().unwrap();
    d.ok(&["bkprofdata", "-o", "backup", "-f", f]);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("\"nvram\""));
    d.ok(&["rmvdev", "-vtd", "vtscsi0"]);
    d.ok(&["rmsyscfg", "-r", "lpar", "-n", "efi"]);
    assert!(!nvram.exists(), "the variables went with the partition");
    d.ok(&["rstprofdata", "-l", "1", "-f", f]);
    assert_eq!(std::fs::read(&nvram).unwrap(), vars);
}
