//! Shared-memory partitions on a real host: the pool is a memory cgroup, each partition's
//! guest memory is its paging device mapped shared, and a balloon sets its logical memory.
//! Two partitions whose logical memory (1 GB) exceeds the pool (256 MB) both run; a memory hog
//! in one pages to its own device while the other keeps its weighted share; memory the hog's
//! guest frees returns to the pool; logical memory changes live.

mod common;

use std::time::Duration;

use common::{boot, define_guest, eventually, lock, stop_now, Daemon};

const CONFIG: &str = "shutdown_delay_secs = 3\n";
const PATTERN: &str = "IVM-HOG-PAGE-DATA";

fn mem_field(d: &Daemon, id: u32, field: &str) -> u64 {
    d.ok(&[
        "lshwres",
        "-r",
        "mem",
        "--level",
        "lpar",
        "--filter",
        &format!("lpar_ids={id}"),
        "-F",
        field,
    ])
    .trim()
    .parse()
    .unwrap()
}

fn pool_avail(d: &Daemon) -> u64 {
    d.ok(&["lshwres", "-r", "mempool", "-F", "curr_avail_pool_mem"])
        .trim()
        .parse()
        .unwrap()
}

/// Megabytes of the hog's pattern on a paging device's disk blocks, read past the page cache.
fn pattern_on_disk_mb(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "dd if={} iflag=direct bs=1M 2>/dev/null | grep -c {PATTERN}",
            path.display()
        ))
        .output()
        .unwrap();
    let lines: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (lines * (PATTERN.len() as u64 + 1)) >> 20
}

/// The bytes of a memory cgroup file of partition `id` (v1 here: the pool's group holds it).
fn cgroup_mb(d: &Daemon, id: u32, file: &str) -> u64 {
    let name = std::fs::read_to_string(d.data_dir().join("cgroup.name")).unwrap();
    let v = common::cgroup_mounts()
        .into_iter()
        .map(|m| {
            m.join(name.trim())
                .join("mempool")
                .join(format!("lpar{id}"))
                .join(file)
        })
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_else(|| panic!("no {file} for lpar{id}"));
    v.trim().parse::<u64>().unwrap() >> 20
}

