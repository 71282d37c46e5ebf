//! The store against a real SQLite file: round trips, rollback, durability across reopen.

use ivm_model::{
    BootConfig, BootMode, LparEnv, MemConfig, MemMode, Partition, PartitionState, ProcConfig,
    ProcMode, ProcUnits, Role, SharingMode, TaskResult, User,
};
use ivm_store::{SessionRecord, Store, StoreError, UserRecord};

fn partition(id: u32, name: &str) -> Partition {
    Partition {
        lpar_id: id,
        name: name.into(),
        lpar_env: LparEnv::Aixlinux,
        state: PartitionState::NotActivated,
        ref_code: String::new(),
        ref_time_ms: 0,
        auto_start: false,
        boot_mode: BootMode::Normal,
        os_version: String::new(),
        max_virtual_slots: 10,
        procs: ProcConfig {
            proc_mode: ProcMode::Shared,
            min_procs: 1,
            desired_procs: 2,
            max_procs: 4,
            min_proc_units: Some(ProcUnits(10)),
            desired_proc_units: Some(ProcUnits(25)),
            max_proc_units: Some(ProcUnits(400)),
            sharing_mode: SharingMode::Capped,
            uncap_weight: 128,
        },
        mem: MemConfig {
            mem_mode: MemMode::Dedicated,
            min_mem: 256,
            desired_mem: 512,
            max_mem: 1024,
            mem_weight: 128,
        },
        boot: BootConfig {
            boot_kernel: "/k".into(),
            boot_initrd: String::new(),
            boot_args: "console=ttyS0".into(),
            boot_firmware: ivm_model::BootFirmware::Uefi,
            display: ivm_model::DisplayAdapter::VirtioGpu,
        },
        eth: ivm_model::EthConfig {
            virtual_eth_adapters: vec![ivm_model::VirtualEthAdapter {
                slot_num: 3,
                ieee_virtual_eth: false,
                port_vlan_id: 1,
                addl_vlan_ids: vec![],
                is_trunk: false,
                is_required: false,
            }],
            virtual_eth_mac_base_value: format!("02000000{id:02X}"),
        },
        run: None,
    }
}

#[test]
fn partitions_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ivm.db");
    let p = partition(2, "web01");
    {
        let store = Store::open(&path).unwrap();
        store
            .write::<_, StoreError>(|tx| tx.put_partition(&p))
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let got = store.read::<_, StoreError>(|tx| tx.partitions()).unwrap();
    assert_eq!(got, vec![p.clone()]);
    store
        .write::<_, StoreError>(|tx| {
            tx.set_partition_state(2, PartitionState::Running, "C2001000", 42)
        })
        .unwrap();
    let got = store
        .read::<_, StoreError>(|tx| tx.partition(2))
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.state, got.ref_code.as_str()),
        (PartitionState::Running, "C2001000")
    );
    assert!(store
        .write::<_, StoreError>(|tx| tx.delete_partition(2))
        .unwrap());
    assert!(store
        .read::<_, StoreError>(|tx| tx.partition(2))
        .unwrap()
        .is_none());
}

#[test]
fn a_failed_transaction_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ivm.db")).unwrap();
    let r: Result<(), StoreError> = store.write(|tx| {
        tx.put_partition(&partition(2, "a"))?;
        tx.put_partition(&partition(3, "b"))?;
        Err(StoreError::Corrupt("refused".into()))
    });
    assert!(r.is_err());
    assert!(store
        .read::<_, StoreError>(|tx| tx.partitions())
        .unwrap()
        .is_empty());
    // The unique name constraint is a second line of defence behind the rules.
    let r = store.write::<_, StoreError>(|tx| {
        tx.put_partition(&partition(2, "a"))?;
        tx.put_partition(&partition(3, "a"))
    });
    assert!(matches!(r, Err(StoreError::Sqlite(_))));
    assert!(store
        .read::<_, StoreError>(|tx| tx.partitions())
        .unwrap()
        .is_empty());
}

