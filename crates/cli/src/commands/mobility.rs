//! Partition mobility: `migrlpar -o v|m|s|r [-t SYSTEM] --ip HOST [-u USER] {-p NAME | --id N}
//! [-i "dest_lpar_id=N"]`, `lslparmigr -r sys|lpar`, and what another ivm host asks of this
//! one as a migration's target (`migrlpar --incoming OP`, JSON in and out).

use std::io::Read;

use ivm_model::{MigrationOffer, MigrationRequest, MigrationState, MigrationView, PRIME_ADMIN};

use super::{check_resource, Ctx};
use crate::output::{render, Record};
use crate::CliError;

/// Options of `migrlpar`.
#[derive(Debug, clap::Args)]
pub struct MigrArgs {
    /// Operation: v (validate), m (migrate), s (stop), r (recover).
    #[arg(short = 'o')]
    op: Option<String>,
    /// Source managed system (this one).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Target managed system's name (checked against what the target says).
    #[arg(short = 't')]
    target: Option<String>,
    /// The target ivm host's address.
    #[arg(long = "ip")]
    ip: Option<String>,
    /// The user on the target host (default padmin).
    #[arg(short = 'u')]
    user: Option<String>,
    /// Partition name.
    #[arg(short = 'p')]
    name: Option<String>,
    /// Partition ID.
    #[arg(long = "id")]
    id: Option<u32>,
    /// Input data: dest_lpar_id=N.
    #[arg(short = 'i')]
    input: Option<String>,
    /// Minutes to wait (accepted; ivm waits until the migration ends).
    #[arg(short = 'w')]
    wait: Option<u32>,
    /// Detail level: 1 or more prints what the move cost.
    #[arg(short = 'd')]
    detail: Option<u32>,
    /// Accepted for HMC scripts.
    #[arg(long)]
    force: bool,
    /// What another ivm host asks of this one as a target (ivm's own, over SSH).
    #[arg(long, hide = true)]
    incoming: Option<String>,
    /// The migration the request is about.
    #[arg(long, hide = true)]
    mid: Option<String>,
}

/// Options of `lslparmigr`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Resource type: sys or lpar.
    #[arg(short = 'r')]
    resource: String,
    #[command(flatten)]
    list: super::ListOptions,
}

fn input_data(text: &str) -> Result<Option<u32>, CliError> {
    let mut dest = None;
    for (k, v) in crate::configdata::parse(text)? {
        match k.as_str() {
            "dest_lpar_id" => {
                dest = Some(v.parse::<u32>().map_err(|_| {
                    CliError::Usage(format!("dest_lpar_id={v} is not a partition ID"))
                })?)
            }
            "virtual_scsi_mappings" | "vlan_mappings" | "virtual_fc_mappings" => {
                return Err(CliError::Usage(format!(
                    "{k} is not taken by this version: the partition keeps its virtual Ethernet IDs, and partitions with virtual SCSI mappings do not move yet"
                )))
            }
            other => {
                return Err(CliError::Usage(format!(
                    "{other} is not a migrlpar input attribute; use dest_lpar_id=N"
                )))
            }
        }
    }
    Ok(dest)
}

pub(super) fn migrlpar(ctx: &Ctx, a: MigrArgs) -> Result<String, CliError> {
    if let Some(op) = a.incoming.as_deref() {
        return incoming(ctx, op, a.mid.as_deref());
    }
    let op = a.op.as_deref().ok_or_else(|| {
        CliError::Usage("Usage: migrlpar -o v|m|s|r --ip HOST [-u USER] -p NAME | --id N".into())
    })?;
    ctx.check_system(a.system.as_deref())?;
    let p = ctx.partition(a.name.as_deref(), a.id)?;
    match op {
        "v" | "m" => {
            let ip = a.ip.clone().ok_or_else(|| {
                CliError::Usage("-o v and -o m need --ip, the target ivm host's address".into())
            })?;
            let dest_lpar_id = a.input.as_deref().map(input_data).transpose()?.flatten();
            let _ = (a.wait, a.force);
            let done = ctx.client.migrate(&MigrationRequest {
                lpar_id: p.lpar_id,
                ip,
                user: a.user.clone().unwrap_or_else(|| PRIME_ADMIN.to_string()),
                target_system: a.target.clone(),
                dest_lpar_id,
                validate_only: op == "v",
            })?;
            // With -d: what the move cost, as attr=value.
            Ok(match (done.figures, a.detail) {
                (Some(f), Some(d)) if d > 0 => format!(
                    "dest_sys_name={},dest_lpar_id={},total_ms={},downtime_ms={},pause_ms={},bytes_transmitted={},passes={}\n",
                    done.system, done.lpar_id, f.total_ms, f.downtime_ms, f.switch_ms, f.bytes, f.passes
                ),
                _ => String::new(),
            })
        }
        "s" => {
            ctx.client.stop_migration(p.lpar_id)?;
            Ok(String::new())
        }
        "r" => {
            ctx.client.recover_migration(p.lpar_id)?;
            Ok(String::new())
        }
        other => Err(CliError::Usage(format!(
            "The operation {other} is not valid. Valid operations are: v, m, s, r"
        ))),
    }
}

