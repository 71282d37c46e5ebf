//! The sampler on a host in memory: what partitions and the management partition's samples
//! count, without a host or QEMU.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ivm_model::{Partition, UtilSample};

use super::sampler::{Reading, Sampler, UsageHost};

/// The host's busy time (ns) and memory in use (bytes), as a test sets them.
#[derive(Default)]
struct FakeUsage(Mutex<(u64, u64)>);

impl UsageHost for FakeUsage {
    fn busy_cpu_time(&self) -> Option<Duration> {
        Some(Duration::from_nanos(self.0.lock().unwrap().0))
    }
    fn memory_in_use(&self) -> Option<u64> {
        Some(self.0.lock().unwrap().1)
    }
}

const S: u64 = 1_000_000_000;
const GIB: u64 = 1 << 30;

fn partitions() -> Vec<Partition> {
    let sys = crate::service::tests::system();
    let mgmt = ivm_rules::default_management_partition(&sys);
    let mut lp2 = mgmt.clone();
    lp2.lpar_id = 2;
    lp2.name = "lp2".into();
    vec![mgmt, lp2]
}

fn of(samples: &[UtilSample], id: u32) -> Option<&UtilSample> {
    samples.iter().find(|s| s.lpar_id == id)
}

#[test]
fn the_management_partition_is_the_host_less_the_partitions_and_never_goes_back() {
    let host = Arc::new(FakeUsage::default());
    let sampler = Sampler::new(host.clone());
    let parts = partitions();
    let units = ivm_rules::committed_units(&parts[1].procs).0 as u64;

    *host.0.lock().unwrap() = (10 * S, 4 * GIB);
    let first = sampler.take(&parts, 0, |_| Reading::Read {
        cpu_ns: 2 * S,
        resident: GIB,
    });
    let (m, p) = (of(&first, 1).unwrap(), of(&first, 2).unwrap());
    assert_eq!((m.counter_ns, m.mem_resident), (8 * S, 3072));
    assert_eq!((p.counter_ns, p.mem_resident), (2 * S, 1024));
    assert_eq!(
        p.entitled_cycles + p.capped_cycles + p.idle_cycles,
        0,
        "the first sample"
    );

    // One second on: the partition used one second more than the host's reading grew (the
    // two are not read at one instant); the host's share stays where it was.
    *host.0.lock().unwrap() = (10 * S + S / 2, 4 * GIB);
    let second = sampler.take(&parts, 1000, |_| Reading::Read {
        cpu_ns: 3 * S,
        resident: GIB,
    });
    let (m, p) = (of(&second, 1).unwrap(), of(&second, 2).unwrap());
    assert_eq!(m.counter_ns, 8 * S);
    let entitled = S * units / 100;
    assert_eq!(p.entitled_cycles, entitled);
    assert_eq!(p.capped_cycles + p.uncapped_cycles, S, "one second used");
    assert_eq!(p.capped_cycles, S.min(entitled));
}

#[test]
fn a_partition_without_a_counter_has_no_sample_and_a_stopped_one_starts_again() {
    let host = Arc::new(FakeUsage::default());
    let sampler = Sampler::new(host.clone());
    let parts = partitions();
    let read = |ns| {
        move |_| Reading::Read {
            cpu_ns: ns,
            resident: 0,
        }
    };
    sampler.take(&parts, 0, read(S));
    let none = sampler.take(&parts, 1000, |_| Reading::NoCounter);
    assert!(of(&none, 2).is_none() && of(&none, 1).is_some());
    // Still remembered: the next reading counts from the first.
    let later = sampler.take(&parts, 2000, read(2 * S));
    assert_eq!(
        of(&later, 2).unwrap().capped_cycles + of(&later, 2).unwrap().uncapped_cycles,
        S
    );
    // Stopped, then started again (a new QEMU): counters from zero.
    assert!(of(&sampler.take(&parts, 3000, |_| Reading::NotRunning), 2).is_none());
    let again = sampler.take(&parts, 4000, read(S / 10));
    let p = of(&again, 2).unwrap();
    assert_eq!((p.entitled_cycles, p.counter_ns), (0, S / 10));
}