#[test]
fn users_sessions_and_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ivm.db")).unwrap();
    let rec = UserRecord {
        user: User {
            name: "op".into(),
            role: Role::ViewOnly,
        },
        password_hash: "h".into(),
        unix_hash: "$6$s$h".into(),
    };
    store
        .write::<_, StoreError>(|tx| {
            tx.put_user(&rec, 1)?;
            tx.put_session(&SessionRecord {
                token_hash: "t".into(),
                user: "op".into(),
                created_ms: 1,
                last_used_ms: 1,
                idle_timeout_ms: Some(10),
            })
        })
        .unwrap();
    assert_eq!(
        store.read::<_, StoreError>(|tx| tx.user("op")).unwrap(),
        Some(rec)
    );
    assert!(store
        .read::<_, StoreError>(|tx| tx.session("t"))
        .unwrap()
        .is_some());
    // SSH keys, in order, readable from the file by sshd's helper while the store is open.
    let keys = vec![
        "ssh-ed25519 AAAA one".to_string(),
        "ssh-ed25519 BBBB two".into(),
    ];
    store
        .write::<_, StoreError>(|tx| tx.set_ssh_keys("op", &keys))
        .unwrap();
    assert_eq!(
        ivm_store::ssh_keys_in(&dir.path().join("ivm.db"), "op").unwrap(),
        keys
    );
    // Deleting a user ends its sessions and takes its keys.
    store
        .write::<_, StoreError>(|tx| tx.delete_user("op"))
        .unwrap();
    assert!(store
        .read::<_, StoreError>(|tx| tx.session("t"))
        .unwrap()
        .is_none());
    assert!(ivm_store::ssh_keys_in(&dir.path().join("ivm.db"), "op")
        .unwrap()
        .is_empty());

    let id = store
        .write::<_, StoreError>(|tx| tx.begin_task("padmin", "create partition", "a", 5))
        .unwrap();
    let id2 = store
        .write::<_, StoreError>(|tx| tx.begin_task("padmin", "delete partition", "b", 6))
        .unwrap();
    store
        .write::<_, StoreError>(|tx| {
            tx.finish_task(id, TaskResult::Failed, "lpar 2 (a)", "no memory", 7)
        })
        .unwrap();
    assert_eq!(
        store
            .write::<_, StoreError>(|tx| tx.fail_interrupted_tasks(8))
            .unwrap(),
        1
    );
    let tasks = store
        .read::<_, StoreError>(|tx| tx.tasks(10, None))
        .unwrap();
    assert_eq!(
        tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![id2, id]
    );
    assert_eq!(tasks[1].target, "lpar 2 (a)");
    assert_eq!(tasks[1].message, "no memory");
    assert_eq!(tasks[0].result, TaskResult::Failed);
    assert_eq!(
        store
            .read::<_, StoreError>(|tx| tx.tasks(10, Some(id2)))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ivm.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew {
            found: 99,
            known: 19
        })
    ));
}

