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

/// `lshwres -r virtualio --rsubtype eth --level lpar -F FIELDS`.
fn adapters(d: &Daemon, fields: &str) -> String {
    d.ok(&[
        "lshwres",
        "-r",
        "virtualio",
        "--rsubtype",
        "eth",
        "--level",
        "lpar",
        "-F",
        fields,
    ])
}

/// The MAC of `slot` from a MAC base, as the guest shows it (`aa:bb:...`).
fn slot_mac(base: &str, slot: u8) -> String {
    let hex = format!("{}{slot:02x}", base.trim().to_ascii_lowercase());
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
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

    let listed = adapters(&d, "lpar_name,slot_num,port_vlan_id,is_trunk,mac_addr");
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
    let mac = slot_mac(&base, 3);
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

    // DLPAR: c's adapter leaves virtual Ethernet 2 and comes back on 1, while c runs.
    let mut c = _c;
    let nics = |con: &mut Console| {
        con.send("guest-status");
        let line = con.wait_for("nics=", Duration::from_secs(30));
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("nics="))
            .unwrap_or("")
            .to_string()
    };
    let chhwres = |args: &[&str]| {
        let mut v = vec!["chhwres", "-r", "virtualio", "--rsubtype", "eth", "-p", "c"];
        v.extend_from_slice(args);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| d.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let fail = |args: Vec<String>| d.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let e = fail(chhwres(&["-o", "a", "-s", "3"]));
    assert!(e.contains("has an adapter in slot 3"), "{e}");
    let e = fail(chhwres(&["-o", "r", "-s", "7"]));
    assert!(e.contains("a slot with a virtual Ethernet adapter"), "{e}");
    let e = fail(chhwres(&["-o", "a", "-s", "5", "-a", "port_vlan_id=5000"]));
    assert!(e.contains("port VLAN IDs 1 to 4094"), "{e}");
    assert_eq!(run(chhwres(&["-o", "r", "-s", "3"])), "");
    common::eventually("c to lose its adapter", Duration::from_secs(30), || {
        nics(&mut c).is_empty()
    });
    assert_eq!(
        run(chhwres(&["-o", "a", "-s", "3", "-a", "port_vlan_id=1"])),
        ""
    );
    let base_c = d.ok(&[
        "lssyscfg",
        "-r",
        "lpar",
        "--filter",
        "lpar_names=c",
        "-F",
        "virtual_eth_mac_base_value",
    ]);
    let mac_c = slot_mac(&base_c, 3);
    common::eventually("c to see its new adapter", Duration::from_secs(30), || {
        nics(&mut c).contains(&mac_c)
    });
    c.send("ip link set eth0 up; ip addr add 10.9.0.4/24 dev eth0");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ping(&mut a, "10.9.0.4") {
        assert!(
            std::time::Instant::now() < deadline,
            "a never reached c once c moved to virtual Ethernet 1"
        );
    }
    assert!(adapters(&d, "lpar_name,slot_num,port_vlan_id").contains("c,3,1\n"));
    drop((a, _b, c));
    for name in ["a", "b", "c"] {
        stop_now(&d, name);
    }
    // Taps went with QEMU, bridges with their last tap.
    let l = links(&d);
    assert_eq!(l.lines().count(), 1, "only the loopback stays: {l}");
}
