//! `mksp -fb NAME -path DIR -size N [-thin]`, `mksp -fb NAME -sp PARENT -size N`,
//! `mksp -rbd NAME -mon HOSTS -rbdpool POOL -user ID -size N` (key on standard input),
//! `rmsp NAME`, `chsp -default NAME`.

use std::io::{BufRead, IsTerminal, Read};

use ivm_model::{PoolSpec, RbdSpec, VgPoolRequest};

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
    let a = ViosArgs::parse(
        &a.args,
        &["fb", "sp", "path", "size", "rbd", "mon", "rbdpool", "user"],
        &["f", "thin"],
    )?;
    if let Some(name) = a.value("rbd") {
        return mksp_rbd(ctx, &a, name);
    }
    let Some(name) = a.value("fb") else {
        // mksp [-f] NAME hdiskN...: a volume group pool.
        let Some((name, hdisks)) = a.positional.split_first() else {
            return Err(CliError::Usage(
                "Usage: mksp [-f] NAME hdiskN... | mksp -fb NAME -path DIR -size N [-thin]".into(),
            ));
        };
        ctx.client.create_vg_pool(&VgPoolRequest {
            name: name.to_string(),
            hdisks: hdisks.to_vec(),
            force: a.flag("f"),
        })?;
        return Ok(format!("{name}\n"));
    };
    if let Some(parent) = a.value("sp") {
        if a.value("path").is_some() {
            return Err(CliError::Usage(
                "Give either -sp PARENT or -path DIR, not both.".into(),
            ));
        }
        let size = size_mb(a.required("size")?)?;
        ctx.client.create_pool(&PoolSpec {
            name: name.to_string(),
            parent: Some(parent.to_string()),
            size_mb: size,
            ..Default::default()
        })?;
        return Ok(format!("{name}\n"));
    }
    let path = a.required("path")?;
    let size = size_mb(a.required("size")?)?;
    ctx.client.create_pool(&PoolSpec {
        name: name.to_string(),
        path: path.to_string(),
        size_mb: size,
        thin: a.flag("thin"),
        parent: None,
        rbd: None,
    })?;
    Ok(format!("{name}\n"))
}

/// `mksp -rbd NAME -mon HOSTS -rbdpool POOL -user ID -size N`: the Ceph user's key is read
/// from standard input (one line, as `ceph auth get-key client.ID` prints it), never from
/// the command line, which every user of the host can read.
fn mksp_rbd(ctx: &Ctx, a: &ViosArgs, name: &str) -> Result<String, CliError> {
    let monitors = a.required("mon")?.to_string();
    let pool = a.required("rbdpool")?.to_string();
    let user = a.required("user")?.to_string();
    let size = size_mb(a.required("size")?)?;
    if std::io::stdin().is_terminal() {
        eprint!("Key of client.{user}: ");
    }
    let mut key = String::new();
    std::io::stdin()
        .lock()
        .take(4096)
        .read_line(&mut key)
        .map_err(|e| CliError::Usage(format!("cannot read the key from standard input: {e}")))?;
    ctx.client.create_pool(&PoolSpec {
        name: name.to_string(),
        size_mb: size,
        rbd: Some(RbdSpec {
            monitors,
            pool,
            user,
            key: key.trim().to_string(),
        }),
        ..Default::default()
    })?;
    Ok(format!("{name}\n"))
}

pub(super) fn rmsp(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &[], &["f"])?;
    let [name] = a.positional.as_slice() else {
        return Err(CliError::Usage("Usage: rmsp [-f] NAME".into()));
    };
    ctx.client.remove_pool(name)?;
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
        ctx.client.change_vg_pool(
            a.flag("add"),
            &VgPoolRequest {
                name: name.to_string(),
                hdisks: a.positional.clone(),
                force: a.flag("f"),
            },
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
    ctx.client.set_default_pool(name)?;
    Ok(String::new())
}
