//! The volume group view of storage pools that clients use (`lsvg`, `mklv`, `lslv`, `rmlv`).
//! A file pool shows as a volume group whose physical partitions are 32 MB (ivm's rule, as
//! `lssp` reports); a virtual disk as a logical volume of whole partitions.

use ivm_model::{BackingDevice, DiskSpec, StoragePool, StorageView};

use super::vios::{size_mb, ViosArgs};
use super::Ctx;
use crate::CliError;
use ivm_rules::{file_pool_pps as pps, FILE_POOL_PP_MB};

/// Options of the logical volume commands.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn pps_text(n: u64) -> String {
    format!("{n} ({} megabytes)", n * FILE_POOL_PP_MB)
}

fn pool<'a>(view: &'a StorageView, name: &str) -> Result<&'a StoragePool, CliError> {
    view.pools
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| CliError::Api {
            status: 404,
            message: format!("Volume group {name} was not found."),
        })
}

fn lv<'a>(view: &'a StorageView, name: &str) -> Result<&'a BackingDevice, CliError> {
    view.disks
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| CliError::Api {
            status: 404,
            message: format!("Logical volume {name} was not found."),
        })
}

/// The logical volume identifier: the pool's and the volume's identities, then the minor.
fn lvid(d: &BackingDevice) -> String {
    format!("{}{}.1", ivm_rules::pvid(&d.pool), ivm_rules::pvid(&d.name))
}

/// Prints `fields` of a record: joined by the `-fmt` delimiter, or one `LABEL: value` line each.
fn fields_out(a: &ViosArgs, known: &[(&str, &str, String)]) -> Result<String, CliError> {
    let mut vals = Vec::new();
    for f in &a.fields {
        let (_, label, v) = known.iter().find(|k| k.0 == f).ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|k| k.0).collect();
            CliError::Usage(format!(
                "The field {f} is not valid. Valid fields are: {}",
                names.join(" ")
            ))
        })?;
        vals.push((*label, v.clone()));
    }
    Ok(match a.value("fmt") {
        Some(d) => vals.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(d) + "\n",
        None => vals
            .into_iter()
            .map(|(l, v)| format!("{l:<21}{v}\n"))
            .collect(),
    })
}

/// Every field as `LABEL: value` lines, or those `-field` asks for.
fn all_or_fields(a: &ViosArgs, known: &[(&str, &str, String)]) -> Result<String, CliError> {
    if a.fields.is_empty() {
        return Ok(known
            .iter()
            .map(|(_, l, v)| format!("{l:<21}{v}\n"))
            .collect());
    }
    fields_out(a, known)
}

pub(super) fn lsvg(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["fmt"], &["lv", "pv"])?;
    let view: StorageView = ctx.client.storage()?;
    let Some(name) = a.positional.first() else {
        return Ok(view.pools.iter().map(|p| format!("{}\n", p.name)).collect());
    };
    let p = pool(&view, name)?;
    let disks: Vec<&BackingDevice> = view.disks.iter().filter(|d| d.pool == p.name).collect();
    if a.flag("lv") {
        let mut out = format!("{}:\n", p.name);
        let mapped = |d: &BackingDevice| view.mappings.iter().any(|m| m.backing == d.name);
        if a.fields.is_empty() {
            out.push_str(
                "LV NAME             TYPE       LPs     PPs     PVs  LV STATE      MOUNT POINT\n",
            );
            for d in disks {
                let state = if mapped(d) {
                    "open/syncd"
                } else {
                    "closed/syncd"
                };
                out.push_str(&format!(
                    "{:<19} {:<10} {:<7} {:<7} {:<4} {:<13} N/A\n",
                    d.name,
                    "file",
                    pps(d.size_mb),
                    pps(d.size_mb),
                    1,
                    state
                ));
            }
            return Ok(out);
        }
        if a.fields.iter().any(|f| f != "lvname") {
            return Err(CliError::Usage("lsvg -lv knows the field lvname".into()));
        }
        out.push_str("LV NAME\n");
        for d in disks {
            out.push_str(&format!("{}\n", d.name));
        }
        return Ok(out);
    }
    let total = p.size_mb / FILE_POOL_PP_MB;
    let used: u64 = disks.iter().map(|d| pps(d.size_mb)).sum();
    let known = [
        ("vgname", "VOLUME GROUP:", p.name.clone()),
        ("vgstate", "VG STATE:", "active".into()),
        (
            "ppsize",
            "PP SIZE:",
            format!("{FILE_POOL_PP_MB} megabyte(s)"),
        ),
        ("totalpps", "TOTAL PPs:", pps_text(total)),
        ("usedpps", "USED PPs:", pps_text(used)),
        ("freepps", "FREE PPs:", pps_text(total.saturating_sub(used))),
        ("lvs", "LVs:", disks.len().to_string()),
        ("pvs", "TOTAL PVs:", "1".into()),
    ];
    all_or_fields(&a, &known)
}

pub(super) fn mklv(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["lv", "t", "type"], &[])?;
    let [vg, size] = a.positional.as_slice() else {
        return Err(CliError::Usage("Usage: mklv [-lv NAME] VG SIZE".into()));
    };
    let d: BackingDevice = ctx.client.create_disk(&DiskSpec {
        name: a.value("lv").unwrap_or("").to_string(),
        pool: Some(vg.to_string()),
        size_mb: size_mb(size)?,
        vadapter: None,
        vtd: None,
        image: None,
    })?;
    Ok(format!("{}\n", d.name))
}

pub(super) fn lslv(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["fmt"], &[])?;
    let [name] = a.positional.as_slice() else {
        return Err(CliError::Usage(
            "Usage: lslv LV [-field ... [-fmt D]]".into(),
        ));
    };
    let view: StorageView = ctx.client.storage()?;
    let d = lv(&view, name)?;
    let n = pps(d.size_mb);
    let open = view.mappings.iter().any(|m| m.backing == d.name);
    let known = [
        ("lvname", "LOGICAL VOLUME:", d.name.clone()),
        ("vgname", "VOLUME GROUP:", d.pool.clone()),
        ("lvid", "LV IDENTIFIER:", lvid(d)),
        (
            "lvstate",
            "LV STATE:",
            if open { "opened/syncd" } else { "closed/syncd" }.into(),
        ),
        ("type", "TYPE:", "file".into()),
        ("lps", "LPs:", n.to_string()),
        ("pps", "PPs:", n.to_string()),
        (
            "ppsize",
            "PP SIZE:",
            format!("{FILE_POOL_PP_MB} megabyte(s)"),
        ),
        ("size", "SIZE:", format!("{} megabytes", d.size_mb)),
    ];
    all_or_fields(&a, &known)
}

pub(super) fn rmlv(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &[], &["f"])?;
    let [name] = a.positional.as_slice() else {
        return Err(CliError::Usage("Usage: rmlv [-f] LV".into()));
    };
    ctx.client.remove_disk(name, false)?;
    Ok(String::new())
}
