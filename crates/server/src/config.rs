//! Daemon settings and the managed system as configured.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ivm_host::HostFacts;
use ivm_model::ManagedSystem;
use serde::Deserialize;

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/ivm";
/// The root of the host's files (`/etc/passwd`, `/sys`, `/proc`) as the daemon reads them:
/// the one place it is written; the service and the runtime are given it.
pub const HOST_ROOT: &str = "/";
/// Name of the configuration file in the data directory.
pub const CONFIG_FILE: &str = "ivm.toml";
/// The environment variable that names the configuration file instead.
pub const CONFIG_ENV: &str = "IVM_CONFIG";
/// Name of the database file in the data directory.
pub const DB_FILE: &str = "ivm.db";
/// Name of the Unix socket the commands use.
pub const SOCKET_FILE: &str = "ivm.sock";

/// How `ivm serve` runs.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// Where the database, socket, certificate and partition files live.
    pub data_dir: PathBuf,
    /// HTTPS address.
    pub listen: SocketAddr,
    /// PEM certificate; generated in the data directory when unset.
    pub cert: Option<PathBuf>,
    /// PEM private key; generated in the data directory when unset.
    pub key: Option<PathBuf>,
    /// The IVM commands the restricted shell offers (the binary's subcommands).
    pub commands: Vec<String>,
}

/// Settings from `ivm.toml` in the data directory: overrides for discovered figures (so the
/// rules can be exercised as on a larger machine) and how partitions run.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// System name.
    pub name: Option<String>,
    /// `type-model`.
    pub type_model: Option<String>,
    /// Serial number.
    pub serial_num: Option<String>,
    /// Installed processors.
    pub installed_procs: Option<u32>,
    /// Installed memory in MB.
    pub installed_mem: Option<u64>,
    /// Memory region size in MB.
    pub mem_region_size: Option<u64>,
    /// Hypervisor reserve in MB.
    pub firmware_mem: Option<u64>,
    /// Highest partition ID.
    pub max_lpars: Option<u32>,
    /// Accelerator to use instead of probing: `kvm` or `tcg`.
    pub accel: Option<ivm_model::Accel>,
    /// How long `chsysstate -o shutdown` waits for the OS before stopping the partition.
    pub shutdown_delay_secs: Option<u64>,
    /// One unprivileged Unix account for every partition's QEMU (created when missing);
    /// unset, each partition's QEMU runs as a user and group of its own (`qemu_uid_base`).
    pub qemu_user: Option<String>,
    /// The ID before partition 1's QEMU user and group (partition N runs as base + N); unset,
    /// a range chosen from the data directory.
    pub qemu_uid_base: Option<u32>,
    /// Days of the task log to keep (older finished tasks are pruned).
    pub task_retention_days: Option<u32>,
    /// Size in MB of the default storage pool `rootvg` when ivm creates it as a file pool in
    /// the data directory (default: half the filesystem's free space).
    pub rootvg_size_mb: Option<u64>,
    /// Host directories (besides the data directory's `pools/`) in which `mksp -fb -path`
    /// may make file pools.
    #[serde(default)]
    pub pool_dirs: Vec<String>,
    /// Whether each ivm user has a Unix login account with ivm's restricted shell (the door
    /// for SSH clients; default true).
    pub unix_accounts: Option<bool>,
    /// Whether `oem_setup_env` gives padmin a root shell, as on IVM (default true).
    pub oem_setup_env: Option<bool>,
    /// Seconds between utilization samples, set at start (any number; `chlparutil` takes
    /// IVM's fixed rates).
    pub util_sample_secs: Option<u32>,
    /// The most a running partition's console log (`console.log`) may hold, in KB, before its
    /// newest half is moved to `console.log.1` (default 4096): a guest cannot fill the disk.
    pub console_log_max_kb: Option<u64>,
    /// Seconds between two `auto_start` activations after a host boot (default 0), so that
    /// partitions that depend on others start after them, in ID order.
    pub auto_start_delay_secs: Option<u64>,
}

/// The package's configuration file.
pub const PACKAGE_CONFIG: &str = "/etc/ivm/ivm.toml";

/// Which configuration file applies to `data_dir`, given `$IVM_CONFIG` and whether a file
/// exists.
fn config_path(data_dir: &Path, env: Option<PathBuf>, exists: impl Fn(&Path) -> bool) -> PathBuf {
    if let Some(p) = env.filter(|p| !p.as_os_str().is_empty()) {
        return p;
    }
    let own = data_dir.join(CONFIG_FILE);
    if !exists(&own) && data_dir == Path::new(DEFAULT_DATA_DIR) && exists(Path::new(PACKAGE_CONFIG))
    {
        return PathBuf::from(PACKAGE_CONFIG);
    }
    own
}

/// A console log's bound when `ivm.toml` does not set one, KB.
pub const DEFAULT_CONSOLE_LOG_MAX_KB: u64 = 4096;

