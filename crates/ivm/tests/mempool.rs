//! The shared memory pool and shared-memory partitions through the commands: the pool
//! committed from the system, logical memory within ivm's limit, paging devices made and
//! removed with their partitions and never used as virtual disks, and every refusal with its
//! reason and nothing changed.

mod common;

use common::Daemon;

/// 8 GiB (region 64 MB, firmware 128 MB), management partition 1024 MB: 7040 MB available.
const SYSTEM: &str = r#"
name = "amstest"
installed_procs = 4
installed_mem = 8192
max_lpars = 20
"#;

fn avail_sys_mem(d: &Daemon) -> u64 {
    d.ok(&[
        "lshwres",
        "-r",
        "mem",
        "--level",
        "sys",
        "-F",
        "curr_avail_sys_mem",
    ])
    .trim()
    .parse()
    .unwrap()
}

/// Everything a refusal must leave as it was.
fn snapshot(d: &Daemon) -> String {
    let pool = d.ivm(&["lshwres", "-r", "mempool"]).stdout;
    format!(
        "{}|{}|{}|{pool}",
        d.ok(&["lssyscfg", "-r", "prof"]),
        d.ok(&["lshwres", "-r", "mem", "--level", "sys"]),
        d.ok(&["lssp", "-bd", "-sp", "rootvg"]),
    )
}

#[test]
fn without_a_pool_shared_memory_and_every_pool_command_but_create_are_refused() {
    let d = Daemon::start(SYSTEM);
    assert_eq!(avail_sys_mem(&d), 7040);
    d.refuses_all(
        &[
            (
                vec![
                    "mksyscfg",
                    "-r",
                    "lpar",
                    "-i",
                    "name=s1,desired_procs=1,mem_mode=shared,desired_mem=512",
                ],
                "no shared memory pool; create one with chhwres -r mempool -o a",
            ),
            (
                vec!["lshwres", "-r", "mempool"],
                "shared memory pool 0 does not exist",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "r"],
                "shared memory pool 0 does not exist",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "s", "-a", "pool_mem=1024"],
                "shared memory pool 0 does not exist",
            ),
            (vec!["chhwres", "-r", "mempool", "-o", "a"], "-o a needs -a"),
            (
                vec!["chhwres", "-r", "mempool", "-o", "a", "-a", "pool_mem=1000"],
                "multiple of 64 MB",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "a", "-a", "pool_mem=7104"],
                "needs 7104 MB more, 7040 MB available",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "a", "-a", "pool_mem=8128"],
                "pool_mem=8128 is out of range",
            ),
            (
                vec![
                    "chhwres",
                    "-r",
                    "mempool",
                    "-o",
                    "a",
                    "-a",
                    "pool_mem=2048,max_pool_mem=1024",
                ],
                "up to max_pool_mem=1024",
            ),
            (
                vec![
                    "chhwres",
                    "-r",
                    "mempool",
                    "-o",
                    "a",
                    "-a",
                    "pool_mem=1024,paging_storage_pool=nosuch",
                ],
                "storage pool nosuch does not exist",
            ),
            (
                vec![
                    "chhwres",
                    "-r",
                    "mempool",
                    "-o",
                    "a",
                    "-a",
                    "pool_mem=1024,colour=red",
                ],
                "invalid attribute was entered: colour",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "x", "-a", "pool_mem=1024"],
                "Valid operations are: a, s, r",
            ),
            (
                vec!["lshwres", "-r", "mempool", "--level", "sys"],
                "takes no --level",
            ),
        ],
        snapshot,
    );
}

/// Makes two shared-memory partitions whose logical memory (3 GB) exceeds the pool (1 GB).
fn add_two_shared_partitions(d: &Daemon) {
    d.ok(&["mksyscfg", "-r", "lpar", "-i",
        "name=s1,desired_procs=1,mem_mode=shared,min_mem=256,desired_mem=1024,max_mem=2048,mem_weight=200"]);
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=s2,desired_procs=1,mem_mode=shared,min_mem=512,desired_mem=2048",
    ]);
}

