//! The IVM command set: `lssyscfg`, `mksyscfg`, `chsyscfg`, `rmsyscfg`, `lshwres`, `lsivm`.
//!
//! Commands speak IVM's syntax, attribute names and output rules, and talk to the daemon over
//! its Unix socket; the daemon decides everything, the commands only translate.

pub mod client;
pub mod configdata;
pub mod output;
pub mod records;

mod attrs;
mod commands;
mod filter;
mod routes;
mod terminal;
mod time;
mod upgrade;

use std::path::Path;

pub use client::Client;
pub use commands::IvmCommand;

/// Why a command failed; printed to stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad options, attributes or values.
    #[error("{0}")]
    Usage(String),
    /// The daemon refused the request.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// The daemon could not be reached.
    #[error("{0}")]
    Daemon(String),
    /// The daemon answered something unexpected.
    #[error("{0}")]
    Protocol(String),
    /// An error with an exit status of its own (the virtual terminal's documented codes).
    #[error("{message}")]
    Exit {
        /// Exit status.
        code: i32,
        /// What went wrong, as printed on standard error.
        message: String,
    },
}

impl CliError {
    /// The exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Exit { code, .. } => *code,
            _ => 1,
        }
    }
}

/// Runs one IVM command against the daemon of `data_dir`; returns the exit status.
pub fn run(cmd: IvmCommand, data_dir: &Path) -> i32 {
    let client = Client::new(data_dir);
    match commands::execute(cmd, &client) {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

/// IVM's `passwd [NAME]` in the restricted shell (apart from the subcommands: `ivm passwd` is
/// the host's own way to set a password).
pub fn run_passwd(args: &[String], data_dir: &Path) -> i32 {
    let client = Client::new(data_dir);
    match commands::passwd(&client, args) {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}
