//! A stock Debian 12 guest (scripts/build-stock-guest.sh: debootstrap, the distribution's
//! kernel, qemu-guest-agent, EXTLINUX and systemd-boot, no ivm-specific kernel arguments), imported from a
//! qcow2 and from a raw image, as a new user would bring it: what ivm commits, it sees; DLPAR
//! reaches it through its guest agent (ivm's RMC), is refused without one, and osshutdown
//! stops it.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{eventually, field, lock, state, stop_now, wait_rmc, wait_state, Console, Daemon};

const SETTINGS: &str = "shutdown_delay_secs = 60\nrootvg_size_mb = 4096\n";
/// Booting Debian's kernel and systemd under TCG to the serial login.
const BOOT: Duration = Duration::from_secs(240);

/// The images scripts/build-stock-guest.sh built (`target/stock-guest`, or `IVM_STOCK_GUEST`).
fn stock_guest(file: &str) -> PathBuf {
    let dir = std::env::var_os("IVM_STOCK_GUEST")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/stock-guest")
        });
    let f = dir.join(file);
    assert!(
        f.is_file(),
        "the stock guest is missing: run scripts/build-stock-guest.sh {}",
        dir.display()
    );
    f
}

/// Puts `file` in the daemon's boot directory, readable by the image converter.
fn stage(d: &Daemon, file: &str) {
    let boot = d.data_dir().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    let to = boot.join(file);
    std::fs::copy(stock_guest(file), &to).unwrap();
    std::fs::set_permissions(&to, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
}

/// What the guest sees: MemTotal (kB) and online processors. The marker is split in the typed
/// command, so only the answer matches it.
fn seen(con: &mut Console) -> (u64, u32) {
    con.skip_seen();
    con.send(r#"echo "SE""EN $(awk '/MemTotal/ {print $2}' /proc/meminfo) $(nproc)""#);
    let line = con.wait_for("SEEN ", Duration::from_secs(60));
    let mut w = line[line.find("SEEN ").unwrap() + 5..].split_whitespace();
    (
        w.next().unwrap().parse().unwrap(),
        w.next().unwrap().parse().unwrap(),
    )
}

fn lshwres(d: &Daemon, res: &str, attr: &str) -> String {
    field(
        d,
        &[
            "lshwres",
            "-r",
            res,
            "--level",
            "lpar",
            "--filter",
            "lpar_ids=2",
            "-F",
            attr,
        ],
    )
}

fn rmc(d: &Daemon) -> String {
    field(
        d,
        &[
            "lssyscfg",
            "-r",
            "lpar",
            "--filter",
            "lpar_ids=2",
            "-F",
            "rmc_state",
        ],
    )
}

#[test]
fn a_stock_debian_guest_sees_what_it_was_committed_and_takes_dlpar_through_its_agent() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    stage(&d, "stock.qcow2");
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=debian,desired_procs=1,max_procs=2,desired_proc_units=0.5,max_proc_units=2.0,min_mem=512,desired_mem=768,max_mem=1280",
    ]);
    d.ok(&[
        "mkbdsp",
        "-bd",
        "debroot",
        "-file",
        "stock.qcow2",
        "-vadapter",
        "vhost0",
    ]);
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "debian"]);
    let mut con = Console::open(&d, 2);
    con.wait_for("(automatic login)", BOOT);
    let (mem0, cpus0) = seen(&mut con);
    println!(
        "stock Debian at boot: MemTotal {mem0} kB of desired_mem 768 MB ({} kB kept by the kernel), {cpus0} processor",
        768 * 1024 - mem0
    );
    // All the committed memory, less what the kernel keeps for itself (its image, page
    // structures and a bounce buffer: under 128 MB here).
    assert!(
        mem0 > 640 * 1024 && mem0 <= 768 * 1024,
        "the guest sees {mem0} kB of 768 MB"
    );
    assert_eq!(cpus0, 1);
    wait_rmc(&d, "debian");
    assert_eq!(rmc(&d), "active");

    // Without its agent the guest would leave added memory offline: refused, nothing changed.
    con.send("systemctl stop qemu-guest-agent");
    eventually("the RMC connection to go", Duration::from_secs(60), || {
        rmc(&d) == "inactive"
    });
    let e = d.fails(&["chhwres", "-r", "mem", "-o", "a", "--id", "2", "-q", "256"]);
    assert!(e.contains("qemu-guest-agent"), "{e}");
    assert_eq!(lshwres(&d, "mem", "curr_mem"), "768");
    assert_eq!(seen(&mut con), (mem0, 1));

    con.send("systemctl start qemu-guest-agent");
    wait_rmc(&d, "debian");
    d.ok(&["chhwres", "-r", "mem", "-o", "a", "--id", "2", "-q", "256"]);
    assert_eq!(lshwres(&d, "mem", "curr_mem"), "1024");
    eventually(
        "the guest to see 256 MB more",
        Duration::from_secs(60),
        || seen(&mut con).0 == mem0 + 256 * 1024,
    );
    // One more processor, onlined by the agent (or, under TCG, refused when QEMU's
    // translation buffer has no room for it: then nothing changes).
    let o = d.ivm(&[
        "chhwres", "-r", "proc", "-o", "a", "--id", "2", "--procs", "1",
    ]);
    let plugged = o.code == 0;
    if !plugged {
        assert!(o.stderr.contains("translation buffer has no room"), "{o:?}");
    }
    let want = if plugged { 2 } else { 1 };
    assert_eq!(lshwres(&d, "proc", "curr_procs"), want.to_string());
    eventually(
        "the guest to have the processors lshwres says",
        Duration::from_secs(60),
        || seen(&mut con).1 == want,
    );
    println!(
        "processor plug: {}",
        if plugged {
            "onlined by the agent"
        } else {
            "held by TCG"
        }
    );

    // And back: the memory above the boot memory (onlined into the movable zone, so the
    // kernel can empty it), and the processor.
    d.ok(&["chhwres", "-r", "mem", "-o", "r", "--id", "2", "-q", "256"]);
    assert_eq!(lshwres(&d, "mem", "curr_mem"), "768");
    eventually(
        "the guest to be back at 768 MB",
        Duration::from_secs(60),
        || seen(&mut con).0 == mem0,
    );
    if plugged {
        d.ok(&[
            "chhwres", "-r", "proc", "-o", "r", "--id", "2", "--procs", "1",
        ]);
        eventually(
            "the guest to have one processor",
            Duration::from_secs(60),
            || seen(&mut con).1 == 1,
        );
    }
    // The OS shuts down when asked (through its agent) and the partition is Not Activated.
    d.ok(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "osshutdown",
        "-n",
        "debian",
    ]);
    con.wait_for("reboot: Power down", BOOT);
    drop(con);
    wait_state(&d, "debian", "Not Activated");
}

