//! Utilization samples (`lslparutil`) and their configuration (`chlparutil`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ProcUnits;

/// One sample of one partition, with IVM's attribute names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UtilSample {
    /// When, ms since the Unix epoch.
    pub time_ms: i64,
    /// `sample`, or `state_change` for a change of state (with the counters of the partition's
    /// last sample before it).
    #[serde(default = "sample_event")]
    pub event_type: String,
    /// Partition ID.
    pub lpar_id: u32,
    /// Partition name then.
    pub lpar_name: String,
    /// Its state then.
    pub state: String,
    /// `ded` or `shared`.
    pub curr_proc_mode: String,
    /// Entitlement in force (dedicated processors as whole units).
    pub curr_proc_units: ProcUnits,
    /// Processors (virtual for shared).
    pub curr_procs: u32,
    /// Sharing mode.
    pub curr_sharing_mode: String,
    /// Uncapped weight.
    pub curr_uncap_weight: u32,
    /// Memory assigned, MB.
    pub curr_mem: u64,
    /// Memory resident on the host, MB (its cgroup's usage).
    pub mem_resident: u64,
    /// Cumulative entitled cycles (1 cycle = 1 ns of CPU time).
    pub entitled_cycles: u64,
    /// Cumulative cycles used within the entitlement.
    pub capped_cycles: u64,
    /// Cumulative cycles used beyond it.
    pub uncapped_cycles: u64,
    /// Cumulative entitled cycles not used.
    pub idle_cycles: u64,
    /// The CPU time counter the cycles were taken from, ns.
    pub counter_ns: u64,
}

fn sample_event() -> String {
    "sample".into()
}

/// How often samples are taken and how long they are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UtilConfig {
    /// Seconds between samples (0: sampling stopped).
    pub sample_rate: u32,
    /// Samples older than this many seconds are removed.
    pub max_age_secs: u64,
}

/// One point of a utilization chart: what was entitled and what was used between a sample and
/// the one before it (a partition's, or the sum over the system's partitions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UtilPoint {
    /// The later sample's time, ms since the Unix epoch.
    pub time_ms: i64,
    /// Processing units entitled in the interval.
    pub entitled_units: f64,
    /// Processing units used on average in the interval (CPU seconds per second).
    pub used_units: f64,
    /// Memory assigned, MB.
    pub curr_mem: u64,
    /// Memory resident on the host, MB.
    pub mem_resident: u64,
}

/// A new sample rate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateChange {
    /// Seconds between samples: 0, 30, 60, 300, 1800, 3600, 7200 or 14400.
    pub sample_rate: u32,
}
