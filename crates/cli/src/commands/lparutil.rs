//! `lslparutil -r lpar|pool|sys|config [-n N] [--startyear ... --endminute M] [--filter ...]
//! [-F ...] [--header]` and `chlparutil -r config -s RATE`: utilization samples with IVM's
//! attribute names (cycles are nanoseconds of CPU time; see the rules' `util`).

use ivm_model::{RateChange, UtilConfig, UtilSample};

use super::{check_resource, Ctx};
use crate::output::{render_with, Record};
use crate::{time, CliError};

/// Options of `lslparutil`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Resource: lpar, pool, sys or config.
    #[arg(short = 'r')]
    resource: String,
    /// At most this many samples (per partition with -r lpar), newest first.
    #[arg(short = 'n')]
    number: Option<u32>,
    #[arg(long)]
    startyear: Option<i64>,
    #[arg(long)]
    startmonth: Option<u32>,
    #[arg(long)]
    startday: Option<u32>,
    #[arg(long)]
    starthour: Option<u32>,
    #[arg(long)]
    startminute: Option<u32>,
    #[arg(long)]
    endyear: Option<i64>,
    #[arg(long)]
    endmonth: Option<u32>,
    #[arg(long)]
    endday: Option<u32>,
    #[arg(long)]
    endhour: Option<u32>,
    #[arg(long)]
    endminute: Option<u32>,
    #[command(flatten)]
    list: super::ListOptions,
}

/// Options of `chlparutil`.
#[derive(Debug, clap::Args)]
pub struct ChArgs {
    /// Resource: config.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system.
    #[arg(short = 'm')]
    system: Option<String>,
    /// Sample rate in seconds.
    #[arg(short = 's')]
    rate: u32,
}

/// The start or end of the time range: given parts, the rest from the earliest (start) or
/// latest (end) value.
fn bound(
    y: Option<i64>,
    mo: Option<u32>,
    d: Option<u32>,
    h: Option<u32>,
    mi: Option<u32>,
    end: bool,
) -> Result<Option<i64>, CliError> {
    if y.is_none() && mo.is_none() && d.is_none() && h.is_none() && mi.is_none() {
        return Ok(None);
    }
    let (dy, dmo, dd, dh, dmi) = if end {
        (9999, 12, 31, 23, 59)
    } else {
        (1970, 1, 1, 0, 0)
    };
    let (y, mo, d, h, mi) = (
        y.unwrap_or(dy),
        mo.unwrap_or(dmo),
        d.unwrap_or(dd),
        h.unwrap_or(dh),
        mi.unwrap_or(dmi),
    );
    let ms = time::utc_ms(y, mo, d, h, mi).ok_or_else(|| {
        CliError::Usage(format!(
            "{mo:02}/{d:02}/{y} {h:02}:{mi:02} is not a valid date and time"
        ))
    })?;
    Ok(Some(if end { ms + 59_999 } else { ms }))
}

fn lpar_record(s: &UtilSample) -> Record {
    vec![
        ("time", time::format_utc(s.time_ms)),
        ("time_bin", s.time_ms.to_string()),
        ("event_type", s.event_type.clone()),
        ("resource_type", "lpar".into()),
        ("lpar_id", s.lpar_id.to_string()),
        ("lpar_name", s.lpar_name.clone()),
        ("state", s.state.clone()),
        ("curr_proc_mode", s.curr_proc_mode.clone()),
        ("curr_proc_units", s.curr_proc_units.to_string()),
        ("curr_procs", s.curr_procs.to_string()),
        ("curr_sharing_mode", s.curr_sharing_mode.clone()),
        ("curr_uncap_weight", s.curr_uncap_weight.to_string()),
        ("curr_mem", s.curr_mem.to_string()),
        ("entitled_cycles", s.entitled_cycles.to_string()),
        ("capped_cycles", s.capped_cycles.to_string()),
        ("uncapped_cycles", s.uncapped_cycles.to_string()),
        ("idle_cycles", s.idle_cycles.to_string()),
        ("mem_resident", s.mem_resident.to_string()),
    ]
}

