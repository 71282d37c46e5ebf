//! The graphical console: a partition with a display adapter serves its screen over VNC on a
//! Unix socket, relayed by the daemon as a WebSocket that speaks RFB, and as a PNG.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{api_get, boot, define_guest, eventually, lock, run_pid, stop_now, Daemon};

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// GET over the daemon's Unix socket (as root, who is padmin there); status and body.
fn get_unix(d: &Daemon, path: &str) -> (u16, Vec<u8>) {
    let mut s = UnixStream::connect(d.data_dir().join("ivm.sock")).unwrap();
    write!(
        s,
        "GET /api/v1{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..end]).to_string();
    let status = head[9..12].parse().unwrap();
    let mut body = all[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

type Ws = tungstenite::WebSocket<UnixStream>;

/// Opens the display's WebSocket over the daemon's Unix socket, with `origin` when given.
fn open_display(d: &Daemon, id: u32, origin: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let s = UnixStream::connect(d.data_dir().join("ivm.sock")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://localhost/api/v1/partitions/{id}/display"
    ))
    .unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    tungstenite::client::client(req, s)
        .map(|(ws, _)| ws)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => panic!("blocking socket interrupted"),
        })
}

/// Reads exactly `n` RFB bytes from the WebSocket's binary frames (`pending` keeps the rest).
fn rfb_read(ws: &mut Ws, pending: &mut Vec<u8>, n: usize) -> Vec<u8> {
    while pending.len() < n {
        match ws.read().expect("the display WebSocket closed") {
            tungstenite::Message::Binary(b) => pending.extend_from_slice(&b),
            tungstenite::Message::Close(c) => panic!("the display closed: {c:?}"),
            _ => {}
        }
    }
    pending.drain(..n).collect()
}

/// The RFB handshake (version 3.8, no VNC authentication: the daemon authenticated the user)
/// up to the server's init message; returns the framebuffer's width and height.
fn rfb_handshake(ws: &mut Ws) -> (u32, u32) {
    let mut pending = Vec::new();
    let version = rfb_read(ws, &mut pending, 12);
    assert_eq!(&version, b"RFB 003.008\n", "QEMU's VNC server greets");
    ws.send(tungstenite::Message::Binary(
        b"RFB 003.008\n".to_vec().into(),
    ))
    .unwrap();
    let count = rfb_read(ws, &mut pending, 1)[0] as usize;
    let types = rfb_read(ws, &mut pending, count);
    assert!(types.contains(&1), "security type None offered: {types:?}");
    ws.send(tungstenite::Message::Binary(vec![1u8].into()))
        .unwrap();
    assert_eq!(
        rfb_read(ws, &mut pending, 4),
        [0, 0, 0, 0],
        "security result OK"
    );
    // ClientInit: share the desktop with other viewers.
    ws.send(tungstenite::Message::Binary(vec![1u8].into()))
        .unwrap();
    let init = rfb_read(ws, &mut pending, 4);
    (
        u32::from(u16::from_be_bytes([init[0], init[1]])),
        u32::from(u16::from_be_bytes([init[2], init[3]])),
    )
}

/// TCP ports a process listens on (from /proc/PID/net and its descriptors).
fn listening_tcp_ports(pid: u32) -> Vec<String> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().to_string();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // State 0A is LISTEN; field 9 is the socket's inode.
            if f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                ports.push(f[1].to_string());
            }
        }
    }
    ports
}

#[test]
fn a_display_is_served_as_rfb_over_the_websocket_and_as_a_png() {
    let _g = lock();
    let d = Daemon::start("shutdown_delay_secs = 3\n");

    // Wrong values are refused with the allowed ones; the default is no display.
    let e = d.fails(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=scr,desired_procs=1,desired_mem=256,display=svga",
    ]);
    assert!(
        e.contains("display") && e.contains("none, vga, virtio-gpu"),
        "{e}"
    );
    define_guest(&d, "plain", "desired_procs=1,desired_mem=256");
    assert_eq!(
        d.ok(&[
            "lssyscfg",
            "-r",
            "prof",
            "--filter",
            "lpar_names=plain",
            "-F",
            "display"
        ])
        .trim(),
        "none"
    );
    // IVM's default profile record is unchanged.
    assert!(!d
        .ok(&["lssyscfg", "-r", "prof", "--filter", "lpar_names=plain"])
        .contains("display"));

    define_guest(&d, "scr", "desired_procs=1,desired_mem=256,display=vga");
    let id = common::lpar_id(&d, "scr");
    let plain = common::lpar_id(&d, "plain");
    let (status, body) = get_unix(&d, &format!("/partitions/{id}/screen"));
    let text = String::from_utf8_lossy(&body);
    assert!(
        status == 409 && text.contains("not_running"),
        "not running: {status} {text}"
    );

    let _con = boot(&d, "scr", id);
    let pid = run_pid(&d, id);
    let cmdline = common::qemu_cmdline(&d, id);
    assert!(cmdline.contains("-vnc unix:"), "{cmdline}");
    assert_eq!(
        listening_tcp_ports(pid),
        Vec::<String>::new(),
        "QEMU listens on no TCP port"
    );
    assert_eq!(api_get(&d, &format!("/partitions/{id}"))["display"], "vga");

    // The PNG and the RFB session describe the same framebuffer.
    let (status, png) = get_unix(&d, &format!("/partitions/{id}/screen"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&png));
    let (w, h) = png_size(&png);
    assert!(w >= 640 && h >= 400, "{w}x{h}");
    let mut ws = open_display(&d, id, None).expect("display WebSocket");
    let mut second = open_display(&d, id, Some("https://localhost")).expect("a second viewer");
    assert_eq!(rfb_handshake(&mut ws), (w, h));
    assert_eq!(rfb_handshake(&mut second), (w, h));

    // Another site's page cannot open it with the user's cookie.
    let e = open_display(&d, id, Some("https://evil.example")).unwrap_err();
    assert!(
        matches!(&e, tungstenite::Error::Http(r) if r.status() == 403),
        "{e:?}"
    );

    // A partition without a display: refused with what to do.
    define_guest(&d, "plain2", "desired_procs=1,desired_mem=256");
    let (status, body) = get_unix(&d, &format!("/partitions/{plain}/screen"));
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("display=vga"), "{text}");
    // Changing the adapter waits for a shutdown.
    let e = d.fails(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "lpar_name=scr,display=virtio-gpu",
    ]);
    assert!(e.contains("display") && e.contains("shut"), "{e}");

    // The viewer's stream ends when the partition stops.
    stop_now(&d, "scr");
    eventually(
        "the display WebSocket closes",
        Duration::from_secs(30),
        || !matches!(ws.read(), Ok(tungstenite::Message::Binary(_))),
    );
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "lpar_name=scr,display=virtio-gpu",
    ]);
    let _con = boot(&d, "scr", id);
    assert!(common::qemu_cmdline(&d, id).contains("-device virtio-vga,id=video0"));
    let (status, png) = get_unix(&d, &format!("/partitions/{id}/screen"));
    assert_eq!(status, 200);
    png_size(&png);
    stop_now(&d, "scr");
}
