//! Running partitions: the live handles (QEMU process, QMP, cgroup, CPUs, console lease) and
//! the host operations on them. The runtime carries out what the service decided; it decides
//! nothing itself.

mod accel;

use std::collections::{BTreeSet, HashMap};
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
    /// Something this host lacks.
    #[error("{0}")]
    Unavailable(String),
}

/// What happened to a running partition, for the service to record.
#[derive(Clone, Debug)]
pub enum RuntimeEvent {
    /// A QMP event.
    Qmp {
        /// Partition.
        id: u32,
        /// The event.
        event: Event,
    },
    /// QEMU closed its QMP connection: the process ended.
    Exited {
        /// Partition.
        id: u32,
    },
    /// The OS did not act on an OS shutdown request; the partition keeps running.
    ShutdownDeclined {
        /// Partition.
        id: u32,
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
    /// Host CPUs.
    pub host_cpus: Vec<u32>,
    /// Directory of per-partition runtime directories.
    pub lpar_root: PathBuf,
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
    /// The host CPUs it may run on.
    pub cpus: Mutex<Vec<u32>>,
    /// Activation time, ms since the epoch.
    pub started_ms: i64,
    /// The open virtual terminal session, if any.
    console: Mutex<Option<ConsoleSession>>,
    /// Last CPU-time sample and the utilization measured from the one before.
    pub usage: Mutex<Usage>,
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
        let Some(cpu) = process::cpu_time(self.pid) else {
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
    /// CPU controls.
    pub cpu: CpuControl,
    /// Memory limit, bytes.
    pub mem_limit: u64,
    /// Resume the guest once attached (false: stay in firmware).
    pub resume: bool,
    /// Activation time.
    pub now_ms: i64,
}

/// All running partitions.
pub struct Runtime {
    /// The host.
    pub env: HostEnv,
    live: Mutex<HashMap<u32, Arc<Live>>>,
    events: Mutex<Sender<RuntimeEvent>>,
    /// Serializes activations so two never pick the same CPUs.
    pub activation: Mutex<()>,
}

impl Runtime {
    /// A runtime with nothing running yet; events go to `events`.
    pub fn new(env: HostEnv, events: Sender<RuntimeEvent>) -> Runtime {
        Runtime {
            env,
            live: Mutex::default(),
            events: Mutex::new(events),
            activation: Mutex::new(()),
        }
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

    /// The cgroup of a partition.
    pub fn group(&self, id: u32) -> Result<Group, HostError> {
        Ok(self
            .cgroups()?
            .child(&self.env.cgroup_parent, &format!("lpar{id}")))
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

    /// Host CPUs held by running dedicated partitions.
    pub fn dedicated_cpus(&self) -> BTreeSet<u32> {
        self.all()
            .iter()
            .filter(|l| l.dedicated)
            .flat_map(|l| l.cpus.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// Gives every running shared partition the shared pool's CPUs.
    pub fn set_pool(&self, pool: &[u32]) -> Result<(), HostError> {
        let list = cpulist::format(pool);
        for l in self.all().iter().filter(|l| !l.dedicated) {
            l.group.set_cpus(&list)?;
            *l.cpus.lock().unwrap_or_else(|p| p.into_inner()) = pool.to_vec();
        }
        Ok(())
    }

    fn connect(&self, id: u32, paths: &Paths) -> Result<Qmp, QmpError> {
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
                let _ = tx_close.send(RuntimeEvent::Exited { id });
            },
        )
    }

    /// Starts QEMU for a partition inside its cgroup and attaches QMP. On failure nothing of it
    /// is left on the host.
    pub fn start(&self, plan: StartPlan) -> Result<Arc<Live>, HostError> {
        if which(&self.env.program).is_none() {
            return Err(HostError::Unavailable(format!(
                "{} is not installed; install qemu-system-x86 (scripts/install-deps.sh does)",
                self.env.program
            )));
        }
        let cg = self.cgroups()?;
        cg.parent(&self.env.cgroup_parent)?;
        let paths = plan.spec.paths.clone();
        std::fs::create_dir_all(&paths.dir)
            .map_err(|e| HostError::Unavailable(format!("{}: {e}", paths.dir.display())))?;
        for stale in [paths.qmp(), paths.console(), paths.pidfile()] {
            let _ = std::fs::remove_file(stale);
        }
        let group = self.group(plan.id)?;
        let cleanup = |group: &Group| {
            let _ = group.remove();
        };
        let setup = (|| {
            group.create(&cpulist::format(&plan.cpus))?;
            group.set_cpu(&plan.cpu)?;
            group.set_memory_limit(plan.mem_limit)?;
            Ok::<_, CgroupError>(())
        })();
        if let Err(e) = setup {
            cleanup(&group);
            return Err(e.into());
        }
        let pid = match process::spawn(
            &self.env.program,
            &plan.spec.argv(),
            &group.procs_files(),
            &paths.pidfile(),
        ) {
            Ok(pid) => pid,
            Err(e) => {
                cleanup(&group);
                return Err(e.into());
            }
        };
        let attach = self.connect(plan.id, &paths).and_then(|qmp| {
            if plan.resume {
                vm::cont(&qmp)?;
            }
            Ok(qmp)
        });
        let qmp = match attach {
            Ok(q) => q,
            Err(e) => {
                process::kill(pid, &paths.qmp(), Duration::from_secs(5));
                cleanup(&group);
                return Err(e.into());
            }
        };
        let live = Arc::new(Live {
            id: plan.id,
            pid,
            paths,
            qmp,
            group,
            dedicated: plan.dedicated,
            cpus: Mutex::new(plan.cpus),
            started_ms: plan.now_ms,
            console: Mutex::new(None),
            usage: Mutex::default(),
        });
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(plan.id, live.clone());
        Ok(live)
    }

    /// Finds a partition's QEMU again after ivm restarted: by pidfile, checked against the
    /// process's command line, then QMP. Returns its QEMU run state.
    pub fn adopt(
        &self,
        id: u32,
        dedicated: bool,
        started_ms: i64,
    ) -> Result<(Arc<Live>, String), HostError> {
        let paths = self.paths(id);
        let pid = process::read_pid(&paths.pidfile())
            .filter(|pid| process::is_ours(*pid, &paths.qmp()))
            .ok_or_else(|| HostError::Unavailable(format!("partition {id} has no QEMU process")))?;
        let group = self.group(id)?;
        let cpus =
            cpulist::parse(&group.read("cpuset.cpus").unwrap_or_default()).unwrap_or_default();
        let qmp = self.connect(id, &paths)?;
        let status = vm::status(&qmp)?;
        let live = Arc::new(Live {
            id,
            pid,
            paths,
            qmp,
            group,
            dedicated,
            cpus: Mutex::new(cpus),
            started_ms,
            console: Mutex::new(None),
            usage: Mutex::default(),
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

    /// Forgets a partition whose QEMU ended and removes what it left on the host.
    pub fn reap(&self, id: u32) -> Option<Arc<Live>> {
        let live = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some(l) = &live {
            l.close_console();
            process::wait_gone(l.pid, &l.paths.qmp(), Duration::from_secs(10));
        }
        self.remove_leftovers(id);
        live
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