/// A daemon with a pool of 1 GB (at most 4 GB) and the two partitions of
/// `add_two_shared_partitions`.
fn pool_with_two_partitions() -> Daemon {
    let d = Daemon::start(SYSTEM);
    d.ok(&[
        "chhwres",
        "-r",
        "mempool",
        "-o",
        "a",
        "-a",
        "pool_mem=1024,max_pool_mem=4096",
    ]);
    add_two_shared_partitions(&d);
    d
}

#[test]
fn the_pool_commits_its_memory_and_its_partitions_get_paging_devices() {
    let d = Daemon::start(SYSTEM);
    // The pool commits its memory from the system, like a dedicated partition.
    d.ok(&[
        "chhwres",
        "-r",
        "mempool",
        "-o",
        "a",
        "-a",
        "pool_mem=1024,max_pool_mem=4096",
    ]);
    assert_eq!(avail_sys_mem(&d), 6016);
    assert_eq!(
        d.ok(&["lshwres", "-r", "mempool"]),
        "pool_mem=1024,max_pool_mem=4096,curr_avail_pool_mem=1024,sys_firmware_pool_mem=0,\
         paging_storage_pool=rootvg,curr_logical_mem=0,max_logical_mem=4096\n"
    );
    let e = d.fails(&["chhwres", "-r", "mempool", "-o", "a", "-a", "pool_mem=1024"]);
    assert!(e.contains("exists already"), "{e}");

    // Two shared-memory partitions whose logical memory (3 GB) exceeds the pool (1 GB):
    // neither commits system memory; each gets a paging device of its max_mem.
    add_two_shared_partitions(&d);
    assert_eq!(avail_sys_mem(&d), 6016);
    assert_eq!(
        d.ok(&[
            "lssyscfg",
            "-r",
            "prof",
            "-F",
            "name,mem_mode,min_mem,desired_mem,max_mem,mem_weight"
        ]),
        "amstest,ded,512,1024,8064,\ns1,shared,256,1024,2048,200\ns2,shared,512,2048,2048,128\n"
    );
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mempool",
            "--rsubtype",
            "pgdev",
            "-F",
            "device_name,size,state,lpar_id,lpar_name"
        ]),
        "amspaging02,2048,Inactive,2,s1\namspaging03,2048,Inactive,3,s2\n"
    );
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mempool",
            "-F",
            "curr_logical_mem,max_logical_mem"
        ]),
        "3072,4096\n"
    );
    // lshwres -r mem: the weight for shared memory, nothing for dedicated (not running: no
    // resident or paged memory).
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mem",
            "--level",
            "lpar",
            "-F",
            "lpar_id,mem_mode,curr_mem,curr_mem_weight,phys_run_mem"
        ]),
        "1,ded,1024,,\n2,shared,1024,200,0\n3,shared,2048,128,0\n"
    );
    assert!(!d
        .ok(&[
            "lshwres",
            "-r",
            "mem",
            "--level",
            "lpar",
            "--filter",
            "lpar_ids=1"
        ])
        .contains("mem_weight"));
}

