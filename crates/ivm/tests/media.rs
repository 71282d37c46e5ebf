//! The virtual media library on real files: the repository committed from a pool, media
//! copied, made blank and uploaded (streamed, nothing left of a broken upload), optical
//! devices, read-only and read-write loading rules, and a real guest that boots from virtual
//! optical media and sees media change while it runs.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{boot, eventually, lock, stop_now, Console, Daemon};

const SETTINGS: &str = "shutdown_delay_secs = 3\nrootvg_size_mb = 1024\n";

/// An ISO the test guest build made (guest.iso, tools.iso), copied into the daemon's boot
/// directory, where `mkvopt -file` may copy from.
fn stage(d: &Daemon, iso: &str) -> PathBuf {
    let (kernel, _) = common::test_guest();
    let src = kernel.parent().unwrap().join(iso);
    assert!(
        src.is_file(),
        "scripts/build-test-guest.sh builds {}",
        src.display()
    );
    let boot = d.data_dir().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    std::fs::copy(&src, boot.join(iso)).unwrap();
    boot.join(iso)
}

/// The guest's optical drives and their sizes in 512-byte sectors (0 when empty).
fn cdroms(con: &mut Console) -> Vec<(String, u64)> {
    con.send("guest-status");
    let line = con.wait_for("cdroms=", Duration::from_secs(30));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("cdroms="))
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|d| {
            let (n, s) = d.split_once(':').unwrap();
            (n.to_string(), s.parse().unwrap())
        })
        .collect()
}

