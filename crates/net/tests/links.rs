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