#[test]
fn with_a_pool_what_would_overcommit_it_or_misuse_a_paging_device_is_refused() {
    let d = pool_with_two_partitions();
    // Refused, nothing changed: logical memory beyond 4x the pool, a minimum above the pool,
    // a weight out of range or with dedicated memory, a paging device as a virtual disk (or
    // removed, or grown by hand), the pool removed in use or shrunk below a minimum.
    d.refuses_all(
        &[
            (
                vec![
                    "mksyscfg",
                    "-r",
                    "lpar",
                    "-i",
                    "name=s3,desired_procs=1,mem_mode=shared,min_mem=512,desired_mem=1536",
                ],
                "logical memory in the shared memory pool",
            ),
            (
                vec![
                    "mksyscfg",
                    "-r",
                    "lpar",
                    "-i",
                    "name=s3,desired_procs=1,mem_mode=shared,desired_mem=2048",
                ],
                "min_mem=2048 is out of range: allowed up to 1024 MB",
            ),
            (
                vec![
                    "mksyscfg",
                    "-r",
                    "lpar",
                    "-i",
                    "name=s3,desired_procs=1,mem_mode=shared,desired_mem=256,mem_weight=256",
                ],
                "mem_weight is not valid: a whole number from 0 to 255",
            ),
            (
                vec![
                    "mksyscfg",
                    "-r",
                    "lpar",
                    "-i",
                    "name=s3,desired_procs=1,desired_mem=256,mem_weight=10",
                ],
                "a memory weight applies to mem_mode=shared only",
            ),
            (
                vec!["mkvdev", "-vdev", "amspaging02", "-vadapter", "vhost0"],
                "paging device of partition 2",
            ),
            (
                vec!["rmbdsp", "-bd", "amspaging02"],
                "paging device of partition 2",
            ),
            (
                vec!["chbdsp", "-bd", "amspaging03", "-size", "+64M"],
                "paging device of partition 3",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "r"],
                "in use: partitions s1, s2",
            ),
            (
                vec![
                    "chhwres", "-r", "mem", "-o", "m", "-p", "s1", "-t", "amstest", "-q", "64",
                ],
                "comes from the shared memory pool",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "s", "-a", "pool_mem=448"],
                "the min_mem of partition s2",
            ),
            (
                vec!["chhwres", "-r", "mempool", "-o", "s", "-a", "pool_mem=4160"],
                "up to max_pool_mem=4096",
            ),
            (
                vec![
                    "chhwres",
                    "-r",
                    "mempool",
                    "-o",
                    "s",
                    "-a",
                    "paging_storage_pool=other",
                ],
                "paging storage pool rootvg is in use",
            ),
        ],
        snapshot,
    );
}

#[test]
fn a_grown_pool_takes_memory_and_partitions_change_memory_mode_with_their_paging_devices() {
    let d = pool_with_two_partitions();
    // Growing the pool takes system memory; logical memory may then grow too.
    d.ok(&["chhwres", "-r", "mempool", "-o", "s", "-a", "pool_mem=2048"]);
    assert_eq!(avail_sys_mem(&d), 4992);
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=s3,desired_procs=1,mem_mode=shared,min_mem=512,desired_mem=1536",
    ]);

    // A partition switched to dedicated memory commits it and loses its paging device; back
    // to shared, it gets one again; a larger max_mem gets a larger one.
    d.ok(&["chsyscfg", "-r", "prof", "-i", "name=s1,mem_mode=ded"]);
    assert_eq!(avail_sys_mem(&d), 3968);
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mempool",
            "--rsubtype",
            "pgdev",
            "-F",
            "device_name"
        ]),
        "amspaging03\namspaging04\n"
    );
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "name=s1,mem_mode=shared,max_mem=3072",
    ]);
    assert_eq!(avail_sys_mem(&d), 4992);
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mempool",
            "--rsubtype",
            "pgdev",
            "--filter",
            "lpar_names=s1",
            "-F",
            "device_name,size"
        ]),
        "amspaging02,3072\n"
    );
}

#[test]
fn deleting_the_partitions_removes_their_paging_devices_and_then_the_pool() {
    let d = pool_with_two_partitions();
    // Deleting the partitions removes their paging devices; then the pool can go, and its
    // memory comes back to the system.
    for name in ["s1", "s2"] {
        d.ok(&["rmsyscfg", "-r", "lpar", "-n", name]);
    }
    assert_eq!(
        d.ivm(&["lssp", "-bd", "-sp", "rootvg", "-field", "name", "-fmt", ","])
            .stdout,
        ""
    );
    d.ok(&["chhwres", "-r", "mempool", "-o", "r"]);
    assert_eq!(avail_sys_mem(&d), 7040);
}