/// Sums of the samples taken at one time (`-r pool`: shared processors only).
fn summed(samples: &[UtilSample], resource: &'static str) -> Vec<Record> {
    let mut times: Vec<i64> = samples.iter().map(|s| s.time_ms).collect();
    times.dedup();
    times
        .into_iter()
        .map(|t| {
            let at: Vec<&UtilSample> = samples
                .iter()
                .filter(|s| s.time_ms == t && (resource == "sys" || s.curr_proc_mode == "shared"))
                .collect();
            let sum = |f: fn(&UtilSample) -> u64| at.iter().map(|s| f(s)).sum::<u64>().to_string();
            let mut r: Record = vec![
                ("time", time::format_utc(t)),
                ("time_bin", t.to_string()),
                ("event_type", "sample".into()),
                ("resource_type", resource.into()),
            ];
            if resource == "pool" {
                r.push(("shared_proc_pool_id", "0".into()));
            }
            r.extend([
                ("curr_proc_units", {
                    let u: u32 = at.iter().map(|s| s.curr_proc_units.0).sum();
                    ivm_model::ProcUnits(u).to_string()
                }),
                ("curr_mem", sum(|s| s.curr_mem)),
                ("entitled_cycles", sum(|s| s.entitled_cycles)),
                ("capped_cycles", sum(|s| s.capped_cycles)),
                ("uncapped_cycles", sum(|s| s.uncapped_cycles)),
                ("idle_cycles", sum(|s| s.idle_cycles)),
            ]);
            r
        })
        .collect()
}

pub(super) fn lslparutil(ctx: &Ctx, a: LsArgs) -> Result<String, CliError> {
    check_resource(&a.resource, &["lpar", "pool", "sys", "config"])?;
    let fields = a.list.check(ctx)?;
    if a.resource == "config" {
        let c: UtilConfig = ctx.client.util_config()?;
        let r: Record = vec![
            ("sample_rate", c.sample_rate.to_string()),
            ("max_age_secs", c.max_age_secs.to_string()),
        ];
        return render_with(&[r], fields.as_ref(), a.list.header, &[]);
    }
    let from = bound(
        a.startyear,
        a.startmonth,
        a.startday,
        a.starthour,
        a.startminute,
        false,
    )?;
    let to = bound(
        a.endyear,
        a.endmonth,
        a.endday,
        a.endhour,
        a.endminute,
        true,
    )?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(CliError::Usage(
                "The start of the time range is after its end.".into(),
            ));
        }
    }
    let samples: Vec<UtilSample> = ctx.client.utilization(from.unwrap_or(0), to)?;
    let mut records: Vec<Record> = if a.resource == "lpar" {
        let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
        let parts = ctx.partitions()?;
        let keep = |s: &UtilSample| {
            parts
                .iter()
                .find(|p| p.lpar_id == s.lpar_id)
                .is_some_and(|p| filter.keeps(p))
        };
        let mut events: Vec<UtilSample> = ctx.client.utilization_events(from.unwrap_or(0), to)?;
        events.retain(|e| {
            parts
                .iter()
                .find(|p| p.lpar_id == e.lpar_id)
                .is_some_and(|p| filter.keeps(p))
        });
        // Samples and state changes, newest first; -n counts both, per partition.
        let mut all: Vec<(i64, Record, u32)> = samples
            .iter()
            .filter(|s| keep(s))
            .map(|s| (s.time_ms, lpar_record(s), s.lpar_id))
            .chain(
                events
                    .iter()
                    .map(|e| (e.time_ms, lpar_record(e), e.lpar_id)),
            )
            .collect();
        all.sort_by(|x, y| y.0.cmp(&x.0).then(x.2.cmp(&y.2)));
        let mut seen: std::collections::HashMap<u32, u32> = Default::default();
        all.into_iter()
            .filter(|(_, _, id)| {
                let c = seen.entry(*id).or_default();
                *c += 1;
                a.number.is_none_or(|n| *c <= n)
            })
            .map(|(_, r, _)| r)
            .collect()
    } else {
        if a.list.filter.is_some() {
            return Err(CliError::Usage(format!(
                "Filters are not valid with -r {}.",
                a.resource
            )));
        }
        let resource = if a.resource == "pool" { "pool" } else { "sys" };
        summed(&samples, resource)
    };
    if a.resource != "lpar" {
        if let Some(n) = a.number {
            records.truncate(n as usize);
        }
    }
    render_with(&records, fields.as_ref(), a.list.header, &["mem_resident"])
}

pub(super) fn chlparutil(ctx: &Ctx, a: ChArgs) -> Result<String, CliError> {
    check_resource(&a.resource, &["config"])?;
    ctx.check_system(a.system.as_deref())?;
    ctx.client.set_util_config(&RateChange {
        sample_rate: a.rate,
    })?;
    Ok(String::new())
}
