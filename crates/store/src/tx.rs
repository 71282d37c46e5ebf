//! The store handle and its transactions.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::migrations::migrate;
use crate::StoreError;

/// The configuration database: one connection for writes, one for reads, so that listings
/// never wait behind a change that holds the write transaction (WAL lets them run side by side).
pub struct Store {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// Called after every committed write: watchers learn of a change without polling.
    on_commit: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// The last listing of every partition and the reader's `data_version` it was read at.
    listing: Mutex<Option<(i64, Arc<Vec<ivm_model::Partition>>)>>,
}

/// One open transaction: every read and write of the store goes through it.
pub struct Tx<'a> {
    pub(crate) tx: rusqlite::Transaction<'a>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let connect = || -> Result<Connection, StoreError> {
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            // Another process (`ivm passwd` beside the daemon) may hold the write lock briefly.
            conn.busy_timeout(Duration::from_secs(30))?;
            Ok(conn)
        };
        let mut writer = connect()?;
        migrate(&mut writer)?;
        Ok(Store {
            writer: Mutex::new(writer),
            reader: Mutex::new(connect()?),
            on_commit: std::sync::OnceLock::new(),
            listing: Mutex::default(),
        })
    }

    /// Sets what runs after each committed write (once; later calls are ignored).
    pub fn on_commit(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_commit.set(Box::new(f));
    }

    /// Runs `f` in a write transaction that holds the database's write lock from its start.
    ///
    /// Commits when `f` returns `Ok`; rolls back, leaving nothing written, when it returns `Err`.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let out = {
            // No host driver acts while this thread holds the write lock (see ivm-txguard).
            let _marked = ivm_txguard::enter_write();
            Self::run(&self.writer, TransactionBehavior::Immediate, f)?
        };
        if let Some(notify) = self.on_commit.get() {
            notify();
        }
        Ok(out)
    }

    /// Runs `f` in a read transaction: a consistent snapshot.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        Self::run(&self.reader, TransactionBehavior::Deferred, f)
    }

    /// Every partition, by ID, as `Tx::partitions` reads them, kept until the database
    /// changes. SQLite's `data_version` on the reader connection moves with every commit by any
    /// other connection, this daemon's writer or another process, so a kept listing is never
    /// older than the snapshot it is handed out in; reading 1,000 partitions' rows was a third
    /// of a listing's time in the daemon.
    pub fn partitions(&self) -> Result<Vec<ivm_model::Partition>, StoreError> {
        Ok(self.partitions_at()?.1.to_vec())
    }

    /// The kept listing (see `partitions`) shared, not copied, with the `data_version` it was
    /// read at: a caller may keep what it derives from it for as long as the version stays.
    pub fn partitions_at(&self) -> Result<(i64, Arc<Vec<ivm_model::Partition>>), StoreError> {
        self.read(|tx| {
            // The pragma starts the read transaction, so the version is the snapshot's.
            let version: i64 = tx.tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
            let mut kept = self.listing.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((v, parts)) = &*kept {
                if *v == version {
                    return Ok((version, parts.clone()));
                }
            }
            let parts = Arc::new(tx.partitions()?);
            *kept = Some((version, parts.clone()));
            Ok((version, parts))
        })
    }

    fn run<T, E: From<StoreError>>(
        conn: &Mutex<Connection>,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        // A panic inside another transaction poisons the lock but leaves SQLite consistent
        // (the transaction rolled back on drop), so the connection is still good.
        let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(StoreError::from)?;
        let tx = Tx { tx };
        let out = f(&tx)?;
        tx.tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
