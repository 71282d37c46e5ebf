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

/// Standard input or output as a plain file: no buffer between the stream and the
/// descriptor (the standard handles' line buffering would hold a reply that has no newline).
fn raw(fd: i32) -> std::mem::ManuallyDrop<std::fs::File> {
    use std::os::unix::io::FromRawFd;
    // SAFETY: 0 and 1 are open for the whole process; ManuallyDrop never closes them.
    std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Copies `from` to `to` as bytes arrive, until the end of `from`.
fn pump(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
    }
}

/// Copies standard input to `stream` and `stream` to standard output, untouched and
/// unbuffered, until both directions have ended (the end of input is passed on as a half
/// close).
pub fn relay(stream: UnixStream) -> std::io::Result<()> {
    let mut to_daemon = stream.try_clone()?;
    let input = std::thread::spawn(move || {
        let mut stdin = raw(0);
        let r = pump(&mut *stdin, &mut to_daemon);
        let _ = to_daemon.shutdown(std::net::Shutdown::Write);
        r
    });
    let mut from_daemon = stream;
    let mut stdout = raw(1);
    let out = pump(&mut from_daemon, &mut *stdout);
    // The daemon has closed its side: whatever input is left has nowhere to go.
    let _ = from_daemon.shutdown(std::net::Shutdown::Both);
    if input.is_finished() {
        input.join().unwrap_or(Ok(()))?;
    }
    out
}
