//! Which archives to keep: the newest of each of the last `keep_hourly` hours that have
//! one, of the last `keep_daily` days and of the last `keep_monthly` months (UTC), as
//! restic's `forget --keep-*` does; the newest archive always. Applied only after a newer
//! archive was verified, so pruning never leaves only an unproven one.

use std::collections::BTreeSet;

use chrono::{Datelike, Timelike};
use serde::{Deserialize, Serialize};

use crate::target::Stored;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub hourly: usize,
    pub daily: usize,
    pub monthly: usize,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            hourly: 48,
            daily: 30,
            monthly: 12,
        }
    }
}

/// The hour, day or month an archive falls in (unused parts 0).
type Bucket = fn(&Stored) -> (i32, u32, u32, u32);

/// The ids to keep of `archives` (any order).
pub fn keep(archives: &[Stored], policy: Retention) -> BTreeSet<String> {
    let mut newest_first: Vec<&Stored> = archives.iter().collect();
    newest_first.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    let mut kept = BTreeSet::new();
    if let Some(newest) = newest_first.first() {
        kept.insert(newest.id.clone());
    }
    let buckets: [(usize, Bucket); 3] = [
        (policy.hourly, |s| {
            let t = s.created_at;
            (t.year(), t.month(), t.day(), t.hour())
        }),
        (policy.daily, |s| {
            let t = s.created_at;
            (t.year(), t.month(), t.day(), 0)
        }),
        (policy.monthly, |s| {
            let t = s.created_at;
            (t.year(), t.month(), 0, 0)
        }),
    ];
    for (n, bucket) in buckets {
        let mut seen = BTreeSet::new();
        for s in &newest_first {
            if seen.len() == n {
                break;
            }
            // The first (newest) archive met in a bucket is the one it keeps.
            if seen.insert(bucket(s)) {
                kept.insert(s.id.clone());
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};

    fn at(t: DateTime<Utc>) -> Stored {
        let id = t.format(crate::ID_FORMAT).to_string();
        Stored {
            name: crate::target::name_of(&id),
            id,
            created_at: t,
            bytes: 1,
            written: None,
        }
    }

    #[test]
    fn hourly_backups_for_two_years_keep_48_hours_30_days_12_months() {
        let end: DateTime<Utc> = "2026-12-03T14:00:00Z".parse().unwrap();
        let all: Vec<Stored> = (0..2 * 365 * 24).map(|h| at(end - Duration::hours(h))).collect();
        let kept = keep(&all, Retention::default());
        // 48 hours: 12-01 15:00 to 12-03 14:00. 30 days: 12-03, 12-02 and 12-01 are among
        // them; 11-30 back to 11-04 at 23:00 are 27 more. 12 months: December's and
        // November's are kept already; October back to January (at 23:00 on their last
        // day) are 10 more.
        let hours: BTreeSet<_> = all[..48].iter().map(|s| s.id.clone()).collect();
        assert!(hours.is_subset(&kept));
        for id in [
            "20261130T230000Z",
            "20261104T230000Z",
            "20261031T230000Z",
            "20260131T230000Z",
        ] {
            assert!(kept.contains(id), "{id} kept");
        }
        assert!(!kept.contains("20261103T230000Z"), "the 31st day back is not kept");
        assert_eq!(kept.iter().min().map(String::as_str), Some("20260131T230000Z"));
        assert_eq!(kept.len(), 48 + 27 + 10, "{kept:?}");
    }

    #[test]
    fn nothing_is_dropped_while_there_are_fewer_than_the_policy_keeps() {
        let end: DateTime<Utc> = "2026-12-03T14:00:00Z".parse().unwrap();
        let all: Vec<Stored> = (0..10).map(|h| at(end - Duration::hours(h))).collect();
        assert_eq!(keep(&all, Retention::default()).len(), 10);
        let none = Retention {
            hourly: 0,
            daily: 0,
            monthly: 0,
        };
        assert_eq!(
            keep(&all, none),
            BTreeSet::from([all[0].id.clone()]),
            "the newest always stays"
        );
    }

    #[test]
    fn several_in_one_hour_keep_the_newest_of_it() {
        let t: DateTime<Utc> = "2026-12-03T14:00:00Z".parse().unwrap();
        let all = vec![at(t), at(t + Duration::minutes(20)), at(t + Duration::minutes(40))];
        let policy = Retention {
            hourly: 1,
            daily: 0,
            monthly: 0,
        };
        assert_eq!(keep(&all, policy), BTreeSet::from([all[2].id.clone()]));
    }
}
