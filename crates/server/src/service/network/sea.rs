//! A virtual Ethernet bridge (Shared Ethernet Adapter) on the host: a physical NIC joins the
//! bridge of one virtual Ethernet ID, its addresses and routes moving to the bridge in steps,
//! each with its undo, so the host keeps its network whichever step fails; leaving moves them
//! back the same way.

use ivm_model::EthDevice;

use super::super::error::host;
use super::super::steps::{run, step};
use super::super::ServiceError;
use super::{bridge_name, Held, Network};

fn link<'a>(links: &'a [ivm_net::Link], name: &str) -> Option<&'a ivm_net::Link> {
    links.iter().find(|l| l.name == name)
}

impl Network {
    /// Joins `nic` to the bridge of the bridge's ID, its addresses and routes moving to the bridge.
    /// Already joined, it only moves what the NIC still carries.
    pub fn join(
        &self,
        _held: &Held,
        prefix: &str,
        sea: &EthDevice,
        nic: &str,
    ) -> Result<(), ServiceError> {
        let h = &self.host;
        let br = bridge_name(prefix, sea.pvid.unwrap_or(0));
        let found = h.links().map_err(host)?;
        let phys = link(&found, nic).ok_or_else(|| {
        ServiceError::Host(crate::runtime::HostError::Unavailable(format!(
            "the physical adapter's interface {nic} does not exist now; bring it back and run cfgdev"
        )))
    })?;
        let joined = link(&found, &br).is_some_and(|b| phys.master == Some(b.index));
        let cfg = h.ip_config(nic).map_err(host)?;
        let mac = phys.mac.clone();
        // A bridge that exists already (partitions' ports on it) gets its own address back.
        let bridge_mac = link(&found, &br).map(|b| b.mac.clone());
        // The host's own network moves onto the bridge: IPv6 there as the NIC has it.
        let nic_v6 = h.ipv6(nic).map_err(host)?;
        let mut steps = Vec::new();
        if !joined {
            steps.push(step(
                "bridge",
                || h.ensure_bridge(&br).map_err(host),
                || h.delete_bridge_if_idle(&br).map(|_| ()).map_err(host),
            ));
            // The bridge answers with the NIC's MAC, so neighbours and DHCP see the same host.
            steps.push(step(
                "mac",
                || h.set_mac(&br, &mac).map_err(host),
                || match &bridge_mac {
                    Some(m) => h.set_mac(&br, m).map_err(host),
                    None => Ok(()),
                },
            ));
        }
        steps.push(step(
            "ipv6",
            || nic_v6.map_or(Ok(()), |v| h.set_ipv6(&br, v).map_err(host)),
            || h.disable_ipv6(&br).map_err(host),
        ));
        steps.push(step(
            "addresses",
            || h.add_addresses(&br, &cfg).map_err(host),
            || h.remove_addresses(&br, &cfg).map_err(host),
        ));
        if !joined {
            steps.push(step(
                "port",
                || h.attach(nic, &br).map_err(host),
                || h.detach(nic).map_err(host),
            ));
        }
        steps.push(step(
            "leave",
            || h.remove_addresses(nic, &cfg).map_err(host),
            || {
                h.add_addresses(nic, &cfg).map_err(host)?;
                h.add_routes(nic, &cfg).map_err(host)
            },
        ));
        steps.push(step(
            "routes",
            || h.add_routes(&br, &cfg).map_err(host),
            || h.remove_routes(&br, &cfg).map_err(host),
        ));
        run("sea", &sea.name, &steps)?;
        tracing::info!(sea = sea.name, nic, bridge = br, moved = ?cfg.addresses, routes = ?cfg.route_texts(), "physical adapter joined to its virtual Ethernet");
        Ok(())
    }

