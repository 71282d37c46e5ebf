//! ivm's durable configuration: one SQLite database in the data directory.
//!
//! WAL mode with `synchronous=FULL`, so a change is either wholly on disk or not at all. Every
//! change runs in one `BEGIN IMMEDIATE` transaction: the caller reads, decides and writes inside
//! it, so two concurrent requests can never both see the same free capacity.

mod error;
mod media;
mod mempool;
mod migrations;
mod mobility;
mod netdev;
mod partitions;
mod runs;
mod sessions;
mod storage;
mod tasks;
mod tx;
mod users;
mod util;

pub use error::StoreError;
pub use mobility::MobilityRecord;
pub use runs::RunRecord;
pub use sessions::SessionRecord;
pub use storage::DiskState;
pub use tx::{Store, Tx};
pub use users::{ssh_keys_in, UserRecord};