/// Where the ranges of partitions' QEMU user IDs start when `ivm.toml` names none.
pub const DEFAULT_QEMU_UID_BASE: u32 = 0x7000_0000;

/// Days of tasks kept when `ivm.toml` does not say.
pub const DEFAULT_TASK_RETENTION_DAYS: u32 = 30;

/// Directory in the data directory that holds the boot files partitions may load.
pub const BOOT_DIR: &str = "boot";

/// How long a delayed shutdown waits when `ivm.toml` does not say.
pub const DEFAULT_SHUTDOWN_DELAY_SECS: u64 = 120;

/// The highest partition ID when the configuration does not set one.
pub const DEFAULT_MAX_LPARS: u32 = 254;

impl Settings {
    /// Reads the configuration: `$IVM_CONFIG` (the package's service sets it), else `ivm.toml`
    /// in the data directory, else for the default data directory the package's
    /// `/etc/ivm/ivm.toml` (so root's commands and a daemon started by hand read what the
    /// service reads). A missing file means no overrides.
    pub fn load(data_dir: &Path) -> anyhow::Result<Settings> {
        let path = config_path(
            data_dir,
            std::env::var_os(CONFIG_ENV).map(PathBuf::from),
            |p| p.exists(),
        );
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .with_context(|| format!("invalid configuration in {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The managed system: discovered facts, overridden where configured, with IVM's defaults
    /// for the region size and the hypervisor reserve.
    pub fn apply(&self, facts: HostFacts) -> anyhow::Result<ManagedSystem> {
        let installed_raw = self.installed_mem.unwrap_or(facts.memory_mb);
        let region = self
            .mem_region_size
            .unwrap_or_else(|| ivm_rules::region_size_for(installed_raw));
        let installed_mem = match self.installed_mem {
            Some(m) => m,
            None => ivm_rules::round_down_to_region(installed_raw, region),
        };
        let sys = ManagedSystem {
            name: self.name.clone().unwrap_or(facts.hostname),
            type_model: self.type_model.clone().unwrap_or(facts.type_model),
            serial_num: self.serial_num.clone().unwrap_or(facts.serial_num),
            installed_procs: self.installed_procs.unwrap_or(facts.processors),
            installed_mem,
            mem_region_size: region,
            firmware_mem: self
                .firmware_mem
                .unwrap_or_else(|| ivm_rules::default_firmware_mem(installed_mem, region)),
            max_lpars: self.max_lpars.unwrap_or(DEFAULT_MAX_LPARS),
            physical_volumes: facts.physical_volumes,
            physical_nics: facts.physical_nics,
            mem_pool: None,
        };
        ivm_rules::validate_system(&sys)
            .context("the managed system's configuration is not valid")?;
        Ok(sys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_the_environments_the_data_directorys_or_the_packages() {
        let var = Path::new("/var/lib/ivm");
        let own = var.join(CONFIG_FILE);
        let env = Some(PathBuf::from("/tmp/x.toml"));
        assert_eq!(config_path(var, env, |_| true), Path::new("/tmp/x.toml"));
        assert_eq!(config_path(var, Some(PathBuf::new()), |_| false), own);
        // The default data directory without its own file: the package's.
        assert_eq!(
            config_path(var, None, |p| p == Path::new(PACKAGE_CONFIG)),
            Path::new(PACKAGE_CONFIG)
        );
        assert_eq!(config_path(var, None, |_| true), own);
        // Any other data directory never reads /etc.
        let tmp = Path::new("/tmp/ivm");
        assert_eq!(config_path(tmp, None, |_| true), tmp.join(CONFIG_FILE));
        assert_eq!(
            config_path(tmp, None, |p| p == Path::new(PACKAGE_CONFIG)),
            tmp.join(CONFIG_FILE)
        );
    }

    fn facts() -> HostFacts {
        HostFacts {
            hostname: "h".into(),
            type_model: "KVM-ABC".into(),
            serial_num: "1234567".into(),
            processors: 2,
            memory_mb: 24100,
            physical_volumes: vec![],
            physical_nics: vec![],
        }
    }

    #[test]
    fn defaults_come_from_the_rules() {
        let sys = Settings::default().apply(facts()).unwrap();
        assert_eq!(sys.mem_region_size, 128);
        assert_eq!(sys.installed_mem, 24064);
        assert_eq!(sys.firmware_mem, 384);
    }

    #[test]
    fn overrides_win_and_are_validated() {
        let o: Settings =
            toml::from_str("installed_procs = 64\ninstalled_mem = 262144\nmax_lpars = 1100")
                .unwrap();
        let sys = o.apply(facts()).unwrap();
        assert_eq!(
            (sys.installed_procs, sys.installed_mem, sys.mem_region_size),
            (64, 262144, 256)
        );
        let bad: Settings = toml::from_str("mem_region_size = 100").unwrap();
        assert!(bad.apply(facts()).is_err());
        assert!(toml::from_str::<Settings>("bogus = 1").is_err());
    }
}
