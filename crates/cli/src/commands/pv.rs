//! `lspv [-avail | -free | -size hdiskN] [-field ... -fmt D]` and `cfgdev`.

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
    let view: StorageView = ctx.client.get("/storage")?;
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
            .find(|(m, _)| *m == h.name)
            .map(|(_, p)| p.clone())
    };
    let mapped =
        |h: &Hdisk| view.mappings.iter().any(|m| m.backing == h.name) || pool_of(h).is_some();
    if a.flag("avail") || a.flag("free") {
        let rows: Vec<Row> = present
            .iter()
            .filter(|h| !mapped(h))
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
                ("status", if mapped(h) { "active" } else { "" }.into()),
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
    let _: Vec<Hdisk> = ctx.client.request("POST", "/storage/cfgdev", None)?;
    Ok(String::new())
}
