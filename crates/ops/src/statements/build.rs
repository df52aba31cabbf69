//! Who sailed in a month, and each person's share of the tips: the content of the
//! statements, computed from the month's charters without any I/O.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use jada_core::revenue::is_reportable;
use jada_core::tips::{split, Leftover};
use jada_core::{Cents, Charter, CharterId, CrewId, CrewMember};
use serde::Serialize;

/// What a person did on a charter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    Captain,
    Crew,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Captain => "Captain",
            Role::Crew => "Crew",
        }
    }
}

/// One charter on a statement.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub charter_id: CharterId,
    pub vessel: String,
    pub role: Role,
    pub guests: u32,
    /// The charter's tips, before sharing.
    pub charter_tips: Cents,
    /// This person's share.
    pub share: Cents,
}

/// One crew member's month.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub crew_id: CrewId,
    pub name: String,
    pub email: String,
    pub lines: Vec<Line>,
}

impl Statement {
    pub fn total(&self) -> Cents {
        self.lines.iter().map(|l| l.share).sum()
    }

    pub fn count(&self, role: Role) -> usize {
        self.lines.iter().filter(|l| l.role == role).count()
    }
}

/// The statements for these charters, by name, and the crew ids that sailed but are not
/// in the crew list (they cannot be sent a statement; the caller reports them).
pub fn statements(
    charters: &[Charter],
    crew: &[CrewMember],
    leftover: Leftover,
) -> (Vec<Statement>, Vec<(CrewId, usize)>) {
    let known: BTreeMap<&CrewId, &CrewMember> = crew.iter().map(|m| (&m.crew_id, m)).collect();
    let mut lines: BTreeMap<CrewId, Vec<Line>> = BTreeMap::new();
    // The revenue rule decides whose tips are shared, so the statements add up to the
    // report's tips exactly. Last month's charters often still say "confirmed" on the
    // 1st because nobody marked them completed; the rule counts them.
    for c in charters.iter().filter(|c| is_reportable(c)) {
        for (who, share) in split(c, leftover) {
            let role = if c.captain_assigned.as_ref() == Some(&who) {
                Role::Captain
            } else {
                Role::Crew
            };
            lines.entry(who).or_default().push(Line {
                date: c.charter_date,
                start: c.start_time,
                charter_id: c.charter_id,
                vessel: c.vessel_name.clone(),
                role,
                guests: c.guest_count,
                charter_tips: c.tips,
                share,
            });
        }
    }
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for (id, mut ls) in lines {
        ls.sort_by_key(|l| (l.date, l.start, l.charter_id));
        match known.get(&id) {
            Some(m) => out.push(Statement {
                crew_id: id.clone(),
                name: m.name.clone(),
                email: m.email.to_string(),
                lines: ls,
            }),
            None => unknown.push((id, ls.len())),
        }
    }
    out.sort_by(|a, b| (&a.name, &a.crew_id).cmp(&(&b.name, &b.crew_id)));
    (out, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jada_core::{CharterStatus, Email};

    fn member(id: &str, name: &str) -> CrewMember {
        CrewMember {
            crew_id: CrewId::parse(id).unwrap(),
            name: name.into(),
            email: Email::parse(&format!("{id}@example.com")).unwrap(),
            phone: None,
            captain_certified: true,
            available_dates: Default::default(),
            active: true,
        }
    }

    fn charter(day: u32, tips: i64, status: CharterStatus, captain: &str, crew: &[&str]) -> Charter {
        Charter {
            charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(day as u128 * 1000 + tips as u128)),
            created_at: "2024-04-01T12:00:00Z".parse().unwrap(),
            charter_date: NaiveDate::from_ymd_opt(2024, 5, day).unwrap(),
            start_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end_time: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
            vessel_name: "Marlin".into(),
            guest_name: "Ada".into(),
            guest_count: 4,
            captain_assigned: Some(CrewId::parse(captain).unwrap()),
            crew_assigned: crew.iter().map(|c| CrewId::parse(c).unwrap()).collect(),
            reportable_revenue: Cents(100_000),
            tips: Cents(tips),
            status,
            version: 0,
        }
    }

    #[test]
    fn shares_roles_and_unknown_crew() {
        let crew = [member("ana", "Ana"), member("ben", "Ben")];
        let charters = [
            charter(3, 10_001, CharterStatus::Completed, "ana", &["ben", "zed"]),
            charter(1, 600, CharterStatus::Confirmed, "ben", &["ana"]),
            charter(2, 99_999, CharterStatus::Cancelled, "ana", &["ben"]),
            charter(4, 500, CharterStatus::Requested, "ana", &[]),
        ];
        let (st, unknown) = statements(&charters, &crew, Leftover::Captain);
        assert_eq!(unknown, vec![(CrewId::parse("zed").unwrap(), 1)]);
        let ana = &st[0];
        assert_eq!(ana.name, "Ana");
        // 1 May as crew (600 / 2 = 300), 3 May as captain (10,001 / 3 = 3,333 + 2 left over).
        assert_eq!(ana.lines.len(), 2);
        assert_eq!((ana.lines[0].role, ana.lines[0].share), (Role::Crew, Cents(300)));
        assert_eq!((ana.lines[1].role, ana.lines[1].share), (Role::Captain, Cents(3_335)));
        assert_eq!(ana.total(), Cents(3_635));
        assert_eq!(st[1].total(), Cents(300 + 3_333));
        assert_eq!((ana.count(Role::Captain), ana.count(Role::Crew)), (1, 1));
    }
}
