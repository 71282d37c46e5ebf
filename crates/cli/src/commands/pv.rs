//! `lspv [-avail | -free | -size hdiskN] [-field ... -fmt D]`, `cfgdev`, and
//! `lsmemdev -r avail [-field ... -fmt D]`.

use ivm_model::{Hdisk, StorageView};

use super::vios::{render, Row, ViosArgs};
use super::Ctx;
use crate::CliError;

/// Options of `lspv` and `cfgdev`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub(super) fn lspv(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["size", "fmt"], &["avail", "free"])?;
    let view: StorageView = ctx.client.storage()?;
    let present: Vec<&Hdisk> = view.hdisks.iter().filter(|h| h.present).collect();
    if let Some(name) = a.value("size") {
        let h = present
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| CliError::Api {
                status: 404,
                message: format!("physical volume {name} does not exist"),
            })?;
        return Ok(format!("{}\n", h.size_mb));
    }
    let pool_of = |h: &Hdisk| {
        view.members
            .iter()
            .find(|m| m.hdisk == h.name)
            .map(|m| m.pool.clone())
    };
    let free = free_pvs(&view);
    let held = |h: &Hdisk| !free.iter().any(|f| f.name == h.name);
    if a.flag("avail") || a.flag("free") {
        let rows: Vec<Row> = free
            .iter()
            .map(|h| {
                vec![
                    ("name", h.name.clone()),
                    ("pvid", h.pvid.clone()),
                    ("size", h.size_mb.to_string()),
                ]
            })
            .collect();
        if rows.is_empty() {
            return Ok(String::new());
        }
        return render(
            &rows,
            &[
                ("name", "NAME", 16),
                ("pvid", "PVID", 20),
                ("size", "SIZE(megabytes)", 15),
            ],
            &a,
        );
    }
    let rows: Vec<Row> = present
        .iter()
        .map(|h| {
            vec![
                ("name", h.name.clone()),
                ("pvid", h.pvid.clone()),
                ("vg", pool_of(h).unwrap_or_else(|| "None".into())),
                ("status", if held(h) { "active" } else { "" }.into()),
            ]
        })
        .collect();
    render(
        &rows,
        &[
            ("name", "NAME", 16),
            ("pvid", "PVID", 20),
            ("vg", "VG", 16),
            ("status", "STATUS", 8),
        ],
        &a,
    )
}

pub(super) fn cfgdev(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["dev"], &[])?;
    if !a.positional.is_empty() {
        return Err(CliError::Usage(format!(
            "Unexpected argument {}.",
            a.positional[0]
        )));
    }
    ctx.client.cfgdev()?;
    Ok(String::new())
}

/// `lsmemdev -r avail [-field name size type -fmt D]`: physical volumes free to be given to
/// the shared memory pool as paging devices (not mapped, not in a storage pool, not a paging
/// device already).
pub(super) fn lsmemdev(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["r", "fmt"], &[])?;
    if a.value("r") != Some("avail") {
        return Err(CliError::Usage(
            "lsmemdev lists the devices available as paging devices: lsmemdev -r avail".into(),
        ));
    }
    let view: StorageView = ctx.client.storage()?;
    let rows: Vec<Row> = free_pvs(&view)
        .into_iter()
        .map(|h| {
            vec![
                ("name", h.name.clone()),
                ("size", h.size_mb.to_string()),
                ("type", "phys".into()),
            ]
        })
        .collect();
    if rows.is_empty() {
        return Ok(String::new());
    }
    render(
        &rows,
        &[
            ("name", "Device Name", 16),
            ("size", "Size(MB)", 10),
            ("type", "Type", 6),
        ],
        &a,
    )
}

/// Attached physical volumes nothing holds, as the daemon's rule says.
fn free_pvs(view: &StorageView) -> Vec<&Hdisk> {
    view.hdisks
        .iter()
        .filter(|h| view.free_hdisks.contains(&h.name))
        .collect()
}
