//! The one reservation path for host CPUs: dedicated partitions' CPUs and the shared pool that
//! is left, changed only under one lock so that an activation and a DLPAR add can never pick
//! the same CPU, and every shared partition's cpuset follows the pool.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use ivm_host::cgroup::CpuControl;

use super::ServiceError;
use crate::runtime::{HostError, Runtime};

/// CPU controls as the rules decide them.
pub(super) fn cpu_control(p: &ivm_model::Partition) -> CpuControl {
    let l = ivm_rules::cpu_limits(&p.procs);
    CpuControl {
        period_us: l.period_us,
        quota_us: l.quota_us,
        weight: l.weight,
        shares: l.shares(),
    }
}

/// What the ledger needs of the host: the CPUs, and cgroups to confine partitions to them.
pub(super) trait CpuHost {
    /// The host CPUs that are online, by number.
    fn host_cpus(&self) -> &[u32];
    /// Creates a partition's cgroup on `cpus`.
    fn create_group(
        &self,
        id: u32,
        cpus: &[u32],
        cpu: &CpuControl,
        mem_limit: u64,
    ) -> Result<(), HostError>;
    /// Confines a partition to `cpus`.
    fn set_cpus(&self, id: u32, cpus: &[u32]) -> Result<(), HostError>;
}

impl CpuHost for Runtime {
    fn host_cpus(&self) -> &[u32] {
        &self.env.host_cpus
    }
    fn create_group(
        &self,
        id: u32,
        cpus: &[u32],
        cpu: &CpuControl,
        mem_limit: u64,
    ) -> Result<(), HostError> {
        Runtime::create_group(self, id, cpus, cpu, mem_limit)
    }
    fn set_cpus(&self, id: u32, cpus: &[u32]) -> Result<(), HostError> {
        Runtime::set_cpus(self, id, cpus)
    }
}

/// Who holds which host CPUs.
#[derive(Default)]
pub(super) struct CpuLedger {
    inner: Mutex<Holders>,
}

#[derive(Default)]
struct Holders {
    /// Dedicated partitions and their CPUs.
    dedicated: BTreeMap<u32, Vec<u32>>,
    /// Shared partitions (cgroups created) that follow the pool.
    shared: BTreeSet<u32>,
}

impl Holders {
    fn taken(&self) -> BTreeSet<u32> {
        self.dedicated.values().flatten().copied().collect()
    }

    fn pool(&self, host: &[u32]) -> Vec<u32> {
        ivm_rules::shared_pool(host, &self.taken())
    }

    /// Gives every shared partition the pool's CPUs.
    fn sync(&self, rt: &dyn CpuHost) -> Result<(), HostError> {
        let pool = self.pool(rt.host_cpus());
        for id in &self.shared {
            rt.set_cpus(*id, &pool)?;
        }
        Ok(())
    }
}

/// How a partition's cgroup is made at activation.
pub(super) struct GroupSpec {
    pub dedicated: bool,
    pub procs: u32,
    pub cpu: CpuControl,
    pub mem_limit: u64,
}

