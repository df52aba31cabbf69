//! The charters file: columns, the rules for each cell, and the import itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jada_core::calendar::{parse_date, parse_time};
use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId, Fleet};
use jada_store::Store;

use super::table::{self, col, Row, Schema};
use super::{cell, required, Conflict, Format, ImportError, ImportReport, Location, Progress, Rejection};
use crate::charters::{self, Draft};

/// The charters CSV, as in the operator's contract.
pub const CHARTER_COLUMNS: Schema = Schema {
    what: "charters",
    columns: &[
        col("charter_id", true, &["id"]),
        col("charter_date", true, &["date"]),
        col("start_time", true, &[]),
        col("end_time", true, &[]),
        col("vessel_name", true, &["vessel"]),
        col("guest_name", true, &[]),
        col("guest_count", true, &["guests"]),
        col("reportable_revenue", true, &["revenue"]),
        col("tips", false, &[]),
        col("status", false, &[]),
        col("captain", false, &["captain_assigned"]),
        col("crew", false, &["crew_assigned"]),
    ],
};

/// What a charter import checks rows against.
pub struct CharterContext<'a> {
    /// Known vessels; an empty fleet accepts any vessel name.
    pub fleet: &'a Fleet,
    pub now: DateTime<Utc>,
    /// Reject the whole file when any row is bad.
    pub strict: bool,
    /// The version the caller read (an API update): a charter stored at another version
    /// is refused as changed by someone else, and the write itself is conditional on it.
    pub expected_version: Option<u64>,
}

/// Imports a charters file: every good row is created or updated (with its outbox
/// event), every bad cell is reported. See the module docs of `import` for the rules.
pub async fn import_charters(
    store: &dyn Store,
    bytes: &[u8],
    format: Format,
    file: &str,
    ctx: &CharterContext<'_>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportReport, ImportError> {
    let (rows, mut rejected) = table::read(bytes, format, CHARTER_COLUMNS, file)?;
    let crew: HashMap<CrewId, bool> = store
        .list_crew()
        .await?
        .into_iter()
        .map(|m| (m.crew_id, m.captain_certified))
        .collect();
    let row_count = rows.len() + rejected.len();

    let mut parsed = Vec::with_capacity(rows.len());
    let mut first_seen: HashMap<CharterId, Location> = HashMap::new();
    for row in &rows {
        match parse_row(row, ctx, &crew) {
            Ok(p) => match first_seen.get(&p.charter.charter_id) {
                Some(first) => rejected.push(Rejection {
                    conflict: None,
                    location: row.location,
                    column: Some("charter_id"),
                    value: Some(p.charter.charter_id.to_string()),
                    reason: format!(
                        "charter {} is also on {first}; each charter may appear once per file",
                        p.charter.charter_id
                    ),
                }),
                None => {
                    first_seen.insert(p.charter.charter_id, row.location);
                    parsed.push((row.location, p));
                }
            },
            Err(errors) => rejected.extend(errors),
        }
    }

    let ids: Vec<CharterId> = parsed.iter().map(|(_, p)| p.charter.charter_id).collect();
    let existing = charters::existing(store, &ids).await?;
    let drafts: Vec<Draft> = parsed
        .into_iter()
        .map(|(location, p)| {
            let old = existing.get(&p.charter.charter_id);
            Draft {
                location,
                charter: p.merged_with(old),
            }
        })
        .collect();
    if let Some(v) = ctx.expected_version {
        for c in existing.values().filter(|c| c.version != v) {
            let conflict = Conflict::Stale {
                charter_id: c.charter_id,
                your_version: v,
                current_version: c.version,
            };
            rejected.push(Rejection {
                location: Location::Generated,
                column: Some("version"),
                value: Some(v.to_string()),
                reason: conflict.to_string(),
                conflict: Some(conflict),
            });
        }
    }
    let drafts: Vec<Draft> = drafts
        .into_iter()
        .filter(|d| {
            ctx.expected_version
                .is_none_or(|v| existing.get(&d.charter.charter_id).is_none_or(|c| c.version == v))
        })
        .collect();
    let mut plan = charters::plan(&existing, drafts);
    plan.rejected.append(&mut rejected);

    if ctx.strict && !plan.rejected.is_empty() {
        let mut report = ImportReport {
            rows: row_count,
            rejected: plan.rejected,
            ..Default::default()
        };
        report.rejected.sort_by_key(|r| r.location);
        return Err(ImportError::Strict {
            file: file.to_string(),
            report,
        });
    }
    let mut report = charters::apply(store, plan, ctx.now, progress).await?;
    report.rows = row_count;
    Ok(report)
}

/// A parsed row, and which optional columns it carried: an absent column keeps what the
/// store holds (a booking-system export without crew must not un-crew a charter), while
/// a present but blank one clears it.
struct Parsed {
    charter: Charter,
    has_tips: bool,
    has_status: bool,
    has_captain: bool,
    has_crew: bool,
}

