//! Live migration over QMP: the stream on a descriptor ivm hands QEMU (`fd:`), so QEMU opens
//! no socket and reaches no network; ivm carries the stream inside SSH.

use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;

use serde_json::{json, Value};

use crate::{Qmp, QmpError};

/// The name the stream's descriptor gets in QEMU (`getfd`).
const FD_NAME: &str = "migration";

/// The longest pause at the switch-over ivm asks QEMU to keep to, ms. QEMU's default (300) is
/// kept: the guest's clocks and TCP peers ride it out.
pub const DOWNTIME_LIMIT_MS: u64 = 300;

/// What `query-migrate` reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// QEMU's status: `none`, `setup`, `active`, `device`, `completed`, `failed`, `cancelled`...
    pub status: String,
    /// Bytes sent (source) or received (target).
    pub transferred: u64,
    /// Dirty bytes still to send.
    pub remaining: u64,
    /// Memory passes (dirty-sync count).
    pub passes: u64,
    /// Expected pause at the switch-over, ms.
    pub expected_downtime_ms: u64,
    /// The pause it took, ms (once completed).
    pub downtime_ms: u64,
    /// Time from start to end, ms (once completed).
    pub total_ms: u64,
    /// QEMU's reason when it failed.
    pub error: Option<String>,
}

impl Progress {
    /// True when QEMU has finished, one way or the other.
    pub fn ended(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "cancelled")
    }
}

fn hand_over(q: &Qmp, stream: &UnixStream) -> Result<(), QmpError> {
    q.execute_with_fd("getfd", json!({"fdname": FD_NAME}), stream.as_raw_fd())?;
    Ok(())
}

/// Source side: sends the running guest down `stream`. Auto-converge throttles a guest that
/// dirties memory faster than the stream carries it, so precopy ends; post-copy stays off (a
/// fault after the switch would lose the partition).
pub fn start_outgoing(q: &Qmp, stream: &UnixStream) -> Result<(), QmpError> {
    q.execute(
        "migrate-set-capabilities",
        json!({"capabilities": [
            {"capability": "auto-converge", "state": true},
            {"capability": "events", "state": true},
        ]}),
    )?;
    q.execute(
        "migrate-set-parameters",
        json!({"downtime-limit": DOWNTIME_LIMIT_MS, "max-bandwidth": u64::MAX >> 2}),
    )?;
    hand_over(q, stream)?;
    q.execute("migrate", json!({"uri": format!("fd:{FD_NAME}")}))?;
    Ok(())
}

/// Target side: a QEMU started with `-incoming defer` reads the guest from `stream`. It was
/// started with `-S`, so it stays paused when the stream ends until ivm resumes it.
pub fn start_incoming(q: &Qmp, stream: &UnixStream) -> Result<(), QmpError> {
    q.execute(
        "migrate-set-capabilities",
        json!({"capabilities": [{"capability": "events", "state": true}]}),
    )?;
    hand_over(q, stream)?;
    q.execute("migrate-incoming", json!({"uri": format!("fd:{FD_NAME}")}))?;
    Ok(())
}

/// Where the migration stands.
pub fn progress(q: &Qmp) -> Result<Progress, QmpError> {
    let v = q.execute("query-migrate", Value::Null)?;
    let n = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Ok(Progress {
        status: v
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string(),
        transferred: n("/ram/transferred"),
        remaining: n("/ram/remaining"),
        passes: n("/ram/dirty-sync-count"),
        expected_downtime_ms: n("/expected-downtime"),
        downtime_ms: n("/downtime"),
        total_ms: n("/total-time"),
        error: v
            .get("error-desc")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Stops an outgoing migration; the guest keeps running on the source.
pub fn cancel(q: &Qmp) -> Result<(), QmpError> {
    q.execute("migrate_cancel", Value::Null)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_has_ended_only_in_a_final_status() {
        for (s, ended) in [
            ("setup", false),
            ("active", false),
            ("device", false),
            ("completed", true),
            ("failed", true),
            ("cancelled", true),
        ] {
            let p = Progress {
                status: s.into(),
                ..Progress::default()
            };
            assert_eq!(p.ended(), ended, "{s}");
        }
    }
}
