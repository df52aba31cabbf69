//! When a job runs: a cron expression (seconds optional) evaluated in the business time
//! zone, so "every day at 09:00" stays 09:00 local across DST changes; or a fixed
//! interval (`every 30m`).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

#[derive(Clone)]
pub enum Schedule {
    Cron { expr: String, cron: Box<Cron> },
    Every(Duration),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron { expr, .. } => f.write_str(expr),
            Schedule::Every(d) => write!(f, "every {}", human(*d)),
        }
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// A schedule that cannot be read: always the operator's configuration to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{0}` is not an interval: use e.g. \"every 30m\", \"every 6h\"")]
    Interval(String),
    #[error("`{text}` is not a cron expression ({why}): use e.g. \"0 */30 * * * *\" or \"every 30m\"")]
    Cron { text: String, why: String },
}

impl Schedule {
    /// `every 30m` / `every 6h` / `every 10s`, or a cron expression of 5 or 6 fields.
    pub fn parse(s: &str) -> Result<Schedule, ScheduleError> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("every ") {
            return parse_interval(rest.trim())
                .map(Schedule::Every)
                .ok_or_else(|| ScheduleError::Interval(s.to_string()));
        }
        Cron::new(s)
            .with_seconds_optional()
            .parse()
            .map(|cron| Schedule::Cron {
                expr: s.to_string(),
                cron: Box::new(cron),
            })
            .map_err(|e| ScheduleError::Cron {
                text: s.to_string(),
                why: e.to_string(),
            })
    }

    /// The first fire time strictly after `after`, with cron fields read in `zone`. An
    /// interval fires on its grid from 1970-01-01 UTC (`every 30s` at :00 and :30), so
    /// several daemons on one store agree on each due time.
    pub fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => {
                let step = i64::try_from(d.as_micros()).ok().filter(|s| *s > 0)?;
                let at = after.timestamp_micros();
                DateTime::from_timestamp_micros((at.div_euclid(step) + 1).checked_mul(step)?)
            }
            Schedule::Cron { cron, .. } => cron
                .find_next_occurrence(&after.with_timezone(&zone), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

fn parse_interval(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    let secs = match unit.trim() {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LA: Tz = chrono_tz::America::Los_Angeles;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn fires(expr: &str, from: &str, n: usize) -> Vec<String> {
        let s = Schedule::parse(expr).unwrap();
        let mut at = t(from);
        (0..n)
            .map(|_| {
                at = s.next_after(at, LA).unwrap();
                at.to_rfc3339()
            })
            .collect()
    }

    #[test]
    fn nine_am_local_stays_nine_am_across_both_dst_changes() {
        // Spring forward on 2024-03-10: 09:00 PST is 17:00Z, 09:00 PDT is 16:00Z.
        assert_eq!(
            fires("0 0 9 * * *", "2024-03-09T00:00:00Z", 3),
            [
                "2024-03-09T17:00:00+00:00",
                "2024-03-10T16:00:00+00:00",
                "2024-03-11T16:00:00+00:00"
            ]
        );
        // Fall back on 2024-11-03.
        assert_eq!(
            fires("0 9 * * *", "2024-11-02T00:00:00Z", 3),
            [
                "2024-11-02T16:00:00+00:00",
                "2024-11-03T17:00:00+00:00",
                "2024-11-04T17:00:00+00:00"
            ]
        );
    }

    #[test]
    fn a_time_inside_the_spring_gap_or_autumn_overlap_fires_once() {
        // 02:30 does not exist on 2024-03-10 in Los Angeles; the job still runs that day, once.
        let spring = fires("0 30 2 * * *", "2024-03-09T00:00:00Z", 3);
        assert_eq!(spring[0], "2024-03-09T10:30:00+00:00");
        assert!(spring[1].starts_with("2024-03-10T1"), "{spring:?}");
        assert_eq!(spring[2], "2024-03-11T09:30:00+00:00");
        // 01:30 happens twice on 2024-11-03; a daily job runs once that day.
        let autumn = fires("0 30 1 * * *", "2024-11-02T12:00:00Z", 3);
        assert_eq!(autumn[0], "2024-11-03T08:30:00+00:00");
        assert_eq!(autumn[1], "2024-11-04T09:30:00+00:00");
    }

    #[test]
    fn every_thirty_minutes_across_the_change() {
        let f = fires("0 */30 * * * *", "2024-03-10T09:45:00Z", 3);
        assert_eq!(
            f,
            [
                "2024-03-10T10:00:00+00:00",
                "2024-03-10T10:30:00+00:00",
                "2024-03-10T11:00:00+00:00"
            ]
        );
    }

    #[test]
    fn intervals_and_errors() {
        let s = Schedule::parse("every 6h").unwrap();
        assert_eq!(s.to_string(), "every 6h");
        assert_eq!(
            s.next_after(t("2024-01-01T00:00:00Z"), LA).unwrap(),
            t("2024-01-01T06:00:00Z")
        );
        // On the grid, whenever the daemon started: two daemons agree on due times.
        assert_eq!(
            s.next_after(t("2024-01-01T07:13:05Z"), LA).unwrap(),
            t("2024-01-01T12:00:00Z")
        );
        let half = Schedule::parse("every 30s").unwrap();
        assert_eq!(
            half.next_after(t("2024-01-01T07:13:29.999Z"), LA).unwrap(),
            t("2024-01-01T07:13:30Z")
        );
        assert_eq!(
            half.next_after(t("2024-01-01T07:13:30Z"), LA).unwrap(),
            t("2024-01-01T07:14:00Z")
        );
        assert!(matches!(
            Schedule::parse("every often").unwrap_err(),
            ScheduleError::Interval(_)
        ));
        let err = Schedule::parse("61 * * * *").unwrap_err();
        assert!(matches!(err, ScheduleError::Cron { .. }), "{err}");
        assert!(err.to_string().contains("not a cron expression"));
    }
}