fn rootvg_free(d: &Daemon) -> u64 {
    d.ok(&["lssp", "-field", "pool", "free", "-fmt", ":"])
        .lines()
        .find_map(|l| l.strip_prefix("rootvg:"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_media_library_commits_its_space_and_refuses_with_reasons() {
    let d = Daemon::start(SETTINGS);
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=a,desired_procs=1,desired_mem=256",
    ]);
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=b,desired_procs=1,desired_mem=256",
    ]);
    let e = d.fails(&["lsrep"]);
    assert!(e.contains("mkrep"), "{e}");
    let e = d.fails(&["mkvopt", "-name", "x", "-size", "1M"]);
    assert!(e.contains("mkrep"), "{e}");

    // The repository is a backing device of its pool: committed like a virtual disk.
    let e = d.fails(&["mkrep", "-sp", "rootvg", "-size", "2G"]);
    assert!(e.contains("1024 MB"), "{e}");
    assert_eq!(
        d.ok(&["mkrep", "-sp", "rootvg", "-size", "100M"]),
        "Virtual Media Repository Created\nRepository created within \"VMLibrary_LV\" logical volume\n"
    );
    assert_eq!(rootvg_free(&d), 924);
    assert!(d
        .ok(&["lssp", "-bd", "-sp", "rootvg"])
        .contains("VMLibrary_LV"));
    let e = d.fails(&["mkrep", "-sp", "rootvg", "-size", "10M"]);
    assert!(e.contains("one per system"), "{e}");
    let e = d.fails(&["rmbdsp", "-bd", "VMLibrary_LV"]);
    assert!(e.contains("rmrep"), "{e}");
    let e = d.fails(&["mkvdev", "-vdev", "VMLibrary_LV", "-vadapter", "vhost0"]);
    assert!(e.contains("media library"), "{e}");
    let e = d.fails(&["mkbdsp", "1M", "-bd", "VMLibrary_LV"]);
    assert!(e.contains("repository"), "{e}");

    // Media: copied from a directory ivm manages, or blank; never from elsewhere.
    let iso = stage(&d, "guest.iso");
    let iso_mb = std::fs::metadata(&iso).unwrap().len().div_ceil(1 << 20);
    d.ok(&["mkvopt", "-name", "guest.iso", "-file", "guest.iso", "-ro"]);
    d.ok(&["mkvopt", "-name", "blank", "-size", "8M"]);
    let outside = d.data_dir().join("outside.iso");
    std::fs::copy(&iso, &outside).unwrap();
    let e = d.fails(&[
        "mkvopt",
        "-name",
        "evil",
        "-file",
        outside.to_str().unwrap(),
    ]);
    assert!(
        e.contains("not a regular file in a directory ivm manages"),
        "{e}"
    );
    let e = d.fails(&["mkvopt", "-name", "guest.iso", "-size", "1M"]);
    assert!(e.contains("already in use"), "{e}");
    let e = d.fails(&["mkvopt", "-name", "big", "-size", "200M"]);
    assert!(e.contains(&format!("{} MB", 100 - 8 - iso_mb)), "{e}");
    let e = d.fails(&["mkvopt", "-name", "a/x", "-size", "1M"]);
    assert!(e.contains("letters, digits"), "{e}");
    assert_eq!(
        d.ok(&["lsrep", "-field", "size", "free", "parentpool", "-fmt", ":"]),
        format!("100:{}:rootvg\n", 100 - 8 - iso_mb)
    );
    assert_eq!(
        d.ok(&["lsrep", "-field", "name", "filesize", "optical", "access", "-fmt", ":"]),
        format!("blank:8:None:rw\nguest.iso:{iso_mb}:None:ro\n")
    );
    let lib = d.data_dir().join("pools/rootvg/VMLibrary_LV");
    assert_eq!(
        std::fs::read(lib.join("guest.iso")).unwrap(),
        std::fs::read(&iso).unwrap()
    );

    // Optical devices: one per adapter LUN, empty at first.
    assert_eq!(
        d.ok(&["mkvdev", "-fbo", "-vadapter", "vhost0"]),
        "vtopt0 Available\n"
    );
    assert_eq!(
        d.ok(&["mkvdev", "-fbo", "-vadapter", "vhost1"]),
        "vtopt1 Available\n"
    );
    let e = d.fails(&["mkvdev", "-fbo", "-vadapter", "vhost9"]);
    assert!(e.contains("vhost9"), "{e}");
    assert_eq!(
        d.ok(&["lsvopt", "-field", "vtd", "media", "size", "-fmt", ":"]),
        "vtopt0:No Media:n/a\nvtopt1:No Media:n/a\n"
    );
    // Read-only media load in several partitions; read-write in one.
    d.ok(&["loadopt", "-disk", "guest.iso", "-vtd", "vtopt0"]);
    d.ok(&["loadopt", "-disk", "guest.iso", "-vtd", "vtopt1"]);
    let e = d.fails(&["loadopt", "-disk", "blank", "-vtd", "vtopt1"]);
    assert!(e.contains("loadopt -f"), "{e}");
    d.ok(&["unloadopt", "-vtd", "vtopt1"]);
    d.ok(&["loadopt", "-disk", "blank", "-vtd", "vtopt1"]);
    let e = d.fails(&["loadopt", "-f", "-disk", "blank", "-vtd", "vtopt0"]);
    assert!(
        e.contains("read-write media may be loaded in one device"),
        "{e}"
    );
    assert_eq!(
        d.ok(&[
            "lsmap", "-all", "-type", "optical", "-field", "svsa", "vtd", "backing", "-fmt", ":"
        ]),
        "vhost0:vtopt0:guest.iso\nvhost1:vtopt1:blank\n"
    );
    assert_eq!(
        d.ok(&["lsrep", "-field", "name", "optical", "-fmt", ":"]),
        "blank:vtopt1\nguest.iso:vtopt0\n"
    );
    // Loaded media stay until unloaded.
    let e = d.fails(&["rmvopt", "-name", "guest.iso"]);
    assert!(e.contains("unloadopt -vtd vtopt0"), "{e}");
    let e = d.fails(&["chvopt", "-name", "guest.iso", "-mv", "g.iso"]);
    assert!(e.contains("unloadopt"), "{e}");
    let e = d.fails(&["rmrep", "-f"]);
    assert!(e.contains("loaded"), "{e}");
    let e = d.fails(&["chvopt", "-name", "guest.iso", "-access", "rx"]);
    assert!(e.contains("ro, rw"), "{e}");
    d.ok(&["rmvopt", "-f", "-name", "blank"]);
    assert_eq!(
        d.ok(&["lsvopt", "-vtd", "vtopt1", "-field", "media", "-fmt", ":"]),
        "No Media\n"
    );
    assert!(!lib.join("blank").exists());
    d.ok(&["unloadopt", "-vtd", "vtopt0"]);
    d.ok(&[
        "chvopt",
        "-name",
        "guest.iso",
        "-mv",
        "g.iso",
        "-access",
        "rw",
    ]);
    assert!(lib.join("g.iso").is_file() && !lib.join("guest.iso").exists());
    // The repository grows within its pool, never shrinks.
    let e = d.fails(&["chrep", "-size", "50M"]);
    assert!(e.contains("never shrinks"), "{e}");
    d.ok(&["chrep", "-size", "200M"]);
    assert_eq!(rootvg_free(&d), 824);
    // Removal: refused with media unless forced; the optical devices go with rmvdev.
    let e = d.fails(&["rmrep"]);
    assert!(e.contains("g.iso"), "{e}");
    assert_eq!(d.ok(&["rmvdev", "-vtd", "vtopt1"]), "vtopt1 deleted\n");
    assert_eq!(d.ok(&["rmrep", "-f"]), "Virtual Media Repository Deleted\n");
    assert!(!lib.exists());
    assert_eq!(rootvg_free(&d), 1024);
    // rmsyscfg takes a partition's optical devices with it.
    d.ok(&["rmsyscfg", "-r", "lpar", "-n", "a"]);
    assert_eq!(
        d.ok(&["lsvopt"]),
        "VTD             Media                                   Size(mb)\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_streamed_with_progress_and_a_broken_one_leaves_nothing() {
    let d = Daemon::start(SETTINGS);
    d.set_password("padmin", "padmin-pass-1");
    d.ok(&["mkrep", "-sp", "rootvg", "-size", "64M"]);
    let http = d.https();
    let token = d.token("padmin", "padmin-pass-1").await;
    let lib = d.data_dir().join("pools/rootvg/VMLibrary_LV");

    // 20 MB in 64 KB chunks, streamed.
    let data: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect();
    let r = http
        .put(d.url("/storage/media/up.iso?read_only=true"))
        .bearer_auth(&token)
        .header("content-length", data.len())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    assert_eq!(std::fs::read(lib.join("up.iso")).unwrap(), data);
    let tasks: serde_json::Value = http
        .get(d.url("/tasks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["operation"] == "upload optical media")
        .unwrap();
    assert_eq!(
        (t["progress"].as_u64(), t["result"].as_str()),
        (Some(100), Some("succeeded"))
    );

    // An upload that breaks off half way: refused, and neither the file nor the record stays.
    let half: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(vec![1u8; 1 << 20]),
        Err(std::io::Error::other("the client went away")),
    ];
    let r = http
        .put(d.url("/storage/media/broken.iso"))
        .bearer_auth(&token)
        .header("content-length", 4u64 << 20)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(half)))
        .send()
        .await;
    if let Ok(r) = r {
        assert!(r.status().is_client_error(), "{r:?}");
    }
    eventually(
        "the broken upload to be taken back",
        Duration::from_secs(30),
        || {
            !d.ok(&["lsrep"]).contains("broken.iso")
                && std::fs::read_dir(&lib).unwrap().count() == 1
        },
    );
    // More than the library holds is refused before a byte is written.
    let r = http
        .put(d.url("/storage/media/huge.iso"))
        .bearer_auth(&token)
        .header("content-length", 100u64 << 20)
        .body(vec![0u8; 16])
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 409, "{r:?}");
    }
    // Without a length there is no upload; a View Only user has none either.
    let r = http
        .put(d.url("/storage/media/nolen.iso"))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            vec![Ok::<_, std::io::Error>(vec![0u8; 10])],
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 411);
    assert_eq!(d.ok(&["lsrep", "-field", "name", "-fmt", ":"]), "up.iso\n");
}

