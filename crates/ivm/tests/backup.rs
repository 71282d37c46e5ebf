//! Configuration backup and restore: bkprofdata, lpcfgop and rstprofdata give back every
//! partition, profile and mapping exactly, and refuse a bad, foreign or ill-timed restore
//! before anything is cleared or written.

mod common;

use common::Daemon;

const SYSTEM: &str = "name = \"ivmtest\"\ntype_model = \"8286-42A\"\nserial_num = \"21A5E7V\"\ninstalled_procs = 4\ninstalled_mem = 8192\nrootvg_size_mb = 256\n";

/// What clients see of the configuration.
fn listing(d: &Daemon) -> String {
    [
        d.ok(&["lssyscfg", "-r", "prof"]),
        d.ok(&["lssyscfg", "-r", "lpar"]),
        d.ok(&["lsmap", "-all", "-fmt", ","]),
        d.ok(&[
            "lssyscfg",
            "-r",
            "lpar",
            "-F",
            "name,virtual_eth_mac_base_value",
        ]),
    ]
    .join("--\n")
}

#[test]
fn a_backup_cleared_and_restored_gives_back_the_same_configuration() {
    let d = Daemon::start(SYSTEM);
    d.ok(&[
        "mksyscfg", "-r", "lpar", "-i",
        "name=web,lpar_id=3,desired_procs=2,max_procs=8,desired_mem=512,max_mem=1024,sharing_mode=cap,\"virtual_eth_adapters=3/0/1//0/0,5/0/9//0/0\"",
    ]);
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=db,proc_mode=ded,desired_procs=1,desired_mem=256,auto_start=1",
    ]);
    d.ok(&[
        "mkbdsp",
        "-sp",
        "rootvg",
        "32M",
        "-bd",
        "webdisk",
        "-vadapter",
        "vhost0",
    ]);
    d.ok(&["mkvdev", "-fbo", "-vadapter", "vhost1"]);
    // A boot file in the boot directory: a profile stores it as its absolute path.
    std::fs::write(d.data_dir().join("boot/vmlinuz-web"), "kernel").unwrap();
    d.ok(&[
        "chsyscfg",
        "-r",
        "prof",
        "-i",
        "name=web,boot_kernel=vmlinuz-web",
    ]);
    let before = listing(&d);
    assert!(
        before.contains("webdisk") && before.contains("vtopt0"),
        "{before}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profile.bak");
    let f = file.to_str().unwrap();
    assert_eq!(d.ok(&["bkprofdata", "-o", "backup", "-f", f]), "");

    // Refused while the partitions exist, and without confirmation.
    let e = d.fails(&["rstprofdata", "-l", "1", "-f", f]);
    assert!(
        e.contains("without client partitions") && e.contains("lpcfgop -o clear"),
        "{e}"
    );
    let e = d.fails(&["lpcfgop", "-o", "clear"]);
    assert!(e.contains("--force"), "{e}");
    assert_eq!(listing(&d), before);

    assert_eq!(d.ok(&["lpcfgop", "-o", "clear", "--force"]), "");
    assert_eq!(d.ok(&["lssyscfg", "-r", "lpar", "-F", "lpar_id"]), "1\n");
    // The disk stays, unmapped.
    assert!(d.ok(&["lssp", "-bd", "-sp", "rootvg"]).contains("webdisk"));

    // A corrupt, a truncated and a foreign backup are refused; nothing comes back.
    let text = std::fs::read_to_string(&file).unwrap();
    let bad = dir.path().join("bad.bak");
    let b = bad.to_str().unwrap();
    for (what, content) in [
        ("corrupt", text.replacen("\"web\"", "\"wob\"", 1)),
        ("corrupt", text[..text.len() / 2].to_string()),
        ("not an ivm profile backup", "hello\n".to_string()),
    ] {
        std::fs::write(&bad, content).unwrap();
        let e = d.fails(&["rstprofdata", "-l", "1", "-f", b]);
        assert!(e.contains(what) && e.contains("nothing was changed"), "{e}");
        assert_eq!(d.ok(&["lssyscfg", "-r", "lpar", "-F", "lpar_id"]), "1\n");
    }
    let other = Daemon::start(&SYSTEM.replace("21A5E7V", "99ZZ999"));
    other.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=elsewhere,desired_procs=1,desired_mem=256",
    ]);
    let foreign = dir.path().join("foreign.bak");
    let fo = foreign.to_str().unwrap();
    other.ok(&["bkprofdata", "-o", "backup", "-f", fo]);
    let e = d.fails(&["rstprofdata", "-l", "1", "-f", fo]);
    assert!(
        e.contains("8286-42A*99ZZ999") && e.contains("--ignoremtms"),
        "{e}"
    );
    assert_eq!(d.ok(&["lssyscfg", "-r", "lpar", "-F", "lpar_id"]), "1\n");
    let e = d.fails(&["rstprofdata", "-l", "2", "-f", f]);
    assert!(e.contains("-l 1"), "{e}");

    // An edited backup whose checksum was made to match passes the rules mksyscfg and mkvdev
    // apply, or nothing of it is restored.
    type Edit = Box<dyn Fn(&mut ivm_model::ProfileBackup)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a name with a line break",
            Box::new(|b| b.partitions[0].name = "web\nlp9,Running".into()),
        ),
        (
            "a name with a comma",
            Box::new(|b| b.partitions[0].name = "web,x".into()),
        ),
        (
            "a disk mapped twice",
            Box::new(|b| {
                let mut m = b.mappings[0].clone();
                let other = b
                    .adapters
                    .iter()
                    .find(|a| a.lpar_id != m.lpar_id)
                    .unwrap()
                    .clone();
                m.vtd = "vtscsi9".into();
                m.lun = 7;
                m.lpar_id = other.lpar_id;
                m.vhost = other.vhost;
                b.mappings.push(m);
            }),
        ),
        (
            "a device name with a comma",
            Box::new(|b| b.mappings[0].backing = "webdisk,file=/etc/shadow".into()),
        ),
        (
            "a target name with a quote",
            Box::new(|b| b.mappings[0].vtd = "vt\"x".into()),
        ),
        (
            "boot arguments with a line break",
            Box::new(|b| b.partitions[0].boot.boot_args = "quiet\ninit=/bin/sh".into()),
        ),
        (
            "a boot file outside the boot directory",
            Box::new(|b| b.partitions[0].boot.boot_kernel = "../../etc/shadow".into()),
        ),
        (
            "an absolute boot file outside the boot directory",
            Box::new(|b| b.partitions[0].boot.boot_kernel = "/etc/shadow".into()),
        ),
        (
            "units the rules would not make",
            Box::new(|b| b.partitions[0].procs.desired_procs = 0),
        ),
    ];
    for (what, edit) in &edits {
        let mut forged = ivm_model::ProfileBackup::from_file_text(&text).unwrap();
        edit(&mut forged);
        std::fs::write(&bad, forged.to_file_text()).unwrap();
        let o = d.run(
            std::process::Command::new(common::ivm_bin())
                .args(["rstprofdata", "-l", "1", "-f", b])
                .env("IVM_DATA_DIR", d.data_dir()),
        );
        assert_ne!(o.code, 0, "{what} was restored: {o:?}");
        println!("{what}: {}", o.stderr.trim());
        assert!(o.stderr.contains("nothing was changed"), "{what}: {o:?}");
        assert_eq!(
            d.ok(&["lssyscfg", "-r", "lpar", "-F", "lpar_id"]),
            "1\n",
            "{what}"
        );
    }
    println!("{} forged backups refused", edits.len());

    // The backup itself: everything as it was.
    assert_eq!(d.ok(&["rstprofdata", "-l", "1", "-f", f]), "");
    assert_eq!(listing(&d), before);
    // And a foreign one, when asked, onto a cleared system.
    d.ok(&["lpcfgop", "-o", "clear", "--force"]);
    d.ok(&["rstprofdata", "-l", "1", "-f", fo, "--ignoremtms"]);
    assert_eq!(
        d.ok(&["lssyscfg", "-r", "lpar", "-F", "name"])
            .lines()
            .last(),
        Some("elsewhere")
    );
    // lpcfgop -o dump writes the same kind of file.
    let dump = dir.path().join("dump");
    d.ok(&["lpcfgop", "-o", "dump", "-f", dump.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&dump)
        .unwrap()
        .starts_with("ivm-profile-backup 1\nsha256 "));
}