impl CpuLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Holders> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves a starting partition's CPUs and creates its cgroup with them, under the lock:
    /// dedicated CPUs leave the pool, a shared partition takes the pool as it is now and follows
    /// it from then on. Returns the CPUs.
    pub fn join(
        &self,
        rt: &dyn CpuHost,
        id: u32,
        spec: &GroupSpec,
    ) -> Result<Vec<u32>, ServiceError> {
        let mut h = self.lock();
        let cpus = if spec.dedicated {
            let cpus = ivm_rules::pick_dedicated_cpus(rt.host_cpus(), &h.taken(), spec.procs)?;
            h.dedicated.insert(id, cpus.clone());
            cpus
        } else {
            h.shared.insert(id);
            h.pool(rt.host_cpus())
        };
        // The pool shrinks before the dedicated group exists, so no CPU is ever in both.
        let made = (if spec.dedicated { h.sync(rt) } else { Ok(()) })
            .and_then(|()| rt.create_group(id, &cpus, &spec.cpu, spec.mem_limit));
        if let Err(e) = made {
            h.dedicated.remove(&id);
            h.shared.remove(&id);
            let _ = h.sync(rt);
            return Err(e.into());
        }
        Ok(cpus)
    }

    /// Forgets a partition's CPUs (it stopped, or never started) and gives dedicated ones back
    /// to the pool.
    pub fn leave(&self, rt: &dyn CpuHost, id: u32) {
        let mut h = self.lock();
        h.shared.remove(&id);
        if h.dedicated.remove(&id).is_some() {
            if let Err(e) = h.sync(rt) {
                tracing::warn!(lpar = id, error = %e, "cannot give CPUs back to the shared pool");
            }
        }
    }

    /// Records a partition found running after a restart, with the CPUs its cgroup has.
    pub fn adopt(&self, id: u32, dedicated: bool, cpus: Vec<u32>) {
        let mut h = self.lock();
        if dedicated {
            h.dedicated.insert(id, cpus);
        } else {
            h.shared.insert(id);
        }
    }

    /// Makes every shared partition follow the pool (after re-adoption).
    pub fn sync(&self, rt: &dyn CpuHost) -> Result<(), HostError> {
        self.lock().sync(rt)
    }

    /// DLPAR: a dedicated partition takes `count` more CPUs (pool shrinks first, then its
    /// cpuset grows); returns them.
    pub fn grow(&self, rt: &dyn CpuHost, id: u32, count: u32) -> Result<Vec<u32>, ServiceError> {
        let mut h = self.lock();
        let extra = ivm_rules::pick_dedicated_cpus(rt.host_cpus(), &h.taken(), count)?;
        let before = h.dedicated.get(&id).cloned().unwrap_or_default();
        let mut all = before.clone();
        all.extend(&extra);
        all.sort_unstable();
        h.dedicated.insert(id, all.clone());
        let done = h.sync(rt).and_then(|()| rt.set_cpus(id, &all));
        if let Err(e) = done {
            h.dedicated.insert(id, before.clone());
            let _ = rt.set_cpus(id, &before);
            let _ = h.sync(rt);
            return Err(e.into());
        }
        Ok(extra)
    }

    /// DLPAR: a dedicated partition gives `cpus` back (its cpuset shrinks first, then the
    /// pool grows).
    pub fn shrink(&self, rt: &dyn CpuHost, id: u32, cpus: &[u32]) -> Result<(), ServiceError> {
        let mut h = self.lock();
        let before = h.dedicated.get(&id).cloned().unwrap_or_default();
        let after: Vec<u32> = before
            .iter()
            .copied()
            .filter(|c| !cpus.contains(c))
            .collect();
        rt.set_cpus(id, &after)?;
        h.dedicated.insert(id, after);
        if let Err(e) = h.sync(rt) {
            // The pool back as it was (some shared partitions may have grown), then the
            // partition's own CPUs: a failed shrink keeps what it held.
            h.dedicated.insert(id, before.clone());
            let _ = h.sync(rt);
            let _ = rt.set_cpus(id, &before);
            return Err(e.into());
        }
        Ok(())
    }

    /// The dedicated CPUs a partition holds.
    pub fn held(&self, id: u32) -> Vec<u32> {
        self.lock().dedicated.get(&id).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    /// A host of eight CPUs that records each partition's cpuset and checks, at every write,
    /// that no CPU is confined to two dedicated partitions or to a dedicated partition and a
    /// shared one.
    #[derive(Default)]
    struct Recorder {
        sets: Mutex<HashMap<u32, Vec<u32>>>,
        dedicated: Mutex<BTreeSet<u32>>,
        cpus: Vec<u32>,
    }

    impl Recorder {
        fn check(&self) {
            let sets = self.sets.lock().unwrap();
            let ded = self.dedicated.lock().unwrap();
            for (a, ca) in sets.iter().filter(|(id, _)| ded.contains(id)) {
                for (b, cb) in sets.iter().filter(|(id, _)| *id != a) {
                    let shared: Vec<_> = ca.iter().filter(|c| cb.contains(c)).collect();
                    assert!(
                        shared.is_empty(),
                        "lpar {a} and lpar {b} both have {shared:?}"
                    );
                }
            }
        }
    }

    impl CpuHost for Recorder {
        fn host_cpus(&self) -> &[u32] {
            &self.cpus
        }
        fn create_group(
            &self,
            id: u32,
            cpus: &[u32],
            _: &CpuControl,
            _: u64,
        ) -> Result<(), HostError> {
            self.set_cpus(id, cpus)
        }
        fn set_cpus(&self, id: u32, cpus: &[u32]) -> Result<(), HostError> {
            self.sets.lock().unwrap().insert(id, cpus.to_vec());
            // Widen the window in which a second reservation could interleave.
            std::thread::yield_now();
            self.check();
            Ok(())
        }
    }

    fn spec(dedicated: bool, procs: u32) -> GroupSpec {
        GroupSpec {
            dedicated,
            procs,
            cpu: CpuControl {
                period_us: 100_000,
                quota_us: None,
                weight: 100,
                shares: 1024,
            },
            mem_limit: 1 << 30,
        }
    }

    #[test]
    fn activations_and_dlpar_adds_never_share_a_cpu() {
        for round in 0..200 {
            let host = Arc::new(Recorder {
                cpus: (0..8).collect(),
                ..Default::default()
            });
            let ledger = Arc::new(CpuLedger::default());
            host.dedicated.lock().unwrap().extend([2, 3, 4]);
            ledger.join(&*host, 2, &spec(true, 2)).unwrap();
            ledger.join(&*host, 9, &spec(false, 1)).unwrap();
            // Partition 2 grows by 3 while 3 and 4 start with 2 each: 7 CPUs asked of the 7
            // that may be dedicated (one stays in the pool), 2 already held: someone must lose.
            let mut handles = Vec::new();
            for (id, n) in [(3u32, 2u32), (4, 2)] {
                let (h, l) = (host.clone(), ledger.clone());
                handles.push(std::thread::spawn(move || {
                    l.join(&*h, id, &spec(true, n)).is_ok()
                }));
            }
            let (h, l) = (host.clone(), ledger.clone());
            let grow = std::thread::spawn(move || l.grow(&*h, 2, 3).is_ok());
            let wins: Vec<bool> = handles.into_iter().map(|t| t.join().unwrap()).collect();
            let grew = grow.join().unwrap();
            let held: usize = [2, 3, 4].iter().map(|id| ledger.held(*id).len()).sum();
            let expect = 2 + 2 * wins.iter().filter(|w| **w).count() + if grew { 3 } else { 0 };
            assert_eq!(held, expect, "round {round}");
            assert!(held <= 7, "round {round}: {held} dedicated CPUs of 8");
            // The shared partition has exactly the CPUs nobody holds.
            let pool = host.sets.lock().unwrap()[&9].clone();
            assert_eq!(pool.len(), 8 - held, "round {round}");
            host.check();
        }
    }
}
