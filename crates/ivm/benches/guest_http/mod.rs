//! An HTTP transfer between two test guests (busybox httpd and wget), timed by the client
//! guest's own clock; shared by the network benchmarks.
#![allow(dead_code)]

use std::time::Duration;

use crate::common::{eventually, Console};

/// Puts a file of `mb` MB in the server guest's RAM and starts httpd on port 8080; then waits
/// until the client guest reaches `server_ip`.
pub fn serve(srv: &mut Console, cli: &mut Console, server_ip: &str, mb: u32) {
    srv.send(&format!(
        "mkdir -p /tmp/w && dd if=/dev/zero of=/tmp/w/big bs=1M count={mb} 2>/dev/null && httpd -p 8080 -h /tmp/w && echo \"SRV-\"\"READY\""
    ));
    srv.wait_for("SRV-READY", Duration::from_secs(60));
    // The first frames may go out before the bridge learned its ports.
    eventually(
        "the client guest to reach the server",
        Duration::from_secs(60),
        || {
            cli.send(&format!(
            "echo \"P-\"\"$(ping -c 1 -W 2 {server_ip} >/dev/null 2>&1 && echo ok || echo no)\""
        ));
            cli.wait_for("P-", Duration::from_secs(10)).contains("P-ok")
        },
    );
}

/// MB/s of one transfer of the `mb` MB file `serve` made.
pub fn transfer(cli: &mut Console, server_ip: &str, mb: u32) -> f64 {
    cli.send(&format!(
        "s=$(cut -d' ' -f1 /proc/uptime); wget -q -O /dev/null http://{server_ip}:8080/big; \
         e=$(cut -d' ' -f1 /proc/uptime); echo \"T\"\"P $s $e\""
    ));
    let line = cli.wait_for("TP ", Duration::from_secs(600));
    let f: Vec<f64> = line
        .split_whitespace()
        .skip_while(|w| *w != "TP")
        .skip(1)
        .take(2)
        .map(|w| w.parse().unwrap())
        .collect();
    f64::from(mb) / (f[1] - f[0])
}
