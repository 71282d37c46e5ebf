//! `mkbdsp [-sp POOL] SIZE -bd NAME [-vadapter vhostN [-tn VTD]]` (or `[SIZE] ... -file IMAGE`), `chbdsp -bd NAME -size +N |
//! -mv NEW`, `rmbdsp -bd NAME [-vtd]`.

use ivm_model::{BackingDevice, DiskChange, DiskSpec, StorageView};

use super::vios::{size_mb, ViosArgs};
use super::Ctx;
use crate::CliError;

/// Options of the backing device commands.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub(super) fn mkbdsp(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["sp", "bd", "vadapter", "tn", "file"], &[])?;
    let image = a.value("file").map(str::to_string);
    let size = match (a.positional.as_slice(), &image) {
        ([size], _) => size_mb(size)?,
        // An import without a size takes the image's own.
        ([], Some(_)) => 0,
        _ => {
            return Err(CliError::Usage(
                "Usage: mkbdsp [-sp POOL] SIZE -bd NAME [-vadapter vhostN [-tn VTD]]\n       mkbdsp [-sp POOL] [SIZE] -bd NAME -file IMAGE [-vadapter vhostN [-tn VTD]]".into(),
            ))
        }
    };
    let name = a.required("bd")?;
    if a.value("tn").is_some() && a.value("vadapter").is_none() {
        return Err(CliError::Usage("-tn needs -vadapter".into()));
    }
    let d: BackingDevice = ctx.client.create_disk(&DiskSpec {
        name: name.to_string(),
        pool: a.value("sp").map(str::to_string),
        size_mb: size,
        vadapter: a.value("vadapter").map(str::to_string),
        vtd: a.value("tn").map(str::to_string),
        image,
    })?;
    if a.value("vadapter").is_some() {
        let view: StorageView = ctx.client.storage()?;
        if let Some(m) = view.mappings.iter().find(|m| m.backing == d.name) {
            return Ok(format!("{} Available\n", m.vtd));
        }
    }
    Ok(format!("{}\n", d.name))
}

pub(super) fn chbdsp(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["sp", "bd", "size", "mv"], &[])?;
    let name = a.required("bd")?;
    let view: StorageView = ctx.client.storage()?;
    if let Some(sp) = a.value("sp") {
        if !view.pools.iter().any(|p| p.name == sp) {
            return Err(CliError::Exit {
                code: 23,
                message: format!("Storage pool {sp} is not valid."),
            });
        }
        if !view.disks.iter().any(|d| d.name == name && d.pool == sp) {
            return Err(CliError::Exit {
                code: 39,
                message: format!("Backing device {name} is not in storage pool {sp}."),
            });
        }
    }
    let grow = match a.value("size") {
        Some(s) => Some(size_mb(s.strip_prefix('+').ok_or_else(|| {
            CliError::Usage(format!(
                "-size {s}: give the amount to add as +SIZE (virtual disks grow, never shrink)"
            ))
        })?)?),
        None => None,
    };
    ctx.client.change_disk(
        name,
        &DiskChange {
            grow_mb: grow,
            new_name: a.value("mv").map(str::to_string),
        },
    )?;
    Ok(String::new())
}

/// `rmbdsp -bd NAME` removes an unmapped disk; `rmbdsp -vtd VTD` removes a mapping and the
/// disk behind it.
pub(super) fn rmbdsp(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["sp", "bd", "vtd"], &["f", "savebd"])?;
    let (name, with_vtd) = match (a.value("bd"), a.value("vtd")) {
        (Some(bd), None) => (bd.to_string(), false),
        (None, Some(vtd)) => {
            let view: StorageView = ctx.client.storage()?;
            let m = view
                .mappings
                .iter()
                .find(|m| m.vtd == vtd)
                .ok_or_else(|| CliError::Api {
                    status: 404,
                    message: format!("virtual target device {vtd} does not exist"),
                })?;
            (m.backing.clone(), true)
        }
        _ => return Err(CliError::Usage("Usage: rmbdsp -bd NAME | -vtd VTD".into())),
    };
    ctx.client.remove_disk(&name, with_vtd)?;
    Ok(String::new())
}
