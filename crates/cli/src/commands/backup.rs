//! `bkprofdata -o backup [-f FILE]`, `rstprofdata -l 1 -f FILE [--ignoremtms]`,
//! `lpcfgop -o clear [--force]`, `lpcfgop -o dump [-f FILE]`: the partition configuration in a
//! file of the caller's (the daemon makes and checks its content).

use std::io::{BufRead, IsTerminal, Write};

use ivm_model::{BackupFile, RestoreRequest};

use super::Ctx;
use crate::CliError;

/// Options of `bkprofdata`.
#[derive(Debug, clap::Args)]
pub struct BkArgs {
    /// Operation: backup.
    #[arg(short = 'o')]
    op: String,
    /// Managed system.
    #[arg(short = 'm')]
    system: Option<String>,
    /// File to write (default profile.bak in the current directory).
    #[arg(short = 'f')]
    file: Option<String>,
}

/// Options of `rstprofdata`.
#[derive(Debug, clap::Args)]
pub struct RstArgs {
    /// Restore level: 1 (the whole configuration).
    #[arg(short = 'l')]
    level: u32,
    /// Backup file to read.
    #[arg(short = 'f')]
    file: String,
    /// Managed system.
    #[arg(short = 'm')]
    system: Option<String>,
    /// Restore a backup taken on another managed system.
    #[arg(long)]
    ignoremtms: bool,
}

/// Options of `lpcfgop`.
#[derive(Debug, clap::Args)]
pub struct CfgArgs {
    /// Operation: clear or dump.
    #[arg(short = 'o')]
    op: String,
    /// Managed system.
    #[arg(short = 'm')]
    system: Option<String>,
    /// File for the dump (default lpcfgop.dump in the current directory).
    #[arg(short = 'f')]
    file: Option<String>,
    /// Clear without asking.
    #[arg(long)]
    force: bool,
}

fn write_file(path: &str, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| CliError::Usage(format!("cannot write {path}: {e}")))
}

fn backup_text(ctx: &Ctx) -> Result<String, CliError> {
    let b: BackupFile = ctx.client.backup()?;
    Ok(b.data)
}

pub(super) fn bkprofdata(ctx: &Ctx, a: BkArgs) -> Result<String, CliError> {
    if a.op != "backup" {
        return Err(CliError::Usage(format!(
            "The operation {} is not valid. Valid operations are: backup",
            a.op
        )));
    }
    ctx.check_system(a.system.as_deref())?;
    write_file(
        a.file.as_deref().unwrap_or("profile.bak"),
        &backup_text(ctx)?,
    )?;
    Ok(String::new())
}

pub(super) fn rstprofdata(ctx: &Ctx, a: RstArgs) -> Result<String, CliError> {
    if a.level != 1 {
        return Err(CliError::Usage(format!(
            "The restore level {} is not valid: ivm restores the whole configuration (-l 1)",
            a.level
        )));
    }
    ctx.check_system(a.system.as_deref())?;
    let data = std::fs::read_to_string(&a.file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", a.file)))?;
    ctx.client.restore(&RestoreRequest {
        data,
        ignore_mtms: a.ignoremtms,
    })?;
    Ok(String::new())
}

pub(super) fn lpcfgop(ctx: &Ctx, a: CfgArgs) -> Result<String, CliError> {
    ctx.check_system(a.system.as_deref())?;
    match a.op.as_str() {
        "clear" => {
            if !a.force {
                if !std::io::stdin().is_terminal() {
                    return Err(CliError::Usage(
                        "lpcfgop -o clear removes every client partition; confirm with --force"
                            .into(),
                    ));
                }
                eprint!("This removes every client partition and its virtual adapters (virtual disks and media stay). Continue [y|n]? ");
                std::io::stderr().flush().ok();
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer).ok();
                if !answer.trim().eq_ignore_ascii_case("y") {
                    return Ok(String::new());
                }
            }
            ctx.client.clear_backup()?;
            Ok(String::new())
        }
        "dump" => {
            write_file(
                a.file.as_deref().unwrap_or("lpcfgop.dump"),
                &backup_text(ctx)?,
            )?;
            Ok(String::new())
        }
        other => Err(CliError::Usage(format!(
            "The operation {other} is not valid. Valid operations are: clear, dump"
        ))),
    }
}