#[test]
fn the_pool_goes_into_backups_and_comes_back_with_its_paging_devices() {
    let d = Daemon::start(SYSTEM);
    d.ok(&[
        "chhwres",
        "-r",
        "mempool",
        "-o",
        "a",
        "-a",
        "pool_mem=1024,max_pool_mem=2048",
    ]);
    d.ok(&["mksyscfg", "-r", "lpar", "-i",
        "name=s1,desired_procs=1,mem_mode=shared,min_mem=256,desired_mem=1024,max_mem=2048,mem_weight=200"]);
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=d1,desired_procs=1,desired_mem=512",
    ]);
    let profiles = d.ok(&["lssyscfg", "-r", "prof"]);
    let pool = d.ok(&["lshwres", "-r", "mempool"]);
    let pgdev = d.ok(&["lshwres", "-r", "mempool", "--rsubtype", "pgdev"]);
    let avail = avail_sys_mem(&d);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profile.bak");
    let f = file.to_str().unwrap();
    d.ok(&["bkprofdata", "-o", "backup", "-f", f]);

    // Clearing takes the pool and the paging devices with the partitions.
    d.ok(&["lpcfgop", "-o", "clear", "--force"]);
    assert!(d
        .fails(&["lshwres", "-r", "mempool"])
        .contains("does not exist"));
    assert!(!d
        .ok(&["lssp", "-bd", "-sp", "rootvg"])
        .contains("amspaging"));
    assert_eq!(avail_sys_mem(&d), 7040);

    // Restored: the pool first, then its partitions, each with its paging device again.
    d.ok(&["rstprofdata", "-l", "1", "-f", f]);
    assert_eq!(d.ok(&["lssyscfg", "-r", "prof"]), profiles);
    assert_eq!(d.ok(&["lshwres", "-r", "mempool"]), pool);
    assert_eq!(
        d.ok(&["lshwres", "-r", "mempool", "--rsubtype", "pgdev"]),
        pgdev
    );
    assert_eq!(avail_sys_mem(&d), avail);

    // A pool this system cannot have (more memory than it has free) refuses the whole restore.
    d.ok(&["lpcfgop", "-o", "clear", "--force"]);
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "lpar_id=1,desired_mem=7552,max_mem=8064",
    ]);
    let e = d.fails(&["rstprofdata", "-l", "1", "-f", f]);
    assert!(
        e.contains("shared memory pool this system cannot have"),
        "{e}"
    );
    assert_eq!(d.ok(&["lssyscfg", "-r", "lpar", "-F", "lpar_id"]), "1\n");
    assert!(d
        .fails(&["lshwres", "-r", "mempool"])
        .contains("does not exist"));
}

/// A loop device over a sparse file, playing a disk attached to the host; detached on drop.
struct LoopDisk {
    dev: String,
}

