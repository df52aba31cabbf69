//! Calendar values: months (`YYYY-MM`), dates as offices type them, times of day, and the
//! business time zone that turns a charter's local date and time into an instant.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ParseError;

/// A calendar month, `YYYY-MM`. The unit of the revenue report and of the store's month index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Result<Self, ParseError> {
        if !(1..=12).contains(&month) || !(1900..=9999).contains(&year) {
            return Err(ParseError::new(format!("{year:04}-{month:02} is not a month")));
        }
        Ok(Month { year, month })
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new(format!("`{s}` is not a month: expected YYYY-MM, e.g. 2024-05"));
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        // `2026-7` is as clear as `2026-07` (dates take `7/4/2026` too).
        if y.len() != 4 || !(1..=2).contains(&m.len()) || !m.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let month = m.parse().map_err(|_| bad())?;
        Month::new(year, month).map_err(|_| bad())
    }

    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn month(&self) -> u32 {
        self.month
    }

    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid Month has a first day")
    }

    pub fn last_day(&self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("dates before 9999 have a predecessor")
    }

    pub fn next(&self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(&self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        Month::of(date) == *self
    }

    /// "May 2024", as the report's tab is named.
    pub fn long_name(&self) -> String {
        self.first_day().format("%B %Y").to_string()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Month::parse(s)
    }
}

impl TryFrom<String> for Month {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Month::parse(&s)
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

/// Parses a calendar date written as ISO (`2024-05-03`) or US (`5/3/2024`, `05/03/2024`).
pub fn parse_date(s: &str) -> Result<NaiveDate, ParseError> {
    let t = s.trim();
    let bad = |why: &str| ParseError::new(format!("`{s}` is not a date: {why}"));
    if t.contains('-') {
        return NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| bad("expected YYYY-MM-DD (e.g. 2024-05-03) or m/d/yyyy (e.g. 5/3/2024)"));
    }
    let parts: Vec<&str> = t.split('/').collect();
    if parts.len() != 3 || parts[2].len() != 4 {
        return Err(bad("expected YYYY-MM-DD (e.g. 2024-05-03) or m/d/yyyy (e.g. 5/3/2024)"));
    }
    let num = |p: &str| p.parse::<u32>().map_err(|_| bad("expected digits in m/d/yyyy"));
    let (m, d, y) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(|| bad("no such day in the calendar"))
}

/// Parses a time of day: `14:30`, `14:30:00`, `2:30 PM`, `2:30pm`, `2pm`.
pub fn parse_time(s: &str) -> Result<NaiveTime, ParseError> {
    let t = s.trim().to_ascii_lowercase().replace(' ', "");
    let bad = || {
        ParseError::new(format!(
            "`{s}` is not a time of day: expected HH:MM (24-hour, e.g. 14:30) or 2:30 PM"
        ))
    };
    let (body, meridiem) = if let Some(b) = t.strip_suffix("am") {
        (b, Some(false))
    } else if let Some(b) = t.strip_suffix("pm") {
        (b, Some(true))
    } else {
        (t.as_str(), None)
    };
    let mut parts = body.split(':');
    let hour: u32 = parts
        .next()
        .filter(|p| !p.is_empty() && p.len() <= 2)
        .and_then(|p| p.parse().ok())
        .ok_or_else(bad)?;
    let minute: u32 = match parts.next() {
        Some(p) if p.len() == 2 => p.parse().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
        None if meridiem.is_some() => 0,
        None => return Err(bad()),
    };
    let second: u32 = match parts.next() {
        Some(p) if p.len() == 2 => p.parse().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
        None => 0,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    let hour = match meridiem {
        Some(_) if !(1..=12).contains(&hour) => return Err(bad()),
        Some(false) => hour % 12,
        Some(true) => hour % 12 + 12,
        None => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(bad)
}

/// The business's time zone (default America/Los_Angeles). Charter dates and times are
/// local to it; instants are stored in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessZone(Tz);

impl Default for BusinessZone {
    fn default() -> Self {
        BusinessZone(chrono_tz::America::Los_Angeles)
    }
}

impl BusinessZone {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        s.trim().parse::<Tz>().map(BusinessZone).map_err(|_| {
            ParseError::new(format!(
                "`{s}` is not a time zone: use an IANA name such as America/Los_Angeles"
            ))
        })
    }

    pub fn tz(&self) -> Tz {
        self.0
    }

    /// The instant a local date and time denote. In the spring-forward gap (a local time
    /// that does not exist) the instant just after the gap is used; in the autumn overlap
    /// the earlier of the two.
    pub fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = date.and_time(time);
        match self.0.from_local_datetime(&naive) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => {
                let later = naive + chrono::Duration::hours(1);
                self.0
                    .from_local_datetime(&later)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
            }
        }
    }

    /// An instant as a person reads it: local time with the zone's abbreviation
    /// ("Jul 4, 18:49 PDT"; the year too when it is not `this_year`). The one way jada
    /// shows a time to people.
    pub fn show(&self, at: DateTime<Utc>, this_year: i32) -> String {
        let local = at.with_timezone(&self.0);
        if local.year() == this_year {
            local.format("%b %-d, %H:%M %Z").to_string()
        } else {
            local.format("%b %-d %Y, %H:%M %Z").to_string()
        }
    }

    /// Today's date in the business's zone, for a given instant.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }
}