/// The offer the source sends on standard input (bounded: an offer is a partition's definition).
fn offer() -> Result<MigrationOffer, CliError> {
    let mut text = Vec::new();
    std::io::stdin()
        .lock()
        .take(1 << 20)
        .read_to_end(&mut text)
        .map_err(|e| CliError::Protocol(format!("cannot read the offer: {e}")))?;
    serde_json::from_slice(&text)
        .map_err(|e| CliError::Protocol(format!("the offer is not one this ivm reads: {e}")))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, CliError> {
    serde_json::to_string(v)
        .map(|s| s + "\n")
        .map_err(|e| CliError::Protocol(e.to_string()))
}

/// `migrlpar --incoming OP [--mid ID]`: this host as a migration's target.
fn incoming(ctx: &Ctx, op: &str, mid: Option<&str>) -> Result<String, CliError> {
    let mid = || mid.ok_or_else(|| CliError::Usage(format!("--incoming {op} needs --mid ID")));
    match op {
        "validate" => json(&ctx.client.incoming_validate(&offer()?)?),
        "prepare" => json(&ctx.client.incoming_prepare(&offer()?)?),
        "commit" => {
            ctx.client.incoming_commit(mid()?)?;
            json(&serde_json::Value::Null)
        }
        "abort" => {
            ctx.client.incoming_abort(mid()?)?;
            json(&serde_json::Value::Null)
        }
        "status" => json(&ctx.client.incoming_status(mid()?)?),
        "stream" | "nbd" => {
            let path = format!("/api/v1/incoming/{}/{op}", crate::routes::enc(mid()?));
            let stream = crate::upgrade::open(ctx.client.data_dir(), &path, "ivm-migration")
                .map_err(|e| match e {
                    crate::upgrade::Refused::Status(status, body) => CliError::Api {
                        status,
                        message: String::from_utf8_lossy(&body).into_owned(),
                    },
                    crate::upgrade::Refused::Io(m) => CliError::Daemon(m),
                })?;
            crate::upgrade::relay(stream).map_err(|e| CliError::Daemon(e.to_string()))?;
            Ok(String::new())
        }
        other => Err(CliError::Usage(format!(
            "--incoming {other} is not valid: validate, prepare, stream, nbd, commit, abort or status"
        ))),
    }
}

fn yes(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

pub(super) fn lslparmigr(ctx: &Ctx, a: LsArgs) -> Result<String, CliError> {
    check_resource(&a.resource, &["sys", "lpar"])?;
    let fields = a.list.check(ctx)?;
    if a.resource == "sys" {
        let v = ctx.client.mobility()?;
        let r: Record = vec![
            ("inactive_lpar_mobility_capable", yes(v.inactive_capable)),
            (
                "num_inactive_migrations_supported",
                v.migrations_supported.to_string(),
            ),
            (
                "num_inactive_migrations_in_progress",
                v.inactive_in_progress.to_string(),
            ),
            ("active_lpar_mobility_capable", yes(v.active_capable)),
            (
                "num_active_migrations_supported",
                v.migrations_supported.to_string(),
            ),
            (
                "num_active_migrations_in_progress",
                v.active_in_progress.to_string(),
            ),
        ];
        return render(&[r], fields.as_ref(), a.list.header);
    }
    let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
    let views = ctx.client.migrations()?;
    let records: Vec<Record> = ctx
        .partitions()?
        .iter()
        .filter(|p| filter.keeps(p))
        .filter_map(|p| views.iter().find(|v| v.lpar_id == p.lpar_id))
        .map(record)
        .collect();
    render(&records, fields.as_ref(), a.list.header)
}

fn record(v: &MigrationView) -> Record {
    let mut r: Record = vec![
        ("name", v.name.clone()),
        ("lpar_id", v.lpar_id.to_string()),
        ("migration_state", v.migration_state.to_string()),
    ];
    if let Some(m) = v
        .migration
        .as_ref()
        .filter(|_| v.migration_state != MigrationState::NotMigrating)
    {
        r.extend([
            ("migration_type", m.kind.to_string()),
            ("source_sys_name", m.source_system.clone()),
            ("dest_sys_name", m.dest_system.clone()),
            ("dest_lpar_id", m.dest_lpar_id.to_string()),
            ("remote_manager", m.peer_ip.clone()),
            ("remote_user", m.peer_user.clone()),
            ("bytes_transmitted", m.bytes_transmitted.to_string()),
            ("bytes_remaining", m.bytes_remaining.to_string()),
        ]);
    }
    r
}