impl LoopDisk {
    fn new(dir: &std::path::Path, mb: u64) -> LoopDisk {
        let file = dir.join("pgdev.img");
        std::fs::File::create(&file)
            .unwrap()
            .set_len(mb << 20)
            .unwrap();
        let out = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "losetup: {out:?}");
        LoopDisk {
            dev: String::from_utf8(out.stdout).unwrap().trim().to_string(),
        }
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
fn a_free_physical_volume_can_be_a_paging_device() {
    let _l = common::lock();
    let d = Daemon::start(SYSTEM);
    d.ok(&["chhwres", "-r", "mempool", "-o", "a", "-a", "pool_mem=1024"]);
    let before = d
        .ivm(&["lsmemdev", "-r", "avail", "-field", "name", "-fmt", ":"])
        .stdout;
    let _pv = LoopDisk::new(d.data_dir(), 600);
    d.ok(&["cfgdev"]);
    let avail = d.ok(&[
        "lsmemdev", "-r", "avail", "-field", "name", "size", "type", "-fmt", ":",
    ]);
    let line = avail
        .lines()
        .find(|l| !before.contains(l.split(':').next().unwrap()))
        .unwrap_or_else(|| panic!("no new device in {avail}"));
    let hdisk = line.split(':').next().unwrap().to_string();
    assert_eq!(line, format!("{hdisk}:600:phys"));

    // Given to the pool: no longer available, listed unassigned.
    d.ok(&[
        "chhwres",
        "-r",
        "mempool",
        "--rsubtype",
        "pgdev",
        "-o",
        "a",
        "--device",
        &hdisk,
    ]);
    assert!(!d.ivm(&["lsmemdev", "-r", "avail"]).stdout.contains(&hdisk));
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mempool",
            "--rsubtype",
            "pgdev",
            "-F",
            "device_name,size,type,state,lpar_id"
        ]),
        format!("{hdisk},600,phys,Inactive,none\n")
    );
    for (args, why) in [
        (
            vec![
                "chhwres",
                "-r",
                "mempool",
                "--rsubtype",
                "pgdev",
                "-o",
                "a",
                "--device",
                hdisk.as_str(),
            ],
            "is in use",
        ),
        (
            vec![
                "chhwres",
                "-r",
                "mempool",
                "--rsubtype",
                "pgdev",
                "-o",
                "a",
                "--device",
                "hdisk99",
            ],
            "physical volume hdisk99 does not exist",
        ),
        (
            vec!["chhwres", "-r", "mempool", "--rsubtype", "pgdev", "-o", "a"],
            "needs --device",
        ),
    ] {
        let e = d.fails(&args);
        assert!(e.contains(why), "{args:?}: {e}");
    }

    // The first shared-memory partition that fits gets it; the next one an LV of its own.
    common::define_guest(
        &d,
        "s1",
        "desired_procs=1,mem_mode=shared,min_mem=256,desired_mem=512,max_mem=512,virtual_eth_adapters=none",
    );
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=s2,desired_procs=1,mem_mode=shared,min_mem=256,desired_mem=512,max_mem=1024",
    ]);
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mempool",
            "--rsubtype",
            "pgdev",
            "-F",
            "device_name,type,lpar_name"
        ]),
        format!("amspaging03,logical,s2\n{hdisk},phys,s1\n")
    );
    let e = d.fails(&[
        "chhwres",
        "-r",
        "mempool",
        "--rsubtype",
        "pgdev",
        "-o",
        "r",
        "--device",
        &hdisk,
    ]);
    assert!(e.contains("pages for partition 2"), "{e}");

    // The partition runs with its memory on the physical volume.
    let con = common::boot(&d, "s1", 2);
    let pid = std::fs::read_to_string(d.data_dir().join("lpars/2/qemu.pid")).unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{}/cmdline", pid.trim())).unwrap();
    assert!(
        cmdline.contains(&format!("mem-path={}", _pv.dev)),
        "{cmdline}"
    );
    drop(con);
    common::stop_now(&d, "s1");

    // Deleted, the partition gives it back to the pool; taken back, it is available again.
    d.ok(&["rmsyscfg", "-r", "lpar", "-n", "s1"]);
    assert_eq!(
        d.ok(&[
            "lshwres",
            "-r",
            "mempool",
            "--rsubtype",
            "pgdev",
            "--filter",
            "lpar_names=s2",
            "-F",
            "device_name"
        ]),
        "amspaging03\n"
    );
    d.ok(&[
        "chhwres",
        "-r",
        "mempool",
        "--rsubtype",
        "pgdev",
        "-o",
        "r",
        "--device",
        &hdisk,
    ]);
    assert!(d.ok(&["lsmemdev", "-r", "avail"]).contains(&hdisk));
}
