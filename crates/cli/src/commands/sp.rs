//! `mksp -fb NAME -path DIR -size N [-thin]`, `mksp -fb NAME -sp PARENT -size N`, `rmsp NAME`, `chsp -default NAME`.

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
    let Some(name) = a.value("fb") else {
        // mksp [-f] NAME hdiskN...: a volume group pool.
        let Some((name, hdisks)) = a.positional.split_first() else {
            return Err(CliError::Usage(
                "Usage: mksp [-f] NAME hdiskN... | mksp -fb NAME -path DIR -size N [-thin]".into(),
            ));
        };
        ctx.client.send(
            "POST",
            "/storage/vgpools",
            Some(&json!({"name": name, "hdisks": hdisks, "force": a.flag("f")})),
        )?;
        return Ok(format!("{name}\n"));
    };
    if let Some(parent) = a.value("sp") {
        if a.value("path").is_some() {
            return Err(CliError::Usage(
                "Give either -sp PARENT or -path DIR, not both.".into(),
            ));
        }
        let size = size_mb(a.required("size")?)?;
        ctx.client.send(
            "POST",
            "/storage/pools",
            Some(&json!({"name": name, "parent": parent, "size_mb": size})),
        )?;
        return Ok(format!("{name}\n"));
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
    let a = ViosArgs::parse(&a.args, &["sp"], &["default", "f", "add", "rm"])?;
    if a.flag("add") || a.flag("rm") {
        let name = a.required("sp")?;
        if a.positional.is_empty() {
            return Err(CliError::Usage(
                "Usage: chsp -add|-rm [-f] -sp NAME hdiskN...".into(),
            ));
        }
        let path = if a.flag("add") { "add" } else { "remove" };
        ctx.client.send(
            "POST",
            &format!("/storage/vgpools/{path}"),
            Some(&json!({"name": name, "hdisks": a.positional, "force": a.flag("f")})),
        )?;
        return Ok(String::new());
    }
    if !a.flag("default") {
        return Err(CliError::Usage(
            "Usage: chsp -default NAME | chsp -add|-rm [-f] -sp NAME hdiskN...".into(),
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
