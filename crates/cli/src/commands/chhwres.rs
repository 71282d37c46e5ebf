//! `chhwres -r proc|mem -o a|r|s|m --id N|-p NAME [--procs K] [--procunits X] [-q MB] [--tid N|-t NAME]`,
//! `chhwres -r virtualio --rsubtype eth -o a|r --id N|-p NAME -s SLOT [-a "port_vlan_id=N,ieee_virtual_eth=0"]`.

use ivm_model::{
    DlparOp, DlparRequest, EthDlparRequest, MemPoolRequest, MoveRequest, PagingPvRequest, ProcUnits,
};

use super::{check_resource, Ctx};
use crate::CliError;

/// Options of `chhwres`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: proc or mem.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Operation: a (add), r (remove), s (set), m (move).
    #[arg(short = 'o')]
    op: String,
    /// Partition (source for -o m) by name.
    #[arg(short = 'p')]
    name: Option<String>,
    /// Partition (source for -o m) by ID.
    #[arg(long = "id")]
    id: Option<u32>,
    /// Target partition of -o m by name.
    #[arg(short = 't')]
    target_name: Option<String>,
    /// Target partition of -o m by ID.
    #[arg(long = "tid")]
    target_id: Option<u32>,
    /// Processors (virtual processors when shared).
    #[arg(long)]
    procs: Option<u32>,
    /// Processing units.
    #[arg(long)]
    procunits: Option<String>,
    /// Memory in MB.
    #[arg(short = 'q')]
    quantity: Option<u64>,
    /// Virtual I/O subtype (`eth`) with `-r virtualio`.
    #[arg(long)]
    rsubtype: Option<String>,
    /// Virtual slot of the adapter (`-r virtualio`).
    #[arg(short = 's')]
    slot: Option<u32>,
    /// Adapter attributes (`-r virtualio`): `port_vlan_id=N,ieee_virtual_eth=0`.
    #[arg(short = 'a')]
    attrs: Option<String>,
    /// The physical volume of `-r mempool --rsubtype pgdev`.
    #[arg(long)]
    device: Option<String>,
    /// Add processors or memory even without an active RMC connection (the guest agent).
    #[arg(long)]
    force: bool,
    /// Accepted for compatibility: ivm waits as long as the change takes.
    #[arg(short = 'w')]
    wait: Option<u32>,
    /// Accepted for compatibility.
    #[arg(short = 'd')]
    detail: Option<u32>,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["proc", "mem", "virtualio", "mempool"])?;
    if a.resource == "virtualio" {
        return virtualio(ctx, a);
    }
    if a.resource == "mempool" {
        return mempool(ctx, a);
    }
    let units = a
        .procunits
        .as_deref()
        .map(|u| {
            u.parse::<ProcUnits>()
                .map_err(|e| CliError::Usage(format!("--procunits: {e}")))
        })
        .transpose()?;
    let (procs, units, mem) = if a.resource == "proc" {
        if a.quantity.is_some() {
            return Err(CliError::Usage(
                "-q goes with -r mem; use --procs or --procunits with -r proc.".into(),
            ));
        }
        if a.procs.is_none() && units.is_none() {
            return Err(CliError::Usage(
                "-r proc needs --procs or --procunits.".into(),
            ));
        }
        (a.procs, units, None)
    } else {
        if a.procs.is_some() || units.is_some() {
            return Err(CliError::Usage(
                "--procs and --procunits go with -r proc; use -q with -r mem.".into(),
            ));
        }
        (
            None,
            None,
            Some(
                a.quantity
                    .ok_or_else(|| CliError::Usage("-r mem needs -q MB.".into()))?,
            ),
        )
    };
    ctx.check_system(a.system.as_deref())?;
    let source = ctx.partition(a.name.as_deref(), a.id)?;
    match a.op.as_str() {
        "m" => {
            let target = ctx
                .partition(a.target_name.as_deref(), a.target_id)
                .map_err(|e| match e {
                    CliError::Usage(_) => {
                        CliError::Usage("-o m needs the target: -t NAME or --tid ID.".into())
                    }
                    other => other,
                })?;
            ctx.client.move_resources(&MoveRequest {
                source: source.lpar_id,
                target: target.lpar_id,
                procs,
                proc_units: units,
                mem,
                force: a.force,
            })?;
        }
        "a" | "r" | "s" => {
            if a.target_name.is_some() || a.target_id.is_some() {
                return Err(CliError::Usage("-t and --tid go with -o m only.".into()));
            }
            ctx.client.dlpar(
                source.lpar_id,
                &DlparRequest {
                    op: dlpar_op(&a.op)?,
                    procs,
                    proc_units: units,
                    mem,
                    force: a.force,
                },
            )?;
        }
        other => {
            return Err(CliError::Usage(format!(
                "The operation {other} is not valid. Valid operations are: a, r, s, m"
            )))
        }
    }
    Ok(String::new())
}

