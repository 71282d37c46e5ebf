//! The service layer: authority, rules, one store transaction, and the task log.

mod accounts;
mod backup;
mod cloudinit;
mod console;
mod cpus;
mod dlpar;
mod error;
mod files;
mod lifecycle;
mod logins;
mod media;
mod mempool;
mod mobility;
mod netdev;
mod network;
mod partitions;
mod pooldriver;
mod rbdpool;
mod rmc;
mod steps;
mod storage;
mod tasks;
mod upload;
mod users;
mod utilization;
mod volumes;
mod wake;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ivm_model::{ManagedSystem, ResourceSummary, Role};
use ivm_store::{Store, StoreError};

use crate::runtime::Runtime;

pub use console::ConsoleLease;
pub use error::{AuthError, ServiceError};
pub use mobility::{valid_migration_id, IncomingOp};
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
    /// ivm itself, for what it does on its own (autostart, restart after shutdown).
    pub fn system() -> Actor {
        Actor {
            user: "ivm".into(),
            role: Role::ViewModify,
            session: None,
        }
    }
}

/// The managed system, its configuration store and its running partitions.
pub struct Service {
    store: Store,
    system: ManagedSystem,
    runtime: Option<Arc<Runtime>>,
    /// Partitions on their way down (clean exits, restarts).
    shutdowns: lifecycle::Shutdowns,
    /// Who holds which host CPUs.
    cpus: cpus::CpuLedger,
    /// The only directory boot files are loaded from.
    boot_dir: std::path::PathBuf,
    /// The data directory (a volume group pool's media repository is mounted in it).
    data_dir: std::path::PathBuf,
    /// Directories file pools may be made in: the data directory's `pools/` and those
    /// `ivm.toml` names (`pool_dirs`).
    pool_roots: Vec<std::path::PathBuf>,
    /// LVM2 volume groups and ext4 on logical volumes, for volume group pools.
    volumes: Arc<dyn volumes::VolumeHost>,
    /// The host's virtual Ethernet (bridges, taps, virtual Ethernet bridges).
    net: network::Network,
    /// Held by the pool and physical volume changes that check in one transaction, act on the
    /// host, and record in another: no two of them interleave between check and record.
    storage_lock: Mutex<()>,
    /// The root of the host's files the service reads (`/etc/passwd`, `/sys`, `/proc`).
    host_root: std::path::PathBuf,
    /// ivm users' Unix login accounts, when ivm keeps them.
    accounts: accounts::Accounts,
    /// Utilization sampling: each partition's last sample, the sampler's wake-up.
    sampler: utilization::Sampler,
    /// Time per activation phase since start, for `/metrics`.
    activation_phases: crate::timing::PhaseStats,
    /// Failed logins by address and user, for the back-off.
    logins: logins::LoginThrottle,
    /// Each partition's JSON at a store version (see `partitions_json`).
    listing_json: Mutex<Option<(i64, PartitionsJson)>>,
    /// Partition mobility's own state (stop requests, incoming migrations' locks).
    mobility: mobility::Mobility,
}

/// Each partition's JSON, in listing order.
type PartitionsJson = Arc<Vec<Vec<u8>>>;

/// An open file QEMU inherits, with its descriptor number there.
type InheritedFile = (std::fs::File, i32);

