//! The QEMU guest agent (`qemu-ga` in the guest, on a virtio-serial port): ivm's RMC. It
//! onlines the processors and memory DLPAR adds (a stock distribution leaves both offline),
//! reports the guest's addresses and shuts the OS down.
//!
//! The agent's socket takes one client at a time and a client that went away may leave a
//! reply behind, so every use is a fresh connection that starts with `guest-sync-delimited`
//! (which skips anything stale) and the caller holds the partition's agent lock.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The virtio-serial port name the agent looks for.
pub const AGENT_PORT: &str = "org.qemu.guest_agent.0";

/// QEMU's chardev that carries the port (its `frontend-open` says whether the agent runs).
pub const AGENT_CHARDEV: &str = "qga";

/// The longest reply ivm reads: the guest writes the agent's replies, so neither their length
/// nor their number is left to it.
const MAX_REPLY: u64 = 1 << 20;

/// Guest agent failures.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The socket could not be reached or failed.
    #[error("guest agent I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Asked for inside a store write transaction (a bug; nothing was sent).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
    /// The agent answered with an error.
    #[error("the guest agent refused {command}: {desc}")]
    Command {
        /// The agent command that was refused.
        command: String,
        /// The agent's description.
        desc: String,
    },
    /// The agent sent something that is not its protocol.
    #[error("guest agent protocol error: {0}")]
    Protocol(String),
}

/// One connection to a partition's guest agent.
pub struct Agent {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    timeout: Duration,
}

