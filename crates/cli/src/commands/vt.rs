//! `mkvt -id N` and `rmvt -id N`: the partition's virtual terminal.

use super::Ctx;
use crate::terminal::{self, exit};
use crate::CliError;

/// Options of `mkvt` and `rmvt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Partition ID (`-id N`, as IVM writes it, is accepted too).
    #[arg(long = "id")]
    id: Option<u32>,
    /// Partition name.
    #[arg(short = 'p')]
    name: Option<String>,
}

/// A partition that does not exist is "specified device does not exist" (31).
fn resolve(ctx: &Ctx, a: &Args) -> Result<u32, CliError> {
    ctx.check_system(a.system.as_deref())
        .map_err(|e| CliError::Exit {
            code: exit::NO_DEVICE,
            message: e.to_string(),
        })?;
    match ctx.partition(a.name.as_deref(), a.id) {
        Ok(p) => Ok(p.lpar_id),
        Err(CliError::Api {
            status: 404,
            message,
        }) => Err(CliError::Exit {
            code: exit::NO_DEVICE,
            message,
        }),
        Err(CliError::Usage(message)) => Err(CliError::Exit {
            code: exit::UNEXPECTED,
            message,
        }),
        Err(e) => Err(CliError::Exit {
            code: exit::UNEXPECTED,
            message: e.to_string(),
        }),
    }
}

pub(super) fn mkvt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let id = resolve(ctx, &a)?;
    terminal::run(ctx.client.data_dir(), id)?;
    Ok(String::new())
}

pub(super) fn rmvt(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let id = resolve(ctx, &a).map_err(|e| match e {
        CliError::Exit {
            code: exit::NO_DEVICE,
            message,
        } => CliError::Exit {
            code: exit::NOT_FOUND,
            message,
        },
        other => other,
    })?;
    ctx.client.close_console(id).map_err(|e| match e {
        CliError::Api {
            status: 403,
            message,
        } => CliError::Exit {
            code: exit::PERMISSION,
            message,
        },
        CliError::Api { message, .. } => CliError::Exit {
            code: exit::NOT_FOUND,
            message,
        },
        other => other,
    })?;
    Ok(String::new())
}
