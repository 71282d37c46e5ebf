//! The virtual media library's commands: `mkrep`, `chrep`, `rmrep`, `lsrep`, `mkvopt`,
//! `lsvopt`, `chvopt`, `rmvopt`, `loadopt`, `unloadopt`.

use ivm_model::{
    LoadRequest, MediaAccess, MediaChange, MediaSpec, OpticalDevice, RepositorySpec, StorageView,
};

use super::vios::{render, size_mb, Row, ViosArgs};
use super::Ctx;
use crate::CliError;

/// Options of the media library commands.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn no_positional(a: &ViosArgs) -> Result<(), CliError> {
    match a.positional.first() {
        Some(p) => Err(CliError::Usage(format!("Unexpected argument {p}."))),
        None => Ok(()),
    }
}

/// `mkrep -sp POOL -size N`.
pub(super) fn mkrep(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["sp", "size"], &[])?;
    no_positional(&a)?;
    let size = size_mb(a.required("size")?)?;
    ctx.client.create_repository(&RepositorySpec {
        pool: Some(a.required("sp")?.to_string()),
        size_mb: size,
    })?;
    Ok(format!(
        "Virtual Media Repository Created\nRepository created within \"{}\" logical volume\n",
        ivm_rules::REPOSITORY_BD
    ))
}

/// `chrep -size N`.
pub(super) fn chrep(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["size"], &[])?;
    no_positional(&a)?;
    let size = size_mb(a.required("size")?)?;
    ctx.client.change_repository(&RepositorySpec {
        pool: None,
        size_mb: size,
    })?;
    Ok(String::new())
}

/// `rmrep [-f]`.
pub(super) fn rmrep(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &[], &["f"])?;
    no_positional(&a)?;
    ctx.client.remove_repository(a.flag("f"))?;
    Ok("Virtual Media Repository Deleted\n".into())
}

const REPO_FIELDS: [(&str, &str, usize); 5] = [
    ("size", "Size(mb)", 8),
    ("free", "Free(mb)", 8),
    ("parentpool", "Parent Pool", 19),
    ("parentsize", "Parent Size", 16),
    ("parentfree", "Parent Free", 11),
];

const MEDIA_FIELDS: [(&str, &str, usize); 4] = [
    ("name", "Name", 53),
    ("filesize", "File Size", 10),
    ("optical", "Optical", 15),
    ("access", "Access", 6),
];

/// `lsrep [-field ... -fmt D]`: the repository, then its media.
pub(super) fn lsrep(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["fmt"], &[])?;
    no_positional(&a)?;
    let known: Vec<&str> = REPO_FIELDS
        .iter()
        .chain(MEDIA_FIELDS.iter())
        .map(|f| f.0)
        .collect();
    if let Some(f) = a.fields.iter().find(|f| !known.contains(&f.as_str())) {
        return Err(CliError::Usage(format!(
            "The field {f} is not valid. Valid fields are: {}",
            known.join(" ")
        )));
    }
    let view: StorageView = ctx.client.storage()?;
    let Some(repo) = &view.repository else {
        return Err(CliError::Exit {
            code: 1,
            message:
                "The Virtual Media Repository does not exist. Make one with mkrep -sp POOL -size N."
                    .into(),
        });
    };
    let pool = view.pools.iter().find(|p| p.name == repo.pool);
    let repo_row: Row = vec![
        ("size", repo.size_mb.to_string()),
        ("free", repo.free_mb.to_string()),
        ("parentpool", repo.pool.clone()),
        ("parentsize", pool.map_or(0, |p| p.size_mb).to_string()),
        ("parentfree", repo.pool_free_mb.to_string()),
    ];
    let media_rows: Vec<Row> = view
        .media
        .iter()
        .map(|m| {
            let vtds: Vec<&str> = ivm_rules::loaded_in(&view.optical, &m.name)
                .iter()
                .map(|o| o.vtd.as_str())
                .collect();
            vec![
                ("name", m.name.clone()),
                ("filesize", m.size_mb.to_string()),
                (
                    "optical",
                    if vtds.is_empty() {
                        "None".into()
                    } else {
                        vtds.join(",")
                    },
                ),
                ("access", m.access.as_str().to_string()),
            ]
        })
        .collect();
    let pick =
        |all: &[(&'static str, &'static str, usize)]| -> Vec<(&'static str, &'static str, usize)> {
            all.iter()
                .filter(|f| a.fields.is_empty() || a.fields.iter().any(|x| x == f.0))
                .copied()
                .collect()
        };
    let (repo_cols, media_cols) = (pick(&REPO_FIELDS), pick(&MEDIA_FIELDS));
    let mut out = String::new();
    // Fields of one part only print that part; the default prints both.
    let only = |cols: &Vec<(&'static str, &'static str, usize)>| {
        let mut b = ViosArgs::default();
        b.fields = cols.iter().map(|c| c.0.to_string()).collect();
        b.set_value("fmt", a.value("fmt"));
        b
    };
    if !repo_cols.is_empty() {
        out.push_str(&render(
            std::slice::from_ref(&repo_row),
            &REPO_FIELDS,
            &only(&repo_cols),
        )?);
    }
    if !media_cols.is_empty() {
        if !out.is_empty() && a.value("fmt").is_none() {
            out.push('\n');
        }
        out.push_str(&render(&media_rows, &MEDIA_FIELDS, &only(&media_cols))?);
    }
    Ok(out)
}

