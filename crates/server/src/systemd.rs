//! The service manager's side of the daemon: readiness, the watchdog and stopping, told to
//! systemd through `$NOTIFY_SOCKET` (sd_notify's datagram protocol; nothing is sent when ivm
//! does not run under systemd).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Sends `state` (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, ...) to the service manager, if
/// there is one; false when there is none or it could not be told.
pub fn notify(state: &str) -> bool {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(path) => notify_to(&path.to_string_lossy(), state),
        None => false,
    }
}

/// Sends `state` to the notification socket at `path` (`@NAME`: in the abstract namespace).
fn notify_to(path: &str, state: &str) -> bool {
    let addr = match path.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None => SocketAddr::from_pathname(path),
    };
    let Ok(addr) = addr else {
        return false;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return false;
    };
    sock.send_to_addr(state.as_bytes(), &addr).is_ok()
}

/// How often to tell the watchdog the daemon is alive: half of `$WATCHDOG_USEC`, when it is
/// set for this process (`$WATCHDOG_PID` unset or this PID).
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_every(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_interval`] from the variables' values and this process's PID.
fn watchdog_every(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.parse().ok()?;
    if let Some(pid) = pid {
        if pid.parse::<u32>().ok()? != me {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Whether the daemon's output goes to the journal (which stamps each line itself).
pub fn logs_to_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_reaches_the_socket_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        assert!(notify_to(path.to_str().unwrap(), "READY=1"));
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        let absent = dir.path().join("absent");
        assert!(!notify_to(absent.to_str().unwrap(), "READY=1"));
    }

    #[test]
    fn the_watchdog_interval_is_half_the_timeout_for_this_process_only() {
        let half = Some(Duration::from_secs(15));
        assert_eq!(watchdog_every(Some("30000000"), Some("42"), 42), half);
        assert_eq!(watchdog_every(Some("30000000"), None, 42), half);
        assert_eq!(watchdog_every(Some("30000000"), Some("1"), 42), None);
        assert_eq!(watchdog_every(Some("0"), None, 42), None);
        assert_eq!(watchdog_every(None, None, 42), None);
    }
}
