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
        listed.contains(&format!("\na,3,1,0,{}03\n", base.to_ascii_uppercase())),
        "{listed}"
    );
    // The management partition's four, then one each.
    assert_eq!(listed.lines().count(), 7, "{listed}");
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

/// A TCP responder in `ns` on `addr`: each connection's first line comes back as `LAN:<line>`;
/// a line `QUIT` ends it.
fn responder(ns: &common::Netns, addr: &'static str) -> std::thread::JoinHandle<()> {
    use std::io::{BufRead, BufReader, Write};
    let (tx, rx) = std::sync::mpsc::channel();
    let h = ns.spawn(move || {
        let l = std::net::TcpListener::bind(addr).expect("bind the LAN responder");
        tx.send(()).unwrap();
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&s).read_line(&mut line);
            if line.trim() == "QUIT" {
                break;
            }
            let _ = s.write_all(format!("LAN:{line}").as_bytes());
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the responder listens");
    h
}

/// One line through TCP from inside `ns` to `addr`: what comes back (empty when nothing does).
fn exchange(ns: &common::Netns, addr: &'static str, line: &'static str) -> String {
    ns.run(move || {
        use std::io::{Read, Write};
        let Ok(mut s) =
            std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(3))
        else {
            return String::new();
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(format!("{line}\n").as_bytes());
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
}

/// A "host" namespace and a "LAN" joined by a veth pair: the host end `lan0` plays the
/// physical NIC with `NET.1/24` and a default route via `NET.254`; the LAN end is `lan1`.
fn host_and_lan(h: &str, l: &str, net: &str) -> (common::Netns, common::Netns) {
    let host = common::Netns::new(h);
    let lan = common::Netns::new(l);
    host.ip_in(&[
        "link", "add", "lan0", "type", "veth", "peer", "name", "lan1", "netns", &lan.name,
    ]);
    host.ip_in(&["addr", "add", &format!("{net}.1/24"), "dev", "lan0"]);
    host.ip_in(&["link", "set", "lan0", "up"]);
    host.ip_in(&["route", "add", "default", "via", &format!("{net}.254")]);
    lan.ip_in(&["link", "set", "lan1", "up"]);
    (host, lan)
}

#[test]
fn ethernet_adapters_are_named_and_a_wrong_virtual_ethernet_bridge_is_refused() {
    let _l = lock();
    let (host, _lan) = host_and_lan("h", "l", "10.77.0");
    let d = Daemon::start_in(SETTINGS, &host);
    let adapters_listed = d.ok(&["lsdev", "-type", "adapter"]);
    assert!(
        adapters_listed.starts_with("name             status      description\n"),
        "{adapters_listed}"
    );
    assert!(
        adapters_listed.contains("ent0             Available   Physical Ethernet Adapter (lan0)\n"),
        "{adapters_listed}"
    );
    assert!(
        adapters_listed
            .contains("ent1             Defined     Virtual I/O Ethernet Adapter (l-lan)"),
        "{adapters_listed}"
    );
    let virt = d.ok(&["lsdev", "-virtual", "-field", "name", "-fmt", ":"]);
    assert_eq!(virt, "ent1\nent2\nent3\nent4\n", "{virt}");
    assert_eq!(
        d.ok(&["lsmap", "-all", "-net", "-field", "svea", "sea", "-fmt", ":"]),
        "ent1\nent2\nent3\nent4\n"
    );
    let mgmt_adapters = adapters(&d, "lpar_id,slot_num,port_vlan_id,is_trunk");
    assert!(
        mgmt_adapters.starts_with("1,3,1,1\n1,4,2,1\n1,5,3,1\n1,6,4,1\n"),
        "{mgmt_adapters}"
    );

    // Refusals change nothing, on the host either.
    d.refuses_all(
        &[
            (
                vec!["mkvdev", "-sea", "ent9", "-vadapter", "ent1"],
                "ent9 does not exist",
            ),
            (
                vec!["mkvdev", "-sea", "ent1", "-vadapter", "ent2"],
                "a physical Ethernet adapter",
            ),
            (
                vec!["mkvdev", "-sea", "ent0", "-vadapter", "ent0"],
                "a virtual Ethernet adapter",
            ),
            (
                vec![
                    "mkvdev",
                    "-sea",
                    "ent0",
                    "-vadapter",
                    "ent1",
                    "-default",
                    "ent1",
                    "-defaultid",
                    "2",
                ],
                "port VLAN ID of ent1 (1)",
            ),
            (
                vec![
                    "mkvdev",
                    "-sea",
                    "ent0",
                    "-vadapter",
                    "ent1",
                    "-default",
                    "ent2",
                ],
                "the adapter given with -vadapter",
            ),
            (vec!["rmdev", "-dev", "ent0"], "physical adapter"),
            (
                vec!["lsdev", "-dev", "ent0", "-attr", "pvid"],
                "no attribute pvid",
            ),
        ],
        |d| {
            (
                d.ok(&["lsdev", "-type", "adapter"]),
                host.ip_in(&["-o", "addr", "show", "dev", "lan0"]),
            )
        },
    );
    let o = d.ivm(&["lsmap", "-vadapter", "ent0", "-net"]);
    assert_eq!(o.code, 16, "{o:?}");
    assert!(host
        .ip_in(&["-o", "addr", "show", "dev", "lan0"])
        .contains("10.77.0.1/24"));
}

#[test]
fn a_virtual_ethernet_bridge_joins_the_lan_and_gives_the_host_its_network_back() {
    let _l = lock();
    // The "host" namespace the daemon runs in, and the "LAN" joined to it by a veth pair whose
    // host end (lan0) plays the physical NIC and carries the host's address and default route.
    let (host, lan) = host_and_lan("h", "l", "10.77.0");
    lan.ip_in(&["addr", "add", "10.77.0.254/24", "dev", "lan1"]);
    let resp = responder(&lan, "10.77.0.254:7007");
    common::eventually("the host to reach the LAN", Duration::from_secs(20), || {
        exchange(&host, "10.77.0.254:7007", "host") == "LAN:host\n"
    });

    let mut d = Daemon::start_in(SETTINGS, &host);
    install_guest(&d);

    // The bridge: the host's address and route move to it, and the host still reaches the LAN.
    assert_eq!(
        d.ok(&[
            "mkvdev",
            "-sea",
            "ent0",
            "-vadapter",
            "ent1",
            "-default",
            "ent1",
            "-defaultid",
            "1"
        ]),
        "ent5 Available\n"
    );
    let bridge = d.ok(&["lsdev", "-dev", "ent5", "-attr", "ifname"]);
    let bridge = bridge.lines().nth(2).unwrap().to_string();
    assert!(
        bridge.starts_with("ivm") && bridge.ends_with("v1"),
        "{bridge}"
    );
    assert!(host
        .ip_in(&["-o", "addr", "show", "dev", &bridge])
        .contains("10.77.0.1/24"));
    assert!(!host
        .ip_in(&["-o", "addr", "show", "dev", "lan0"])
        .contains("10.77.0.1"));
    let routes = host.ip_in(&["route", "show", "default"]);
    assert!(
        routes.contains(&format!("via 10.77.0.254 dev {bridge}")),
        "{routes}"
    );
    common::eventually(
        "the host to reach the LAN through the bridge",
        Duration::from_secs(30),
        || exchange(&host, "10.77.0.254:7007", "bridged") == "LAN:bridged\n",
    );
    assert_eq!(
        d.ok(&["lsdev", "-dev", "ent5", "-attr", "pvid"]),
        "value\n\n1\n"
    );
    assert_eq!(
        d.ok(&["lsmap", "-all", "-net", "-field", "sea", "-fmt", ":"]),
        "ent5\n"
    );
    let csv = d.ok(&["lsmap", "-vadapter", "ent1", "-net", "-fmt", ","]);
    let f: Vec<&str> = csv.trim().split(',').collect();
    assert_eq!(
        (f[0], f[2], f[3], f[4]),
        ("ent1", "ent5", "ent0", "Available"),
        "{csv}"
    );
    assert!(
        f[1].ends_with("-V1-C3-T1") && f[5].ends_with("-P1-lan0"),
        "{csv}"
    );
    let text = d.ok(&["lsmap", "-all", "-net"]);
    assert!(text.contains("SEA                   ent5\nBacking device        ent0\nStatus                Available\n"), "{text}");
    assert!(
        text.contains("SEA                   NO SHARED ETHERNET ADAPTER FOUND"),
        "{text}"
    );
    assert!(d.ok(&["lsdev", "-type", "adapter"]).contains(&format!(
        "ent5             Available   Shared Ethernet Adapter ({bridge})"
    )));
    let e = d.fails(&["mkvdev", "-sea", "ent0", "-vadapter", "ent2"]);
    assert!(e.contains("ent5 bridges it"), "{e}");

    // A partition on virtual Ethernet 1 reaches the LAN, and the LAN reaches its responder.
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=p,desired_procs=1,desired_mem=256,boot_kernel=vmlinuz,boot_initrd=initramfs,\
         \"boot_args=console=ttyS0 quiet ivm.ip=eth0:10.77.0.5/24\",\"virtual_eth_adapters=3/0/1//0/0\"",
    ]);
    let mut p = boot(&d, "p", 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ping(&mut p, "10.77.0.254") {
        assert!(
            std::time::Instant::now() < deadline,
            "p never reached the LAN"
        );
    }
    p.send("echo \"TCP-\"\"OUT:$(echo guest | nc 10.77.0.254 7007)\"");
    let got = p.wait_for("TCP-OUT:", Duration::from_secs(30));
    assert!(got.contains("TCP-OUT:LAN:guest"), "{got}");
    common::eventually(
        "the LAN to reach p's responder",
        Duration::from_secs(30),
        || exchange(&lan, "10.77.0.5:7", "from-lan") == "from-lan\n",
    );

    // kill -9 of the daemon: the partition keeps its network, the bridge stays as it was.
    let before = host.ip_in(&["-o", "link"]);
    drop(p);
    d.restart_after_kill();
    assert_eq!(common::state(&d, "p"), "Running");
    // The console went with the daemon; a new one is opened.
    let mut p = common::Console::open(&d, 2);
    assert!(
        ping(&mut p, "10.77.0.254"),
        "p keeps the LAN after the daemon's restart"
    );
    let after = host.ip_in(&["-o", "link"]);
    let names = |s: &str| {
        let mut v: Vec<String> = s
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&before),
        names(&after),
        "no link made or lost by the restart"
    );
    assert!(d
        .ok(&["lsmap", "-all", "-net", "-field", "sea", "status", "-fmt", ":"])
        .contains("ent5:Available"));

    // Removing the bridge gives the host its address and route back on lan0.
    assert_eq!(d.ok(&["rmdev", "-dev", "ent5"]), "ent5 deleted\n");
    assert!(host
        .ip_in(&["-o", "addr", "show", "dev", "lan0"])
        .contains("10.77.0.1/24"));
    let routes = host.ip_in(&["route", "show", "default"]);
    assert!(routes.contains("via 10.77.0.254 dev lan0"), "{routes}");
    common::eventually(
        "the host to reach the LAN on lan0 again",
        Duration::from_secs(30),
        || exchange(&host, "10.77.0.254:7007", "back") == "LAN:back\n",
    );
    assert!(
        !ping(&mut p, "10.77.0.254"),
        "without the bridge p no longer reaches the LAN"
    );
    let e = d.fails(&["rmdev", "-dev", "ent5"]);
    assert!(e.contains("ent5 does not exist"), "{e}");

    // After the partition stops no tap or ivm bridge is left.
    drop(p);
    stop_now(&d, "p");
    let left = names(&host.ip_in(&["-o", "link"]));
    assert_eq!(left, ["lan0", "lo"], "{left:?}");
    exchange(&lan, "10.77.0.254:7007", "QUIT");
    resp.join().unwrap();
}

#[test]
fn a_bridge_that_fails_at_any_step_leaves_the_hosts_network_as_it_was() {
    let _l = lock();
    // The LAN end stays up (and its namespace alive) for the whole test.
    let (host, _lan) = host_and_lan("f", "g", "10.78.0");
    let snapshot = || {
        (
            host.ip_in(&["-o", "-4", "addr", "show"]),
            host.ip_in(&["route", "show"]),
            host.ip_in(&["-o", "link", "show", "type", "bridge"]),
        )
    };
    let before = snapshot();
    let mut d = Daemon::start_in(SETTINGS, &host);
    for step in ["bridge", "mac", "addresses", "port", "leave", "routes"] {
        d.restart_with_env(&[("IVM_FAILPOINTS", &format!("sea.{step}=error"))]);
        let e = d.fails(&["mkvdev", "-sea", "ent0", "-vadapter", "ent1"]);
        assert!(e.contains(&format!("sea.{step}")), "{step}: {e}");
        assert_eq!(snapshot(), before, "after a failure at {step}");
        assert_eq!(
            d.ok(&["lsmap", "-all", "-net", "-field", "sea", "-fmt", ":"]),
            ""
        );
    }
    // Removal fails half way the same way: the bridge stays whole.
    d.restart_with_env(&[("IVM_FAILPOINTS", "sea-remove.routes=error")]);
    assert_eq!(
        d.ok(&["mkvdev", "-sea", "ent0", "-vadapter", "ent1"]),
        "ent5 Available\n"
    );
    let bridged = snapshot();
    assert_ne!(bridged, before);
    let e = d.fails(&["rmdev", "-dev", "ent5"]);
    assert!(e.contains("sea-remove.routes"), "{e}");
    // (The bridge's carrier comes back a moment after its port rejoins: "linkdown" clears.)
    common::eventually(
        "the bridge as it was after a failed removal",
        Duration::from_secs(10),
        || snapshot() == bridged,
    );
    d.restart_with_env(&[]);
    assert_eq!(d.ok(&["rmdev", "-dev", "ent5"]), "ent5 deleted\n");
    assert_eq!(snapshot(), before);
}

#[test]
#[ignore = "needs vhost-net (/dev/vhost-net)"]
fn adapters_use_vhost_net_where_the_kernel_has_it() {
    let _l = lock();
    let d = Daemon::start_in_netns(SETTINGS);
    install_guest(&d);
    for (name, ip) in [("v1", "10.9.1.2"), ("v2", "10.9.1.3")] {
        d.ok(&[
            "mksyscfg",
            "-r",
            "lpar",
            "-i",
            &format!(
                "name={name},desired_procs=1,desired_mem=256,boot_kernel=vmlinuz,boot_initrd=initramfs,\
                 \"boot_args=console=ttyS0 quiet ivm.ip=eth0:{ip}/24\",\"virtual_eth_adapters=3/0/1//0/0\""
            ),
        ]);
    }
    let mut a = boot(&d, "v1", 2);
    let _b = boot(&d, "v2", 3);
    let cmdline = common::qemu_cmdline(&d, 2);
    assert!(cmdline.contains("vhost=on,vhostfd="), "{cmdline}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ping(&mut a, "10.9.1.3") {
        assert!(
            std::time::Instant::now() < deadline,
            "v1 never reached v2 over vhost-net"
        );
    }
    drop((a, _b));
    stop_now(&d, "v1");
    stop_now(&d, "v2");
}
