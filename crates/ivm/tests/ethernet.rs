//! Virtual Ethernet on real Linux networking, in a network namespace the daemon gets of its
//! own (so nothing touches the host's network): partitions on one virtual Ethernet ID reach
//! each other and nothing else, with the MACs the profile gives, and no bridge or tap stays.

mod common;

use std::time::Duration;

use common::{boot, install_guest, lock, stop_now, Console, Daemon};

const SETTINGS: &str = "shutdown_delay_secs = 3\n";

/// Links in the daemon's network namespace, one `ip -o link` line each.
fn links(d: &Daemon) -> String {
    let out = std::process::Command::new("nsenter")
        .args(["-t", &d.child.id().to_string(), "-n", "ip", "-o", "link"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether one ping from the guest gets an answer. (The quotes keep the marker out of the
/// echoed command line, so only the answer matches it.)
fn ping(con: &mut Console, ip: &str) -> bool {
    con.send(&format!(
        "echo \"PONG-\"\"DONE:$(ping -c 1 -W 3 {ip} >/dev/null 2>&1 && echo yes || echo no)\""
    ));
    let line = con.wait_for("PONG-DONE:", Duration::from_secs(30));
    line.contains("yes")
}

#[test]
fn partitions_on_one_virtual_ethernet_reach_each_other_and_no_other() {
    let _l = lock();
    let d = Daemon::start_in_netns(SETTINGS);
    install_guest(&d);
    for (name, ip, pvid) in [
        ("a", "10.9.0.2", 1),
        ("b", "10.9.0.3", 1),
        ("c", "10.9.0.4", 2),
    ] {
        d.ok(&[
            "mksyscfg",
            "-r",
            "lpar",
            "-i",
            &format!(
                "name={name},desired_procs=1,desired_mem=256,boot_kernel=vmlinuz,boot_initrd=initramfs,\
                 \"boot_args=console=ttyS0 quiet ivm.ip=eth0:{ip}/24\",\"virtual_eth_adapters=3/0/{pvid}//0/0\""
            ),
        ]);
    }
    assert!(d
        .ok(&[
            "lssyscfg",
            "-r",
            "prof",
            "--filter",
            "lpar_names=c",
            "-F",
            "virtual_eth_adapters"
        ])
        .contains("3/0/2//0/0"));
    let base = d.ok(&[
        "lssyscfg",
        "-r",
        "lpar",
        "--filter",
        "lpar_names=a",
        "-F",
        "virtual_eth_mac_base_value",
    ]);
    let base = base.trim().to_ascii_lowercase();
    assert_eq!(base.len(), 10, "{base}");

    let listed = d.ok(&[
        "lshwres",
        "-r",
        "virtualio",
        "--rsubtype",
        "eth",
        "--level",
        "lpar",
        "-F",
        "lpar_name,slot_num,port_vlan_id,is_trunk,mac_addr",
    ]);
    assert!(
        listed.starts_with(&format!("a,3,1,0,{}03\n", base.to_ascii_uppercase())),
        "{listed}"
    );
    assert_eq!(listed.lines().count(), 3, "{listed}");
    let e = d.fails(&["lshwres", "-r", "virtualio", "--level", "lpar"]);
    assert!(e.contains("--rsubtype eth"), "{e}");

    let mut a = boot(&d, "a", 2);
    let _b = boot(&d, "b", 3);
    let _c = boot(&d, "c", 4);
    a.send("guest-status");
    let status = a.wait_for("nics=", Duration::from_secs(30));
    let mac: String = base
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .chain(["03".to_string()])
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        status.contains(&format!("nics=eth0:{mac}")),
        "{status} {mac}"
    );
    // The first ping may go out before the bridge learned its ports: ask again, with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ping(&mut a, "10.9.0.3") {
        if std::time::Instant::now() > deadline {
            a.send("echo \"DIAG $(ip addr | tr '\\n' ' ') $(cat /proc/cmdline)\"");
            let diag = a.wait_for("DIAG 1:", Duration::from_secs(10));
            panic!(
                "a never reached b on virtual Ethernet 1; guest: {diag}; links: {}",
                links(&d)
            );
        }
    }
    assert!(
        !ping(&mut a, "10.9.0.4"),
        "a never reaches c on virtual Ethernet 2"
    );
    let l = links(&d);
    assert_eq!(l.matches("master").count(), 3, "three taps on bridges: {l}");
    drop((a, _b, _c));
    for name in ["a", "b", "c"] {
        stop_now(&d, name);
    }
    // Taps went with QEMU, bridges with their last tap.
    let l = links(&d);
    assert_eq!(l.lines().count(), 1, "only the loopback stays: {l}");
}
