//! `rmsyscfg -r lpar [-m SYS] -n NAME | --id N`

use super::{check_resource, Ctx};
use crate::CliError;

/// Options of `rmsyscfg`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: lpar.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Partition name.
    #[arg(short = 'n')]
    name: Option<String>,
    /// Partition ID.
    #[arg(long = "id")]
    id: Option<u32>,
    /// Remove its virtual SCSI mappings too.
    #[arg(long)]
    vioscfg: bool,
    /// With --vioscfg: remove the virtual disks they held too.
    #[arg(long)]
    vdisk: bool,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    if a.resource == "prof" {
        return Err(CliError::Usage(
            "A partition's only profile cannot be removed; remove the partition with -r lpar."
                .into(),
        ));
    }
    check_resource(&a.resource, &["lpar"])?;
    ctx.check_system(a.system.as_deref())?;
    if a.vdisk && !a.vioscfg {
        return Err(CliError::Usage("--vdisk goes with --vioscfg".into()));
    }
    let p = ctx.partition(a.name.as_deref(), a.id)?;
    ctx.client.delete_partition(p.lpar_id, a.vioscfg, a.vdisk)?;
    Ok(String::new())
}