#[test]
fn a_hog_pages_to_its_own_device_and_the_other_keeps_its_share() {
    let _l = lock();
    let d = Daemon::start(CONFIG);
    d.ok(&["chhwres", "-r", "mempool", "-o", "a", "-a", "pool_mem=256"]);
    // Weights 32 and 224: shares of 32 and 224 MB.
    define_guest(
        &d,
        "hog",
        "desired_procs=1,mem_mode=shared,min_mem=256,desired_mem=512,max_mem=512,mem_weight=32,virtual_eth_adapters=none",
    );
    define_guest(
        &d,
        "calm",
        "desired_procs=1,mem_mode=shared,min_mem=256,desired_mem=512,max_mem=768,mem_weight=224,virtual_eth_adapters=none",
    );
    let mut calm = boot(&d, "calm", 3);
    let mut hog = boot(&d, "hog", 2);
    assert_eq!(
        d.ok(&["lssyscfg", "-r", "lpar", "-F", "name,state"]),
        format!(
            "{},Running\nhog,Running\ncalm,Running\n",
            d.ok(&[
                "lssyscfg",
                "-r",
                "lpar",
                "--filter",
                "lpar_ids=1",
                "-F",
                "name"
            ])
            .trim()
        )
    );
    // Each partition's hard limit: the pool less the other's share (cgroup v1 reserves
    // shares), plus QEMU's overhead (256 MB under TCG).
    let overhead = 256;
    let hog_limit = 32 + overhead;
    assert_eq!(cgroup_mb(&d, 2, "memory.limit_in_bytes"), hog_limit);
    assert_eq!(cgroup_mb(&d, 3, "memory.limit_in_bytes"), 224 + overhead);

    // The calm partition's working set: 100 MB it keeps.
    calm.send("dd if=/dev/zero of=/tmp/ws bs=1M count=100 2>/dev/null; echo WS-\"\"DONE");
    calm.wait_for("WS-DONE", Duration::from_secs(120));
    let calm_before = mem_field(&d, 3, "phys_run_mem");
    assert!(calm_before >= 100, "calm holds {calm_before} MB");

    // The hog writes 250 MB of a pattern: far more than its 32 MB share of the pool.
    hog.send(&format!(
        "yes {PATTERN} | head -c 1048576 > /tmp/p; for i in $(seq 250); do cat /tmp/p; done > /tmp/hog; echo HOG-\"\"DONE"
    ));
    hog.wait_for("HOG-DONE", Duration::from_secs(300));
    // As much as the guest's /tmp took (tmpfs: half its memory).
    hog.send("echo SI\"\"ZE-$(wc -c < /tmp/hog)");
    let size = hog.wait_for("SIZE-", Duration::from_secs(60));
    let hog_mb: u64 = size
        .trim_start_matches("SIZE-")
        .trim()
        .parse::<u64>()
        .unwrap()
        >> 20;
    assert!(hog_mb >= 200, "the hog wrote only {hog_mb} MB");
    let hog_resident = mem_field(&d, 2, "phys_run_mem");
    let calm_after = mem_field(&d, 3, "phys_run_mem");
    let paging = d.data_dir().join("pools/rootvg/amspaging02");
    let on_disk = pattern_on_disk_mb(&paging);
    println!(
        "hog: {hog_mb} MB written, {hog_resident} MB resident, {on_disk} MB of its data on its paging device; \
         calm: {calm_before} MB before, {calm_after} MB after"
    );
    // The hog never held more than its limit (its share and QEMU's overhead), so its data did
    // not all fit: what did not is on its paging device, read from the disk itself.
    assert!(cgroup_mb(&d, 2, "memory.max_usage_in_bytes") <= hog_limit);
    assert!(
        hog_resident < hog_mb,
        "hog holds {hog_resident} MB of the pool"
    );
    assert!(
        on_disk + hog_resident >= hog_mb,
        "{on_disk} MB of the hog's data on its paging device and {hog_resident} MB resident"
    );
    assert_eq!(
        pattern_on_disk_mb(&d.data_dir().join("pools/rootvg/amspaging03")),
        0
    );
    // The calm partition kept its working set in the pool (its share is 224 MB), and its
    // guest still has all of it.
    assert!(
        calm_after + 16 >= calm_before,
        "calm went from {calm_before} to {calm_after} MB"
    );
    // Its working set is still all zeros (cmp reaches the file's end before any difference).
    calm.send("echo CMP-\"\"DONE $(cmp /tmp/ws /dev/zero 2>&1)");
    let cmp = calm.wait_for("CMP-DONE", Duration::from_secs(120));
    assert!(
        cmp.contains("EOF on /tmp/ws") && !cmp.contains("differ"),
        "{cmp}"
    );
    // The hog's data reads back (its first megabyte, long since paged out).
    hog.send(&format!(
        "echo FI\"\"RST-$(head -c 1048576 /tmp/hog | grep -c {PATTERN})"
    ));
    let first = hog.wait_for("FIRST-", Duration::from_secs(120));
    assert_eq!(
        first.trim(),
        format!("FIRST-{}", (1 << 20) / (PATTERN.len() + 1))
    );

    // Memory the hog's guest frees goes back to the pool (free page reporting).
    let (avail_before, hog_before) = (pool_avail(&d), mem_field(&d, 2, "phys_run_mem"));
    hog.send("rm /tmp/hog; echo 3 > /proc/sys/vm/drop_caches; echo FREED-\"\"DONE");
    hog.wait_for("FREED-DONE", Duration::from_secs(60));
    eventually(
        "the hog's freed memory back in the pool",
        Duration::from_secs(60),
        || {
            pool_avail(&d) >= avail_before + 32
                && mem_field(&d, 2, "phys_run_mem") + 32 <= hog_before
        },
    );
    println!(
        "pool available: {avail_before} MB before the hog freed its data, {} MB after; hog resident {hog_before} -> {} MB",
        pool_avail(&d),
        mem_field(&d, 2, "phys_run_mem")
    );

    // Logical memory changes live through the balloon, within min..max.
    d.ok(&["chhwres", "-r", "mem", "-o", "r", "--id", "3", "-q", "256"]);
    eventually("calm's balloon at 256 MB", Duration::from_secs(60), || {
        mem_field(&d, 3, "curr_mem") <= 256 + 8
    });
    let e = d.fails(&["chhwres", "-r", "mem", "-o", "r", "--id", "3", "-q", "64"]);
    assert!(
        e.contains("outside the running partition's range 256 to 768"),
        "{e}"
    );
    // Logical memory may reach 4 times the pool (1024 MB) and no more.
    let e = d.fails(&["chhwres", "-r", "mem", "-o", "a", "--id", "3", "-q", "512"]);
    assert!(
        e.contains("not enough logical memory in the shared memory pool"),
        "{e}"
    );
    d.ok(&["chhwres", "-r", "mem", "-o", "a", "--id", "3", "-q", "256"]);
    eventually("calm's balloon at 512 MB", Duration::from_secs(60), || {
        mem_field(&d, 3, "curr_mem") >= 512 - 8
    });

    // The pool cannot shrink below what the running partitions hold, nor go while used.
    let e = d.fails(&["chhwres", "-r", "mempool", "-o", "s", "-a", "pool_mem=128"]);
    assert!(e.contains("pool_mem=128"), "{e}");
    drop((hog, calm));
    stop_now(&d, "hog");
    stop_now(&d, "calm");
    // Stopped, the partitions leave no cgroup in the pool's.
    let name = std::fs::read_to_string(d.data_dir().join("cgroup.name")).unwrap();
    for m in common::cgroup_mounts() {
        assert!(!m.join(name.trim()).join("mempool/lpar2").exists());
        assert!(!m.join(name.trim()).join("mempool/lpar3").exists());
    }
}