/// `mkvopt -name N -file F [-ro]` or `mkvopt -name N -size S`.
pub(super) fn mkvopt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["name", "file", "size", "dev"], &["ro"])?;
    no_positional(&a)?;
    if a.value("dev").is_some() {
        return Err(CliError::Usage(
            "-dev (copying a physical optical device) is not supported: copy the ISO into the boot directory and use -file, or upload it".into(),
        ));
    }
    let size = a.value("size").map(size_mb).transpose()?;
    ctx.client.create_media(&MediaSpec {
        name: a.required("name")?.to_string(),
        file: a.value("file").map(str::to_string),
        size_mb: size,
        read_only: a.flag("ro"),
    })?;
    Ok(String::new())
}

/// `lsvopt [-vtd V] [-field vtd media size -fmt D]`.
pub(super) fn lsvopt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["vtd", "fmt"], &[])?;
    no_positional(&a)?;
    let view: StorageView = ctx.client.storage()?;
    let devices: Vec<&OpticalDevice> = match a.value("vtd") {
        Some(v) => {
            let d: Vec<_> = view.optical.iter().filter(|o| o.vtd == v).collect();
            if d.is_empty() {
                return Err(CliError::Usage(format!(
                    "{v} is not a virtual optical device."
                )));
            }
            d
        }
        None => view.optical.iter().collect(),
    };
    let rows: Vec<Row> = devices
        .iter()
        .map(|o| {
            let size = o
                .media
                .as_ref()
                .and_then(|n| view.media.iter().find(|m| &m.name == n))
                .map_or("n/a".to_string(), |m| m.size_mb.to_string());
            vec![
                ("vtd", o.vtd.clone()),
                (
                    "media",
                    o.media.clone().unwrap_or_else(|| "No Media".into()),
                ),
                ("size", size),
            ]
        })
        .collect();
    render(
        &rows,
        &[
            ("vtd", "VTD", 15),
            ("media", "Media", 39),
            ("size", "Size(mb)", 8),
        ],
        &a,
    )
}

/// `chvopt -name N [-access ro|rw] [-mv NEW]`.
pub(super) fn chvopt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["name", "access", "mv"], &[])?;
    no_positional(&a)?;
    let access = match a.value("access") {
        None => None,
        Some(v) => Some(v.parse::<MediaAccess>().map_err(|_| {
            CliError::Usage(format!(
                "The access {v} is not valid. Valid values are: ro, rw"
            ))
        })?),
    };
    let name = a.required("name")?;
    ctx.client.change_media(
        name,
        &MediaChange {
            access,
            new_name: a.value("mv").map(str::to_string),
        },
    )?;
    Ok(String::new())
}

/// `rmvopt -name N [-f]`.
pub(super) fn rmvopt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["name"], &["f"])?;
    no_positional(&a)?;
    ctx.client.remove_media(a.required("name")?, a.flag("f"))?;
    Ok(String::new())
}

/// `loadopt [-f] [-release] -disk N -vtd vtoptN`.
pub(super) fn loadopt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["disk", "vtd"], &["f", "release"])?;
    no_positional(&a)?;
    let vtd = a.required("vtd")?;
    ctx.client.load_media(
        vtd,
        &LoadRequest {
            media: a.required("disk")?.to_string(),
            force: a.flag("f"),
        },
    )?;
    Ok(String::new())
}

/// `unloadopt [-release] -vtd vtoptN`.
pub(super) fn unloadopt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["vtd"], &["release"])?;
    no_positional(&a)?;
    let vtd = a.required("vtd")?;
    ctx.client.unload_media(vtd)?;
    Ok(String::new())
}
