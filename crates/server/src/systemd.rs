//! The service manager's side of the daemon: readiness, the watchdog and stopping, told to
//! systemd through `$NOTIFY_SOCKET` (sd_notify's datagram protocol; nothing is sent when ivm
//! does not run under systemd).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Sends `state` (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, ...) to the service manager, if
/// there is one; false when there is none or it could not be told.
pub fn notify(state: &str) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    let path = path.to_string_lossy().into_owned();
    // An address starting with '@' is in the abstract namespace.
    let addr = match path.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None => SocketAddr::from_pathname(&path),
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
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
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
        std::env::set_var("NOTIFY_SOCKET", &path);
        assert!(notify("READY=1"));
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::env::set_var("NOTIFY_SOCKET", dir.path().join("absent"));
        assert!(!notify("READY=1"));
        std::env::remove_var("NOTIFY_SOCKET");
        assert!(!notify("READY=1"));
    }

    #[test]
    fn the_watchdog_interval_is_half_the_timeout_for_this_process_only() {
        std::env::set_var("WATCHDOG_USEC", "30000000");
        std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
        assert_eq!(watchdog_interval(), Some(Duration::from_secs(15)));
        std::env::set_var("WATCHDOG_PID", "1");
        assert_eq!(watchdog_interval(), None);
        std::env::remove_var("WATCHDOG_PID");
        std::env::remove_var("WATCHDOG_USEC");
        assert_eq!(watchdog_interval(), None);
    }
}
