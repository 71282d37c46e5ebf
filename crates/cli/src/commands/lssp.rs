//! `lssp [-detail] [-bd] [-sp NAME] [-field ... -fmt D]`: storage pools and their disks.

use ivm_model::StorageView;

use super::vios::{render, Row, ViosArgs};
use super::Ctx;
use crate::CliError;

/// Options of `lssp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["sp", "fmt"], &["detail", "bd", "default"])?;
    if !a.positional.is_empty() {
        return Err(CliError::Usage(format!(
            "Unexpected argument {}.",
            a.positional[0]
        )));
    }
    let view: StorageView = ctx.client.storage()?;
    if a.flag("default") {
        return Ok(view
            .pools
            .iter()
            .filter(|p| p.default)
            .map(|p| format!("{}\n", p.name))
            .collect());
    }
    let pools: Vec<_> = match a.value("sp") {
        Some(n) => {
            let p = view
                .pools
                .iter()
                .filter(|p| p.name == n)
                .collect::<Vec<_>>();
            if p.is_empty() {
                return Err(CliError::Exit {
                    code: 23,
                    message: format!("Storage pool {n} is not valid."),
                });
            }
            p
        }
        None => view.pools.iter().collect(),
    };
    if a.flag("detail") {
        // IBM lists a volume group pool's physical volumes; a file pool has none: itself.
        let rows: Vec<Row> = pools
            .iter()
            .map(|p| {
                vec![
                    ("name", p.name.clone()),
                    ("pvid", "none".into()),
                    ("size", p.size_mb.to_string()),
                ]
            })
            .collect();
        return render(
            &rows,
            &[
                ("name", "Name", 16),
                ("pvid", "PVID", 20),
                ("size", "Size(MB)", 10),
            ],
            &a,
        );
    }
    if a.flag("bd") {
        let sp = a
            .value("sp")
            .ok_or_else(|| CliError::Usage("-bd needs -sp NAME".into()))?;
        let rows: Vec<Row> = view
            .disks
            .iter()
            .filter(|d| d.pool == sp)
            .map(|d| {
                let m = view.mappings.iter().find(|m| m.backing == d.name);
                vec![
                    ("name", d.name.clone()),
                    ("size", d.size_mb.to_string()),
                    ("vtd", m.map(|m| m.vtd.clone()).unwrap_or_default()),
                    (
                        "svsa",
                        m.map(|m| format!("vhost{}", m.vhost)).unwrap_or_default(),
                    ),
                ]
            })
            .collect();
        return render(
            &rows,
            &[
                ("name", "Lv (Disk) Name", 20),
                ("size", "Size(MB)", 10),
                ("vtd", "Vtd", 16),
                ("svsa", "SVSA", 12),
            ],
            &a,
        );
    }
    let rows: Vec<Row> = pools
        .iter()
        .map(|p| {
            // The server's figure: a shared pool's counts what other hosts hold there too.
            let free = view
                .pools_free_mb
                .iter()
                .find(|f| f.pool == p.name)
                .map_or(0, |f| f.free_mb);
            let bds = view.disks.iter().filter(|d| d.pool == p.name).count();
            vec![
                ("pool", p.name.clone()),
                ("size", p.size_mb.to_string()),
                ("free", free.to_string()),
                ("alloc", ivm_rules::FILE_POOL_PP_MB.to_string()),
                ("bds", bds.to_string()),
                ("type", p.kind.to_string()),
                ("thin", if p.thin { "yes" } else { "no" }.to_string()),
                ("path", p.path.clone()),
            ]
        })
        .collect();
    let mut cols = vec![
        ("pool", "Pool", 15),
        ("size", "Size(mb)", 10),
        ("free", "Free(mb)", 10),
        ("alloc", "Alloc Size(mb)", 15),
        ("bds", "BDs", 4),
        ("type", "Type", 6),
    ];
    if !a.fields.is_empty() {
        cols.extend([("thin", "Thin", 4), ("path", "Path", 30)]);
    }
    render(&rows, &cols, &a)
}
