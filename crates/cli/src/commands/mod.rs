//! The commands and what they share: the managed-system check and partition lookup.

mod backup;
mod bdsp;
mod chhwres;
mod chsyscfg;
mod chsysstate;
mod lparutil;
mod lshwres;
mod lsivm;
mod lsmap;
mod lsrefcode;
mod lssp;
mod lssyscfg;
mod lv;
mod media;
mod mksyscfg;
mod mobility;
mod netdev;
mod pv;
mod rmsyscfg;
mod sp;
mod users;
mod vdev;
mod vios;
mod vt;

use ivm_model::{Partition, SystemView};

use crate::{CliError, Client};

/// One IVM command with its options.
#[derive(Debug, clap::Subcommand)]
pub enum IvmCommand {
    /// List the managed system, partitions or profiles.
    Lssyscfg(lssyscfg::Args),
    /// Create a partition.
    Mksyscfg(mksyscfg::Args),
    /// Change a partition or its profile.
    Chsyscfg(chsyscfg::Args),
    /// Remove a partition.
    Rmsyscfg(rmsyscfg::Args),
    /// List processor and memory resources.
    Lshwres(lshwres::Args),
    /// Show the managed system's type-model, serial and management partition ID.
    Lsivm(lsivm::Args),
    /// Activate or shut down a partition.
    Chsysstate(chsysstate::Args),
    /// Add, remove, set or move processors and memory (DLPAR).
    Chhwres(Box<chhwres::Args>),
    /// List partitions' reference codes.
    Lsrefcode(lsrefcode::Args),
    /// Open a partition's virtual terminal (leave with ~.).
    Mkvt(vt::Args),
    /// Close a partition's virtual terminal session.
    Rmvt(vt::Args),
    /// List storage pools (`-bd`: their virtual disks).
    Lssp(lssp::Args),
    /// Make a storage pool (`-fb NAME -path DIR -size N`).
    Mksp(sp::Args),
    /// Remove an empty storage pool.
    Rmsp(sp::Args),
    /// Change a storage pool (`-default NAME`).
    Chsp(sp::Args),
    /// Make a virtual disk in a storage pool (and map it).
    Mkbdsp(bdsp::Args),
    /// Grow or rename a virtual disk.
    Chbdsp(bdsp::Args),
    /// Remove a virtual disk.
    Rmbdsp(bdsp::Args),
    /// Map a virtual disk to a partition's virtual SCSI server adapter.
    Mkvdev(vdev::Args),
    /// Remove a mapping (virtual target device).
    Rmvdev(vdev::Args),
    /// List virtual SCSI server adapters and their mappings.
    Lsmap(lsmap::Args),
    /// List physical volumes.
    Lspv(pv::Args),
    /// List devices available as paging devices of the shared memory pool.
    Lsmemdev(pv::Args),
    /// Look for new devices (physical volumes).
    Cfgdev(pv::Args),
    /// List volume groups (storage pools) and their logical volumes.
    Lsvg(lv::Args),
    /// Make a logical volume (a virtual disk) in a volume group.
    Mklv(lv::Args),
    /// Show a logical volume.
    Lslv(lv::Args),
    /// Remove a logical volume.
    Rmlv(lv::Args),
    /// Make the virtual media repository.
    Mkrep(media::Args),
    /// Grow the virtual media repository.
    Chrep(media::Args),
    /// Remove the virtual media repository.
    Rmrep(media::Args),
    /// List the virtual media repository and its media.
    Lsrep(media::Args),
    /// Make optical media (copy an ISO, or blank).
    Mkvopt(media::Args),
    /// List virtual optical devices and their media.
    Lsvopt(media::Args),
    /// Change optical media (access, name).
    Chvopt(media::Args),
    /// Remove optical media.
    Rmvopt(media::Args),
    /// Load optical media into a virtual optical device.
    Loadopt(media::Args),
    /// Unload a virtual optical device.
    Unloadopt(media::Args),
    /// List devices: Ethernet adapters, disks, virtual adapters and target devices.
    Lsdev(netdev::Args),
    /// Remove a device: a virtual Ethernet bridge or a virtual target device.
    Rmdev(netdev::Args),
    /// Create a user (View/Modify; `-attr pgrp=view` View Only; `-sr` Service Representative).
    Mkuser(users::Args),
    /// List users.
    Lsuser(users::Args),
    /// Change a user's role (`-attr pgrp=staff|view|sr`).
    Chuser(users::Args),
    /// Remove a user.
    Rmuser(users::Args),
    /// Add or remove one's SSH public keys.
    Mkauthkeys(users::Args),
    /// Back up the partition configuration to a file.
    Bkprofdata(backup::BkArgs),
    /// Restore the partition configuration from a backup file.
    Rstprofdata(backup::RstArgs),
    /// Clear (or dump) the partition configuration.
    Lpcfgop(backup::CfgArgs),
    /// List utilization samples (and their configuration).
    Lslparutil(lparutil::LsArgs),
    /// Change how often utilization is sampled.
    Chlparutil(lparutil::ChArgs),
    /// Validate, carry out, stop or recover a partition's migration to another ivm host.
    Migrlpar(Box<mobility::MigrArgs>),
    /// List mobility capabilities (`-r sys`) and partitions' migrations (`-r lpar`).
    Lslparmigr(mobility::LsArgs),
}