impl Parsed {
    fn merged_with(self, old: Option<&Charter>) -> Charter {
        let mut c = self.charter;
        if let Some(old) = old {
            c.created_at = old.created_at;
            c.version = old.version;
            if !self.has_tips {
                c.tips = old.tips;
            }
            if !self.has_status {
                c.status = old.status;
            }
            if !self.has_captain {
                c.captain_assigned = old.captain_assigned.clone();
            }
            if !self.has_crew {
                c.crew_assigned = old.crew_assigned.clone();
            }
        }
        c
    }
}

fn parse_row(row: &Row, ctx: &CharterContext<'_>, crew: &HashMap<CrewId, bool>) -> Result<Parsed, Vec<Rejection>> {
    let mut errs = Vec::new();
    let e = &mut errs;
    let charter_id = required(e, row, "charter_id", |s| CharterId::parse(s).map_err(|x| x.0));
    let date = required(e, row, "charter_date", |s| parse_date(s).map_err(|x| x.0));
    let start = required(e, row, "start_time", |s| parse_time(s).map_err(|x| x.0));
    let end = required(e, row, "end_time", |s| parse_time(s).map_err(|x| x.0));
    let vessel = required(e, row, "vessel_name", |s| vessel_name(ctx.fleet, s));
    let guest_name = required(e, row, "guest_name", |s| {
        jada_core::charter::guest_name(s).map_err(|x| x.0)
    });
    let guests = required(e, row, "guest_count", parse_count);
    let revenue = required(e, row, "reportable_revenue", dollars);
    let tips = cell(e, row, "tips", dollars).unwrap_or(Cents::ZERO);
    let status = cell(e, row, "status", |s| CharterStatus::parse(s).map_err(|x| x.0)).unwrap_or(CharterStatus::Booked);
    let captain = cell(e, row, "captain", |s| known_crew(crew, s, true));
    let crew_list = cell(e, row, "crew", |s| {
        CrewId::parse_list(s)
            .map_err(|x| x.0)?
            .into_iter()
            .map(|id| known_crew(crew, id.as_str(), false))
            .collect()
    });
    if let (Some(v), Some(g)) = (vessel.as_deref().and_then(|v| ctx.fleet.get(v)), guests) {
        if let Err(err) = v.seats_for(g) {
            e.push(Rejection {
                conflict: None,
                location: row.location,
                column: Some("guest_count"),
                value: Some(g.to_string()),
                reason: err.to_string(),
            });
        }
    }
    let (
        Some(charter_id),
        Some(date),
        Some(start),
        Some(end),
        Some(vessel),
        Some(guest_name),
        Some(guests),
        Some(revenue),
    ) = (charter_id, date, start, end, vessel, guest_name, guests, revenue)
    else {
        return Err(errs);
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    let charter = Charter {
        charter_id,
        created_at: ctx.now,
        charter_date: date,
        start_time: start,
        end_time: end,
        vessel_name: vessel,
        guest_name,
        guest_count: guests,
        captain_assigned: captain,
        crew_assigned: crew_list.unwrap_or_default(),
        reportable_revenue: revenue,
        tips,
        status,
        version: 0,
    };
    if let Err(err) = charter.validate() {
        let column = match err {
            jada_core::CharterError::EndsBeforeStart { .. } => Some("end_time"),
            jada_core::CharterError::CaptainAlsoCrew(_) | jada_core::CharterError::DuplicateCrew(_) => Some("crew"),
            _ => None,
        };
        return Err(vec![Rejection {
            conflict: None,
            location: row.location,
            column,
            value: None,
            reason: err.to_string(),
        }]);
    }
    Ok(Parsed {
        charter,
        has_tips: row.present("tips"),
        has_status: row.present("status"),
        has_captain: row.present("captain"),
        has_crew: row.present("crew"),
    })
}

fn dollars(s: &str) -> Result<Cents, String> {
    Cents::parse_dollars(s).map_err(|e| e.0)
}

fn parse_count(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .map_err(|_| format!("`{s}` is not a number of guests: expected a whole number like 6"))
}

/// The vessel's name as the fleet spells it; any name when no fleet is configured.
fn vessel_name(fleet: &Fleet, s: &str) -> Result<String, String> {
    if fleet.vessels().is_empty() {
        return Ok(s.to_string());
    }
    fleet.get(s).map(|v| v.name.clone()).ok_or_else(|| {
        format!(
            "unknown vessel `{s}`: the fleet is {}; add a [[vessels]] entry to jada.toml for a new boat",
            fleet.names().join(", ")
        )
    })
}

fn known_crew(crew: &HashMap<CrewId, bool>, s: &str, as_captain: bool) -> Result<CrewId, String> {
    let id = CrewId::parse(s).map_err(|e| e.0)?;
    match crew.get(&id) {
        None => Err(format!(
            "no crew member `{id}` on the roster: import the crew first (`jada crew import`)"
        )),
        Some(false) if as_captain => Err(format!("`{id}` is not captain-certified, so cannot captain a charter")),
        Some(_) => Ok(id),
    }
}
