//! An upgrade in place under running partitions, and a refused downgrade: the previous
//! release's binary (`scripts/build-previous-release.sh`, the commit in
//! `packaging/previous-release`) makes partitions and runs one; this tree's binary is started
//! on the same data directory, as installing the new package does. The partition's QEMU is
//! the same process, the guest was not restarted, the store is migrated, DLPAR works on it.
//! The previous release started again on the migrated store refuses to start, naming the
//! schema versions, and leaves the store and the partition as they are.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{define_guest, field, lock, run_pid, state, Console, Daemon};

/// The previous release's binary; its absence fails the test with what to run.
fn previous_release() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/previous-release/ivm");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/build-previous-release.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The store's schema version (`PRAGMA user_version`), read from the file.
fn schema_version(d: &Daemon) -> i64 {
    let db = rusqlite::Connection::open(d.data_dir().join("ivm.db")).unwrap();
    db.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn an_upgrade_in_place_keeps_partitions_running_and_migrates_the_store() {
    let _l = lock();
    let old = previous_release();
    let mut d = Daemon::start_release(&old, "");
    define_guest(
        &d,
        "up1",
        "desired_procs=1,max_procs=2,min_mem=256,desired_mem=256,max_mem=512",
    );
    define_guest(
        &d,
        "up2",
        "desired_procs=1,min_mem=256,desired_mem=256,max_mem=256",
    );
    common::activate(&d, "up1");
    let id = common::lpar_id(&d, "up1");
    let mut con = Console::open(&d, id);
    con.wait_for("IVM-TEST-GUEST READY", Duration::from_secs(90));
    // A mark in the guest's memory (its root is a RAM disk): still there means not rebooted.
    con.send("echo kept > /tmp/mark; echo marked-\"\"before");
    con.wait_for("marked-before", Duration::from_secs(30));
    let (_, mem0) = con.status();
    drop(con);
    let pid = run_pid(&d, id);
    assert!(pid > 0, "up1 runs under the previous release");
    let before = schema_version(&d);

    // The upgrade: the old daemon stops (partitions keep running), the new one starts.
    d.replace_binary(&common::ivm_bin());
    let after = schema_version(&d);
    eprintln!("store schema {before} -> {after}");
    assert!(
        after > before,
        "the store was migrated ({before} -> {after})"
    );
    assert_eq!(state(&d, "up1"), "Running");
    assert_eq!(state(&d, "up2"), "Not Activated");
    assert_eq!(run_pid(&d, id), pid, "the same QEMU process runs up1");
    let mut con = Console::open(&d, id);
    // What is typed is echoed: the answer "mark-kept" is not in the command line as typed.
    con.send("echo mark-$(cat /tmp/mark)");
    con.wait_for("mark-kept", Duration::from_secs(30));
    // DLPAR on the adopted partition (the test guest onlines memory itself: no agent).
    d.ok(&[
        "chhwres",
        "--force",
        "-r",
        "mem",
        "-o",
        "a",
        "--id",
        &id.to_string(),
        "-q",
        "128",
    ]);
    let (_, mem1) = con.status();
    assert_eq!(mem1 - mem0, 128 * 1024, "the guest sees the memory added");
    assert_eq!(
        field(
            &d,
            &[
                "lshwres",
                "-r",
                "mem",
                "--level",
                "lpar",
                "--filter",
                &format!("lpar_ids={id}"),
                "-F",
                "curr_mem",
            ]
        ),
        "384"
    );
    drop(con);

    // A downgrade to the release that cannot read this store: refused, nothing changed.
    d.stop();
    let o = Command::new(&old)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(d.data_dir())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the previous release");
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "the previous release started on a newer store"
    );
    assert!(
        said.contains(&after.to_string()) && said.contains(&before.to_string()),
        "the refusal names both schema versions: {said}"
    );
    assert_eq!(
        schema_version(&d),
        after,
        "the refused start left the store"
    );
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "up1's QEMU runs on"
    );
    d.replace_binary(&common::ivm_bin());
    assert_eq!(run_pid(&d, id), pid);
}
