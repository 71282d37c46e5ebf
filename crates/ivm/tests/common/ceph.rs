//! A single-node Ceph cluster of the test's own, from Debian's packages: one monitor and one
//! OSD with an in-memory object store (no block device), in a network namespace the test
//! made, with an RBD pool `ivm` and a user `client.ivm` that may use only it. Both daemons
//! run in the foreground as the test's children and are killed when it is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running cluster.
pub struct Ceph {
    dir: PathBuf,
    netns: String,
    daemons: Vec<Child>,
    /// `HOST:PORT` of its monitor.
    pub monitor: String,
    /// The key of `client.ivm`.
    pub key: String,
    /// The cluster's fsid.
    pub fsid: String,
}

impl Ceph {
    /// Starts it in namespace `netns`, its monitor on `ip`.
    pub fn start(netns: &str, ip: &str) -> Ceph {
        let dir = std::env::temp_dir().join(format!("ivm-ceph-{}-{netns}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["mon", "osd0", "run"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let fsid = uuid();
        let monitor = format!("{ip}:6789");
        let d = dir.display();
        std::fs::write(
            dir.join("ceph.conf"),
            format!(
                "[global]\nfsid = {fsid}\nmon_host = {monitor}\npublic_addr = {ip}\n\
                 auth_cluster_required = cephx\nauth_service_required = cephx\nauth_client_required = cephx\n\
                 osd_pool_default_size = 1\nosd_pool_default_min_size = 1\nmon_allow_pool_size_one = true\n\
                 mon_allow_pool_delete = true\nosd_objectstore = memstore\nmemstore_device_bytes = 2147483648\n\
                 osd_data = {d}/osd0\nmon_data = {d}/mon\nrun_dir = {d}/run\nlog_file = {d}/$name.log\n\
                 admin_socket = {d}/run/$name.asok\nkeyring = {d}/admin.keyring\n\
                 mon_warn_on_pool_no_redundancy = false\nosd_crush_chooseleaf_type = 0\nms_bind_msgr2 = false\n"
            ),
        )
        .unwrap();
        let base = dir.clone();
        let keyring = move |name: &str| base.join(name).display().to_string();
        let mut c = Ceph {
            dir,
            netns: netns.to_string(),
            daemons: Vec::new(),
            monitor,
            key: String::new(),
            fsid: fsid.clone(),
        };
        let conf = c.conf();
        c.tool(&[
            "ceph-authtool",
            "--create-keyring",
            &keyring("mon.keyring"),
            "--gen-key",
            "-n",
            "mon.",
            "--cap",
            "mon",
            "allow *",
        ]);
        c.tool(&[
            "ceph-authtool",
            "--create-keyring",
            &keyring("admin.keyring"),
            "--gen-key",
            "-n",
            "client.admin",
            "--cap",
            "mon",
            "allow *",
            "--cap",
            "osd",
            "allow *",
            "--cap",
            "mgr",
            "allow *",
        ]);
        c.tool(&[
            "ceph-authtool",
            &keyring("mon.keyring"),
            "--import-keyring",
            &keyring("admin.keyring"),
        ]);
        c.tool(&[
            "monmaptool",
            "--create",
            "--add",
            "a",
            &c.monitor,
            "--fsid",
            &fsid,
            &keyring("monmap"),
        ]);
        c.tool(&[
            "ceph-mon",
            "-c",
            &conf,
            "--no-mon-config",
            "--mkfs",
            "-i",
            "a",
            "--monmap",
            &keyring("monmap"),
            "--keyring",
            &keyring("mon.keyring"),
        ]);
        c.daemon(&["ceph-mon", "-f", "-c", &conf, "--no-mon-config", "-i", "a"]);
        let osd_uuid = uuid();
        let id = c.ceph(&["osd", "new", &osd_uuid]).trim().to_string();
        c.tool(&[
            "ceph-authtool",
            "--create-keyring",
            &keyring("osd0/keyring"),
            "--gen-key",
            "-n",
            &format!("osd.{id}"),
        ]);
        c.ceph(&[
            "auth",
            "add",
            &format!("osd.{id}"),
            "osd",
            "allow *",
            "mon",
            "allow profile osd",
            "-i",
            &keyring("osd0/keyring"),
        ]);
        c.tool(&[
            "ceph-osd",
            "-c",
            &conf,
            "-i",
            &id,
            "--mkfs",
            "--osd-uuid",
            &osd_uuid,
            "--keyring",
            &keyring("osd0/keyring"),
            "--no-mon-config",
        ]);
        c.daemon(&[
            "ceph-osd",
            "-f",
            "-c",
            &conf,
            "-i",
            &id,
            "--keyring",
            &keyring("osd0/keyring"),
        ]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !c.ceph(&["osd", "stat"]).contains("1 up") {
            assert!(
                Instant::now() < deadline,
                "the OSD did not come up: {}",
                c.log("osd.0")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        c.ceph(&["osd", "pool", "create", "ivm", "8"]);
        c.tool(&["rbd", "-c", &conf, "pool", "init", "ivm"]);
        c.ceph(&[
            "auth",
            "get-or-create",
            "client.ivm",
            "mon",
            "profile rbd",
            "osd",
            "profile rbd pool=ivm",
        ]);
        c.key = c
            .ceph(&["auth", "get-key", "client.ivm"])
            .trim()
            .to_string();
        c
    }

    fn conf(&self) -> String {
        self.dir.join("ceph.conf").display().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns]).args(args);
        cmd
    }

    /// Runs a Ceph tool in the namespace, asserting success; its output.
    fn tool(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run a ceph tool");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ceph ARGS` as the cluster's administrator.
    pub fn ceph(&self, args: &[&str]) -> String {
        let conf = self.conf();
        let mut v = vec!["ceph", "-c", conf.as_str(), "--connect-timeout", "20"];
        v.extend_from_slice(args);
        self.tool(&v)
    }

    /// `rbd -p ivm ARGS` as the cluster's administrator.
    pub fn rbd(&self, args: &[&str]) -> String {
        let conf = self.conf();
        let mut v = vec!["rbd", "-c", conf.as_str(), "-p", "ivm"];
        v.extend_from_slice(args);
        self.tool(&v)
    }

    /// The images in pool `ivm`.
    pub fn images(&self) -> Vec<String> {
        self.rbd(&["ls"]).lines().map(str::to_string).collect()
    }

    fn daemon(&mut self, args: &[&str]) {
        let child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a ceph daemon");
        self.daemons.push(child);
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Ceph {
    fn drop(&mut self) {
        for c in &mut self.daemons {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .unwrap()
        .trim()
        .to_string()
}
