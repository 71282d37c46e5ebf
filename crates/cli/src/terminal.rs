//! `mkvt`'s terminal: an upgraded connection to the daemon carrying the partition's serial
//! console, with the local terminal in raw mode and `~.` at the start of a line to leave.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::CliError;

/// `mkvt` exit statuses.
pub mod exit {
    /// Unexpected error.
    pub const UNEXPECTED: i32 = 27;
    /// Another session is open.
    pub const ALREADY_CONNECTED: i32 = 28;
    /// The partition has no virtual terminal now (not running).
    pub const NOT_FOUND: i32 = 29;
    /// The user may not open virtual terminals.
    pub const PERMISSION: i32 = 30;
    /// No such partition.
    pub const NO_DEVICE: i32 = 31;
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

fn refused(status: u16, body: &[u8]) -> CliError {
    let (kind, message) = serde_json::from_slice::<ErrorBody>(body)
        .map(|e| (e.error, e.message))
        .unwrap_or_else(|_| (String::new(), String::from_utf8_lossy(body).into_owned()));
    let code = match (status, kind.as_str()) {
        (_, "console_busy") => exit::ALREADY_CONNECTED,
        (_, "not_running") => exit::NOT_FOUND,
        (403, _) | (401, _) => exit::PERMISSION,
        (404, _) => exit::NO_DEVICE,
        _ => exit::UNEXPECTED,
    };
    CliError::Exit { code, message }
}

/// Restores the terminal's settings when dropped.
struct RawMode(Option<libc::termios>);

impl RawMode {
    fn enter() -> RawMode {
        if !std::io::stdin().is_terminal() {
            return RawMode(None);
        }
        // SAFETY: termios calls on stdin with a zeroed struct that tcgetattr fills.
        unsafe {
            let mut old: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut old) != 0 {
                return RawMode(None);
            }
            let mut raw = old;
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(0, libc::TCSANOW, &raw);
            RawMode(Some(old))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(old) = self.0 {
            // SAFETY: restores the settings read in `enter`.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &old) };
        }
    }
}

/// Opens partition `id`'s console through the daemon and relays it until `~.`, the end of
/// input, or the session being closed (rmvt, partition stopped).
pub fn run(data_dir: &Path, id: u32) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::Exit {
        code: exit::UNEXPECTED,
        message: e.to_string(),
    };
    let mut stream = match crate::upgrade::open(
        data_dir,
        &format!("/api/v1/partitions/{id}/terminal"),
        "ivm-console",
    ) {
        Ok(s) => s,
        Err(crate::upgrade::Refused::Status(status, body)) => return Err(refused(status, &body)),
        Err(crate::upgrade::Refused::Io(message)) => {
            return Err(CliError::Exit {
                code: exit::UNEXPECTED,
                message,
            })
        }
    };
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprint!("Connected to partition {id}. Type ~. at the start of a line to disconnect.\r\n");
    }
    let _raw = RawMode::enter();
    let mut to_console = stream.try_clone().map_err(io)?;
    let input = std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 1024];
        let (mut line_start, mut tilde) = (true, false);
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => n,
            };
            let mut out = Vec::with_capacity(n + 1);
            for &b in &buf[..n] {
                if tilde {
                    tilde = false;
                    if b == b'.' {
                        let _ = to_console.write_all(&out);
                        return true;
                    }
                    out.push(b'~');
                }
                if line_start && b == b'~' {
                    tilde = true;
                    continue;
                }
                line_start = b == b'\r' || b == b'\n';
                out.push(b);
            }
            if to_console.write_all(&out).is_err() {
                return false;
            }
        }
    });
    let mut stdout = std::io::stdout();
    let mut buf = [0u8; 4096];
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(io)?;
    let mut input_ended_at: Option<std::time::Instant> = None;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                stdout.write_all(&buf[..n]).map_err(io)?;
                stdout.flush().map_err(io)?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
        if input.is_finished() {
            // `~.` leaves at once; the end of piped input leaves once the output settles.
            let since = *input_ended_at.get_or_insert_with(std::time::Instant::now);
            if interactive || since.elapsed() > Duration::from_secs(1) {
                break;
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    if interactive {
        eprint!("\r\nDisconnected.\r\n");
    }
    Ok(())
}
