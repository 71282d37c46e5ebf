//! `mkvdev -vdev BACKING -vadapter vhostN [-dev VTD]`, `mkvdev -fbo -vadapter vhostN`,
//! `mkvdev -sea PHYS -vadapter VEA -default VEA -defaultid PVID`, `rmvdev -vtd VTD | -vdev BACKING`.

use ivm_model::{MapRequest, OpticalRequest};

use super::vios::ViosArgs;
use super::Ctx;
use crate::CliError;

/// Options of `mkvdev` and `rmvdev`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub(super) fn mkvdev(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(
        &a.args,
        &["vdev", "vadapter", "dev", "sea", "default", "defaultid"],
        &["f", "fbo"],
    )?;
    if a.value("sea").is_some() {
        return super::netdev::mkvdev_sea(ctx, &a);
    }
    if a.flag("fbo") {
        // A file-backed (virtual) optical device.
        if a.value("vdev").is_some() {
            return Err(CliError::Usage(
                "-fbo makes an empty optical device; load media into it with loadopt, not -vdev"
                    .into(),
            ));
        }
        let o = ctx.client.create_optical(&OpticalRequest {
            vadapter: a.required("vadapter")?.to_string(),
            vtd: a.value("dev").map(str::to_string),
        })?;
        return Ok(format!("{} Available\n", o.vtd));
    }
    let m = ctx.client.map(&MapRequest {
        backing: a.required("vdev")?.to_string(),
        vadapter: a.required("vadapter")?.to_string(),
        vtd: a.value("dev").map(str::to_string),
    })?;
    Ok(format!("{} Available\n", m.vtd))
}

pub(super) fn rmvdev(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["vtd", "vdev"], &["f", "rmlv"])?;
    let name = a
        .value("vtd")
        .or(a.value("vdev"))
        .ok_or_else(|| CliError::Usage("Usage: rmvdev -vtd VTD | -vdev BACKING [-rmlv]".into()))?;
    let m = ctx.client.remove_mapping(name)?;
    if a.flag("rmlv") && m.kind == ivm_model::BackingKind::Lv {
        ctx.client.remove_disk(&m.backing, false)?;
    }
    Ok(format!("{} deleted\n", m.vtd))
}
