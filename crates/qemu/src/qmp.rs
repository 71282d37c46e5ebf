//! A blocking QMP client: commands are matched to replies by ID; events go to a callback.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// How long a command may take before the client gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// QMP failures.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QmpError {
    /// The socket could not be reached or failed.
    #[error("QMP I/O: {0}")]
    Io(String),
    /// Asked for inside a store write transaction (a bug; nothing was sent).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
    /// QEMU answered with an error.
    #[error("QEMU refused {command}: {desc}")]
    Command {
        /// The QMP command that was refused.
        command: String,
        /// QEMU's description.
        desc: String,
    },
    /// The connection closed (QEMU exited).
    #[error("QMP connection closed")]
    Closed,
    /// No answer in time.
    #[error("QMP command {0} timed out")]
    Timeout(String),
    /// QEMU sent something that is not QMP.
    #[error("QMP protocol error: {0}")]
    Protocol(String),
}

/// An asynchronous QMP event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Event name, e.g. `SHUTDOWN`.
    pub name: String,
    /// Event data.
    pub data: Value,
    /// When QEMU emitted it, ms since the Unix epoch (its `timestamp`), if it said.
    pub time_ms: Option<i64>,
}

type Pending = Arc<Mutex<HashMap<u64, mpsc::Sender<Result<Value, QmpError>>>>>;

/// A QMP connection. Dropping it closes the connection without touching QEMU.
pub struct Qmp {
    writer: Mutex<UnixStream>,
    pending: Pending,
    next_id: AtomicU64,
    dropped: Arc<AtomicBool>,
    /// Counts what may have changed QEMU's state: every event and every command that is not a
    /// query. A reader that saw the same count before and after a query knows its answer holds.
    changes: Arc<AtomicU64>,
}

impl Qmp {
    /// Connects, negotiates capabilities and starts the reader thread. `on_event` gets every
    /// event; `on_close` runs once when QEMU closes the connection (not when it is dropped).
    pub fn connect(
        path: &Path,
        on_event: impl Fn(Event) + Send + 'static,
        on_close: impl FnOnce() + Send + 'static,
    ) -> Result<Qmp, QmpError> {
        ivm_txguard::host_action("qmp.connect")?;
        let stream = UnixStream::connect(path)
            .map_err(|e| QmpError::Io(format!("{}: {e}", path.display())))?;
        stream
            .set_read_timeout(Some(COMMAND_TIMEOUT))
            .map_err(|e| QmpError::Io(e.to_string()))?;
        let mut reader = BufReader::new(
            stream
                .try_clone()
                .map_err(|e| QmpError::Io(e.to_string()))?,
        );
        let mut writer = stream;
        let mut line = String::new();
        read_line(&mut reader, &mut line)?;
        let greeting: Value =
            serde_json::from_str(&line).map_err(|e| QmpError::Protocol(e.to_string()))?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Protocol(format!("no QMP greeting: {line}")));
        }
        writer
            .write_all(b"{\"execute\":\"qmp_capabilities\"}\n")
            .map_err(|e| QmpError::Io(e.to_string()))?;
        loop {
            line.clear();
            read_line(&mut reader, &mut line)?;
            let v: Value =
                serde_json::from_str(&line).map_err(|e| QmpError::Protocol(e.to_string()))?;
            if v.get("return").is_some() {
                break;
            }
            if let Some(err) = v.get("error") {
                return Err(QmpError::Command {
                    command: "qmp_capabilities".into(),
                    desc: err.to_string(),
                });
            }
        }
        // Events may be far apart; only commands have a deadline.
        reader
            .get_ref()
            .set_read_timeout(None)
            .map_err(|e| QmpError::Io(e.to_string()))?;
        let pending: Pending = Arc::default();
        let dropped = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(AtomicU64::new(0));
        let (p, d, c) = (pending.clone(), dropped.clone(), changes.clone());
        std::thread::Builder::new()
            .name("qmp-reader".into())
            .spawn(move || reader_loop(reader, p, d, c, on_event, on_close))
            .map_err(|e| QmpError::Io(e.to_string()))?;
        Ok(Qmp {
            writer: Mutex::new(writer),
            pending,
            next_id: AtomicU64::new(1),
            dropped,
            changes,
        })
    }

    /// How many events and state-changing commands this connection has seen so far: an answer
    /// read while this number stayed the same is still QEMU's state.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Runs a command and returns its `return` value.
    pub fn execute(&self, command: &str, arguments: Value) -> Result<Value, QmpError> {
        self.execute_within(command, arguments, COMMAND_TIMEOUT)
    }

    /// Runs a command that takes a descriptor (`add-fd`, `getfd`): `fd` travels with the
    /// command as SCM_RIGHTS ancillary data.
    pub fn execute_with_fd(
        &self,
        command: &str,
        arguments: Value,
        fd: std::os::unix::io::RawFd,
    ) -> Result<Value, QmpError> {
        self.send_and_wait(command, arguments, COMMAND_TIMEOUT, Some(fd))
    }

    /// Runs a command, waiting at most `timeout` for its answer.
    pub fn execute_within(
        &self,
        command: &str,
        arguments: Value,
        timeout: Duration,
    ) -> Result<Value, QmpError> {
        self.send_and_wait(command, arguments, timeout, None)
    }

    fn send_and_wait(
        &self,
        command: &str,
        arguments: Value,
        timeout: Duration,
        fd: Option<std::os::unix::io::RawFd>,
    ) -> Result<Value, QmpError> {
        ivm_txguard::host_action("qmp.execute")?;
        let changes = changes_state(command, &arguments);
        // Counted before it is sent and again once answered, so that a query sent in between,
        // whichever way QEMU orders the two, is not taken for the state after it.
        if changes {
            self.changes.fetch_add(1, Ordering::SeqCst);
        }
        let _after = changes.then(|| CountOnDrop(&self.changes));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let mut msg = json!({"execute": command, "id": id});
        if !arguments.is_null() {
            msg["arguments"] = arguments;
        }
        let text = format!("{msg}\n");
        let sent = {
            let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            match fd {
                None => w.write_all(text.as_bytes()),
                Some(fd) => send_with_fd(&w, text.as_bytes(), fd),
            }
        };
        if let Err(e) = sent {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Err(QmpError::Io(e.to_string()));
        }
        match rx.recv_timeout(timeout) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(QmpError::Command { desc, .. })) => Err(QmpError::Command {
                command: command.into(),
                desc,
            }),
            Ok(Err(e)) => Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                Err(QmpError::Timeout(command.into()))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(QmpError::Closed),
        }
    }
}

