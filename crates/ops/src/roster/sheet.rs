//! Reading the availability spreadsheet's tabs, in either layout people use:
//! - one tab per crew member (the tab's title is the name; dates down column A);
//! - one tab per status, `Available` and `Unavailable`, with a row per person: the name,
//!   then cells of dates.
//!
//! A `Roster` tab, when present, carries each person's email, phone and captain
//! certification (columns found by header). Every cell that cannot be read becomes a
//! [`BadCell`] with its tab, A1 position, value and reason; everything else is kept.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use jada_core::crew::normalise_name;
use jada_core::Email;
use jada_google::sheets::a1;
use serde::Serialize;
use serde_json::Value;

use super::dates::parse_cell;

/// A cell that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadCell {
    pub tab: String,
    pub cell: String,
    pub value: String,
    pub reason: String,
}

impl std::fmt::Display for BadCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}!{} {:?}: {}", self.tab, self.cell, self.value, self.reason)
    }
}

/// What the sheet says about one person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The name as first written.
    pub name: String,
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub captain: Option<bool>,
    pub available: BTreeSet<NaiveDate>,
    pub unavailable: BTreeSet<NaiveDate>,
    /// Whether any availability tab mentions the person (a roster-only row does not).
    pub listed: bool,
}

/// Everyone in the sheet, by normalised name, and the cells that could not be read.
#[derive(Debug, Default)]
pub struct Parsed {
    pub people: BTreeMap<String, Entry>,
    pub bad: Vec<BadCell>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Parsed {
    fn person(&mut self, name: &str) -> &mut Entry {
        let e = self.people.entry(normalise_name(name)).or_default();
        if e.name.is_empty() {
            e.name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        e
    }

    fn dates(&mut self, tab: &str, row: usize, col: usize, v: &Value, season: NaiveDate) -> Vec<NaiveDate> {
        match parse_cell(v, season) {
            Ok(d) => d,
            Err(reason) => {
                self.bad.push(BadCell {
                    tab: tab.into(),
                    cell: format!("{}{}", a1::col(col), row + 1),
                    value: text(v),
                    reason,
                });
                vec![]
            }
        }
    }
}

/// Reads every tab. `season` anchors dates written without a year.
pub fn parse(tabs: &[(String, Vec<Vec<Value>>)], season: NaiveDate) -> Parsed {
    let mut p = Parsed::default();
    for (title, rows) in tabs {
        match title.trim().to_lowercase().as_str() {
            "roster" => roster(&mut p, title, rows),
            "available" | "availability" => by_status(&mut p, title, rows, season, true),
            "unavailable" => by_status(&mut p, title, rows, season, false),
            _ => per_person(&mut p, title, rows, season),
        }
    }
    p
}

fn is_header(v: &Value) -> bool {
    let t = text(v).to_lowercase();
    [
        "name",
        "crew",
        "date",
        "dates",
        "available",
        "availability",
        "unavailable",
        "days",
    ]
    .iter()
    .any(|h| t == *h || t.starts_with(&format!("{h} ")))
}

fn per_person(p: &mut Parsed, title: &str, rows: &[Vec<Value>], season: NaiveDate) {
    p.person(title).listed = true;
    for (r, row) in rows.iter().enumerate() {
        let Some(v) = row.first().filter(|v| !text(v).is_empty()) else {
            continue;
        };
        if r == 0 && is_header(v) {
            continue;
        }
        let d = p.dates(title, r, 0, v, season);
        p.person(title).available.extend(d);
    }
}

fn by_status(p: &mut Parsed, title: &str, rows: &[Vec<Value>], season: NaiveDate, available: bool) {
    for (r, row) in rows.iter().enumerate() {
        let Some(name) = row.first().map(text).filter(|n| !n.is_empty()) else {
            continue;
        };
        if r == 0 && is_header(&row[0]) {
            continue;
        }
        let mut found = Vec::new();
        for (c, v) in row.iter().enumerate().skip(1).filter(|(_, v)| !text(v).is_empty()) {
            found.extend(p.dates(title, r, c, v, season));
        }
        let e = p.person(&name);
        e.listed = true;
        if available {
            e.available.extend(found);
        } else {
            e.unavailable.extend(found);
        }
    }
}

fn roster(p: &mut Parsed, title: &str, rows: &[Vec<Value>]) {
    let Some(header) = rows.first() else { return };
    let find = |word: &str| header.iter().position(|h| text(h).to_lowercase().contains(word));
    let (Some(name_col), email_col, phone_col, captain_col) =
        (find("name"), find("email"), find("phone"), find("captain"))
    else {
        p.bad.push(BadCell {
            tab: title.into(),
            cell: "A1".into(),
            value: String::new(),
            reason: "the roster tab has no `Name` column".into(),
        });
        return;
    };
    for (r, row) in rows.iter().enumerate().skip(1) {
        let name = row.get(name_col).map(text).unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).map(text).filter(|s| !s.is_empty());
        let email = match cell(email_col) {
            None => None,
            Some(e) => match Email::parse(&e) {
                Ok(e) => Some(e),
                Err(err) => {
                    p.bad.push(BadCell {
                        tab: title.into(),
                        cell: format!("{}{}", a1::col(email_col.unwrap_or(0)), r + 1),
                        value: e,
                        reason: err.0,
                    });
                    None
                }
            },
        };
        let captain = cell(captain_col)
            .map(|c| matches!(c.to_lowercase().as_str(), "yes" | "y" | "true" | "x" | "1" | "captain"));
        let e = p.person(&name);
        e.email = email.or(e.email.take());
        e.phone = cell(phone_col).or(e.phone.take());
        e.captain = captain.or(e.captain);
    }
}
