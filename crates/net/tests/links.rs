//! Bridges and taps in a network namespace of the test's own (the thread unshares one, so
//! nothing reaches the host's network and the kernel removes it all when the thread ends).
//! Frames written into one tap come out of a tap on the same bridge, and never out of a tap on
//! another bridge: the isolation of virtual Ethernet IDs, measured without a guest.

use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use ivm_net::{links, tap};

/// Runs `f` on a thread in a new network namespace.
fn in_new_netns(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        // SAFETY: unshare affects only this thread's network namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
        f();
    })
    .join()
    .unwrap();
}

fn nonblocking(f: &std::fs::File) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// Waits up to `within` for a frame carrying `marker`.
fn receives(f: &mut std::fs::File, marker: &[u8], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        match f.read(&mut buf) {
            Ok(n) if buf[..n].windows(marker.len()).any(|w| w == marker) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    false
}

/// A broadcast Ethernet frame from `src` with a payload carrying `marker`.
fn frame(src: u8, marker: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, src]);
    f.extend_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f.extend_from_slice(marker);
    f.resize(64, 0);
    f
}

#[test]
fn taps_on_one_bridge_talk_and_taps_on_another_do_not() {
    in_new_netns(|| {
        let b1 = links::ensure_bridge("ivmbr1").unwrap();
        assert_eq!(links::ensure_bridge("ivmbr1").unwrap(), b1, "made once");
        links::ensure_bridge("ivmbr2").unwrap();
        let mut a = tap::open("ivm2-2", false).unwrap();
        let mut b = tap::open("ivm3-2", false).unwrap();
        let mut c = tap::open("ivm4-2", false).unwrap();
        links::attach("ivm2-2", "ivmbr1").unwrap();
        links::attach("ivm3-2", "ivmbr1").unwrap();
        links::attach("ivm4-2", "ivmbr2").unwrap();
        let all = links::list().unwrap();
        let master = |n: &str| all.iter().find(|l| l.name == n).unwrap().master;
        assert_eq!(master("ivm2-2"), Some(b1));
        assert_eq!(master("ivm3-2"), Some(b1));
        assert!(all.iter().find(|l| l.name == "ivmbr1").unwrap().bridge);
        for f in [&a, &b, &c] {
            nonblocking(f);
        }
        // A bridge forwards only once its ports are past the listening state.
        let mut seen = false;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen && Instant::now() < deadline {
            a.write_all(&frame(2, b"ivm-vlan-1")).unwrap();
            seen = receives(&mut b, b"ivm-vlan-1", Duration::from_millis(500));
        }
        assert!(
            seen,
            "a frame from one tap reaches the other tap on its bridge"
        );
        assert!(
            !receives(&mut c, b"ivm-vlan-1", Duration::from_secs(2)),
            "and never a tap on another virtual Ethernet ID"
        );
        // An idle bridge is removed; a used one stays.
        drop(c);
        assert_eq!(links::remove_idle_bridges("ivmbr").unwrap(), vec!["ivmbr2"]);
        // Taps go with their last descriptor.
        drop((a, b));
        let names: Vec<String> = links::list().unwrap().into_iter().map(|l| l.name).collect();
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("ivm2-") || n.starts_with("ivm3-")),
            "{names:?}"
        );
        assert_eq!(links::remove_idle_bridges("ivmbr").unwrap(), vec!["ivmbr1"]);
        links::delete("ivmbr1").unwrap();
        assert!(links::attach("nope", "ivmbr1").is_err());
        assert!(tap::open("this-name-is-too-long", false).is_err());
    });
}

/// Adds `default via gw` through link `name` (what a host's network configuration does).
fn add_default_route(name: &str, gw: std::net::Ipv4Addr) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures_util::TryStreamExt;
        let (conn, h, _) = rtnetlink::new_connection().unwrap();
        tokio::spawn(conn);
        let mut links = h.link().get().match_name(name.to_string()).execute();
        let index = links.try_next().await.unwrap().unwrap().header.index;
        let r = rtnetlink::RouteMessageBuilder::<std::net::Ipv4Addr>::new()
            .output_interface(index)
            .gateway(gw)
            .build();
        h.route().add(r).execute().await.unwrap();
    });
}

