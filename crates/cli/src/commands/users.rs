//! Users on the command line, the same users as the browser's: `mkuser [-attr pgrp=view | -sr]
//! NAME`, `lsuser [NAME | ALL]`, `chuser -attr pgrp=view|staff|sr NAME`, `rmuser NAME`,
//! `passwd [NAME]`, and `mkauthkeys -a|-r "KEY"` (the caller's own SSH keys).

use std::io::{BufRead, IsTerminal, Write};

use ivm_model::{NewUser, PasswordChange, Role, RoleChange, User, PRIME_ADMIN};

use super::vios::ViosArgs;
use super::Ctx;
use crate::CliError;

/// Options of the user commands.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn role_for_pgrp(pgrp: &str) -> Result<Role, CliError> {
    match pgrp {
        "view" => Ok(Role::ViewOnly),
        "staff" => Ok(Role::ViewModify),
        "sr" => Ok(Role::ServiceRep),
        other => Err(CliError::Usage(format!(
            "pgrp={other} is not valid: pgrp=staff (View/Modify), view (View Only) or sr (Service Representative)"
        ))),
    }
}

/// `-attr pgrp=...`: the role it asks for, if any.
fn attr_role(a: &ViosArgs) -> Result<Option<Role>, CliError> {
    let Some(attr) = a.value("attr") else {
        return Ok(None);
    };
    match attr.split_once('=') {
        Some(("pgrp", v)) => role_for_pgrp(v).map(Some),
        _ => Err(CliError::Usage(format!(
            "-attr {attr} is not valid here: the attribute is pgrp=staff|view|sr"
        ))),
    }
}

fn one_name(a: &ViosArgs, usage: &str) -> Result<String, CliError> {
    match a.positional.as_slice() {
        [n] => Ok(n.clone()),
        _ => Err(CliError::Usage(format!("Usage: {usage}"))),
    }
}

/// Reads a line without echo when standard input is a terminal.
fn read_secret(prompt: &str) -> Result<String, CliError> {
    let tty = std::io::stdin().is_terminal();
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut saved: Option<libc::termios> = None;
    if tty {
        // SAFETY: termios calls on stdin with a struct tcgetattr fills.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) == 0 {
                saved = Some(t);
                t.c_lflag &= !libc::ECHO;
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if let Some(t) = saved {
        // SAFETY: puts back the settings read above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        eprintln!();
    }
    match read {
        Ok(0) | Err(_) => Err(CliError::Usage(
            "no password was given (type it, or write it twice on standard input)".into(),
        )),
        Ok(_) => Ok(line.trim_end_matches(['\n', '\r']).to_string()),
    }
}

/// A new password for `user`, typed twice.
fn new_password(user: &str) -> Result<String, CliError> {
    let first = read_secret(&format!("{user}'s New password: "))?;
    let again = read_secret("Enter the new password again: ")?;
    if first != again {
        return Err(CliError::Usage(
            "The passwords do not match; nothing was changed.".into(),
        ));
    }
    Ok(first)
}

pub(super) fn mkuser(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["attr"], &["sr", "de"])?;
    let name = one_name(&a, "mkuser [-attr pgrp=view | -sr] NAME")?;
    let role = match (attr_role(&a)?, a.flag("sr")) {
        (Some(_), true) => {
            return Err(CliError::Usage(
                "give either -sr or -attr pgrp=..., not both".into(),
            ))
        }
        (Some(r), false) => r,
        (None, true) => Role::ServiceRep,
        (None, false) => Role::ViewModify,
    };
    let password = new_password(&name)?;
    ctx.client.create_user(&NewUser {
        name: name.to_string(),
        role,
        password,
    })?;
    Ok(String::new())
}

fn ivm_roles(u: &User) -> (&'static str, &'static str) {
    match (u.name.as_str(), u.role) {
        (PRIME_ADMIN, _) => ("PAdmin", "staff"),
        (_, Role::ViewModify) => ("Admin", "staff"),
        (_, Role::ViewOnly) => ("ViewOnly", "view"),
        (_, Role::ServiceRep) => ("SRUser", "sr"),
    }
}

