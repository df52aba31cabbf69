//! A1 notation as Google reads it: `Tab!A1:C10`, `'My Tab'!A:C`, `Tab!A2:C`, `Tab!1:3`,
//! `A1:B2` (the first tab), `Tab` (the whole tab).

/// A parsed range: the tab (if named) and inclusive 0-based bounds, open where `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct A1 {
    pub tab: Option<String>,
    pub row0: usize,
    pub col0: usize,
    pub row1: Option<usize>,
    pub col1: Option<usize>,
}

pub fn parse(range: &str) -> Option<A1> {
    let (tab, cells) = match split_tab(range) {
        Some((tab, cells)) => (Some(tab), cells),
        None if cell_range(range).is_some() => (None, range.to_string()),
        None => {
            return Some(A1 {
                tab: Some(unquote(range)),
                row0: 0,
                col0: 0,
                row1: None,
                col1: None,
            })
        }
    };
    let (row0, col0, row1, col1) = if cells.is_empty() {
        (0, 0, None, None)
    } else {
        cell_range(&cells)?
    };
    Some(A1 {
        tab,
        row0,
        col0,
        row1,
        col1,
    })
}

fn split_tab(range: &str) -> Option<(String, String)> {
    let i = range.rfind('!')?;
    Some((unquote(&range[..i]), range[i + 1..].to_string()))
}

fn unquote(t: &str) -> String {
    t.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .map(|t| t.replace("''", "'"))
        .unwrap_or_else(|| t.to_string())
}

/// `A1:C10` -> (0, 0, Some(9), Some(2)); `A:C`, `A2:C`, `1:3`, `B2` likewise.
fn cell_range(s: &str) -> Option<(usize, usize, Option<usize>, Option<usize>)> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let (c0, r0) = cell(a)?;
    if !s.contains(':') && (c0.is_none() || r0.is_none()) {
        return None; // a lone `B` or `2` is not a range; a lone `B2` is
    }
    let (c1, r1) = cell(b)?;
    Some((r0.unwrap_or(0), c0.unwrap_or(0), r1, c1))
}

/// `B2` -> (Some(1), Some(1)); `B` -> (Some(1), None); `2` -> (None, Some(1)).
fn cell(s: &str) -> Option<(Option<usize>, Option<usize>)> {
    let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() && digits.is_empty() {
        return None;
    }
    let col = if letters.is_empty() {
        None
    } else {
        if !letters.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        Some(
            letters
                .to_ascii_uppercase()
                .bytes()
                .fold(0usize, |n, b| n * 26 + (b - b'A' + 1) as usize)
                - 1,
        )
    };
    let row = if digits.is_empty() {
        None
    } else {
        Some(digits.parse::<usize>().ok().filter(|r| *r > 0)? - 1)
    };
    Some((col, row))
}

/// Column index (0-based) to letters: 0 -> A, 26 -> AA.
pub fn col_name(mut c: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII letters")
}

/// `'Tab'!A1:C3`, quoting the tab when it needs it.
pub fn format(tab: &str, row0: usize, col0: usize, row1: usize, col1: usize) -> String {
    let simple = tab.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let tab = if simple {
        tab.to_string()
    } else {
        format!("'{}'", tab.replace('\'', "''"))
    };
    format!("{tab}!{}{}:{}{}", col_name(col0), row0 + 1, col_name(col1), row1 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = parse("'Port Sheet'!B2:D").unwrap();
        assert_eq!(
            (r.tab.as_deref(), r.row0, r.col0, r.row1, r.col1),
            (Some("Port Sheet"), 1, 1, None, Some(3))
        );
        assert_eq!(parse("Notes").unwrap().tab.as_deref(), Some("Notes"));
        assert_eq!(
            parse("Sheet1").unwrap().tab,
            None,
            "a cell reference on its own; the caller checks for a tab of that name"
        );
        assert_eq!(parse("A1:B2").unwrap().tab, None);
        let r = parse("T!1:3").unwrap();
        assert_eq!((r.row0, r.row1, r.col1), (0, Some(2), None));
        assert_eq!(col_name(0), "A");
        assert_eq!(col_name(27), "AB");
        assert_eq!(format("It's", 0, 0, 1, 27), "'It''s'!A1:AB2");
    }
}