/// Whether a command may change QEMU's state (all but queries and HMP's `info`).
fn changes_state(command: &str, arguments: &Value) -> bool {
    let hmp_info = command == "human-monitor-command"
        && arguments
            .get("command-line")
            .and_then(Value::as_str)
            .is_some_and(|c| c.starts_with("info "));
    !(command.starts_with("query-") || matches!(command, "qom-get" | "qom-list") || hmp_info)
}

/// Adds one to a change count when dropped: after a state-changing command's answer, its
/// timeout or its failure.
struct CountOnDrop<'a>(&'a AtomicU64);

impl Drop for CountOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Writes `bytes` on a Unix stream with `fd` attached (SCM_RIGHTS); all of them or an error.
fn send_with_fd(
    stream: &std::os::unix::net::UnixStream,
    bytes: &[u8],
    fd: std::os::unix::io::RawFd,
) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr points at the iovec and control buffer above, which outlive sendmsg; the
    // control message is laid out with the CMSG_* helpers for exactly one descriptor.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), fd);
        libc::sendmsg(stream.as_raw_fd(), &msg, 0)
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // The descriptor went with the first byte; the rest is plain data.
    let mut w = stream;
    w.write_all(&bytes[sent as usize..])
}

impl Drop for Qmp {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let _ = w.shutdown(std::net::Shutdown::Both);
    }
}

fn read_line(reader: &mut BufReader<UnixStream>, line: &mut String) -> Result<(), QmpError> {
    match reader.read_line(line) {
        Ok(0) => Err(QmpError::Closed),
        Ok(_) => Ok(()),
        Err(e) => Err(QmpError::Io(e.to_string())),
    }
}

fn reader_loop(
    mut reader: BufReader<UnixStream>,
    pending: Pending,
    dropped: Arc<AtomicBool>,
    changes: Arc<AtomicU64>,
    on_event: impl Fn(Event),
    on_close: impl FnOnce(),
) {
    let mut line = String::new();
    loop {
        line.clear();
        if read_line(&mut reader, &mut line).is_err() {
            break;
        }
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            tracing::warn!(
                line = line.trim(),
                "ignoring a line that is not JSON from QMP"
            );
            continue;
        };
        if let Some(name) = v.get("event").and_then(Value::as_str) {
            changes.fetch_add(1, Ordering::SeqCst);
            let ts = v.get("timestamp");
            let part = |k: &str| ts.and_then(|t| t.get(k)).and_then(Value::as_i64);
            on_event(Event {
                name: name.to_string(),
                data: v.get("data").cloned().unwrap_or(Value::Null),
                time_ms: part("seconds")
                    .zip(part("microseconds"))
                    .map(|(s, us)| s * 1000 + us / 1000),
            });
            continue;
        }
        let Some(id) = v.get("id").and_then(Value::as_u64) else {
            continue;
        };
        let Some(tx) = pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
        else {
            continue;
        };
        let result = match (v.get("return"), v.get("error")) {
            (Some(r), _) => Ok(r.clone()),
            (None, Some(e)) => Err(QmpError::Command {
                command: String::new(),
                desc: e
                    .get("desc")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_string(),
            }),
            _ => Err(QmpError::Protocol(line.trim().to_string())),
        };
        let _ = tx.send(result);
    }
    for (_, tx) in pending.lock().unwrap_or_else(|p| p.into_inner()).drain() {
        let _ = tx.send(Err(QmpError::Closed));
    }
    if !dropped.load(Ordering::SeqCst) {
        on_close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_do_not_count_as_changes_and_everything_else_does() {
        assert!(!changes_state("query-cpus-fast", &Value::Null));
        assert!(!changes_state(
            "qom-get",
            &json!({"path": "/machine", "property": "size"})
        ));
        assert!(!changes_state(
            "human-monitor-command",
            &json!({"command-line": "info jit"})
        ));
        assert!(changes_state(
            "human-monitor-command",
            &json!({"command-line": "sendkey ctrl-alt-delete"})
        ));
        assert!(changes_state(
            "device_add",
            &json!({"driver": "qemu64-x86_64-cpu"})
        ));
        assert!(changes_state("qom-set", &Value::Null));
        assert!(changes_state("balloon", &json!({"value": 1})));
    }
}
