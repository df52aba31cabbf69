//! The crew file: who sails, how to reach them, captain certification, availability.

use std::collections::{BTreeSet, HashMap};

use jada_core::calendar::parse_date;
use jada_core::{CrewId, CrewMember, Email};
use jada_store::{Store, StoreError};

use super::table::{self, col, Row, Schema};
use super::{cell, required, Format, ImportError, ImportReport, Location, Progress, Rejection};

/// The crew CSV, as in the operator's contract (plus an optional `active`).
pub const CREW_COLUMNS: Schema = Schema {
    what: "crew",
    columns: &[
        col("crew_id", true, &["id"]),
        col("name", true, &[]),
        col("email", true, &[]),
        col("phone", false, &[]),
        col("captain_certified", false, &["captain"]),
        col("available_dates", false, &["availability"]),
        col("active", false, &[]),
    ],
};

/// Imports a crew file: each good row is upserted, each bad cell reported. Columns the
/// file leaves out keep the stored values.
pub async fn import_crew(
    store: &dyn Store,
    bytes: &[u8],
    format: Format,
    file: &str,
    strict: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportReport, ImportError> {
    let (rows, mut rejected) = table::read(bytes, format, CREW_COLUMNS, file)?;
    let mut report = ImportReport {
        rows: rows.len() + rejected.len(),
        ..Default::default()
    };
    let existing: HashMap<CrewId, CrewMember> = store
        .list_crew()
        .await?
        .into_iter()
        .map(|m| (m.crew_id.clone(), m))
        .collect();

    let mut members: Vec<(Location, CrewMember)> = Vec::new();
    let mut first_seen: HashMap<CrewId, Location> = HashMap::new();
    for row in &rows {
        match parse_row(row, existing.get(&crew_id_of(row))) {
            Ok(m) => {
                if let Some(first) = first_seen.insert(m.crew_id.clone(), row.location) {
                    rejected.push(Rejection {
                        conflict: None,
                        location: row.location,
                        column: Some("crew_id"),
                        value: Some(m.crew_id.to_string()),
                        reason: format!(
                            "crew member `{}` is also on {first}; each person may appear once per file",
                            m.crew_id
                        ),
                    });
                    continue;
                }
                members.push((row.location, m));
            }
            Err(errors) => rejected.extend(errors),
        }
    }
    if strict && !rejected.is_empty() {
        report.rejected = rejected;
        return Err(ImportError::Strict {
            file: file.to_string(),
            report,
        });
    }

    let total = members.len();
    for (n, (location, m)) in members.into_iter().enumerate() {
        match existing.get(&m.crew_id) {
            Some(old) if *old == m => report.unchanged += 1,
            old => match store.upsert_crew(&m).await {
                Ok(()) if old.is_some() => report.updated += 1,
                Ok(()) => report.created += 1,
                Err(e @ StoreError::EmailTaken { .. }) => rejected.push(Rejection {
                    conflict: None,
                    location,
                    column: Some("email"),
                    value: Some(m.email.to_string()),
                    reason: e.to_string(),
                }),
                Err(e) => return Err(e.into()),
            },
        }
        progress(Progress { done: n + 1, total });
    }
    rejected.sort_by_key(|r| r.location);
    report.rejected = rejected;
    Ok(report)
}

fn crew_id_of(row: &Row) -> CrewId {
    row.get("crew_id")
        .and_then(|s| CrewId::parse(s).ok())
        .unwrap_or_else(|| CrewId::parse("-").expect("`-` is a valid crew id"))
}

fn parse_row(row: &Row, old: Option<&CrewMember>) -> Result<CrewMember, Vec<Rejection>> {
    let mut errs = Vec::new();
    let e = &mut errs;
    let id = required(e, row, "crew_id", |s| CrewId::parse(s).map_err(|x| x.0));
    let name = required(e, row, "name", |s| {
        jada_core::crew::name(&s.split_whitespace().collect::<Vec<_>>().join(" ")).map_err(|x| x.0)
    });
    let phone = cell(e, row, "phone", |s| jada_core::crew::phone(s).map_err(|x| x.0));
    let email = required(e, row, "email", |s| Email::parse(s).map_err(|x| x.0));
    let captain = cell(e, row, "captain_certified", parse_bool);
    let dates = cell(e, row, "available_dates", parse_dates);
    let active = cell(e, row, "active", parse_bool);
    let (Some(crew_id), Some(name), Some(email)) = (id, name, email) else {
        return Err(errs);
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    // An absent column keeps what is stored; a blank one clears it.
    let keep = |column: &str| !row.present(column) && old.is_some();
    Ok(CrewMember {
        phone: if keep("phone") {
            old.and_then(|o| o.phone.clone())
        } else {
            phone
        },
        captain_certified: if keep("captain_certified") {
            old.is_some_and(|o| o.captain_certified)
        } else {
            captain.unwrap_or(false)
        },
        available_dates: if keep("available_dates") {
            old.map(|o| o.available_dates.clone()).unwrap_or_default()
        } else {
            dates.unwrap_or_default()
        },
        active: if keep("active") {
            old.is_none_or(|o| o.active)
        } else {
            active.unwrap_or(true)
        },
        crew_id,
        name,
        email,
    })
}

/// `true/false`, `yes/no`, `y/n`, `1/0`, `x` (a ticked box), case-insensitive.
fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "x" => Ok(true),
        "false" | "no" | "n" | "0" => Ok(false),
        _ => Err(format!("`{s}` is not yes or no: use true/false, yes/no or 1/0")),
    }
}

/// Dates separated by `;` (ISO or m/d/yyyy).
fn parse_dates(s: &str) -> Result<BTreeSet<chrono::NaiveDate>, String> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| parse_date(p).map_err(|e| e.0))
        .collect()
}