#[test]
fn a_links_addresses_and_routes_move_to_a_bridge_and_back() {
    in_new_netns(|| {
        use ivm_net::addrs;
        let _nic = tap::open("ph0", false).unwrap();
        links::set_up("ph0").unwrap();
        let cfg = addrs::IpConfig {
            addresses: vec![("10.9.0.1".parse().unwrap(), 24)],
            broadcasts: vec![],
            routes: vec![],
        };
        addrs::add_addresses("ph0", &cfg).unwrap();
        add_default_route("ph0", "10.9.0.254".parse().unwrap());
        let on_nic = addrs::read("ph0").unwrap();
        assert_eq!(on_nic.addresses, cfg.addresses);
        assert_eq!(on_nic.route_texts(), ["default via 10.9.0.254"]);

        // The virtual Ethernet bridge's order: the bridge takes the NIC's MAC and addresses,
        // the NIC joins it, leaves its addresses, and the routes follow.
        links::ensure_bridge("ivmsea").unwrap();
        let mac = links::list()
            .unwrap()
            .into_iter()
            .find(|l| l.name == "ph0")
            .unwrap()
            .mac;
        links::set_mac("ivmsea", &mac).unwrap();
        addrs::add_addresses("ivmsea", &on_nic).unwrap();
        links::attach("ph0", "ivmsea").unwrap();
        addrs::remove_addresses("ph0", &on_nic).unwrap();
        addrs::add_routes("ivmsea", &on_nic).unwrap();
        let (b, n) = (addrs::read("ivmsea").unwrap(), addrs::read("ph0").unwrap());
        assert_eq!(b.addresses, cfg.addresses);
        assert_eq!(b.route_texts(), ["default via 10.9.0.254"]);
        assert!(n.is_empty(), "{n:?}");
        let all = links::list().unwrap();
        let get = |n: &str| all.iter().find(|l| l.name == n).unwrap().clone();
        assert_eq!(get("ivmsea").mac, mac);
        assert_eq!(get("ph0").master, Some(get("ivmsea").index));

        // And back.
        addrs::add_addresses("ph0", &b).unwrap();
        links::detach("ph0").unwrap();
        addrs::remove_addresses("ivmsea", &b).unwrap();
        addrs::add_routes("ph0", &b).unwrap();
        let back = addrs::read("ph0").unwrap();
        assert_eq!(back.addresses, cfg.addresses);
        assert_eq!(back.route_texts(), ["default via 10.9.0.254"]);
        assert!(addrs::read("ivmsea").unwrap().is_empty());
        assert_eq!(
            links::list()
                .unwrap()
                .iter()
                .find(|l| l.name == "ph0")
                .unwrap()
                .master,
            None
        );
    });
}

/// A bridge ivm makes and a partition's tap take no IPv6 address and no router
/// advertisements, so guests on an internal virtual Ethernet cannot reach the host over IPv6;
/// a bridge given the host's network (a virtual Ethernet bridge) gets the NIC's IPv6 back.
#[test]
fn bridges_and_taps_come_up_without_ipv6() {
    in_new_netns(|| {
        use ivm_net::ipv6;
        ivm_net::links::ensure_bridge("ivmt6br").unwrap();
        let _tap = ivm_net::tap::open("ivmt6tap", true).unwrap();
        ipv6::disable("ivmt6tap").unwrap();
        ivm_net::links::attach("ivmt6tap", "ivmt6br").unwrap();
        let off = ipv6::Ipv6State {
            enabled: false,
            accept_ra: 0,
        };
        assert_eq!(ipv6::state("ivmt6br").unwrap(), Some(off));
        assert_eq!(ipv6::state("ivmt6tap").unwrap(), Some(off));
        // A fresh link in this namespace has IPv6 on, as the kernel's default: the switch
        // above is what turned it off.
        ivm_net::links::ensure_bridge("ivmt6on").unwrap();
        let on = ipv6::Ipv6State {
            enabled: true,
            accept_ra: 1,
        };
        ipv6::set("ivmt6on", on).unwrap();
        assert_eq!(ipv6::state("ivmt6on").unwrap(), Some(on));
        let v6 = |name: &str| {
            ivm_net::addrs::read(name)
                .unwrap()
                .addresses
                .iter()
                .filter(|(a, _)| a.is_ipv6())
                .count()
        };
        assert_eq!(v6("ivmt6br"), 0, "no IPv6 address on the bridge");
        assert!(ipv6::set("../x", on).is_err(), "names are links, not paths");
    });
}

/// A partition's tap sends what the bridge hands it straight to its own queue towards QEMU:
/// no queueing discipline in front of it, as libvirt does for its taps.
#[test]
fn a_tap_gets_no_queueing_discipline() {
    in_new_netns(|| {
        use ivm_net::qdisc;
        links::ensure_bridge("ivmtqbr").unwrap();
        let _tap = tap::open("ivmtqtap", true).unwrap();
        links::attach("ivmtqtap", "ivmtqbr").unwrap();
        let before = qdisc::root_kind("ivmtqtap").unwrap();
        assert_ne!(
            before.as_deref(),
            Some("noqueue"),
            "the kernel's default first"
        );
        qdisc::set_noqueue("ivmtqtap").unwrap();
        assert_eq!(
            qdisc::root_kind("ivmtqtap").unwrap().as_deref(),
            Some("noqueue")
        );
        // Again is fine (a replace), and a link that is not there is an error naming it.
        qdisc::set_noqueue("ivmtqtap").unwrap();
        let e = qdisc::set_noqueue("ivmtqnone").unwrap_err().to_string();
        assert!(e.contains("ivmtqnone"), "{e}");
    });
}
