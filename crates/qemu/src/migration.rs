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

/// Target side: serves the partition's disks over NBD on `listener` (a listening socket ivm
/// made, handed over as a descriptor), writable, each under the source's name for it, so the
/// source can mirror into them while the guest is still arriving.
pub fn serve_disks(
    q: &Qmp,
    listener: &std::os::unix::net::UnixListener,
    exports: &[(String, String)],
) -> Result<(), QmpError> {
    q.execute_with_fd(
        "getfd",
        json!({"fdname": "nbd-listen"}),
        listener.as_raw_fd(),
    )?;
    q.execute(
        "nbd-server-start",
        // SocketAddressLegacy: the address under `data`.
        json!({"addr": {"type": "fd", "data": {"str": "nbd-listen"}}}),
    )?;
    for (node, name) in exports {
        q.execute(
            "nbd-server-add",
            json!({"device": node, "name": name, "writable": true}),
        )?;
    }
    Ok(())
}

/// Target side: stops serving the disks (before the guest resumes and writes them itself).
pub fn stop_serving(q: &Qmp) -> Result<(), QmpError> {
    match q.execute("nbd-server-stop", Value::Null) {
        Ok(_) => Ok(()),
        // Not serving (no disks, or stopped already).
        Err(QmpError::Command { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

fn mirror_job(vtd: &str) -> String {
    format!("mig-{vtd}")
}

/// Source side: mirrors disk `vtd` (its raw node) into the target's export of the same name,
/// reached through `stream`. The guest keeps running and writing; the mirror keeps the target
/// in step once it is ready.
pub fn start_mirror(q: &Qmp, vtd: &str, stream: &UnixStream) -> Result<(), QmpError> {
    let job = mirror_job(vtd);
    q.execute_with_fd("getfd", json!({"fdname": job}), stream.as_raw_fd())?;
    // Zeros the mirror reads (most of a new, fully allocated virtual disk) go as NBD
    // write-zeroes requests instead of data; "on", not "unmap": the target keeps its blocks
    // allocated, as a committed disk is.
    q.execute(
        "blockdev-add",
        json!({"driver": "nbd", "node-name": job, "export": vtd,
               "server": {"type": "fd", "str": job}, "detect-zeroes": "on"}),
    )?;
    if let Err(e) = q.execute(
        "blockdev-mirror",
        json!({"job-id": job, "device": vtd, "target": job, "sync": "full",
               "auto-dismiss": true}),
    ) {
        let _ = q.execute("blockdev-del", json!({"node-name": job}));
        return Err(e);
    }
    Ok(())
}

/// A disk mirror's progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorProgress {
    /// Whether the target is in step (writes go to both from now on).
    pub ready: bool,
    /// Bytes copied.
    pub offset: u64,
    /// Bytes to copy.
    pub len: u64,
}

/// The mirror of disk `vtd`, or `None` when it has ended (completed, cancelled or failed).
pub fn mirror(q: &Qmp, vtd: &str) -> Result<Option<MirrorProgress>, QmpError> {
    let job = mirror_job(vtd);
    let jobs = q.execute("query-block-jobs", Value::Null)?;
    Ok(jobs
        .as_array()
        .into_iter()
        .flatten()
        .find(|j| j.get("device").and_then(Value::as_str) == Some(job.as_str()))
        .map(|j| MirrorProgress {
            ready: j.get("ready").and_then(Value::as_bool).unwrap_or(false),
            offset: j.get("offset").and_then(Value::as_u64).unwrap_or(0),
            len: j.get("len").and_then(Value::as_u64).unwrap_or(0),
        }))
}

/// Ends disk `vtd`'s mirror: once ready (and the guest paused) the target is left in step
/// with the source (a ready mirror's cancel completes it without switching the source over);
/// before that, the copy is abandoned. The NBD connection goes with it.
pub fn end_mirror(q: &Qmp, vtd: &str) -> Result<(), QmpError> {
    let job = mirror_job(vtd);
    let in_step = mirror(q, vtd)?.is_some_and(|m| m.ready);
    let ended = match q.execute("block-job-cancel", json!({"device": job})) {
        Ok(_) | Err(QmpError::Command { .. }) => Ok(()),
        Err(e) => Err(e),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while mirror(q, vtd)?.is_some() {
        if std::time::Instant::now() > deadline {
            return Err(QmpError::Timeout(format!("ending the mirror of {vtd}")));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = q.execute("blockdev-del", json!({"node-name": job}));
    ended?;
    if !in_step {
        return Err(QmpError::Command {
            command: "block-job-cancel".into(),
            desc: format!("the mirror of {vtd} was not in step with the target when it ended"),
        });
    }
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