#[test]
fn a_partition_boots_from_virtual_optical_media_and_sees_media_change_live() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    stage(&d, "guest.iso");
    d.ok(&["mkrep", "-sp", "rootvg", "-size", "200M"]);
    d.ok(&[
        "mkvopt",
        "-name",
        "install.iso",
        "-file",
        "guest.iso",
        "-ro",
    ]);
    d.ok(&["mkvopt", "-name", "scratch", "-size", "4M"]);
    // No boot_kernel and no disk: the firmware boots the CD.
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=cdboot,desired_procs=1,desired_mem=256",
    ]);
    d.ok(&["mkvdev", "-fbo", "-vadapter", "vhost0"]);
    d.ok(&["loadopt", "-disk", "install.iso", "-vtd", "vtopt0"]);
    let mut con = boot(&d, "cdboot", 2);
    let iso_sectors = std::fs::metadata(d.data_dir().join("boot/guest.iso"))
        .unwrap()
        .len()
        / 512;
    con.send("guest-status");
    con.wait_for("boot=cd", Duration::from_secs(30));
    assert_eq!(cdroms(&mut con), vec![("sr0".to_string(), iso_sectors)]);

    // Media change on the running partition.
    d.ok(&["unloadopt", "-vtd", "vtopt0"]);
    eventually(
        "the guest to see the drive empty",
        Duration::from_secs(30),
        || cdroms(&mut con) == vec![("sr0".to_string(), 0)],
    );
    d.ok(&["loadopt", "-disk", "scratch", "-vtd", "vtopt0"]);
    eventually(
        "the guest to see the new media",
        Duration::from_secs(30),
        || cdroms(&mut con) == vec![("sr0".to_string(), 4 * 2048)],
    );
    // A second optical device hot-plugged into the running partition.
    assert_eq!(
        d.ok(&["mkvdev", "-fbo", "-vadapter", "vhost0"]),
        "vtopt1 Available\n"
    );
    d.ok(&["loadopt", "-disk", "install.iso", "-vtd", "vtopt1"]);
    eventually(
        "the guest to see the second drive",
        Duration::from_secs(30),
        || cdroms(&mut con).len() == 2,
    );
    con.send(
        "mkdir -p /mnt/cd && mount -t iso9660 -o ro /dev/sr1 /mnt/cd && ls /mnt/cd; echo listed",
    );
    con.wait_for("vmlinuz", Duration::from_secs(30));
    con.send("umount /mnt/cd; echo un\"\"mounted");
    con.wait_for("unmounted\r", Duration::from_secs(30));
    d.ok(&["rmvdev", "-vtd", "vtopt1"]);
    eventually(
        "the guest to lose the second drive",
        Duration::from_secs(30),
        || cdroms(&mut con).len() == 1,
    );
    drop(con);
    stop_now(&d, "cdboot");
    // What was loaded stays loaded across activations.
    assert_eq!(
        d.ok(&["lsvopt", "-field", "vtd", "media", "-fmt", ":"]),
        "vtopt0:scratch\n"
    );
}