impl Agent {
    /// Connects and synchronizes; every read and write waits at most `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Agent, AgentError> {
        ivm_txguard::host_action("agent.connect")?;
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut agent = Agent {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            timeout,
        };
        agent.sync()?;
        Ok(agent)
    }

    /// `guest-sync-delimited` with a fresh ID: the 0xFF sent first resets the agent's parser,
    /// the one it sends back marks where its reply starts; replies to someone else before it
    /// are skipped.
    fn sync(&mut self) -> Result<(), AgentError> {
        let id = u64::from(std::process::id()) << 32
            | u64::from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0),
            );
        let mut msg = vec![0xFF];
        msg.extend(
            serde_json::to_vec(
                &json!({"execute": "guest-sync-delimited", "arguments": {"id": id}}),
            )
            .map_err(|e| AgentError::Protocol(e.to_string()))?,
        );
        msg.push(b'\n');
        self.writer.write_all(&msg)?;
        // A guest that keeps sending other replies must not hold ivm here.
        let deadline = Instant::now() + self.timeout;
        loop {
            if Instant::now() > deadline {
                return Err(AgentError::Protocol(
                    "no reply to guest-sync-delimited in time".into(),
                ));
            }
            let mut skipped = Vec::new();
            (&mut self.reader)
                .take(MAX_REPLY)
                .read_until(0xFF, &mut skipped)?;
            if skipped.last() != Some(&0xFF) {
                return Err(AgentError::Protocol(
                    "the agent closed the connection or sent too much".into(),
                ));
            }
            let reply = self.read_reply()?;
            if reply.get("return").and_then(Value::as_u64) == Some(id) {
                return Ok(());
            }
        }
    }

    /// One reply: a line of at most MAX_REPLY bytes (blank lines skipped, a few at most).
    fn read_reply(&mut self) -> Result<Value, AgentError> {
        for _ in 0..16 {
            let mut raw = Vec::new();
            (&mut self.reader)
                .take(MAX_REPLY)
                .read_until(b'\n', &mut raw)?;
            if raw.last() != Some(&b'\n') {
                return Err(AgentError::Protocol(
                    "the agent closed the connection or sent too much".into(),
                ));
            }
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{FFFD}');
            if line.is_empty() {
                continue;
            }
            return serde_json::from_str(line).map_err(|e| {
                let start: String = line.chars().take(200).collect();
                AgentError::Protocol(format!("{e}: {start}"))
            });
        }
        Err(AgentError::Protocol(
            "only blank lines from the agent".into(),
        ))
    }

    /// Runs a command and returns its `return` value.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, AgentError> {
        self.send(command, arguments)?;
        let reply = self.read_reply()?;
        if let Some(err) = reply.get("error") {
            return Err(AgentError::Command {
                command: command.into(),
                desc: err
                    .get("desc")
                    .and_then(Value::as_str)
                    .unwrap_or("no description")
                    .into(),
            });
        }
        reply
            .get("return")
            .cloned()
            .ok_or_else(|| AgentError::Protocol(format!("{command} answered {reply}")))
    }

    fn send(&mut self, command: &str, arguments: Value) -> Result<(), AgentError> {
        let mut msg = if arguments.is_null() {
            serde_json::to_vec(&json!({ "execute": command }))
        } else {
            serde_json::to_vec(&json!({ "execute": command, "arguments": arguments }))
        }
        .map_err(|e| AgentError::Protocol(e.to_string()))?;
        msg.push(b'\n');
        self.writer.write_all(&msg)?;
        Ok(())
    }

    /// Asks the OS to power off (`guest-shutdown` sends no reply when it works).
    pub fn shutdown(&mut self, reboot: bool) -> Result<(), AgentError> {
        let mode = if reboot { "reboot" } else { "powerdown" };
        self.send("guest-shutdown", json!({ "mode": mode }))
    }

    /// The guest's logical processors: (logical ID, online).
    pub fn vcpus(&mut self) -> Result<Vec<(u64, bool)>, AgentError> {
        let v = self.execute("guest-get-vcpus", Value::Null)?;
        list(&v, "guest-get-vcpus", "logical-id")
    }

    /// Onlines the given logical processors; returns how many the agent handled.
    pub fn online_vcpus(&mut self, ids: &[u64]) -> Result<u64, AgentError> {
        let vcpus: Vec<Value> = ids
            .iter()
            .map(|id| json!({"logical-id": id, "online": true}))
            .collect();
        let v = self.execute("guest-set-vcpus", json!({ "vcpus": vcpus }))?;
        v.as_u64()
            .ok_or_else(|| AgentError::Protocol(format!("guest-set-vcpus answered {v}")))
    }

    /// The size of the guest's memory blocks, bytes.
    pub fn memory_block_size(&mut self) -> Result<u64, AgentError> {
        let v = self.execute("guest-get-memory-block-info", Value::Null)?;
        v.get("size").and_then(Value::as_u64).ok_or_else(|| {
            AgentError::Protocol(format!("guest-get-memory-block-info answered {v}"))
        })
    }

    /// The guest's memory blocks: (physical index, online).
    pub fn memory_blocks(&mut self) -> Result<Vec<(u64, bool)>, AgentError> {
        let v = self.execute("guest-get-memory-blocks", Value::Null)?;
        list(&v, "guest-get-memory-blocks", "phys-index")
    }

    /// Onlines the given memory blocks into the kernel's movable zone (by writing
    /// `online_movable` to each block's state file through the agent's file commands), so the
    /// kernel can empty them again for a removal; the ones that could not be (an agent that
    /// does not allow file access, a block the kernel keeps out of that zone) are returned for
    /// [`Agent::online_memory_blocks`].
    pub fn online_memory_blocks_movable(&mut self, ids: &[u64]) -> Result<Vec<u64>, AgentError> {
        // base64 of "online_movable".
        const ONLINE_MOVABLE: &str = "b25saW5lX21vdmFibGU=";
        let mut left = Vec::new();
        for id in ids {
            let path = format!("/sys/devices/system/memory/memory{id}/state");
            let handle = match self.execute("guest-file-open", json!({ "path": path, "mode": "w" }))
            {
                Ok(h) => h,
                Err(AgentError::Command { .. }) => {
                    left.push(*id);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let wrote = self.execute(
                "guest-file-write",
                json!({ "handle": handle, "buf-b64": ONLINE_MOVABLE }),
            );
            // The kernel answers the write itself; closing flushes nothing more.
            let _ = self.execute("guest-file-close", json!({ "handle": handle }));
            match wrote {
                Ok(_) => {}
                Err(AgentError::Command { .. }) => left.push(*id),
                Err(e) => return Err(e),
            }
        }
        Ok(left)
    }

    /// Onlines the given memory blocks; the ones the guest refused, with its reason.
    pub fn online_memory_blocks(&mut self, ids: &[u64]) -> Result<Vec<(u64, String)>, AgentError> {
        let blocks: Vec<Value> = ids
            .iter()
            .map(|id| json!({"phys-index": id, "online": true}))
            .collect();
        let v = self.execute("guest-set-memory-blocks", json!({ "mem-blks": blocks }))?;
        let arr = v
            .as_array()
            .ok_or_else(|| AgentError::Protocol(format!("guest-set-memory-blocks answered {v}")))?;
        Ok(arr
            .iter()
            .filter(|r| r.get("response").and_then(Value::as_str) != Some("success"))
            .map(|r| {
                (
                    r.get("phys-index").and_then(Value::as_u64).unwrap_or(0),
                    r.get("response")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_string(),
                )
            })
            .collect())
    }

    /// The guest's IPv4 addresses outside loopback, in the order it lists its interfaces.
    pub fn ipv4_addresses(&mut self) -> Result<Vec<String>, AgentError> {
        let v = self.execute("guest-network-get-interfaces", Value::Null)?;
        let ifaces = v.as_array().ok_or_else(|| {
            AgentError::Protocol(format!("guest-network-get-interfaces answered {v}"))
        })?;
        Ok(ifaces
            .iter()
            .filter(|i| i.get("name").and_then(Value::as_str) != Some("lo"))
            .flat_map(|i| {
                i.get("ip-addresses")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|a| a.get("ip-address-type").and_then(Value::as_str) == Some("ipv4"))
            // The guest writes these: only what parses as an address is kept, printed anew,
            // so no text of its own reaches lssyscfg's output (parsed by commas and lines).
            .filter_map(|a| {
                a.get("ip-address")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<Ipv4Addr>().ok())
            })
            .map(|a| a.to_string())
            .collect())
    }
}

/// `[{key: N, "online": bool}, ...]` as pairs.
fn list(v: &Value, command: &str, key: &str) -> Result<Vec<(u64, bool)>, AgentError> {
    v.as_array()
        .ok_or_else(|| AgentError::Protocol(format!("{command} answered {v}")))?
        .iter()
        .map(|e| {
            Ok((
                e.get(key)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| AgentError::Protocol(format!("{command}: {e}")))?,
                e.get("online").and_then(Value::as_bool).unwrap_or(false),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// The client's framing against the protocol's documented bytes (the real agent is
    /// exercised by the VM tests): a stale reply before the 0xFF marker is skipped and the
    /// reply to the sync is matched by ID.
    #[test]
    fn stale_replies_are_skipped_and_the_guests_words_are_bounded() {
        let dir = std::env::temp_dir().join(format!("ivm-agent-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("qga.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (done, done_rx) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut w = s;
            let mut first = Vec::new();
            r.read_until(b'\n', &mut first).unwrap();
            assert_eq!(first[0], 0xFF);
            let req: Value = serde_json::from_slice(&first[1..]).unwrap();
            let id = req["arguments"]["id"].as_u64().unwrap();
            // A reply someone else asked for, then the marker and the sync's reply.
            w.write_all(b"{\"return\": {}}\n").unwrap();
            w.write_all(&[0xFF]).unwrap();
            w.write_all(format!("{{\"return\": {id}}}\n").as_bytes())
                .unwrap();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let req: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(req["execute"], "guest-get-vcpus");
            w.write_all(b"{\"return\": [{\"logical-id\": 0, \"online\": true}, {\"logical-id\": 1, \"online\": false, \"can-offline\": true}]}\n").unwrap();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            w.write_all(b"{\"return\": [{\"name\": \"eth0\", \"ip-addresses\": [{\"ip-address-type\": \"ipv4\", \"ip-address\": \"10.0.0.1,state=Running\\nname=x\"}, {\"ip-address-type\": \"ipv4\", \"ip-address\": \"192.0.2.7\"}]}]}\n").unwrap();
            line.clear();
            r.read_line(&mut line).unwrap();
            let junk = vec![b'x'; (MAX_REPLY as usize) + 10];
            let _ = w.write_all(&junk);
            // The connection stays open: only the limit, not an end of stream, stops the read.
            let _ = done_rx.recv();
        });
        let mut a = Agent::connect(&path, Duration::from_secs(5)).unwrap();
        assert_eq!(a.vcpus().unwrap(), vec![(0, true), (1, false)]);
        // Addresses are the guest's words: text that is not an address goes.
        assert_eq!(a.ipv4_addresses().unwrap(), ["192.0.2.7"]);
        // A reply without end is cut off at MAX_REPLY, not read into memory whole.
        assert!(matches!(a.vcpus(), Err(AgentError::Protocol(_))));
        done.send(()).unwrap();
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
