//! `lsivm`: `type-model,serial,mgmt_lpar_id` on one line.

use super::Ctx;
use crate::CliError;

/// `lsivm` takes no options.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub(super) fn run(ctx: &Ctx, _a: Args) -> Result<String, CliError> {
    let v = ctx.system()?;
    Ok(format!(
        "{},{},{}\n",
        v.system.type_model, v.system.serial_num, v.mgmt_lpar_id
    ))
}