/// `-r virtualio --rsubtype eth -o a|r -s SLOT [-a ...]`: an adapter added or removed.
fn virtualio(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    if a.rsubtype.as_deref() != Some("eth") {
        return Err(CliError::Usage(
            "-r virtualio needs --rsubtype eth (virtual Ethernet adapters).".into(),
        ));
    }
    if !matches!(a.op.as_str(), "a" | "r") {
        return Err(CliError::Usage(format!(
            "The operation {} is not valid for virtual Ethernet adapters. Valid operations are: a, r",
            a.op
        )));
    }
    let slot = a
        .slot
        .ok_or_else(|| CliError::Usage("-r virtualio needs -s SLOT.".into()))?;
    let mut body = EthDlparRequest {
        op: dlpar_op(&a.op)?,
        slot_num: slot,
        port_vlan_id: None,
        ieee_virtual_eth: None,
    };
    if let Some(text) = &a.attrs {
        for (k, v) in crate::configdata::parse(text)? {
            match k.as_str() {
                "port_vlan_id" => {
                    body.port_vlan_id = Some(v.parse::<u16>().map_err(|_| CliError::Usage(
                        format!("The value '{v}' of attribute port_vlan_id is not valid: a number from 1 to 4094 is required.")
                    ))?)
                }
                "ieee_virtual_eth" => {
                    body.ieee_virtual_eth = Some(match v.as_str() {
                        "0" => false,
                        "1" => true,
                        _ => {
                            return Err(CliError::Usage(format!(
                                "The value '{v}' of attribute ieee_virtual_eth is not valid: use 0 or 1."
                            )))
                        }
                    })
                }
                other => {
                    return Err(CliError::Usage(format!(
                        "An invalid attribute was entered: {other}"
                    )))
                }
            }
        }
    }
    ctx.check_system(a.system.as_deref())?;
    let p = ctx.partition(a.name.as_deref(), a.id)?;
    ctx.client.change_ethernet(p.lpar_id, &body)?;
    Ok(String::new())
}

/// `chhwres -r mempool -o a|s|r [-a "pool_mem=MB,max_pool_mem=MB,paging_storage_pool=POOL"]`.
fn mempool(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    ctx.check_system(a.system.as_deref())?;
    if let Some(sub) = a.rsubtype.as_deref() {
        if sub != "pgdev" {
            return Err(CliError::Usage(format!(
                "The subtype {sub} is not valid with -r mempool. Valid subtypes are: pgdev"
            )));
        }
        let device = a
            .device
            .as_deref()
            .ok_or_else(|| CliError::Usage("--rsubtype pgdev needs --device hdiskN.".into()))?;
        match a.op.as_str() {
            "a" => ctx.client.add_paging_pv(&PagingPvRequest {
                device: device.to_string(),
            })?,
            "r" => ctx.client.remove_paging_pv(device)?,
            other => {
                return Err(CliError::Usage(format!(
                    "The operation {other} is not valid with --rsubtype pgdev. Valid operations are: a, r"
                )))
            }
        }
        return Ok(String::new());
    }
    if a.device.is_some() {
        return Err(CliError::Usage(
            "--device goes with --rsubtype pgdev.".into(),
        ));
    }
    if a.name.is_some() || a.id.is_some() || a.quantity.is_some() || a.procs.is_some() {
        return Err(CliError::Usage(
            "-r mempool takes -o and -a \"pool_mem=MB,max_pool_mem=MB,paging_storage_pool=POOL\" only."
                .into(),
        ));
    }
    let mut body = MemPoolRequest::default();
    if let Some(text) = &a.attrs {
        for (k, v) in crate::configdata::parse(text)? {
            let mb = || {
                v.parse::<u64>().map_err(|_| {
                    CliError::Usage(format!(
                        "An invalid value was entered for {k}: {v}. A whole number of megabytes is required."
                    ))
                })
            };
            match k.as_str() {
                "pool_mem" => body.pool_mem = Some(mb()?),
                "max_pool_mem" => body.max_pool_mem = Some(mb()?),
                "paging_storage_pool" => body.paging_storage_pool = Some(v.clone()),
                other => {
                    return Err(CliError::Usage(format!(
                        "An invalid attribute was entered: {other}. Valid attributes are: pool_mem, max_pool_mem, paging_storage_pool"
                    )))
                }
            }
        }
    }
    match a.op.as_str() {
        "a" => {
            if body.pool_mem.is_none() {
                return Err(CliError::Usage(
                    "-o a needs -a \"pool_mem=MB[,max_pool_mem=MB][,paging_storage_pool=POOL]\"."
                        .into(),
                ));
            }
            ctx.client.create_mem_pool(&body)?;
        }
        "s" => {
            if body == MemPoolRequest::default() {
                return Err(CliError::Usage(
                    "-o s needs -a with pool_mem, max_pool_mem or paging_storage_pool.".into(),
                ));
            }
            ctx.client.change_mem_pool(&body)?;
        }
        "r" => {
            if a.attrs.is_some() {
                return Err(CliError::Usage("-o r takes no -a.".into()));
            }
            ctx.client.remove_mem_pool()?;
        }
        other => {
            return Err(CliError::Usage(format!(
                "The operation {other} is not valid with -r mempool. Valid operations are: a, s, r"
            )))
        }
    }
    Ok(String::new())
}

/// The model's operation for `-o a|r|s` (the callers have already refused the others).
fn dlpar_op(op: &str) -> Result<DlparOp, CliError> {
    op.parse().map_err(|e| CliError::Usage(format!("-o: {e}")))
}
