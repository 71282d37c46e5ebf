//! The component `Sampler`: each partition's last sample (to advance its cycle counters from)
//! and the wake-up of the sampling thread; the host's own busy time and memory through
//! `UsageHost`, so the management partition's share is unit-tested without a host.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ivm_model::{Partition, UtilSample};

use super::super::wake::Wake;

/// The host's CPU time and memory, as the management partition's samples use them.
pub(crate) trait UsageHost: Send + Sync {
    /// The host's busy CPU time since boot, all CPUs.
    fn busy_cpu_time(&self) -> Option<Duration>;
    /// The host's memory in use, bytes.
    fn memory_in_use(&self) -> Option<u64>;
}

/// The host's `/proc/stat` and `/proc/meminfo` below `root`.
pub(crate) struct LinuxUsage {
    /// The root of the host's files.
    pub root: PathBuf,
}

impl UsageHost for LinuxUsage {
    fn busy_cpu_time(&self) -> Option<Duration> {
        ivm_host::usage::busy_cpu_time(&self.root)
    }
    fn memory_in_use(&self) -> Option<u64> {
        ivm_host::usage::memory_in_use(&self.root)
    }
}

/// What a partition's counters read now.
pub(crate) enum Reading {
    /// It does not run: its last sample is forgotten.
    NotRunning,
    /// It runs, but its CPU time cannot be read (no sample: a zero would read as idle).
    NoCounter,
    /// Its CPU time (ns) and resident memory (bytes).
    Read {
        /// CPU time since it started, ns.
        cpu_ns: u64,
        /// Resident memory, bytes.
        resident: u64,
    },
}

/// Utilization sampling's state.
pub(crate) struct Sampler {
    /// Each running partition's last sample: when, and its cycle counters.
    prev: Mutex<HashMap<u32, (i64, ivm_rules::Cycles)>>,
    /// Wakes the sampling thread when the sample rate changes.
    pub wake: Wake,
    host: Arc<dyn UsageHost>,
}

impl Sampler {
    /// A sampler reading the host through `host`.
    pub fn new(host: Arc<dyn UsageHost>) -> Sampler {
        Sampler {
            prev: Mutex::default(),
            wake: Wake::default(),
            host,
        }
    }

    /// One sample at `now` of every partition of `parts` that runs (`read` says what its
    /// counters read), and of the management partition: the host less the partitions, its
    /// counter never going backwards (the two readings are not taken at one instant, and a
    /// smaller counter would read as a restart).
    pub fn take(
        &self,
        parts: &[Partition],
        now: i64,
        read: impl Fn(u32) -> Reading,
    ) -> Vec<UtilSample> {
        let mut prev = self.prev.lock().unwrap_or_else(|e| e.into_inner());
        let mut samples = Vec::new();
        let (mut lpars_ns, mut lpars_resident) = (0u64, 0u64);
        for p in parts.iter().filter(|p| !p.is_management()) {
            match read(p.lpar_id) {
                Reading::NotRunning => {
                    prev.remove(&p.lpar_id);
                }
                Reading::NoCounter => {
                    tracing::warn!(
                        lpar = p.lpar_id,
                        "no CPU time counter; no utilization sample"
                    );
                }
                Reading::Read { cpu_ns, resident } => {
                    lpars_ns += cpu_ns;
                    lpars_resident += resident;
                    samples.push(sample(&mut prev, p, now, cpu_ns, resident >> 20));
                }
            }
        }
        if let (Some(mgmt), Some(busy)) = (
            parts.iter().find(|p| p.is_management()),
            self.host.busy_cpu_time(),
        ) {
            let last = prev.get(&mgmt.lpar_id).map_or(0, |(_, c)| c.counter_ns);
            let counter = (busy.as_nanos() as u64).saturating_sub(lpars_ns).max(last);
            let resident = self
                .host
                .memory_in_use()
                .unwrap_or(0)
                .saturating_sub(lpars_resident);
            samples.push(sample(&mut prev, mgmt, now, counter, resident >> 20));
        }
        samples
    }
}

/// One partition's sample at `now` from its CPU time counter, advancing its cycle counters.
fn sample(
    prev: &mut HashMap<u32, (i64, ivm_rules::Cycles)>,
    p: &Partition,
    now: i64,
    counter: u64,
    resident_mb: u64,
) -> UtilSample {
    let units = ivm_rules::committed_units(&p.procs).0;
    let before = prev.get(&p.lpar_id).copied();
    let elapsed = before.map_or(0, |(t, _)| ((now - t).max(0) as u64) * 1_000_000);
    let c = ivm_rules::next_cycles(before.map(|(_, c)| c), elapsed, counter, units);
    prev.insert(p.lpar_id, (now, c));
    UtilSample {
        time_ms: now,
        event_type: "sample".into(),
        lpar_id: p.lpar_id,
        lpar_name: p.name.clone(),
        state: p.state.to_string(),
        curr_proc_mode: p.procs.proc_mode.to_string(),
        curr_proc_units: ivm_model::ProcUnits(units),
        curr_procs: p.procs.desired_procs,
        curr_sharing_mode: p.procs.sharing_mode.to_string(),
        curr_uncap_weight: u32::from(p.procs.uncap_weight),
        curr_mem: p.mem.desired_mem,
        mem_resident: resident_mb,
        entitled_cycles: c.entitled,
        capped_cycles: c.capped,
        uncapped_cycles: c.uncapped,
        idle_cycles: c.idle,
        counter_ns: c.counter_ns,
    }
}
