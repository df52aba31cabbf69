//! Dates as crew type them: ISO (`2024-05-03`), US (`5/3/2024`, `5/3/24`, `5/3` with the
//! year inferred from the season), month names (`May 3`, `3 May 2024`, `May 3rd`), ranges
//! (`5/3-5/7`, `May 3 – May 7`, `5/3 to 5/7`), comma lists (`5/3, 5/5`), and Sheets date
//! serial numbers. Anything else is an error that says why, never a guess.

use chrono::{Datelike, NaiveDate};
use serde_json::Value;

/// Reads a cell into the dates it names. `season` gives the year of dates written
/// without one: the first such date on or after `season`'s start.
pub fn parse_cell(cell: &Value, season: NaiveDate) -> Result<Vec<NaiveDate>, String> {
    match cell {
        Value::Number(n) => from_serial(n.as_f64().unwrap_or(-1.0)).map(|d| vec![d]),
        Value::String(s) => parse_text(s, season),
        Value::Null => Ok(vec![]),
        other => Err(format!("`{other}` is not a date")),
    }
}

/// Sheets stores a date as days since 1899-12-30.
fn from_serial(n: f64) -> Result<NaiveDate, String> {
    if !(1.0..2_958_466.0).contains(&n) {
        return Err(format!("{n} is not a date serial number"));
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
    Ok(base + chrono::Duration::days(n.trunc() as i64))
}

pub fn parse_text(text: &str, season: NaiveDate) -> Result<Vec<NaiveDate>, String> {
    // Commas separate dates, except the one in "May 3, 2024": a lone year joins the part before it.
    let mut parts: Vec<String> = Vec::new();
    for p in text.split([',', ';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        let is_year = p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit());
        match parts.last_mut() {
            Some(prev) if is_year => *prev = format!("{prev} {p}"),
            _ => parts.push(p.to_string()),
        }
    }
    let mut out = Vec::new();
    for part in parts.iter().map(String::as_str) {
        match split_range(part) {
            Some((a, b)) => {
                let from = one(a, season)?;
                let to = range_end(b, from)?;
                if to < from {
                    return Err(format!("`{part}`: the range ends before it starts"));
                }
                if (to - from).num_days() > 366 {
                    return Err(format!("`{part}`: a range longer than a year is probably a typo"));
                }
                out.extend(from.iter_days().take_while(|d| *d <= to));
            }
            None => out.push(one(part, season)?),
        }
    }
    Ok(out)
}

/// A range's end takes the start's year, and the next one only across New Year
/// (`12/28-1/3`); otherwise an end before the start is an error, not a year-long range.
fn range_end(s: &str, from: NaiveDate) -> Result<NaiveDate, String> {
    let jan1 = NaiveDate::from_ymd_opt(from.year(), 1, 1).expect("valid date");
    let end = one(s, jan1)?;
    let explicit_year = s.chars().filter(|c| c.is_ascii_digit()).count() > 4 || s.contains(&from.year().to_string());
    if end < from && !explicit_year && from.month() >= 11 && end.month() <= 2 {
        return end
            .with_year(from.year() + 1)
            .ok_or_else(|| format!("`{s}` is not a real date"));
    }
    Ok(end)
}

/// `a - b`, `a – b`, `a to b`, or `5/3-5/7` (but not the dashes inside an ISO date).
fn split_range(s: &str) -> Option<(&str, &str)> {
    for sep in [" to ", " – ", " - ", "–", " — ", "—"] {
        if let Some((a, b)) = s.split_once(sep) {
            return Some((a.trim(), b.trim()));
        }
    }
    if is_iso(s) {
        return None;
    }
    s.split_once('-').map(|(a, b)| (a.trim(), b.trim()))
}

fn is_iso(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 10 && b[4] == b'-' && b[7] == b'-'
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| w.starts_with(m) && m.starts_with(&w[..3]))
        .map(|i| i as u32 + 1)
}

fn day_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches(',').to_ascii_lowercase();
    let digits = w
        .trim_end_matches("st")
        .trim_end_matches("nd")
        .trim_end_matches("rd")
        .trim_end_matches("th");
    digits.parse().ok()
}