    /// Takes `nic` out of its bridge, the bridge's addresses and routes going back to it.
    pub fn leave(
        &self,
        _held: &Held,
        prefix: &str,
        sea: &EthDevice,
        nic: &str,
    ) -> Result<(), ServiceError> {
        let h = &self.host;
        let br = bridge_name(prefix, sea.pvid.unwrap_or(0));
        let found = h.links().map_err(host)?;
        if link(&found, nic).is_none() {
            // The NIC is gone: nothing to give back; the bridge goes with its last port.
            return Ok(());
        }
        let cfg = if link(&found, &br).is_some() {
            h.ip_config(&br).map_err(host)?
        } else {
            ivm_net::IpConfig::default()
        };
        let steps = [
            step(
                "addresses",
                || h.add_addresses(nic, &cfg).map_err(host),
                || h.remove_addresses(nic, &cfg).map_err(host),
            ),
            step(
                "port",
                || h.detach(nic).map_err(host),
                || h.attach(nic, &br).map_err(host),
            ),
            step(
                "leave",
                || {
                    if cfg.is_empty() {
                        return Ok(());
                    }
                    h.remove_addresses(&br, &cfg).map_err(host)
                },
                || {
                    h.add_addresses(&br, &cfg).map_err(host)?;
                    h.add_routes(&br, &cfg).map_err(host)
                },
            ),
            step(
                "routes",
                || h.add_routes(nic, &cfg).map_err(host),
                || h.remove_routes(nic, &cfg).map_err(host),
            ),
            // The bridge carries guests' frames only again.
            step(
                "ipv6",
                || match link(&found, &br) {
                    Some(_) => h.disable_ipv6(&br).map_err(host),
                    None => Ok(()),
                },
                || Ok(()),
            ),
        ];
        run("sea-remove", &sea.name, &steps)?;
        tracing::info!(sea = sea.name, nic, moved = ?cfg.addresses, "physical adapter left its virtual Ethernet");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use ivm_model::EthDeviceKind;

    use super::super::fake::{FakeLink, FakeNet, IPV6_OFF};
    use super::super::NetHost;
    use super::*;

    const PREFIX: &str = "ivmt";
    const BRIDGE: &str = "ivmtv1";
    const NIC_MAC: [u8; 6] = [0x52, 0x54, 0, 1, 2, 3];

    fn sea() -> EthDevice {
        EthDevice {
            name: "ent3".into(),
            kind: EthDeviceKind::Sea,
            ifname: String::new(),
            slot: None,
            pvid: Some(1),
            phys: Some("ent0".into()),
            vadapter: Some("ent2".into()),
            available: false,
            mac: String::new(),
        }
    }

    /// The host's NIC as it carries the host's network: IPv4 and IPv6 addresses, a default
    /// route and a static one, IPv6 with router advertisements.
    fn nic() -> FakeLink {
        let mut l = FakeLink::nic(&NIC_MAC);
        l.addresses = vec![
            ("192.0.2.10".parse().unwrap(), 24),
            ("2001:db8::10".parse().unwrap(), 64),
        ];
        let mut default = ivm_net::addrs::Route::default();
        default.header.table = 254;
        let mut fixed = default.clone();
        fixed.header.destination_prefix_length = 16;
        l.routes = vec![default, fixed];
        l.ipv6.accept_ra = 2;
        l
    }

    /// A host whose bridge of ID 1 exists already, with a partition's tap on it.
    fn with_partition_on_the_bridge() -> FakeNet {
        let mut b = FakeLink::nic(&[2, 0, 0, 0, 0, 9]);
        b.bridge = true;
        b.ipv6 = IPV6_OFF;
        let mut tap = FakeLink::nic(&[0xfe, 0, 0, 0, 0, 1]);
        tap.tap = true;
        tap.master = Some(BRIDGE.into());
        FakeNet::with(&[("eth0", nic()), (BRIDGE, b), ("ivmtt2s2", tap)])
    }

    fn component(host: &Arc<FakeNet>) -> Network {
        Network::new(host.clone())
    }

    fn join(host: &Arc<FakeNet>) -> Result<(), ServiceError> {
        let net = component(host);
        let held = net.lock();
        net.join(&held, PREFIX, &sea(), "eth0")
    }

    fn leave(host: &Arc<FakeNet>) -> Result<(), ServiceError> {
        let net = component(host);
        let held = net.lock();
        net.leave(&held, PREFIX, &sea(), "eth0")
    }

    /// Runs `change` on a copy of `host` once, then once more failing at each of its host
    /// changes in turn; after every failure the host must be as before. Returns the host
    /// after the change that worked, and how many failure points were checked.
    fn each_failure_is_undone(
        host: impl Fn() -> FakeNet,
        change: impl Fn(&Arc<FakeNet>) -> Result<(), ServiceError>,
    ) -> (BTreeMap<String, FakeLink>, usize) {
        let ok = Arc::new(host());
        let before = ok.snapshot();
        let base = ok.calls().len();
        change(&ok).unwrap();
        let n = ok.calls().len() - base;
        assert!(n > 0, "the change asked nothing of the host");
        for k in 0..n {
            let h = Arc::new(host());
            h.fail_after(k);
            let e = change(&h).expect_err("the injected failure is returned");
            assert!(e.to_string().contains("injected"), "{e}");
            assert_eq!(
                h.snapshot(),
                before,
                "failing at change {k} ({}) left the host changed; changes: {:?}",
                ok.calls()[base + k],
                &h.calls()[base..]
            );
        }
        (ok.snapshot(), n)
    }

    #[test]
    fn joining_moves_the_hosts_network_onto_the_bridge() {
        let h = Arc::new(FakeNet::with(&[("eth0", nic())]));
        join(&h).unwrap();
        let s = h.snapshot();
        let (n, b) = (&s["eth0"], &s[BRIDGE]);
        assert_eq!(n.master.as_deref(), Some(BRIDGE));
        assert!(n.addresses.is_empty() && n.routes.is_empty(), "{n:?}");
        assert_eq!(b.addresses, nic().addresses);
        assert_eq!(b.routes, nic().routes);
        assert_eq!(b.mac, NIC_MAC, "the bridge answers with the NIC's address");
        assert_eq!(b.ipv6, nic().ipv6, "IPv6 on the bridge as the NIC had it");
        // Joined already: joining again changes nothing.
        join(&h).unwrap();
        assert_eq!(h.snapshot(), s);
    }

    #[test]
    fn a_join_that_fails_at_any_host_change_leaves_the_host_as_it_was() {
        let (_, n) = each_failure_is_undone(|| FakeNet::with(&[("eth0", nic())]), join);
        assert_eq!(n, 7, "bridge, mac, ipv6, addresses, port, leave, routes");
    }

    #[test]
    fn a_failed_join_to_a_bridge_partitions_use_gives_the_bridge_back_as_it_was() {
        let (after, _) = each_failure_is_undone(with_partition_on_the_bridge, join);
        assert_eq!(after["ivmtt2s2"].master.as_deref(), Some(BRIDGE));
        assert_eq!(after[BRIDGE].mac, NIC_MAC);
    }

    #[test]
    fn a_join_left_half_way_is_finished_by_the_next_one() {
        // The daemon died after the port step: the NIC is a port, the addresses are on both.
        // Without its undo: what the first five steps did, by hand.
        let half = Arc::new(FakeNet::with(&[("eth0", nic())]));
        let net = component(&half);
        let held = net.lock();
        half.ensure_bridge(BRIDGE).unwrap();
        half.set_mac(BRIDGE, &NIC_MAC).unwrap();
        half.set_ipv6(BRIDGE, nic().ipv6).unwrap();
        let cfg = half.ip_config("eth0").unwrap();
        half.add_addresses(BRIDGE, &cfg).unwrap();
        half.attach("eth0", BRIDGE).unwrap();
        net.join(&held, PREFIX, &sea(), "eth0").unwrap();
        let whole = Arc::new(FakeNet::with(&[("eth0", nic())]));
        join(&whole).unwrap();
        assert_eq!(half.snapshot(), whole.snapshot());
    }

    #[test]
    fn leaving_gives_the_nic_its_network_back_and_a_failure_at_any_step_is_undone() {
        let joined = || {
            let h = Arc::new(FakeNet::with(&[("eth0", nic())]));
            join(&h).unwrap();
            Arc::into_inner(h).unwrap()
        };
        let (after, n) = each_failure_is_undone(joined, leave);
        assert_eq!(n, 5, "addresses, port, leave, routes, ipv6");
        assert_eq!(after["eth0"], nic(), "the NIC as it was before the join");
        assert!(after[BRIDGE].addresses.is_empty() && after[BRIDGE].routes.is_empty());
        assert_eq!(after[BRIDGE].ipv6, IPV6_OFF);
        // And the idle bridge goes.
        let h = Arc::new(FakeNet::with(&[("eth0", nic())]));
        join(&h).unwrap();
        leave(&h).unwrap();
        let net = component(&h);
        net.remove_if_idle(&net.lock(), BRIDGE);
        assert_eq!(h.snapshot(), FakeNet::with(&[("eth0", nic())]).snapshot());
    }

    #[test]
    fn a_nic_that_is_gone_is_refused_by_join_and_let_go_by_leave() {
        let h = Arc::new(FakeNet::default());
        let e = join(&h).unwrap_err().to_string();
        assert!(
            e.contains("eth0 does not exist") && e.contains("cfgdev"),
            "{e}"
        );
        leave(&h).unwrap();
        assert!(h.calls().is_empty());
    }

    #[test]
    fn a_tap_that_cannot_be_set_up_leaves_only_a_bridge_the_sweep_removes() {
        for k in 0..5 {
            let h = Arc::new(FakeNet::default());
            let net = component(&h);
            h.fail_after(k);
            let e = net.tap_on_bridge(&net.lock(), "ivmtt2s2", BRIDGE);
            assert!(e.is_err(), "failure at {k}");
            // QEMU never got the descriptor: the tap went with it.
            h.close_taps();
            net.sweep(&net.lock(), PREFIX);
            assert!(
                h.snapshot().is_empty(),
                "failure at {k}: {:?}",
                h.snapshot()
            );
        }
        let h = Arc::new(FakeNet::default());
        let net = component(&h);
        let _tap = net.tap_on_bridge(&net.lock(), "ivmtt2s2", BRIDGE).unwrap();
        let s = h.snapshot();
        let t = &s["ivmtt2s2"];
        assert_eq!(t.master.as_deref(), Some(BRIDGE));
        assert!(t.noqueue && t.ipv6 == IPV6_OFF, "{t:?}");
        net.sweep(&net.lock(), PREFIX);
        assert!(h.snapshot().contains_key(BRIDGE), "a bridge in use stays");
    }
}
