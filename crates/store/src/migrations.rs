//! Versioned schema migrations, tracked in `PRAGMA user_version`.

use rusqlite::Connection;

use crate::StoreError;

/// Each entry moves the schema one version up; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: partitions, users, sessions, task log.
    r#"
    CREATE TABLE partitions (
        lpar_id            INTEGER PRIMARY KEY,
        name               TEXT NOT NULL UNIQUE,
        lpar_env           TEXT NOT NULL,
        state              TEXT NOT NULL,
        ref_code           TEXT NOT NULL DEFAULT '',
        auto_start         INTEGER NOT NULL,
        boot_mode          TEXT NOT NULL,
        os_version         TEXT NOT NULL DEFAULT '',
        max_virtual_slots  INTEGER NOT NULL,
        proc_mode          TEXT NOT NULL,
        min_procs          INTEGER NOT NULL,
        desired_procs      INTEGER NOT NULL,
        max_procs          INTEGER NOT NULL,
        min_proc_units     INTEGER,
        desired_proc_units INTEGER,
        max_proc_units     INTEGER,
        sharing_mode       TEXT NOT NULL,
        uncap_weight       INTEGER NOT NULL,
        mem_mode           TEXT NOT NULL,
        min_mem            INTEGER NOT NULL,
        desired_mem        INTEGER NOT NULL,
        max_mem            INTEGER NOT NULL
    );
    CREATE TABLE users (
        name          TEXT PRIMARY KEY,
        role          TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        token_hash   TEXT PRIMARY KEY,
        user         TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        created_ms   INTEGER NOT NULL,
        last_used_ms INTEGER NOT NULL,
        idle_timeout_ms INTEGER
    );
    CREATE TABLE tasks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        user        TEXT NOT NULL,
        operation   TEXT NOT NULL,
        target      TEXT NOT NULL,
        started_ms  INTEGER NOT NULL,
        finished_ms INTEGER,
        result      TEXT NOT NULL,
        message     TEXT NOT NULL DEFAULT ''
    );
    "#,
    // 2: direct kernel boot settings and the reference code's time.
    r#"
    ALTER TABLE partitions ADD COLUMN boot_kernel TEXT NOT NULL DEFAULT '';
    ALTER TABLE partitions ADD COLUMN boot_initrd TEXT NOT NULL DEFAULT '';
    ALTER TABLE partitions ADD COLUMN boot_args TEXT NOT NULL DEFAULT '';
    ALTER TABLE partitions ADD COLUMN ref_time_ms INTEGER NOT NULL DEFAULT 0;
    "#,
    // 3: what each running partition was started with, and a live change under way (the
    // partition as it was before, kept until the host change is committed or undone).
    r#"
    CREATE TABLE runs (
        lpar_id INTEGER PRIMARY KEY REFERENCES partitions(lpar_id) ON DELETE CASCADE,
        limits  TEXT NOT NULL,
        pending TEXT
    );
    "#,
    // 4: virtual storage. A virtual disk is `creating` or `removing` while its file is being
    // made or deleted, so a daemon that dies half way is cleaned up at the next start.
    r#"
    CREATE TABLE storage_pools (
        name       TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        size_mb    INTEGER NOT NULL,
        path       TEXT NOT NULL,
        thin       INTEGER NOT NULL,
        is_default INTEGER NOT NULL
    );
    CREATE TABLE backing_devices (
        name    TEXT PRIMARY KEY,
        pool    TEXT NOT NULL REFERENCES storage_pools(name),
        size_mb INTEGER NOT NULL,
        state   TEXT NOT NULL DEFAULT 'ready'
    );
    CREATE TABLE vscsi_adapters (
        vhost       INTEGER PRIMARY KEY,
        lpar_id     INTEGER NOT NULL UNIQUE REFERENCES partitions(lpar_id) ON DELETE CASCADE,
        client_slot INTEGER NOT NULL,
        server_slot INTEGER NOT NULL
    );
    CREATE TABLE mappings (
        vtd     TEXT PRIMARY KEY,
        vhost   INTEGER NOT NULL REFERENCES vscsi_adapters(vhost) ON DELETE CASCADE,
        lun     INTEGER NOT NULL,
        backing TEXT NOT NULL UNIQUE,
        kind    TEXT NOT NULL,
        UNIQUE (vhost, lun)
    );
    CREATE TABLE hdisks (
        name    TEXT PRIMARY KEY,
        id      TEXT NOT NULL UNIQUE,
        device  TEXT NOT NULL,
        size_mb INTEGER NOT NULL,
        present INTEGER NOT NULL,
        pvid    TEXT NOT NULL
    );
    CREATE TABLE pool_members (
        hdisk TEXT PRIMARY KEY,
        pool  TEXT NOT NULL REFERENCES storage_pools(name) ON DELETE CASCADE
    );
    INSERT INTO vscsi_adapters (vhost, lpar_id, client_slot, server_slot)
        SELECT ROW_NUMBER() OVER (ORDER BY lpar_id) - 1, lpar_id, 2,
               10 + ROW_NUMBER() OVER (ORDER BY lpar_id)
        FROM partitions WHERE lpar_id > 1;
    "#,
    // 5: the virtual media library (its repository is the backing device VMLibrary_LV),
    // virtual optical devices, and the progress of long tasks.
    r#"
    CREATE TABLE optical_media (
        name    TEXT PRIMARY KEY,
        size_mb INTEGER NOT NULL,
        access  TEXT NOT NULL,
        state   TEXT NOT NULL DEFAULT 'ready'
    );
    CREATE TABLE optical_devices (
        vtd   TEXT PRIMARY KEY,
        vhost INTEGER NOT NULL REFERENCES vscsi_adapters(vhost) ON DELETE CASCADE,
        lun   INTEGER NOT NULL,
        media TEXT REFERENCES optical_media(name) ON UPDATE CASCADE,
        UNIQUE (vhost, lun)
    );
    ALTER TABLE tasks ADD COLUMN progress INTEGER;
    "#,
    // 6: virtual Ethernet adapters and each partition's MAC base.
    r#"
    ALTER TABLE partitions ADD COLUMN mac_base TEXT NOT NULL DEFAULT '';
    CREATE TABLE eth_adapters (
        lpar_id       INTEGER NOT NULL REFERENCES partitions(lpar_id) ON DELETE CASCADE,
        slot_num      INTEGER NOT NULL,
        ieee          INTEGER NOT NULL,
        pvid          INTEGER NOT NULL,
        addl_vlan_ids TEXT NOT NULL,
        trunk         INTEGER NOT NULL,
        required      INTEGER NOT NULL,
        PRIMARY KEY (lpar_id, slot_num)
    );
    "#,
    // 7: Ethernet devices (entN) and the management partition's four virtual Ethernet
    // adapters (slots 3 to 6 on IDs 1 to 4, trunk), which earlier versions did not give it.
    r#"
    CREATE TABLE eth_devices (
        name     TEXT PRIMARY KEY,
        kind     TEXT NOT NULL,
        ifname   TEXT NOT NULL DEFAULT '',
        slot     INTEGER,
        pvid     INTEGER,
        phys     TEXT,
        vadapter TEXT
    );
    WITH s(n) AS (VALUES (3), (4), (5), (6))
    INSERT OR IGNORE INTO eth_adapters (lpar_id, slot_num, ieee, pvid, addl_vlan_ids, trunk, required)
        SELECT 1, n, 0, n - 2, '', 1, 1 FROM s WHERE EXISTS (SELECT 1 FROM partitions WHERE lpar_id = 1);
    "#,
    // 8: each user's password as a crypt(3) hash for its Unix login account.
    r#"
    ALTER TABLE users ADD COLUMN unix_hash TEXT NOT NULL DEFAULT '';
    "#,
    // 9: utilization samples (lslparutil) and how often they are taken (chlparutil).
    r#"
    CREATE TABLE util_config (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        sample_rate  INTEGER NOT NULL,
        max_age_secs INTEGER NOT NULL
    );
    CREATE TABLE util_samples (
        time_ms      INTEGER NOT NULL,
        lpar_id      INTEGER NOT NULL,
        lpar_name    TEXT NOT NULL,
        state        TEXT NOT NULL,
        proc_mode    TEXT NOT NULL,
        units        INTEGER NOT NULL,
        procs        INTEGER NOT NULL,
        sharing_mode TEXT NOT NULL,
        uncap_weight INTEGER NOT NULL,
        mem          INTEGER NOT NULL,
        mem_resident INTEGER NOT NULL,
        entitled     INTEGER NOT NULL,
        capped       INTEGER NOT NULL,
        uncapped     INTEGER NOT NULL,
        idle         INTEGER NOT NULL,
        counter_ns   INTEGER NOT NULL,
        PRIMARY KEY (lpar_id, time_ms)
    );
    CREATE INDEX util_samples_time ON util_samples (time_ms);
    "#,
    // 10: partition state changes, kept with the utilization data (lslparutil's state_change
    // events).
    r#"
    CREATE TABLE util_events (
        time_ms   INTEGER NOT NULL,
        lpar_id   INTEGER NOT NULL,
        lpar_name TEXT NOT NULL,
        state     TEXT NOT NULL
    );
    CREATE INDEX util_events_time ON util_events (time_ms);
    "#,
    // 11: the shared memory pool, each partition's memory weight, and paging devices (backing
    // devices that page for a shared-memory partition, never mapped as virtual disks).
    r#"
    CREATE TABLE mem_pool (
        id                  INTEGER PRIMARY KEY CHECK (id = 1),
        pool_mem            INTEGER NOT NULL,
        max_pool_mem        INTEGER NOT NULL,
        paging_storage_pool TEXT NOT NULL
    );
    ALTER TABLE partitions ADD COLUMN mem_weight INTEGER NOT NULL DEFAULT 128;
    ALTER TABLE backing_devices ADD COLUMN paging_lpar INTEGER;
    "#,
    // 12: physical volumes given to the shared memory pool as paging devices, and the
    // partition each pages for (none while unassigned).
    r#"
    CREATE TABLE paging_pvs (
        name    TEXT PRIMARY KEY,
        lpar_id INTEGER
    );
    "#,
    // 13: each user's SSH public keys, kept by ivm (sshd asks `ivm authorized-keys`), so root
    // never reads or writes a file in a user's home.
    r#"
    CREATE TABLE ssh_keys (
        user     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        key      TEXT NOT NULL,
        PRIMARY KEY (user, position)
    );
    "#,
    // 14: partition migrations this host takes part in (as source or target), with the state
    // a partition goes back to when one is stopped or fails.
    r#"
    CREATE TABLE mobility (
        id          TEXT PRIMARY KEY,
        lpar_id     INTEGER NOT NULL,
        outgoing    INTEGER NOT NULL,
        record      TEXT NOT NULL,
        prior_state TEXT NOT NULL
    );
    "#,
    // 15: Ceph RBD pools: where the pool is (JSON) and its user's key, kept apart so that no
    // listing reads it.
    r#"
    ALTER TABLE storage_pools ADD COLUMN rbd TEXT;
    ALTER TABLE storage_pools ADD COLUMN secret TEXT;
    "#,
    // 16: MAC bases of partitions that moved to another host: they are still in use on the
    // network, so no new partition here is given one.
    r#"
    CREATE TABLE departed_macs (
        mac_base TEXT PRIMARY KEY,
        lpar_name TEXT NOT NULL,
        dest_system TEXT NOT NULL
    );
    "#,
    // 17: the firmware each partition boots with (its UEFI variables are a file beside the
    // store, like its disks).
    r#"
    ALTER TABLE partitions ADD COLUMN boot_firmware TEXT NOT NULL DEFAULT 'bios';
    "#,
    // 18: cloud-init NoCloud seeds, one per partition at most.
    r#"
    CREATE TABLE cloud_init (
        lpar_id        INTEGER PRIMARY KEY,
        hostname       TEXT NOT NULL,
        user_data      TEXT NOT NULL,
        network_config TEXT NOT NULL
    );
    "#,
    // 19: the display adapter each partition has (its screen is served over VNC on a Unix
    // socket beside QMP's).
    r#"
    ALTER TABLE partitions ADD COLUMN display TEXT NOT NULL DEFAULT 'none';
    "#,
];

/// Brings the schema up to the newest version, one transaction per step.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