/// One date. `anchor` supplies the year when it is left out (the season start, or a
/// range's first date).
fn one(s: &str, anchor: NaiveDate) -> Result<NaiveDate, String> {
    let bad = |why: &str| format!("`{s}` {why}");
    if is_iso(s) {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("is not a real date"));
    }
    let (m, d, y) = if s.contains('/') {
        let p: Vec<&str> = s.split('/').map(str::trim).collect();
        let num = |x: &str| {
            x.parse::<u32>()
                .map_err(|_| bad("is not a date: expected m/d, m/d/yy or m/d/yyyy"))
        };
        match p.as_slice() {
            [m, d] => (num(m)?, num(d)?, None),
            [m, d, y] if y.len() == 2 => (num(m)?, num(d)?, Some(2000 + num(y)? as i32)),
            [m, d, y] if y.len() == 4 => (num(m)?, num(d)?, Some(num(y)? as i32)),
            _ => return Err(bad("is not a date: expected m/d, m/d/yy or m/d/yyyy")),
        }
    } else {
        let words: Vec<&str> = s.split_whitespace().collect();
        let year = |w: &str| {
            w.trim_end_matches(',')
                .parse::<i32>()
                .ok()
                .filter(|y| (1900..3000).contains(y))
        };
        match words.as_slice() {
            [a, b] if month_of(a).is_some() => (
                month_of(a).unwrap_or(0),
                day_of(b).ok_or_else(|| bad("has no day"))?,
                None,
            ),
            [a, b] if month_of(b).is_some() => (
                month_of(b).unwrap_or(0),
                day_of(a).ok_or_else(|| bad("has no day"))?,
                None,
            ),
            [a, b, c] if month_of(a).is_some() => (
                month_of(a).unwrap_or(0),
                day_of(b).ok_or_else(|| bad("has no day"))?,
                Some(year(c).ok_or_else(|| bad("has no year"))?),
            ),
            [a, b, c] if month_of(b).is_some() => (
                month_of(b).unwrap_or(0),
                day_of(a).ok_or_else(|| bad("has no day"))?,
                Some(year(c).ok_or_else(|| bad("has no year"))?),
            ),
            _ => return Err(bad("is not a date: write it as 2024-05-03, 5/3/2024, 5/3 or May 3")),
        }
    };
    if !(1..=12).contains(&m) {
        return Err(bad("has no month 1-12"));
    }
    match y {
        Some(y) => NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| bad("is not a real date (no such day)")),
        None => {
            // The first such day on or after the anchor.
            let this = NaiveDate::from_ymd_opt(anchor.year(), m, d);
            let next = NaiveDate::from_ymd_opt(anchor.year() + 1, m, d);
            match (this, next) {
                (Some(t), _) if t >= anchor => Ok(t),
                (_, Some(n)) => Ok(n),
                (Some(t), None) => Ok(t),
                (None, None) => Err(bad("is not a real date (no such day)")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn p(s: &str) -> Result<Vec<NaiveDate>, String> {
        parse_text(s, d(2024, 3, 1))
    }

    #[test]
    fn single_dates_every_way_people_type_them() {
        for s in [
            "2024-05-03",
            "5/3/2024",
            "5/3/24",
            "05/03/2024",
            "5/3",
            "May 3",
            "may 3rd",
            "3 May 2024",
            "3 May",
            "May 3, 2024",
            "Sept 9",
        ] {
            let got = p(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(got.len(), 1, "{s}");
            if !s.starts_with("Sept") {
                assert_eq!(got[0], d(2024, 5, 3), "{s}");
            }
        }
        assert_eq!(p("Sept 9").unwrap(), vec![d(2024, 9, 9)]);
        assert_eq!(
            p("2/1").unwrap(),
            vec![d(2025, 2, 1)],
            "a day before the season start belongs to the next year"
        );
    }

    #[test]
    fn ranges_and_lists() {
        assert_eq!(p("5/3-5/7").unwrap().len(), 5);
        assert_eq!(
            p("May 3 – May 7").unwrap(),
            (3..=7).map(|x| d(2024, 5, x)).collect::<Vec<_>>()
        );
        assert_eq!(p("5/30 to 6/2").unwrap().len(), 4);
        assert_eq!(p("2024-05-03 - 2024-05-04").unwrap().len(), 2);
        assert_eq!(p("5/3, 5/5").unwrap(), vec![d(2024, 5, 3), d(2024, 5, 5)]);
        assert!(p("5/7-5/3").unwrap_err().contains("ends before it starts"));
        assert_eq!(
            p("12/30-1/2").unwrap(),
            vec![d(2024, 12, 30), d(2024, 12, 31), d(2025, 1, 1), d(2025, 1, 2)]
        );
    }

    #[test]
    fn serial_numbers() {
        assert_eq!(parse_cell(&json!(45415), d(2024, 3, 1)).unwrap(), vec![d(2024, 5, 3)]);
        assert!(parse_cell(&json!(-3), d(2024, 3, 1)).is_err());
    }

    #[test]
    fn bad_input_says_why() {
        assert!(p("2/30").unwrap_err().contains("no such day"));
        assert!(p("2/30/2024").unwrap_err().contains("no such day"));
        assert!(p("13/1/2024").unwrap_err().contains("no month"));
        assert!(p("tomorrow").unwrap_err().contains("is not a date"));
        assert!(p("Mya 3").unwrap_err().contains("is not a date"));
        assert!(p("5/3/202").unwrap_err().contains("expected m/d"));
    }
}