/// On cgroup v2 idle pool memory is lent: each partition may use the whole pool (within its
/// max_mem) and its share is protected as `memory.low`.
#[test]
#[ignore = "needs cgroup v2 with the memory controller (this host has v1)"]
fn on_cgroup_v2_the_pool_is_lent_and_shares_are_protected() {
    let _l = lock();
    let d = Daemon::start(CONFIG);
    d.ok(&["chhwres", "-r", "mempool", "-o", "a", "-a", "pool_mem=256"]);
    for (name, weight) in [("hog", 32), ("calm", 224)] {
        define_guest(
            &d,
            name,
            &format!("desired_procs=1,mem_mode=shared,min_mem=256,desired_mem=512,max_mem=512,mem_weight={weight},virtual_eth_adapters=none"),
        );
    }
    let calm = boot(&d, "calm", 3);
    let mut hog = boot(&d, "hog", 2);
    let overhead = 256;
    assert_eq!(cgroup_mb(&d, 2, "memory.max"), 256 + overhead);
    assert_eq!(cgroup_mb(&d, 3, "memory.max"), 256 + overhead);
    assert_eq!(cgroup_mb(&d, 2, "memory.low"), 32 + overhead);
    assert_eq!(cgroup_mb(&d, 3, "memory.low"), 224 + overhead);
    // With the other idle, the hog holds more of the pool than its share.
    hog.send(&format!(
        "yes {PATTERN} | head -c 1048576 > /tmp/p; for i in $(seq 200); do cat /tmp/p; done > /tmp/hog; echo HOG-\"\"DONE"
    ));
    hog.wait_for("HOG-DONE", Duration::from_secs(300));
    assert!(mem_field(&d, 2, "phys_run_mem") > 32 + 16);
    drop((hog, calm));
    stop_now(&d, "hog");
    stop_now(&d, "calm");
}
