//! Running partitions: the live handles (QEMU process, QMP, cgroup, CPUs, console lease) and
//! the host operations on them. The runtime carries out what the service decided; it decides
//! nothing itself.

mod accel;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ivm_host::cgroup::{CgroupError, CpuControl, Group, Hierarchy};
use ivm_host::cpulist;
use ivm_model::Accel;
use ivm_qemu::process::{self, ProcessError};
use ivm_qemu::{vm, Event, LaunchSpec, Paths, Qmp, QmpError};

use crate::timing::Laps;

pub use accel::choose as choose_accel;

/// A host operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// cgroups could not be used.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// QEMU could not be started.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// QEMU refused or did not answer.
    #[error(transparent)]
    Qmp(#[from] QmpError),
    /// The guest agent refused or did not answer.
    #[error(transparent)]
    Agent(#[from] ivm_qemu::agent::AgentError),
    /// LVM refused or failed.
    #[error(transparent)]
    Lvm(#[from] ivm_storage::lvm::LvmError),
    /// A filesystem could not be made, mounted or unmounted.
    #[error(transparent)]
    Mount(#[from] ivm_storage::mounts::MountError),
    /// A Ceph RBD pool.
    #[error(transparent)]
    Rbd(#[from] ivm_storage::RbdError),
    /// A pool's or the media library's files.
    #[error(transparent)]
    File(#[from] ivm_storage::FileError),
    /// A partition's UEFI firmware could not be given to it.
    #[error(transparent)]
    Firmware(#[from] ivm_qemu::firmware::FirmwareError),
    /// A cloud-init seed medium could not be made.
    #[error(transparent)]
    Seed(#[from] ivm_storage::seed::SeedError),
    /// An image could not be converted into a disk.
    #[error(transparent)]
    Image(#[from] ivm_storage::image::ImageError),
    /// Bridges, taps, addresses.
    #[error(transparent)]
    Net(#[from] ivm_net::NetError),
    /// Another ivm host could not be reached or refused over SSH.
    #[error(transparent)]
    Ssh(#[from] ivm_host::ssh::SshError),
    /// A file or directory ivm keeps.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A login account could not be made, changed or removed (the tool's own message).
    #[error("cannot {action} the login account of {name}: {message}")]
    Account {
        /// What was being done.
        action: &'static str,
        /// The account.
        name: String,
        /// What the tool said.
        message: String,
    },
    /// A host step did not happen as it must (what, and what to check, in the message).
    #[error("{0}")]
    Failed(String),
    /// Something this host lacks.
    #[error("{0}")]
    Unavailable(String),
    /// A test injected a failure at this step.
    #[error(transparent)]
    Injected(#[from] crate::failpoint::Injected),
}

/// What happened to a running partition, for the service to record.
#[derive(Clone, Debug)]
pub enum RuntimeEvent {
    /// A QMP event.
    Qmp {
        /// Partition.
        id: u32,
        /// What QEMU reported.
        event: Event,
    },
    /// QEMU closed its QMP connection: the process ended.
    Exited {
        /// Partition.
        id: u32,
        /// The QEMU that ended (a restarted partition has a new one).
        pid: u32,
    },
    /// The OS did not act on an OS shutdown request; the partition keeps running.
    ShutdownDeclined {
        /// Partition.
        id: u32,
    },
}

/// Who partitions' QEMU processes run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QemuIdentity {
    /// One account for every partition (`qemu_user` in `ivm.toml`).
    Account(String),
    /// Partition N runs as user and group `base + N`, IDs no account or subordinate range of
    /// the host has: one partition's QEMU cannot signal, trace or read another's.
    Range {
        /// The ID before partition 1's.
        base: u32,
    },
}

/// The host as the runtime uses it.
pub struct HostEnv {
    /// QEMU program.
    pub program: String,
    /// Accelerator for every partition.
    pub accel: Accel,
    /// Why it was chosen.
    pub accel_reason: String,
    /// The cgroup hierarchy, or why there is none.
    pub cgroups: Result<Hierarchy, String>,
    /// This instance's parent cgroup name.
    pub cgroup_parent: String,
    /// The host CPUs that are online, by number.
    pub host_cpus: Vec<u32>,
    /// The root of the host's files (see `config::HOST_ROOT`).
    pub root: PathBuf,
    /// Directory of per-partition runtime directories.
    pub lpar_root: PathBuf,
    /// Who QEMU runs as, or why no one may.
    pub qemu_user: Result<QemuIdentity, String>,
    /// QEMU's asynchronous I/O engine for disks: `io_uring` where the kernel allows it.
    pub aio: &'static str,
    /// What this instance's bridges and taps are named with (from its data directory, so
    /// two instances on one host never share one).
    pub net_prefix: String,
    /// Whether adapters' packets move in the kernel (vhost-net), where it has the device.
    pub vhost_net: bool,
}

/// A running partition's live handles.
pub struct Live {
    /// Partition ID.
    pub id: u32,
    /// QEMU's PID.
    pub pid: u32,
    /// Sockets, log and pidfile.
    pub paths: Paths,
    /// The QMP connection.
    pub qmp: Qmp,
    /// Its cgroup.
    pub group: Group,
    /// Whether its CPUs are dedicated to it.
    pub dedicated: bool,
    /// The memory it booted with, MB (DLPAR plugs above it and balloons below it).
    pub boot_mem_mb: u64,
    /// Whether its dedicated memory has a balloon (room below the boot memory).
    pub balloon: bool,
    /// Held while ivm talks to the guest agent (its socket takes one client at a time).
    pub agent_lock: Mutex<()>,
    /// The guest's address as its agent last reported it, and when it was asked.
    pub rmc_ip: Mutex<Option<(std::time::Instant, Option<String>)>>,
    /// The host CPUs it may run on.
    pub cpus: Mutex<Vec<u32>>,
    /// Activation time, ms since the epoch.
    pub started_ms: i64,
    /// The open virtual terminal session, if any.
    console: Mutex<Option<ConsoleSession>>,
    /// Last CPU-time sample and the utilization measured from the one before.
    pub usage: Mutex<Usage>,
    /// What QEMU last said the guest has, reused by listings while nothing changed.
    pub seen: Mutex<Option<Seen>>,
}

/// What a running partition's QEMU said its guest has, and the QMP change count it was read
/// at (see `Qmp::changes`).
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    /// The connection's change count before the questions were asked.
    pub changes: u64,
    /// When they were asked.
    pub at: std::time::Instant,
    /// Processors present.
    pub procs: u32,
    /// Memory the guest has, MB.
    pub mem: u64,
    /// Whether the guest's agent had its channel open (active) or not.
    pub rmc_state: ivm_model::RmcState,
}

/// A virtual terminal session: its number and the switch that ends it.
struct ConsoleSession {
    id: u64,
    close: tokio::sync::watch::Sender<bool>,
}

static NEXT_CONSOLE_SESSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// CPU use of a partition's QEMU, sampled when its figures are read.
#[derive(Default)]
pub struct Usage {
    last: Option<(std::time::Instant, Duration)>,
    hundredths: u32,
}

impl Live {
    /// CPU time the partition has used: its cgroup's counter, or QEMU's own where the cgroup
    /// has none.
    pub fn cpu_time(&self) -> Option<Duration> {
        self.group
            .cpu_usage()
            .or_else(|| process::cpu_time(self.pid))
    }

    /// Opens the one virtual terminal session: its number and a receiver that turns true when
    /// the session must end; none while another session is open.
    pub fn claim_console(&self) -> Option<(u64, tokio::sync::watch::Receiver<bool>)> {
        let mut c = self.console.lock().unwrap_or_else(|p| p.into_inner());
        if c.is_some() {
            return None;
        }
        let id = NEXT_CONSOLE_SESSION.fetch_add(1, Ordering::Relaxed);
        let (close, closed) = tokio::sync::watch::channel(false);
        *c = Some(ConsoleSession { id, close });
        Some((id, closed))
    }

    /// Ends session `id` if it is still the open one (a newer session is left alone).
    pub fn release_console(&self, id: u64) {
        let mut c = self.console.lock().unwrap_or_else(|p| p.into_inner());
        if c.as_ref().is_some_and(|s| s.id == id) {
            *c = None;
        }
    }

    /// Closes whatever session is open (rmvt, partition stopped); the console is free at once.
    pub fn close_console(&self) {
        if let Some(s) = self
            .console
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = s.close.send(true);
        }
    }

    /// Whether a virtual terminal session is open.
    pub fn console_attached(&self) -> bool {
        self.console
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Processing units used since the previous sample (at least half a second ago), in
    /// hundredths; the last figure when asked again sooner.
    pub fn utilized(&self) -> u32 {
        let mut u = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let Some(cpu) = self.cpu_time() else {
            return u.hundredths;
        };
        match u.last {
            Some((t, c)) if now.duration_since(t) >= Duration::from_millis(500) => {
                let used =
                    cpu.saturating_sub(c).as_secs_f64() / now.duration_since(t).as_secs_f64();
                u.hundredths = (used * 100.0).round() as u32;
                u.last = Some((now, cpu));
            }
            Some(_) => {}
            None => u.last = Some((now, cpu)),
        }
        u.hundredths
    }
}

/// Parameters of one activation, decided by the service.
pub struct StartPlan {
    /// Partition ID.
    pub id: u32,
    /// QEMU's launch parameters.
    pub spec: LaunchSpec,
    /// Host CPUs for the partition.
    pub cpus: Vec<u32>,
    /// Whether those CPUs are dedicated.
    pub dedicated: bool,
    /// Resume the guest once attached (false: stay in firmware).
    pub resume: bool,
    /// Activation time.
    pub now_ms: i64,
    /// Files QEMU inherits, each as the descriptor number beside it (its disks).
    pub files: Vec<(std::fs::File, i32)>,
    /// Shared memory: the logical memory the balloon leaves the guest, MB.
    pub balloon_mb: Option<u64>,
}

/// All running partitions.
pub struct Runtime {
    /// The host.
    pub env: HostEnv,
    live: Mutex<HashMap<u32, Arc<Live>>>,
    events: Mutex<Sender<RuntimeEvent>>,
    /// One lock per partition: its activation, live changes and shutdown take turns.
    locks: Mutex<HashMap<u32, Arc<Mutex<()>>>>,
}

impl Runtime {
    /// A runtime with nothing running yet; events go to `events`.
    pub fn new(env: HostEnv, events: Sender<RuntimeEvent>) -> Runtime {
        Runtime {
            env,
            live: Mutex::default(),
            events: Mutex::new(events),
            locks: Mutex::default(),
        }
    }

    /// Whether the host's cgroups are v2 (a shared-memory partition's share is protected
    /// there, and idle pool memory lent).
    pub fn cgroup_v2(&self) -> Result<bool, HostError> {
        Ok(self.cgroups()?.version() == ivm_host::cgroup::CgroupVersion::V2)
    }

    fn cgroups(&self) -> Result<&Hierarchy, HostError> {
        self.env
            .cgroups
            .as_ref()
            .map_err(|why| HostError::Unavailable(why.clone()))
    }

    /// The runtime directory of a partition.
    pub fn paths(&self, id: u32) -> Paths {
        Paths::new(&self.env.lpar_root.join(id.to_string()))
    }

    /// The cgroup of a partition: under the shared memory pool's when its memory is there.
    pub fn group(&self, id: u32) -> Result<Group, HostError> {
        let cg = self.cgroups()?;
        let name = format!("lpar{id}");
        let pooled = cg.pooled_child(&self.env.cgroup_parent, &name);
        Ok(if pooled.memory_exists() {
            pooled
        } else {
            cg.child(&self.env.cgroup_parent, &name)
        })
    }

    /// Creates the shared memory pool's cgroup, or gives it a new limit.
    pub fn set_mem_pool(&self, limit_bytes: u64) -> Result<(), HostError> {
        let cg = self.cgroups()?;
        cg.parent(&self.env.cgroup_parent)?;
        cg.mem_pool(&self.env.cgroup_parent)
            .create_pool(limit_bytes)?;
        Ok(())
    }

    /// The shared memory pool's cgroup: (limit, usage) in bytes, while it exists.
    pub fn mem_pool_usage(&self) -> Option<(u64, u64)> {
        let g = self.cgroups().ok()?.mem_pool(&self.env.cgroup_parent);
        let limit = g
            .read("memory.limit_in_bytes")
            .or_else(|| g.read("memory.max"))?
            .parse()
            .ok()?;
        Some((limit, g.memory_usage()?))
    }

    /// Removes the shared memory pool's cgroup (it must hold no partition).
    pub fn remove_mem_pool(&self) -> Result<(), HostError> {
        let cg = self.cgroups()?;
        cg.mem_pool(&self.env.cgroup_parent).remove()?;
        Ok(())
    }

    /// Puts a partition that is about to start under the pool: its memory group is made in
    /// the pool's, so [`Runtime::group`] and the group made at activation are the pooled one.
    pub fn place_in_pool(&self, id: u32) -> Result<(), HostError> {
        let g = self
            .cgroups()?
            .pooled_child(&self.env.cgroup_parent, &format!("lpar{id}"));
        g.create_memory()?;
        Ok(())
    }

    /// A running shared-memory partition's hard limit and protected share.
    pub fn set_pool_share(&self, id: u32, limit: u64, low: u64) -> Result<(), HostError> {
        let g = self.group(id)?;
        g.set_memory_limit(limit)?;
        g.set_memory_low(low)?;
        Ok(())
    }

    /// A running partition's handles.
    pub fn get(&self, id: u32) -> Option<Arc<Live>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    /// Every running partition.
    pub fn all(&self) -> Vec<Arc<Live>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The lock that serializes host changes to one partition.
    pub fn partition_lock(&self, id: u32) -> Arc<Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_default()
            .clone()
    }

    /// Confines a partition's QEMU to `cpus` (its cgroup's cpuset), running or being started.
    pub fn set_cpus(&self, id: u32, cpus: &[u32]) -> Result<(), HostError> {
        self.group(id)?.set_cpus(&cpulist::format(cpus))?;
        if let Some(l) = self.get(id) {
            *l.cpus.lock().unwrap_or_else(|p| p.into_inner()) = cpus.to_vec();
        }
        Ok(())
    }

    /// Creates a partition's cgroup with its CPUs, CPU controls and memory limit, ready for
    /// [`Runtime::start`]. On failure nothing of it is left.
    pub fn create_group(
        &self,
        id: u32,
        cpus: &[u32],
        cpu: &CpuControl,
        mem_limit: u64,
    ) -> Result<(), HostError> {
        let cg = self.cgroups()?;
        cg.parent(&self.env.cgroup_parent)?;
        let group = self.group(id)?;
        let setup = (|| {
            group.create(&cpulist::format(cpus))?;
            group.set_cpu(cpu)?;
            group.set_memory_limit(mem_limit)?;
            Ok::<_, CgroupError>(())
        })();
        if let Err(e) = setup {
            let _ = group.remove();
            return Err(e.into());
        }
        Ok(())
    }

    fn connect(&self, id: u32, pid: u32, paths: &Paths) -> Result<Qmp, QmpError> {
        let tx = self
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let tx_close = tx.clone();
        Qmp::connect(
            &paths.qmp(),
            move |event| {
                let _ = tx.send(RuntimeEvent::Qmp { id, event });
            },
            move || {
                let _ = tx_close.send(RuntimeEvent::Exited { id, pid });
            },
        )
    }

    /// Who partition `id`'s QEMU runs as (`-run-with user=`); partitions cannot start without
    /// one (QEMU never runs as root).
    pub fn qemu_run_as(&self, id: u32) -> Result<String, HostError> {
        match &self.env.qemu_user {
            Ok(QemuIdentity::Account(name)) => Ok(name.clone()),
            Ok(QemuIdentity::Range { base }) => {
                let uid = base + id;
                Ok(format!("{uid}:{uid}"))
            }
            Err(why) => Err(HostError::Unavailable(format!(
                "no unprivileged identity for QEMU ({why}); partitions never run as root"
            ))),
        }
    }

    /// Who `qemu-img` runs as when it converts an image a user gave: the shared account's IDs,
    /// or the ID just below partition 1's, which no partition's QEMU has.
    pub fn converter_identity(&self) -> Result<ivm_storage::image::Sandbox, HostError> {
        match &self.env.qemu_user {
            Ok(QemuIdentity::Account(name)) => ivm_host::users::ids_of(&self.env.root, name)
                .map(|(uid, gid)| ivm_storage::image::Sandbox { uid, gid })
                .ok_or_else(|| HostError::Unavailable(format!("no Unix account {name}"))),
            Ok(QemuIdentity::Range { base }) => Ok(ivm_storage::image::Sandbox {
                uid: *base,
                gid: *base,
            }),
            Err(why) => Err(HostError::Unavailable(format!(
                "no unprivileged identity for qemu-img ({why}); it never runs as root"
            ))),
        }
    }

    /// Starts QEMU for a partition inside the cgroup [`Runtime::create_group`] made and attaches
    /// QMP. On failure nothing of it is left on the host, the cgroup included.
    pub fn start(&self, plan: StartPlan, laps: &mut Laps) -> Result<Arc<Live>, HostError> {
        let paths = plan.spec.paths.clone();
        let group = self.group(plan.id)?;
        let (pid, qmp) = match self.launch(&group, &plan, laps) {
            Ok(started) => started,
            Err(e) => {
                let _ = group.remove();
                return Err(e);
            }
        };
        let live = Arc::new(Live {
            id: plan.id,
            pid,
            paths,
            qmp,
            group,
            dedicated: plan.dedicated,
            // Shared memory boots with all of max_mem (the balloon sets what is used).
            boot_mem_mb: match plan.spec.shared_mem {
                Some(_) => plan.spec.max_mem_mb,
                None => plan.spec.base_mem_mb,
            },
            balloon: plan.spec.balloon,
            agent_lock: Mutex::default(),
            rmc_ip: Mutex::default(),
            cpus: Mutex::new(plan.cpus),
            started_ms: plan.now_ms,
            console: Mutex::new(None),
            usage: Mutex::default(),
            seen: Mutex::default(),
        });
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(plan.id, live.clone());
        Ok(live)
    }

    /// Prepares the partition's runtime directory, spawns QEMU in `group` and attaches QMP;
    /// a QEMU that started but cannot be attached is killed. The caller removes the group on
    /// failure.
    fn launch(
        &self,
        group: &Group,
        plan: &StartPlan,
        laps: &mut Laps,
    ) -> Result<(u32, Qmp), HostError> {
        let paths = &plan.spec.paths;
        if which(&self.env.program).is_none() {
            return Err(HostError::Unavailable(format!(
                "{} is not installed; install qemu-system-x86 (scripts/install-deps.sh does)",
                self.env.program
            )));
        }
        std::fs::create_dir_all(&paths.dir)
            .map_err(|e| HostError::Unavailable(format!("{}: {e}", paths.dir.display())))?;
        for stale in [paths.qmp(), paths.console(), paths.pidfile()] {
            let _ = std::fs::remove_file(stale);
        }
        // QEMU's -daemonize sets umask 027 before it opens the console log: create the log
        // first, private, and QEMU appends to it.
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(paths.console_log())
                .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o600)))
                .map_err(|e| {
                    HostError::Unavailable(format!("{}: {e}", paths.console_log().display()))
                })?;
        }
        crate::failpoint::hit("start.spawn")?;
        laps.lap("prepare");
        let fds: Vec<(i32, i32)> = plan
            .files
            .iter()
            .map(|(f, n)| (std::os::unix::io::AsRawFd::as_raw_fd(f), *n))
            .collect();
        let pid = process::spawn(
            &self.env.program,
            &plan.spec.argv(),
            &group.procs_files(),
            &paths.pidfile(),
            &fds,
            plan.spec.committed_ram_bytes(),
        )?;
        laps.lap("spawn");
        let attach = self.connect(plan.id, pid, paths).and_then(|qmp| {
            laps.lap("qmp");
            if let Some(mb) = plan.balloon_mb {
                vm::set_balloon(&qmp, mb)?;
            }
            if plan.resume {
                vm::cont(&qmp)?;
                laps.lap("resume");
            }
            Ok(qmp)
        });
        match attach {
            Ok(qmp) => Ok((pid, qmp)),
            Err(e) => {
                process::kill(pid, &paths.qmp(), Duration::from_secs(5));
                Err(e.into())
            }
        }
    }

    /// Finds a partition's QEMU again after ivm restarted: by pidfile, checked against the
    /// process's command line, then QMP. Returns its QEMU run state.
    pub fn adopt(
        &self,
        id: u32,
        dedicated: bool,
        shared: bool,
        started_ms: i64,
    ) -> Result<(Arc<Live>, vm::RunStatus), HostError> {
        let paths = self.paths(id);
        let pid = process::read_pid(&paths.pidfile())
            .filter(|pid| process::is_ours(*pid, &paths.qmp()))
            .ok_or_else(|| HostError::Unavailable(format!("partition {id} has no QEMU process")))?;
        let group = self.group(id)?;
        let cpus =
            cpulist::parse(&group.read("cpuset.cpus").unwrap_or_default()).unwrap_or_default();
        // QEMU takes one QMP client at a time and may not yet have seen the old daemon's
        // connection close: try again for a while before giving up on it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let qmp = loop {
            match self.connect(id, pid, &paths) {
                Ok(q) => break q,
                Err(e) if std::time::Instant::now() < deadline => {
                    tracing::debug!(lpar = id, error = %e, "QMP not ready; retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
        };
        let status = vm::status(&qmp)?;
        // Asked of QEMU, not remembered: a QEMU started by an older ivm booted with its
        // minimum memory and has no balloon, and keeps working as it was started.
        let boot_mem_mb = vm::boot_mem_mb(&qmp)?;
        let balloon = !shared && vm::has_balloon(&qmp)?;
        let live = Arc::new(Live {
            id,
            pid,
            paths,
            qmp,
            group,
            dedicated,
            boot_mem_mb,
            balloon,
            agent_lock: Mutex::default(),
            rmc_ip: Mutex::default(),
            cpus: Mutex::new(cpus),
            started_ms,
            console: Mutex::new(None),
            usage: Mutex::default(),
            seen: Mutex::default(),
        });
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, live.clone());
        Ok((live, status))
    }

    /// Reports that a partition's OS declined a shutdown request.
    pub fn note_declined_shutdown(&self, id: u32) -> Result<(), HostError> {
        let tx = self
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        tx.send(RuntimeEvent::ShutdownDeclined { id })
            .map_err(|_| HostError::Unavailable("event loop stopped".into()))
    }

    /// Forgets a partition whose QEMU (`pid`) ended and removes what it left on the host;
    /// `None` when that QEMU was reaped already.
    pub fn reap(&self, id: u32, pid: u32) -> Option<Arc<Live>> {
        let live = {
            let mut map = self.live.lock().unwrap_or_else(|p| p.into_inner());
            if map.get(&id).is_none_or(|l| l.pid != pid) {
                return None;
            }
            map.remove(&id)
        };
        if let Some(l) = &live {
            l.close_console();
            process::wait_gone(l.pid, &l.paths.qmp(), Duration::from_secs(10));
        }
        self.remove_leftovers(id);
        live
    }

    /// Stops a partition's QEMU that ivm could not attach to, so that nothing runs which the
    /// store does not know; true when one was stopped.
    pub fn kill_unattached(&self, id: u32) -> bool {
        let paths = self.paths(id);
        match process::read_pid(&paths.pidfile()).filter(|p| process::is_ours(*p, &paths.qmp())) {
            Some(pid) => process::kill(pid, &paths.qmp(), Duration::from_secs(10)),
            None => false,
        }
    }

    /// Removes a partition's cgroup and sockets when no QEMU runs for it.
    pub fn remove_leftovers(&self, id: u32) {
        if let Ok(g) = self.group(id) {
            if let Err(e) = g.remove() {
                tracing::warn!(lpar = id, error = %e, "cannot remove cgroup");
            }
        }
        let paths = self.paths(id);
        for f in [paths.qmp(), paths.console(), paths.pidfile()] {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// The full path of a program on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}