/// How the task log names a partition: `lpar ID (NAME)`.
fn lpar_target(p: &ivm_model::Partition) -> String {
    format!("lpar {} ({})", p.lpar_id, p.name)
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
        let boot_dir = data_dir.join(crate::config::BOOT_DIR);
        std::fs::create_dir_all(&boot_dir).map_err(|e| {
            ServiceError::Host(crate::runtime::HostError::Io {
                action: "create",
                path: boot_dir.clone(),
                source: e,
            })
        })?;
        let svc = Service {
            store,
            system,
            runtime: None,
            shutdowns: lifecycle::Shutdowns::new(Duration::from_secs(
                crate::config::DEFAULT_SHUTDOWN_DELAY_SECS,
            )),
            cpus: cpus::CpuLedger::default(),
            pool_roots: vec![data_dir.join("pools")],
            net: network::Network::new(Arc::new(network::LinuxNet)),
            volumes: Arc::new(volumes::LinuxVolumes),
            storage_lock: Mutex::default(),
            accounts: accounts::Accounts::new(Arc::new(accounts::LinuxAccounts {
                root: crate::config::HOST_ROOT.into(),
            })),
            host_root: crate::config::HOST_ROOT.into(),
            sampler: utilization::Sampler::new(Arc::new(utilization::LinuxUsage {
                root: crate::config::HOST_ROOT.into(),
            })),
            activation_phases: Default::default(),
            logins: Default::default(),
            mobility: Default::default(),
            listing_json: Mutex::default(),
            boot_dir,
            data_dir: data_dir.to_path_buf(),
        };
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

    /// Keeps a Unix login account (with `shell`) for each ivm user, in step with its password.
    pub fn with_login_shell(mut self, shell: std::path::PathBuf) -> Service {
        self.accounts = self.accounts.with_shell(shell);
        self
    }

    /// Gives the service the host runtime, so partitions can run.
    pub fn with_runtime(mut self, runtime: Arc<Runtime>, shutdown_delay: Duration) -> Service {
        self.runtime = Some(runtime);
        self.shutdowns.delay = shutdown_delay;
        self
    }

    /// Whether `actor` may take an action declared `access` (naming user `target`, if any):
    /// the one authority check, made by the API before a handler runs.
    pub fn may(&self, actor: &Actor, access: ivm_model::Access, target: Option<&str>) -> bool {
        ivm_rules::may(access, Some((&actor.user, actor.role)), target)
    }

    /// Writes a refused change to the task log as failed, attributed to the actor.
    pub fn record_refusal(&self, actor: &Actor, operation: &str, target: &str) {
        let _ = self.logged(actor, operation, target, || {
            Err::<((), String), _>(ServiceError::Forbidden)
        });
    }

    fn runtime(&self) -> Result<&Arc<Runtime>, ServiceError> {
        self.runtime.as_ref().ok_or_else(|| {
            ServiceError::Host(crate::runtime::HostError::Unavailable(
                "partitions cannot run without the daemon".into(),
            ))
        })
    }

    /// Runs `f` on a running partition's QMP with the partition's lock held, so no other change
    /// to its devices interleaves; a partition that does not run has nothing to change on the
    /// host (its devices follow the store at the next activation).
    fn on_running(
        &self,
        id: u32,
        f: impl FnOnce(&ivm_qemu::Qmp) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        let Some(rt) = self.runtime.as_ref() else {
            return Ok(());
        };
        let lock = rt.partition_lock(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        match rt.get(id) {
            Some(live) => f(&live.qmp),
            None => Ok(()),
        }
    }

    /// Takes the storage lock (see `storage_lock`).
    fn storage_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.storage_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the host's files under `root` instead of `/`.
    pub fn with_host_root(mut self, root: &Path) -> Service {
        self.host_root = root.to_path_buf();
        self.accounts = accounts::Accounts::new(Arc::new(accounts::LinuxAccounts {
            root: root.to_path_buf(),
        }));
        self.sampler = utilization::Sampler::new(Arc::new(utilization::LinuxUsage {
            root: root.to_path_buf(),
        }));
        self
    }

    /// Keeps login accounts with `shell` on `host` instead of this host's shadow tools.
    #[cfg(test)]
    pub(crate) fn with_account_host(
        mut self,
        host: Arc<dyn accounts::AccountHost>,
        shell: std::path::PathBuf,
    ) -> Service {
        self.accounts = accounts::Accounts::new(host).with_shell(shell);
        self
    }

    /// Talks to `host` for the network instead of this host's kernel.
    #[cfg(test)]
    pub(crate) fn with_net_host(mut self, host: Arc<dyn network::NetHost>) -> Service {
        self.net = network::Network::new(host);
        self
    }

    /// Talks to `host` for LVM and mounts instead of this host's tools.
    #[cfg(test)]
    pub(crate) fn with_volumes(mut self, host: Arc<dyn volumes::VolumeHost>) -> Service {
        self.volumes = host;
        self
    }

    /// Adds directories file pools may be made in (from `ivm.toml`).
    pub fn with_pool_dirs(mut self, dirs: &[String]) -> Service {
        self.pool_roots
            .extend(dirs.iter().map(std::path::PathBuf::from));
        self
    }

    /// A boot file a user named, resolved inside the boot directory (empty stays empty).
    fn boot_file(&self, attr: &str, given: &str) -> Result<String, ServiceError> {
        if given.is_empty() {
            return Ok(String::new());
        }
        files::confine(&self.boot_dir, attr, given)
    }

    /// The managed system.
    pub fn system(&self) -> &ManagedSystem {
        &self.system
    }

    /// The managed system as the API shows it, with the accelerator in use.
    pub fn system_view(&self) -> Result<ivm_model::SystemView, ServiceError> {
        let mgmt = self.partition(ivm_model::MGMT_PARTITION_ID)?;
        let rt = self.runtime()?;
        Ok(ivm_model::SystemView {
            system: self.system.clone(),
            state: "Operating".into(),
            mgmt_lpar_id: mgmt.lpar_id,
            mgmt_lpar_name: mgmt.name,
            accel: rt.env.accel,
            accel_reason: rt.env.accel_reason.clone(),
            ipaddr: match self.net.primary_ipv4() {
                Ok(ip) => ip.map(|ip| ip.to_string()).unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the host's addresses for ipaddr");
                    String::new()
                }
            },
        })
    }

    /// Sets what runs after every committed change (the events stream's wake-up).
    pub fn on_change(&self, f: impl Fn() + Send + Sync + 'static) {
        self.store.on_commit(f);
    }

    /// Installed, committed and available resources.
    pub fn summary(&self) -> Result<ResourceSummary, ServiceError> {
        let (sys, parts) = self
            .store
            .read(|tx| Ok::<_, ServiceError>((self.system_in(tx)?, tx.partitions()?)))?;
        Ok(ivm_rules::summary(&sys, &parts))
    }

    /// Runs `f` as a logged task in one write transaction, so a refused change leaves
    /// nothing behind.
    fn logged_write<T>(
        &self,
        actor: &Actor,
        operation: &str,
        target: &str,
        f: impl FnOnce(&ivm_store::Tx) -> Result<(T, String), ServiceError>,
    ) -> Result<T, ServiceError> {
        self.logged(actor, operation, target, || self.store.write(f))
    }

    /// Runs `f` as a logged task: the entry opens before and closes after, with the outcome
    /// and the final target (`f` returns it beside its value).
    fn logged<T>(
        &self,
        actor: &Actor,
        operation: &str,
        target: &str,
        f: impl FnOnce() -> Result<(T, String), ServiceError>,
    ) -> Result<T, ServiceError> {
        self.logged_with_progress(actor, operation, target, |_| f())
    }

    /// Runs `f` as a logged task that reports how far it has come (percent) as it goes.
    fn logged_with_progress<T>(
        &self,
        actor: &Actor,
        operation: &str,
        target: &str,
        f: impl FnOnce(&dyn Fn(u8)) -> Result<(T, String), ServiceError>,
    ) -> Result<T, ServiceError> {
        let id = self
            .store
            .write(|tx| tx.begin_task(&actor.user, operation, target, now_ms()))?;
        let report = |percent: u8| {
            // Progress is advice: a failed write of it never fails the task.
            let _ = self.store.write(|tx| tx.set_task_progress(id, percent));
        };
        let out = f(&report);
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