fn d_free(d: &Daemon) -> String {
    d.ok(&["lsrep", "-field", "free", "-fmt", ":"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_while_media_arrive_leaves_no_half_made_media() {
    let mut d = Daemon::start(SETTINGS);
    stage(&d, "guest.iso");
    d.ok(&["mkrep", "-sp", "rootvg", "-size", "100M"]);
    let lib = d.data_dir().join("pools/rootvg/VMLibrary_LV");
    assert_eq!(d_free(&d), "100\n");

    // Killed after the copy, before it was recorded as made.
    d.restart_with_env(&[("IVM_FAILPOINTS", "media.copied=abort")]);
    let o = d.ivm(&["mkvopt", "-name", "half.iso", "-file", "guest.iso"]);
    assert_ne!(o.code, 0);
    let _ = d.child.wait();
    assert!(lib.join("half.iso").exists(), "the copy was made");
    d.restart_with_env(&[]);
    assert!(!lib.join("half.iso").exists());
    assert_eq!(d_free(&d), "100\n");
    assert_eq!(d.ok(&["lsrep", "-field", "name", "-fmt", ":"]), "");

    // Killed half way through an upload: neither the partial file nor the record stays.
    d.set_password("padmin", "padmin-pass-1");
    let token = d.token("padmin", "padmin-pass-1").await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let http = d.https();
    let url = d.url("/storage/media/up.iso");
    let upload =
        tokio::spawn(async move {
            let body = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|c| (c, rx))
            });
            http.put(url)
                .bearer_auth(token)
                .header("content-length", 8u64 << 20)
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
        });
    tx.send(Ok(vec![7u8; 1 << 20])).await.unwrap();
    let part = lib.join(".up.iso.part");
    common::eventually(
        "the upload to start writing",
        Duration::from_secs(30),
        || std::fs::metadata(&part).is_ok_and(|m| m.len() > 0),
    );
    d.restart_after_kill();
    drop(tx);
    let _ = upload.await;
    assert!(!part.exists(), "the partial upload was swept at start");
    assert_eq!(d.ok(&["lsrep", "-field", "name", "-fmt", ":"]), "");
    assert_eq!(d_free(&d), "100\n");
}
