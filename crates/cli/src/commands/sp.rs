//! `mksp -fb NAME -path DIR -size N [-thin]`, `rmsp NAME`, `chsp -default NAME`.

use serde_json::json;

use super::vios::{size_mb, ViosArgs};
use super::Ctx;
use crate::CliError;

/// Options of `mksp`, `rmsp`, `chsp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub(super) fn mksp(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["fb", "sp", "path", "size"], &["f", "thin"])?;
    let name = a.value("fb").ok_or_else(|| {
        CliError::Usage(
            "Only file pools can be made here: mksp -fb NAME -path DIR -size N (volume group pools need device-mapper, which this host lacks)".into(),
        )
    })?;
    if a.value("sp").is_some() {
        return Err(CliError::Usage(
            "A file pool inside a volume group pool needs device-mapper, which this host lacks; use -path DIR".into(),
        ));
    }
    let path = a.required("path")?;
    let size = size_mb(a.required("size")?)?;
    ctx.client.send(
        "POST",
        "/storage/pools",
        Some(&json!({"name": name, "path": path, "size_mb": size, "thin": a.flag("thin")})),
    )?;
    Ok(format!("{name}\n"))
}

pub(super) fn rmsp(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &[], &["f"])?;
    let [name] = a.positional.as_slice() else {
        return Err(CliError::Usage("Usage: rmsp [-f] NAME".into()));
    };
    ctx.client
        .send("DELETE", &format!("/storage/pools/{name}"), None)?;
    Ok(String::new())
}

pub(super) fn chsp(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["sp"], &["default", "f"])?;
    if !a.flag("default") {
        return Err(CliError::Usage(
            "Only chsp -default NAME is available here (adding or removing physical volumes needs a volume group pool)".into(),
        ));
    }
    let name = a
        .value("sp")
        .or(a.positional.first().map(String::as_str))
        .ok_or_else(|| CliError::Usage("Usage: chsp -default NAME".into()))?;
    ctx.client
        .send("POST", &format!("/storage/pools/{name}/default"), None)?;
    Ok(String::new())
}
