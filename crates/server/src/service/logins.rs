//! Failed logins remembered per client address and per user name, so password guessing
//! earns a growing wait (`rules::login_delay_secs`) instead of unlimited Argon2 work.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// At most this many addresses and names are remembered; the oldest are forgotten first, so
/// an attacker rotating names cannot grow the daemon's memory.
const MAX_REMEMBERED: usize = 10_000;

/// One address's or name's run of failures.
#[derive(Clone, Copy, Default)]
struct Run {
    failures: u32,
    last_ms: i64,
}

/// The failures seen, by address and by user name.
#[derive(Default)]
pub struct LoginThrottle {
    by_addr: Mutex<HashMap<IpAddr, Run>>,
    by_user: Mutex<HashMap<String, Run>>,
}

fn wait_left(run: Option<&Run>, now_ms: i64) -> u64 {
    let Some(r) = run else { return 0 };
    let until = r.last_ms + ivm_rules::login_delay_secs(r.failures) as i64 * 1000;
    if until <= now_ms {
        0
    } else {
        ((until - now_ms) as u64).div_ceil(1000)
    }
}

fn note<K: std::hash::Hash + Eq + Clone>(map: &Mutex<HashMap<K, Run>>, key: &K, now_ms: i64) {
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    if m.len() >= MAX_REMEMBERED && !m.contains_key(key) {
        if let Some(oldest) = m
            .iter()
            .min_by_key(|(_, r)| r.last_ms)
            .map(|(k, _)| k.clone())
        {
            m.remove(&oldest);
        }
    }
    let r = m.entry(key.clone()).or_default();
    r.failures = r.failures.saturating_add(1);
    r.last_ms = now_ms;
}

impl LoginThrottle {
    /// Seconds to wait before a login from `addr` for `user` is taken (0: now).
    pub fn wait_secs(&self, addr: Option<IpAddr>, user: &str, now_ms: i64) -> u64 {
        let by_addr = addr.map_or(0, |a| {
            let m = self.by_addr.lock().unwrap_or_else(|e| e.into_inner());
            wait_left(m.get(&a), now_ms)
        });
        let m = self.by_user.lock().unwrap_or_else(|e| e.into_inner());
        by_addr.max(wait_left(m.get(user), now_ms))
    }

    /// Counts a failed login.
    pub fn failed(&self, addr: Option<IpAddr>, user: &str, now_ms: i64) {
        if let Some(a) = addr {
            note(&self.by_addr, &a, now_ms);
        }
        note(&self.by_user, &user.to_string(), now_ms);
    }

    /// A login succeeded: its address and user start afresh.
    pub fn succeeded(&self, addr: Option<IpAddr>, user: &str) {
        if let Some(a) = addr {
            self.by_addr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&a);
        }
        self.by_user
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_earn_a_wait_and_success_clears_it() {
        let t = LoginThrottle::default();
        let a: IpAddr = "127.0.0.9".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(t.wait_secs(Some(a), "x", 1000), 0);
            t.failed(Some(a), "x", 1000);
        }
        // Three tries cost nothing; the fourth waits a second.
        assert_eq!(t.wait_secs(Some(a), "y", 1000), 1, "by address");
        assert_eq!(t.wait_secs(None, "x", 1000), 1, "by user");
        assert_eq!(t.wait_secs(Some(a), "x", 2000), 0, "the wait passes");
        t.failed(Some(a), "x", 2000);
        assert_eq!(t.wait_secs(None, "x", 2000), 2, "and doubles");
        t.succeeded(Some(a), "x");
        assert_eq!(t.wait_secs(Some(a), "x", 1000), 0);
    }
}
