//! The service layer: authority, rules, one store transaction, and the task log.

mod error;
mod partitions;
mod tasks;
mod users;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use ivm_model::{ManagedSystem, ResourceSummary, Role};
use ivm_store::{Store, StoreError};

pub use error::ServiceError;
pub use users::SESSION_IDLE_TIMEOUT_MS;

/// Who is asking: an ivm user and the role it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// ivm user name.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// Hash of the session token the request came with, if any.
    pub session: Option<String>,
}

impl Actor {
    /// Refuses actors whose role may not change configuration.
    pub fn require_modify(&self) -> Result<(), ServiceError> {
        if self.role.can_modify() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }
}

/// The managed system and its configuration store.
pub struct Service {
    store: Store,
    system: ManagedSystem,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Service {
    /// Opens the store in `data_dir` and makes sure the management partition and padmin exist.
    ///
    /// Returns padmin's initial password when this start created padmin.
    pub fn open(
        data_dir: &Path,
        system: ManagedSystem,
    ) -> Result<(Service, Option<String>), ServiceError> {
        let store = Store::open(&data_dir.join(crate::config::DB_FILE))?;
        let svc = Service { store, system };
        let password = svc.bootstrap()?;
        Ok((svc, password))
    }

    fn bootstrap(&self) -> Result<Option<String>, ServiceError> {
        self.store.write(|tx| {
            tx.fail_interrupted_tasks(now_ms())?;
            if tx.partition(ivm_model::MGMT_PARTITION_ID)?.is_none() {
                tx.put_partition(&ivm_rules::default_management_partition(&self.system))?;
            }
            Ok::<_, StoreError>(())
        })?;
        self.ensure_padmin()
    }

    /// The managed system.
    pub fn system(&self) -> &ManagedSystem {
        &self.system
    }

    /// Installed, committed and available resources.
    pub fn summary(&self) -> Result<ResourceSummary, ServiceError> {
        let parts = self.store.read(|tx| tx.partitions())?;
        Ok(ivm_rules::summary(&self.system, &parts))
    }

    /// Runs `f` as a logged task: the entry opens before and closes after, with the outcome.
    /// `f` runs in one write transaction, so a refused change leaves nothing behind.
    fn task<T>(
        &self,
        actor: &Actor,
        operation: &str,
        target: &str,
        f: impl FnOnce(&ivm_store::Tx) -> Result<(T, String), ServiceError>,
    ) -> Result<T, ServiceError> {
        let id = self
            .store
            .write(|tx| tx.begin_task(&actor.user, operation, target, now_ms()))?;
        let out = self.store.write(f);
        let (result, final_target, message) = match &out {
            Ok((_, t)) => (ivm_model::TaskResult::Succeeded, t.clone(), String::new()),
            Err(e) => (
                ivm_model::TaskResult::Failed,
                target.to_string(),
                e.to_string(),
            ),
        };
        self.store
            .write(|tx| tx.finish_task(id, result, &final_target, &message, now_ms()))?;
        out.map(|(v, _)| v)
    }
}