pub(super) fn lsuser(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &[], &[])?;
    let me: User = ctx.client.session()?;
    let want = a.positional.first().map(String::as_str);
    let users: Vec<User> = match want {
        Some(n) if n == me.name => vec![me],
        // Only administrators see other users, as on IVM.
        _ if me.role != Role::ViewModify => vec![me],
        _ => ctx.client.users()?,
    };
    let users: Vec<&User> = users
        .iter()
        .filter(|u| want.is_none_or(|w| w == "ALL" || w == u.name))
        .collect();
    if let Some(w) = want.filter(|w| *w != "ALL") {
        if users.is_empty() {
            return Err(CliError::Api {
                status: 404,
                message: format!("User \"{w}\" does not exist."),
            });
        }
    }
    let mut out = String::new();
    for u in users {
        let (roles, pgrp) = ivm_roles(u);
        out.push_str(&format!(
            "{} roles={roles} default_roles={roles} account_locked=false expires=0 histexpire=0 histsize=0 loginretries=0 maxage=0 maxexpired=-1 maxrepeats=8 minage=0 minalpha=0 mindiff=0 minlen=0 minother=0 pgrp={pgrp} pwdwarntime=0 registry=files SYSTEM=compat\n",
            u.name
        ));
    }
    Ok(out)
}

pub(super) fn chuser(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["attr"], &[])?;
    let name = one_name(&a, "chuser -attr pgrp=staff|view|sr NAME")?;
    let role = attr_role(&a)?
        .ok_or_else(|| CliError::Usage("Usage: chuser -attr pgrp=staff|view|sr NAME".into()))?;
    ctx.client.change_role(&name, &RoleChange { role })?;
    Ok(String::new())
}

pub(super) fn rmuser(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &[], &["rmdir"])?;
    let name = one_name(&a, "rmuser [-rmdir] NAME")?;
    ctx.client.delete_user(&name)?;
    Ok(String::new())
}

pub(super) fn passwd(ctx: &Ctx, args: &[String]) -> Result<String, CliError> {
    let a = ViosArgs::parse(args, &[], &[])?;
    let me: User = ctx.client.session()?;
    let name = match a.positional.as_slice() {
        [] => me.name.clone(),
        [n] => n.clone(),
        _ => return Err(CliError::Usage("Usage: passwd [NAME]".into())),
    };
    if name != me.name && me.name != PRIME_ADMIN {
        return Err(CliError::Api {
            status: 403,
            message: "HSCL350B The user does not have the appropriate authority. (only padmin changes other users' passwords)".into(),
        });
    }
    eprintln!("Changing password for \"{name}\"");
    let password = new_password(&name)?;
    ctx.client
        .set_password(&name, &PasswordChange { password })?;
    Ok(String::new())
}

pub(super) fn mkauthkeys(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(
        &a.args,
        &["a", "r", "add", "remove", "-ip", "ip", "u"],
        &["l", "list", "g", "-test", "test"],
    )?;
    if a.flag("g") {
        return Ok(format!("{}\n", ctx.client.host_key()?));
    }
    if let Some(ip) = a.value("-ip").or(a.value("ip")) {
        // Trust with another ivm host: this host's key given to its user (IVM's mkauthkeys
        // --ip HOST -u USER), that user's password asked once, never kept.
        let user = a.value("u").unwrap_or(PRIME_ADMIN).to_string();
        let test = a.flag("-test") || a.flag("test");
        let password = if test {
            None
        } else {
            Some(read_secret(&format!(
                "Enter the password for user {user} on the remote host {ip}: "
            ))?)
        };
        ctx.client.trust(&ivm_model::TrustRequest {
            ip: ip.to_string(),
            user,
            password,
            test,
        })?;
        return Ok(String::new());
    }
    let me: User = ctx.client.session()?;
    let mut keys: Vec<String> = ctx.client.keys(&me.name)?;
    if a.flag("l") || a.flag("list") {
        return Ok(keys.iter().map(|k| format!("{k}\n")).collect());
    }
    match (
        a.value("a").or(a.value("add")),
        a.value("r").or(a.value("remove")),
    ) {
        (Some(k), None) => {
            let k = k.trim().to_string();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        (None, Some(k)) => {
            let before = keys.len();
            keys.retain(|x| x != k.trim());
            if keys.len() == before {
                return Err(CliError::Usage(format!(
                    "the key \"{}\" is not among your authorized keys",
                    k.trim()
                )));
            }
        }
        _ => return Err(CliError::Usage(
            "Usage: mkauthkeys -a \"KEY\" | -r \"KEY\" | -l | -g | --ip HOST [-u USER] [--test]"
                .into(),
        )),
    }
    ctx.client.set_keys(&me.name, &keys)?;
    Ok(String::new())
}
