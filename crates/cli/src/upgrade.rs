//! A connection to the daemon upgraded to a raw byte stream (the virtual terminal, a
//! migration's stream), and the relay between it and standard input and output.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Why the upgrade did not happen.
pub enum Refused {
    /// The daemon answered with this status and body.
    Status(u16, Vec<u8>),
    /// The socket failed (the message says how).
    Io(String),
}

/// Asks the daemon of `data_dir` to upgrade `GET path` to `protocol`; returns the stream.
pub fn open(data_dir: &Path, path: &str, protocol: &str) -> Result<UnixStream, Refused> {
    let socket = data_dir.join("ivm.sock");
    let mut stream = UnixStream::connect(&socket).map_err(|e| {
        Refused::Io(format!(
            "cannot reach the ivm daemon at {}: {e}",
            socket.display()
        ))
    })?;
    let io = |e: std::io::Error| Refused::Io(e.to_string());
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).map_err(io)? == 0 || head.len() > 64 << 10 {
            return Err(Refused::Io("the daemon closed the connection".into()));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if status == 101 {
        return Ok(stream);
    }
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).map_err(io)?;
    Err(Refused::Status(status, body))
}

/// Copies standard input to `stream` and `stream` to standard output, untouched, until both
/// directions have ended (the end of input is passed on as a half close).
pub fn relay(stream: UnixStream) -> std::io::Result<()> {
    let mut to_daemon = stream.try_clone()?;
    let input = std::thread::spawn(move || {
        let r = std::io::copy(&mut std::io::stdin().lock(), &mut to_daemon);
        let _ = to_daemon.shutdown(std::net::Shutdown::Write);
        r.map(|_| ())
    });
    let mut from_daemon = stream;
    let mut stdout = std::io::stdout().lock();
    let out = std::io::copy(&mut from_daemon, &mut stdout).and_then(|_| stdout.flush());
    // The daemon has closed its side: whatever input is left has nowhere to go.
    let _ = from_daemon.shutdown(std::net::Shutdown::Both);
    if input.is_finished() {
        input.join().unwrap_or(Ok(()))?;
    }
    out
}
