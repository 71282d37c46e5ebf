//! Store failures.

/// Why the store could not read or write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value that no longer parses.
    #[error("database holds an invalid value: {0}")]
    Corrupt(String),
    /// The database was written by a newer ivm.
    #[error("database schema version {found} was written by a newer ivm; this ivm ({}) reads versions up to {known}: install the newer ivm again (the store is left as it is)", env!("CARGO_PKG_VERSION"))]
    TooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
}