impl fmt::Display for BusinessZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl TryFrom<String> for BusinessZone {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        BusinessZone::parse(&s)
    }
}

impl From<BusinessZone> for String {
    fn from(z: BusinessZone) -> String {
        z.0.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_take_one_or_two_digits() {
        for (input, want) in [("2026-07", (2026, 7)), ("2026-7", (2026, 7)), (" 2026-12 ", (2026, 12))] {
            let m = Month::parse(input).unwrap();
            assert_eq!((m.year(), m.month()), want, "{input}");
        }
        for bad in ["2026-13", "2026-0", "2026-007", "26-07", "2026/07", "2026-+7", "July"] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months() {
        let m = Month::parse("2024-02").unwrap();
        assert_eq!(m.first_day(), d(2024, 2, 1));
        assert_eq!(m.last_day(), d(2024, 2, 29));
        assert_eq!(m.long_name(), "February 2024");
        assert_eq!(Month::parse("2024-12").unwrap().next().to_string(), "2025-01");
        assert_eq!(Month::parse("2024-01").unwrap().prev().to_string(), "2023-12");
        for bad in ["2024-13", "24-05", "may", "2024-00", ""] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2024-05-03").unwrap(), d(2024, 5, 3));
        assert_eq!(parse_date("5/3/2024").unwrap(), d(2024, 5, 3));
        assert_eq!(parse_date(" 05/03/2024 ").unwrap(), d(2024, 5, 3));
        assert!(parse_date("2/30/2024").unwrap_err().0.contains("no such day"));
        assert!(parse_date("5/3/24").is_err());
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("tomorrow").is_err());
    }

    #[test]
    fn times() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(parse_time("14:30").unwrap(), t(14, 30));
        assert_eq!(parse_time("09:00:00").unwrap(), t(9, 0));
        assert_eq!(parse_time("2:30 PM").unwrap(), t(14, 30));
        assert_eq!(parse_time("12:15am").unwrap(), t(0, 15));
        assert_eq!(parse_time("12pm").unwrap(), t(12, 0));
        for bad in ["25:00", "14:3", "13pm", "noon", "", "1:2:3:4"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zone_instants_across_dst() {
        let z = BusinessZone::default();
        // Summer: UTC-7.
        assert_eq!(
            z.instant(d(2024, 7, 1), NaiveTime::from_hms_opt(10, 0, 0).unwrap())
                .to_rfc3339(),
            "2024-07-01T17:00:00+00:00"
        );
        // Winter: UTC-8.
        assert_eq!(
            z.instant(d(2024, 1, 1), NaiveTime::from_hms_opt(10, 0, 0).unwrap())
                .to_rfc3339(),
            "2024-01-01T18:00:00+00:00"
        );
        // 2:30 on 2024-03-10 does not exist in Los Angeles: the instant after the gap.
        assert_eq!(
            z.instant(d(2024, 3, 10), NaiveTime::from_hms_opt(2, 30, 0).unwrap())
                .to_rfc3339(),
            "2024-03-10T10:30:00+00:00"
        );
        assert!(BusinessZone::parse("Mars/Olympus").is_err());
    }

    proptest! {
        #[test]
        fn month_round_trips(y in 1900i32..9999, m in 1u32..=12) {
            let month = Month::new(y, m).unwrap();
            prop_assert_eq!(Month::parse(&month.to_string()).unwrap(), month);
            prop_assert!(month.contains(month.first_day()) && month.contains(month.last_day()));
            prop_assert!(!month.contains(month.next().first_day()));
        }

        #[test]
        fn us_and_iso_agree(days in 0i64..60_000) {
            let date = d(1970, 1, 1) + chrono::Duration::days(days);
            prop_assert_eq!(parse_date(&date.format("%Y-%m-%d").to_string()).unwrap(), date);
            prop_assert_eq!(parse_date(&date.format("%-m/%-d/%Y").to_string()).unwrap(), date);
        }
    }
}
