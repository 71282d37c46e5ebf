//! Ceph RBD pools on one host: a real single-node Ceph cluster in the test's network
//! namespace, ivm beside it; virtual disks are RBD images that QEMU opens itself.

mod common;

use std::time::Duration;

use common::ceph::Ceph;
use common::hosts::with_input;
use common::{boot, define_guest, lock, Daemon, Netns};

fn mksp(d: &Daemon, mon: &str, pool: &str, key: &str) -> common::Output {
    with_input(
        d,
        &[
            "mksp", "-rbd", "ceph", "-mon", mon, "-rbdpool", pool, "-user", "ivm", "-size", "1G",
        ],
        &format!("{key}\n"),
    )
}

fn free(d: &Daemon) -> u64 {
    d.ok(&["lssp", "-sp", "ceph", "-field", "free", "-fmt", ":"])
        .trim()
        .parse()
        .unwrap()
}

fn vhost_of(d: &Daemon, id: u32) -> String {
    let prefix = format!("0x{id:08x}:");
    d.ok(&["lsmap", "-all", "-field", "clientid", "svsa", "-fmt", ":"])
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .expect("the partition's vhost adapter")
}

#[test]
fn an_rbd_pool_holds_virtual_disks_that_qemu_opens_itself() {
    let _l = lock();
    let ns = Netns::new("rbd");
    let ceph = Ceph::start(&ns.name, "127.0.0.1");
    let mut d = Daemon::start_in("", &ns);

    // Wrong inputs are refused with the reason, and leave no pool behind.
    let wrong_key = "AQDnoRFrNDGmLxAAUOjie4Os+taYeMMeDnumXQ==";
    for (mon, pool, key, says) in [
        ("-oX", "ivm", ceph.key.as_str(), "-mon '-oX' is not valid"),
        (ceph.monitor.as_str(), "-p", ceph.key.as_str(), "rbdpool"),
        (ceph.monitor.as_str(), "ivm", "not a key", "key"),
        (ceph.monitor.as_str(), "ivm", wrong_key, "ceph fsid failed"),
        (
            ceph.monitor.as_str(),
            "nosuch",
            ceph.key.as_str(),
            "rbd ls failed",
        ),
    ] {
        let o = mksp(&d, mon, pool, key);
        assert_ne!(o.code, 0, "{mon} {pool}: {o:?}");
        assert!(o.stderr.contains(says), "{says}: {o:?}");
        assert!(!o.stderr.contains(&ceph.key), "the key was printed: {o:?}");
    }
    assert!(!d.ok(&["lssp"]).contains("ceph"));
    let o = mksp(&d, &ceph.monitor, "ivm", &ceph.key);
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(
        d.ok(&["lssp", "-sp", "ceph", "-field", "type", "size", "free", "-fmt", ":"]),
        "RBDPOOL:1024:1024\n"
    );
    // The key is in no listing.
    assert!(!d
        .ok(&["lssp", "-sp", "ceph", "-field", "path", "-fmt", ":"])
        .contains(&ceph.key));

    define_guest(&d, "rb", "desired_procs=1,desired_mem=256");
    let id = common::lpar_id(&d, "rb");
    let vhost = vhost_of(&d, id);
    d.ok(&[
        "mkbdsp",
        "-sp",
        "ceph",
        "32M",
        "-bd",
        "r1",
        "-vadapter",
        &vhost,
    ]);
    assert_eq!(ceph.images(), vec!["r1".to_string()]);
    // An image another host made in the same Ceph pool counts against it and keeps its name.
    ceph.rbd(&["create", "--size", "100M", "other"]);
    assert_eq!(free(&d), 1024 - 32 - 100);
    let e = d.fails(&["mkbdsp", "-sp", "ceph", "8M", "-bd", "other"]);
    assert!(e.contains("other"), "{e}");
    let e = d.fails(&["mkbdsp", "-sp", "ceph", "1000M", "-bd", "big"]);
    assert!(e.contains("storage"), "{e}");

    // The guest sees the image as its disk; a second one is hot-plugged and unplugged.
    let mut con = boot(&d, "rb", id);
    let cmdline = common::qemu_cmdline(&d, id);
    assert!(
        !cmdline.contains(&ceph.key),
        "the key is on QEMU's command line"
    );
    con.send("echo SIZE-A:$(cat /sys/block/sda/size)");
    con.wait_for("SIZE-A:65536", Duration::from_secs(30));
    con.send(
        "dd if=/dev/urandom of=/dev/sda bs=1M count=4 conv=fsync 2>/dev/null; echo wrote-\"\"a",
    );
    con.wait_for("wrote-a", Duration::from_secs(60));
    d.ok(&[
        "mkbdsp",
        "-sp",
        "ceph",
        "16M",
        "-bd",
        "r2",
        "-vadapter",
        &vhost,
    ]);
    con.send("for i in $(seq 100); do [ -e /sys/block/sdb ] && break; sleep 0.2; done; echo SIZE-B:$(cat /sys/block/sdb/size)");
    con.wait_for("SIZE-B:32768", Duration::from_secs(60));
    d.ok(&["rmvdev", "-vdev", "r2"]);
    d.ok(&["rmbdsp", "-bd", "r2"]);
    let mut images = ceph.images();
    images.sort();
    assert_eq!(images, vec!["other".to_string(), "r1".to_string()]);
    // Growing it grows the image.
    d.ok(&["chbdsp", "-bd", "r1", "-size", "+16M"]);
    assert!(ceph.rbd(&["info", "r1"]).contains("size 48 MiB"));
    drop(con);
    common::stop_now(&d, "rb");

    // After a restart the pool (and its key) is still there and the partition starts again.
    d.restart();
    let mut con = boot(&d, "rb", id);
    con.send("echo SIZE-C:$(cat /sys/block/sda/size)");
    con.wait_for("SIZE-C:98304", Duration::from_secs(30));
    drop(con);
    common::stop_now(&d, "rb");
    d.ok(&["rmsyscfg", "-r", "lpar", "-n", "rb", "--vioscfg", "--vdisk"]);
    assert_eq!(ceph.images(), vec!["other".to_string()]);
    // The pool goes once this host's disks are gone; other hosts' images stay.
    d.ok(&["rmsp", "ceph"]);
    assert_eq!(ceph.images(), vec!["other".to_string()]);
}