impl IvmCommand {
    /// Names under which the commands are installed as symlinks to `ivm`: every subcommand.
    pub fn names() -> Vec<String> {
        use clap::Subcommand;
        IvmCommand::augment_subcommands(clap::Command::new("ivm"))
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect()
    }
}

/// `passwd [NAME]`: one's own password, or padmin's for anyone.
pub(crate) fn passwd(client: &Client, args: &[String]) -> Result<String, CliError> {
    users::passwd(&Ctx { client }, args)
}

/// Runs a command; returns what it prints on success.
pub(crate) fn execute(cmd: IvmCommand, client: &Client) -> Result<String, CliError> {
    let ctx = Ctx { client };
    match cmd {
        IvmCommand::Lssyscfg(a) => lssyscfg::run(&ctx, a),
        IvmCommand::Mksyscfg(a) => mksyscfg::run(&ctx, a),
        IvmCommand::Chsyscfg(a) => chsyscfg::run(&ctx, a),
        IvmCommand::Rmsyscfg(a) => rmsyscfg::run(&ctx, a),
        IvmCommand::Lshwres(a) => lshwres::run(&ctx, a),
        IvmCommand::Lsivm(a) => lsivm::run(&ctx, a),
        IvmCommand::Chsysstate(a) => chsysstate::run(&ctx, a),
        IvmCommand::Chhwres(a) => chhwres::run(&ctx, *a),
        IvmCommand::Lsrefcode(a) => lsrefcode::run(&ctx, a),
        IvmCommand::Mkvt(a) => vt::mkvt(&ctx, a),
        IvmCommand::Rmvt(a) => vt::rmvt(&ctx, a),
        IvmCommand::Lssp(a) => lssp::run(&ctx, a),
        IvmCommand::Mksp(a) => sp::mksp(&ctx, a),
        IvmCommand::Rmsp(a) => sp::rmsp(&ctx, a),
        IvmCommand::Chsp(a) => sp::chsp(&ctx, a),
        IvmCommand::Mkbdsp(a) => bdsp::mkbdsp(&ctx, a),
        IvmCommand::Chbdsp(a) => bdsp::chbdsp(&ctx, a),
        IvmCommand::Rmbdsp(a) => bdsp::rmbdsp(&ctx, a),
        IvmCommand::Mkvdev(a) => vdev::mkvdev(&ctx, a),
        IvmCommand::Rmvdev(a) => vdev::rmvdev(&ctx, a),
        IvmCommand::Lsmap(a) => lsmap::run(&ctx, a),
        IvmCommand::Lspv(a) => pv::lspv(&ctx, a),
        IvmCommand::Lsmemdev(a) => pv::lsmemdev(&ctx, a),
        IvmCommand::Cfgdev(a) => pv::cfgdev(&ctx, a),
        IvmCommand::Lsvg(a) => lv::lsvg(&ctx, a),
        IvmCommand::Mklv(a) => lv::mklv(&ctx, a),
        IvmCommand::Lslv(a) => lv::lslv(&ctx, a),
        IvmCommand::Rmlv(a) => lv::rmlv(&ctx, a),
        IvmCommand::Mkrep(a) => media::mkrep(&ctx, a),
        IvmCommand::Chrep(a) => media::chrep(&ctx, a),
        IvmCommand::Rmrep(a) => media::rmrep(&ctx, a),
        IvmCommand::Lsrep(a) => media::lsrep(&ctx, a),
        IvmCommand::Mkvopt(a) => media::mkvopt(&ctx, a),
        IvmCommand::Lsvopt(a) => media::lsvopt(&ctx, a),
        IvmCommand::Chvopt(a) => media::chvopt(&ctx, a),
        IvmCommand::Rmvopt(a) => media::rmvopt(&ctx, a),
        IvmCommand::Loadopt(a) => media::loadopt(&ctx, a),
        IvmCommand::Unloadopt(a) => media::unloadopt(&ctx, a),
        IvmCommand::Lsdev(a) => netdev::lsdev(&ctx, a),
        IvmCommand::Rmdev(a) => netdev::rmdev(&ctx, a),
        IvmCommand::Mkuser(a) => users::mkuser(&ctx, a),
        IvmCommand::Lsuser(a) => users::lsuser(&ctx, a),
        IvmCommand::Chuser(a) => users::chuser(&ctx, a),
        IvmCommand::Rmuser(a) => users::rmuser(&ctx, a),
        IvmCommand::Mkauthkeys(a) => users::mkauthkeys(&ctx, a),
        IvmCommand::Bkprofdata(a) => backup::bkprofdata(&ctx, a),
        IvmCommand::Rstprofdata(a) => backup::rstprofdata(&ctx, a),
        IvmCommand::Lpcfgop(a) => backup::lpcfgop(&ctx, a),
        IvmCommand::Lslparutil(a) => lparutil::lslparutil(&ctx, a),
        IvmCommand::Chlparutil(a) => lparutil::chlparutil(&ctx, a),
        IvmCommand::Migrlpar(a) => mobility::migrlpar(&ctx, *a),
        IvmCommand::Lslparmigr(a) => mobility::lslparmigr(&ctx, a),
    }
}

