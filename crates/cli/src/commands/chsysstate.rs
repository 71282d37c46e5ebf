//! `chsysstate -r lpar -o on|osshutdown|shutdown [--immed] [--restart] -n NAME|--id N`

use ivm_model::{ActivateRequest, BootMode, ShutdownKind, ShutdownRequest};

use super::{check_resource, Ctx};
use crate::CliError;

/// Options of `chsysstate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: lpar.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Operation: on, osshutdown, shutdown.
    #[arg(short = 'o')]
    op: String,
    /// Partition name.
    #[arg(short = 'n')]
    name: Option<String>,
    /// Partition ID.
    #[arg(long = "id")]
    id: Option<u32>,
    /// Profile to activate with (the partition's one profile).
    #[arg(short = 'f')]
    profile: Option<String>,
    /// Boot mode for this activation: norm, sms, of, dd, ds.
    #[arg(short = 'b')]
    boot_mode: Option<String>,
    /// With -o shutdown: stop at once.
    #[arg(long)]
    immed: bool,
    /// Activate again after shutting down.
    #[arg(long)]
    restart: bool,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["lpar"])?;
    let kind = match (a.op.as_str(), a.immed) {
        ("on", false) => None,
        ("osshutdown", false) => Some(ShutdownKind::Os),
        ("shutdown", false) => Some(ShutdownKind::Delayed),
        ("shutdown", true) => Some(ShutdownKind::Immediate),
        ("on" | "osshutdown", true) => {
            return Err(CliError::Usage(
                "--immed goes with -o shutdown only.".into(),
            ))
        }
        (other, _) => {
            return Err(CliError::Usage(format!(
                "The operation {other} is not valid. Valid operations are: on, osshutdown, shutdown"
            )))
        }
    };
    let boot_mode = a
        .boot_mode
        .as_deref()
        .map(|b| {
            b.parse::<BootMode>().map_err(|e| {
                CliError::Usage(format!(
                    "The boot mode {b} is not valid: use one of {}.",
                    e.allowed
                ))
            })
        })
        .transpose()?;
    if kind.is_some() && (a.profile.is_some() || a.boot_mode.is_some()) {
        return Err(CliError::Usage("-f and -b go with -o on only.".into()));
    }
    if kind.is_none() && a.restart {
        return Err(CliError::Usage(
            "--restart goes with -o osshutdown or -o shutdown.".into(),
        ));
    }
    ctx.check_system(a.system.as_deref())?;
    let p = ctx.partition(a.name.as_deref(), a.id)?;
    if let Some(prof) = a.profile.as_deref().filter(|f| *f != p.name) {
        return Err(CliError::Usage(format!(
            "The profile {prof} does not exist for partition {}; its only profile is {}.",
            p.name, p.name
        )));
    }
    match kind {
        None => ctx
            .client
            .activate(p.lpar_id, &ActivateRequest { boot_mode })?,
        Some(kind) => ctx.client.shutdown(
            p.lpar_id,
            &ShutdownRequest {
                kind,
                restart: a.restart,
            },
        )?,
    }
    Ok(String::new())
}
