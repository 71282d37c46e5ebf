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
    let p = ctx.partition(a.name.as_deref(), a.id)?;
    ctx.client
        .send("DELETE", &format!("/partitions/{}", p.lpar_id), None)?;
    Ok(String::new())
}
