//! The crew roster in SQLite; availability is a table of (crew, date) so "who can sail
//! on this day" is an index lookup.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::NaiveDate;
use jada_core::{CrewId, CrewMember, Email};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{corrupt, SqliteStore};
use crate::{CrewStore, Result, StoreError};

const COLUMNS: &str = "crew_id, name, email, phone, captain_certified, active";

#[async_trait]
impl CrewStore for SqliteStore {
    async fn upsert_crew(&self, member: &CrewMember) -> Result<()> {
        let m = member.clone();
        self.call(move |conn| {
            let tx = super::write_tx(conn)?;
            let owner: Option<String> = tx
                .query_row("SELECT crew_id FROM crew WHERE email = ?1 AND crew_id <> ?2", params![m.email.as_str(), m.crew_id.as_str()], |r| r.get(0))
                .optional()?;
            if let Some(owner) = owner {
                let owner = CrewId::parse(&owner).map_err(|e| corrupt("crew", e.0))?;
                return Err(StoreError::EmailTaken { email: m.email, owner });
            }
            tx.execute(
                "INSERT INTO crew (crew_id, name, email, phone, captain_certified, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(crew_id) DO UPDATE SET name = excluded.name, email = excluded.email, phone = excluded.phone,
                    captain_certified = excluded.captain_certified, active = excluded.active",
                params![m.crew_id.as_str(), m.name, m.email.as_str(), m.phone, m.captain_certified, m.active],
            )?;
            replace_dates(&tx, &m.crew_id, &m.available_dates)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get_crew(&self, id: &CrewId) -> Result<Option<CrewMember>> {
        let id = id.clone();
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM crew WHERE crew_id = ?1");
            let row = conn.query_row(&sql, [id.as_str()], read_row).optional()?;
            row.map(|m| with_dates(conn, m?)).transpose()
        })
        .await
    }

    async fn get_crew_by_email(&self, email: &Email) -> Result<Option<CrewMember>> {
        let email = email.clone();
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM crew WHERE email = ?1");
            let row = conn.query_row(&sql, [email.as_str()], read_row).optional()?;
            row.map(|m| with_dates(conn, m?)).transpose()
        })
        .await
    }

    async fn list_crew(&self) -> Result<Vec<CrewMember>> {
        self.call(|conn| {
            let sql = format!("SELECT {COLUMNS} FROM crew ORDER BY crew_id");
            let mut members = read_all(conn, &sql, [])?;
            let mut dates: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
            let mut stmt = conn.prepare_cached("SELECT crew_id, date FROM crew_availability")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                dates
                    .entry(r.get(0)?)
                    .or_default()
                    .insert(parse_date(&r.get::<_, String>(1)?)?);
            }
            for m in &mut members {
                m.available_dates = dates.remove(m.crew_id.as_str()).unwrap_or_default();
            }
            Ok(members)
        })
        .await
    }

    async fn set_availability(&self, id: &CrewId, dates: &BTreeSet<NaiveDate>) -> Result<()> {
        let (id, dates) = (id.clone(), dates.clone());
        self.call(move |conn| {
            let tx = super::write_tx(conn)?;
            let exists = tx
                .query_row("SELECT 1 FROM crew WHERE crew_id = ?1", [id.as_str()], |_| Ok(()))
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::CrewNotFound(id));
            }
            replace_dates(&tx, &id, &dates)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn list_crew_available_on(&self, date: NaiveDate) -> Result<Vec<CrewMember>> {
        self.call(move |conn| {
            let sql = "SELECT c.crew_id, c.name, c.email, c.phone, c.captain_certified, c.active FROM crew c
                       JOIN crew_availability a ON a.crew_id = c.crew_id
                       WHERE a.date = ?1 AND c.active = 1 ORDER BY c.crew_id";
            read_all(conn, sql, [date.to_string()])?
                .into_iter()
                .map(|m| with_dates(conn, m))
                .collect()
        })
        .await
    }
}

fn replace_dates(conn: &Connection, id: &CrewId, dates: &BTreeSet<NaiveDate>) -> Result<()> {
    conn.execute("DELETE FROM crew_availability WHERE crew_id = ?1", [id.as_str()])?;
    let mut stmt = conn.prepare_cached("INSERT INTO crew_availability (crew_id, date) VALUES (?1, ?2)")?;
    for d in dates {
        stmt.execute(params![id.as_str(), d.to_string()])?;
    }
    Ok(())
}

fn with_dates(conn: &Connection, mut m: CrewMember) -> Result<CrewMember> {
    let mut stmt = conn.prepare_cached("SELECT date FROM crew_availability WHERE crew_id = ?1")?;
    let dates = stmt.query_map([m.crew_id.as_str()], |r| r.get::<_, String>(0))?;
    for d in dates {
        m.available_dates.insert(parse_date(&d?)?);
    }
    Ok(m)
}

fn read_all<P: rusqlite::Params>(conn: &Connection, sql: &str, p: P) -> Result<Vec<CrewMember>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, read_row)?;
    rows.map(|r| r?).collect()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    s.parse()
        .map_err(|e| corrupt("crew availability", format!("date `{s}`: {e}")))
}

fn read_row(r: &Row) -> rusqlite::Result<Result<CrewMember>> {
    let id: String = r.get(0)?;
    let email: String = r.get(2)?;
    let (name, phone, captain_certified, active) = (r.get(1)?, r.get(3)?, r.get(4)?, r.get(5)?);
    Ok((|| {
        Ok(CrewMember {
            crew_id: CrewId::parse(&id).map_err(|e| corrupt("crew", e.0))?,
            name,
            email: Email::parse(&email).map_err(|e| corrupt("crew", format!("{id}: {e}")))?,
            phone,
            captain_certified,
            available_dates: BTreeSet::new(),
            active,
        })
    })())
}