#[test]
fn run_records_and_pruning() {
    use ivm_model::LaunchLimits;
    use ivm_store::RunRecord;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ivm.db")).unwrap();
    let mgmt = partition(1, "p1");
    let rec = RunRecord {
        lpar_id: 1,
        limits: LaunchLimits {
            max_procs: 2,
            min_mem: 256,
            max_mem: 512,
            vcpu_plugs_left: Some(1),
        },
        pending: Some(mgmt.clone()),
    };
    store
        .write(|tx| {
            tx.put_partition(&mgmt)?;
            tx.put_run(&rec)
        })
        .unwrap();
    assert_eq!(store.read(|tx| tx.run(1)).unwrap(), Some(rec.clone()));
    assert_eq!(store.read(|tx| tx.runs()).unwrap(), vec![rec]);
    // A run record goes with its partition.
    store.write(|tx| tx.delete_partition(1)).unwrap();
    assert_eq!(store.read(|tx| tx.run(1)).unwrap(), None);

    // Finished tasks older than the cutoff go; running ones and newer ones stay.
    let (old, running, new) = store
        .write(|tx| {
            let old = tx.begin_task("padmin", "a", "t", 1_000)?;
            tx.finish_task(old, TaskResult::Succeeded, "t", "", 2_000)?;
            let running = tx.begin_task("padmin", "b", "t", 1_000)?;
            let new = tx.begin_task("padmin", "c", "t", 9_000)?;
            tx.finish_task(new, TaskResult::Succeeded, "t", "", 9_500)?;
            Ok::<_, StoreError>((old, running, new))
        })
        .unwrap();
    assert_eq!(store.write(|tx| tx.prune_tasks(5_000)).unwrap(), 1);
    let ids: Vec<i64> = store
        .read(|tx| tx.tasks(10, None))
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert!(
        !ids.contains(&old) && ids.contains(&running) && ids.contains(&new),
        "{ids:?}"
    );

    // Sessions idle past their timeout go; API tokens (no timeout) stay.
    store
        .write(|tx| {
            tx.put_user(
                &UserRecord {
                    user: User {
                        name: "u1".into(),
                        role: Role::ViewOnly,
                    },
                    password_hash: "x".into(),
                    unix_hash: String::new(),
                },
                0,
            )?;
            for (hash, last, idle) in [
                ("idle", 0, Some(1_000)),
                ("fresh", 9_000, Some(1_000)),
                ("token", 0, None),
            ] {
                tx.put_session(&SessionRecord {
                    token_hash: hash.into(),
                    user: "u1".into(),
                    created_ms: 0,
                    last_used_ms: last,
                    idle_timeout_ms: idle,
                })?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(store.write(|tx| tx.prune_sessions(9_500)).unwrap(), 1);
    for (hash, kept) in [("idle", false), ("fresh", true), ("token", true)] {
        assert_eq!(
            store.read(|tx| tx.session(hash)).unwrap().is_some(),
            kept,
            "{hash}"
        );
    }
}

/// A write transaction marks its thread for its whole length, so host drivers refuse to act
/// inside it; a read does not, and the mark is gone once the write returns (also on failure).
#[test]
fn a_write_transaction_marks_its_thread_against_host_actions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ivm.db")).unwrap();
    assert!(!ivm_txguard::in_write());
    let inside = store
        .write(|_tx| Ok::<_, StoreError>(ivm_txguard::in_write()))
        .unwrap();
    assert!(inside, "the write's closure runs marked");
    let refused = store.write(|_tx| {
        Ok::<_, StoreError>(
            std::panic::catch_unwind(|| ivm_txguard::host_action("test.lvm")).is_err(),
        )
    });
    assert!(
        refused.unwrap(),
        "a driver's entry point refuses inside the write"
    );
    let failed: Result<(), StoreError> =
        store.write(|_tx| Err(StoreError::Corrupt("test failure".into())));
    assert!(failed.is_err());
    assert!(
        !ivm_txguard::in_write(),
        "the mark goes with the transaction"
    );
    let in_read = store
        .read(|_tx| Ok::<_, StoreError>(ivm_txguard::in_write()))
        .unwrap();
    assert!(!in_read, "reads are not marked");
    assert!(ivm_txguard::host_action("test.after").is_ok());
}

#[test]
fn the_kept_listing_follows_every_commit_from_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ivm.db");
    let store = Store::open(&path).unwrap();
    assert!(store.partitions().unwrap().is_empty());
    // This store's own writer.
    store
        .write::<_, StoreError>(|tx| tx.put_partition(&partition(2, "web01")))
        .unwrap();
    assert_eq!(store.partitions().unwrap(), vec![partition(2, "web01")]);
    // Unchanged: the same answer again.
    assert_eq!(store.partitions().unwrap(), vec![partition(2, "web01")]);
    // A refused change commits nothing, and the listing stays.
    assert!(store
        .write::<(), StoreError>(|tx| {
            tx.put_partition(&partition(3, "db01"))?;
            Err(StoreError::Corrupt("refused".into()))
        })
        .is_err());
    assert_eq!(store.partitions().unwrap(), vec![partition(2, "web01")]);
    // Another connection, as another process would write.
    let other = Store::open(&path).unwrap();
    other
        .write::<_, StoreError>(|tx| {
            tx.set_partition_state(2, PartitionState::Running, "C2001000", 42)
        })
        .unwrap();
    let got = store.partitions().unwrap();
    assert_eq!(got[0].state, PartitionState::Running);
    assert_eq!(
        got,
        store.read::<_, StoreError>(|tx| tx.partitions()).unwrap()
    );
    other
        .write::<_, StoreError>(|tx| tx.delete_partition(2))
        .unwrap();
    assert!(store.partitions().unwrap().is_empty());
}