/// `PUT /api/v1PATH` with a JSON body as padmin; the status.
fn api_put(d: &Daemon, path: &str, body: serde_json::Value) -> u16 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    d.set_password("padmin", "padmin-pass-1");
    rt.block_on(async {
        let t = d.token("padmin", "padmin-pass-1").await;
        d.https()
            .put(d.url(path))
            .bearer_auth(t)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn the_same_stock_disk_imported_from_a_raw_image_boots_with_bios_and_uefi_and_takes_its_seed() {
    let _l = lock();
    let d = Daemon::start(SETTINGS);
    stage(&d, "stock.img");
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=rawdeb,desired_procs=1,desired_proc_units=0.5,min_mem=256,desired_mem=512,max_mem=512",
    ]);
    d.ok(&[
        "mkbdsp",
        "-bd",
        "rawroot",
        "-file",
        "stock.img",
        "-vadapter",
        "vhost0",
    ]);
    // A NoCloud seed: the hostname and an SSH key for root.
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIvmTestKeyForCloudInitSeedOnly0000000000 seed@ivm";
    let bad = api_put(
        &d,
        "/partitions/2/cloud-init",
        serde_json::json!({"hostname": "bad_host!", "user_data": ""}),
    );
    assert_eq!(bad, 400);
    let user_data =
        format!("#cloud-config\ndisable_root: false\nusers: []\nssh_authorized_keys:\n  - {key}\n");
    let ok = api_put(
        &d,
        "/partitions/2/cloud-init",
        serde_json::json!({"hostname": "seeded-host", "user_data": user_data}),
    );
    assert_eq!(ok, 204);
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "rawdeb"]);
    assert!(common::qemu_cmdline(&d, 2).contains("scsi-cd,bus=ci0.0"));
    let mut con = Console::open(&d, 2);
    con.wait_for("(automatic login)", BOOT);
    let (mem, cpus) = seen(&mut con);
    assert!(mem > 384 * 1024 && mem <= 512 * 1024, "{mem} kB of 512 MB");
    assert_eq!(cpus, 1);
    // cloud-init finishes its last stage after the login prompt: wait for it, then look.
    con.send("cloud-init status --wait >/dev/null; echo \"CI\"\"DONE $(hostname) $(grep -c seed@ivm /root/.ssh/authorized_keys)\"");
    let line = con.wait_for("CIDONE ", BOOT);
    assert!(line.contains("CIDONE seeded-host 1"), "{line}");
    assert_eq!(state(&d, "rawdeb"), "Running");
    con.send("[ -d /sys/firmware/efi ] && echo \"FW\"\"=uefi\" || echo \"FW\"\"=bios\"");
    assert!(con
        .wait_for("FW=", Duration::from_secs(60))
        .contains("FW=bios"));
    drop(con);
    stop_now(&d, "rawdeb");

    // The same disk under UEFI: OVMF finds systemd-boot on its EFI system partition, which
    // boots the same kernel and root file system to the login.
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "lpar_name=rawdeb,boot_firmware=uefi",
    ]);
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "rawdeb"]);
    let mut con = Console::open(&d, 2);
    con.wait_for("(automatic login)", BOOT);
    con.skip_seen();
    con.send(
        "[ -d /sys/firmware/efi ] && echo \"FW\"\"=uefi $(hostname)\" || echo \"FW\"\"=bios\"",
    );
    let line = con.wait_for("FW=", Duration::from_secs(60));
    assert!(line.contains("FW=uefi seeded-host"), "{line}");
    drop(con);
    stop_now(&d, "rawdeb");
}