/// Options every listing command takes: `-m`, `-F`, `--filter`, `--header`.
#[derive(Debug, clap::Args)]
pub struct ListOptions {
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Attributes to print, joined by a delimiter.
    #[arg(short = 'F')]
    fields: Option<String>,
    /// Filters: lpar_names=, lpar_ids= (and profile_names= for profiles).
    #[arg(long)]
    filter: Option<String>,
    /// Print the attribute names first (with -F).
    #[arg(long)]
    header: bool,
}

impl ListOptions {
    /// Checks `-m` and `-F` before anything is listed.
    fn check(&self, ctx: &Ctx) -> Result<Option<crate::output::Fields>, CliError> {
        let fields = self
            .fields
            .as_deref()
            .map(crate::output::Fields::parse)
            .transpose()?;
        ctx.check_system(self.system.as_deref())?;
        Ok(fields)
    }

    /// The filter, accepting only the names in `allowed`.
    fn filter(&self, allowed: &[&str]) -> Result<crate::filter::Filter, CliError> {
        crate::filter::Filter::parse(self.filter.as_deref(), allowed)
    }
}

/// What every command works with.
pub(crate) struct Ctx<'a> {
    client: &'a Client,
}

impl Ctx<'_> {
    fn system(&self) -> Result<SystemView, CliError> {
        self.client.system()
    }

    /// Accepts `-m` as the system's name or as `type-model*serial`; there is one managed system.
    fn check_system(&self, m: Option<&str>) -> Result<(), CliError> {
        let Some(m) = m else { return Ok(()) };
        let v = self.system()?;
        let s = &v.system;
        if m == s.name || m == format!("{}*{}", s.type_model, s.serial_num) {
            Ok(())
        } else {
            Err(CliError::Usage(format!(
                "The managed system {m} was not found. Use {} or {}*{}.",
                s.name, s.type_model, s.serial_num
            )))
        }
    }

    fn partitions(&self) -> Result<Vec<Partition>, CliError> {
        self.client.partitions()
    }

    /// The partition named by `-n NAME` or `--id N`.
    fn partition(&self, name: Option<&str>, id: Option<u32>) -> Result<Partition, CliError> {
        match (name, id) {
            (Some(n), None) => self
                .partitions()?
                .into_iter()
                .find(|p| p.name == n)
                .ok_or_else(|| not_found(&format!("named {n}"))),
            (None, Some(id)) => self.client.partition(id),
            _ => Err(CliError::Usage(
                "Specify the partition with either -n NAME or --id ID.".into(),
            )),
        }
    }
}

fn not_found(what: &str) -> CliError {
    CliError::Api {
        status: 404,
        message: format!("HSCL8012 The partition {what} does not exist."),
    }
}

/// `-r` values a command accepts.
fn check_resource(r: &str, allowed: &[&str]) -> Result<(), CliError> {
    if allowed.contains(&r) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "The resource type {r} is not valid here. Valid types are: {}",
            allowed.join(", ")
        )))
    }
}
