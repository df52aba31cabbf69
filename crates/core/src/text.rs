//! Free text people type: a length limit per field and no control characters, checked
//! once here so every entry point (CLI, API, office form, agent tool) refuses the same
//! input with the same words.

use crate::ParseError;

/// Whether a text may span lines (a note's body) or must be one line (a title).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// Trims `value` and checks it: not empty, at most `max` characters, and no control
/// characters (terminal escapes, NUL, bidirectional overrides); `Lines::Many` allows
/// newlines and tabs.
pub fn checked(field: &str, value: &str, max: usize, lines: Lines) -> Result<String, ParseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ParseError::new(format!("{field} is empty: give it a value")));
    }
    let len = value.chars().count();
    if len > max {
        return Err(ParseError::new(format!(
            "{field} is {len} characters long; the limit is {max}: shorten it"
        )));
    }
    if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| forbidden(*c, lines)) {
        return Err(ParseError::new(format!(
            "{field} holds the control character U+{:04X} at character {}: remove it",
            c as u32,
            at + 1
        )));
    }
    Ok(value.to_string())
}

/// Like [`checked`], but blank means "none".
pub fn optional(field: &str, value: Option<&str>, max: usize, lines: Lines) -> Result<Option<String>, ParseError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => checked(field, v, max, lines).map(Some),
    }
}

fn forbidden(c: char, lines: Lines) -> bool {
    let allowed_space = lines == Lines::Many && matches!(c, '\n' | '\t' | '\r');
    (c.is_control() && !allowed_space) || is_bidi_control(c) || is_invisible_break(c)
}

/// Characters that break or hide text without showing: the Unicode line and paragraph
/// separators (a line break where none is expected), the byte-order mark and zero-width
/// characters (a title that looks like another).
fn is_invisible_break(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{200B}' | '\u{200C}')
}

/// The Unicode bidirectional controls that can reorder what a terminal or page shows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `s` safe to print on a terminal: control characters (other than newline and tab)
/// and bidirectional overrides are shown as `\u{..}` escapes, so stored text can never
/// move the cursor, clear the screen or reorder what is shown.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| forbidden(c, Lines::Many)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if forbidden(c, Lines::Many) {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Shortens `s` to at most `max` characters, on a character boundary, saying so.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!(
            "{}… [truncated: {} more characters]",
            &s[..cut],
            s[cut..].chars().count()
        ),
    }
}

/// `n` things, singular or plural as English needs: "1 session", "3 sessions".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A span of time as people read it: `45m`, `2h`, `2h30m`, `3d4h` (negative reads as 0m).
pub fn age(d: chrono::Duration) -> String {
    let m = d.num_minutes().max(0);
    match m {
        0..60 => format!("{m}m"),
        60..1440 if m % 60 == 0 => format!("{}h", m / 60),
        60..1440 => format!("{}h{}m", m / 60, m % 60),
        _ => format!("{}d{}h", m / 1440, m % 1440 / 60),
    }
}

/// A size as people read it, in binary units: `512 bytes`, `124.9 KiB`, `12.3 MiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match UNITS.iter().find(|(size, _)| n >= *size) {
        Some((size, unit)) => format!("{:.1} {unit}", n as f64 / *size as f64),
        None => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod invisible_tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(127_935), "124.9 KiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn separators_and_invisible_marks_are_refused_and_escaped() {
        for bad in ["a\u{2028}b", "\u{FEFF}title", "pay\u{200B}pal", "x\u{2029}y"] {
            assert!(checked("title", bad, 200, Lines::Many).is_err(), "{bad:?}");
            assert!(printable(bad).contains("\\u{"), "{bad:?}");
        }
        assert!(checked("title", "Café – 10:00", 200, Lines::One).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_bidi_but_keeps_newlines_in_bodies() {
        assert!(checked("title", "Pump \u{1b}[2J", 50, Lines::One)
            .unwrap_err()
            .0
            .contains("U+001B"));
        assert!(checked("title", "abc\u{202E}def", 50, Lines::One).is_err());
        assert!(checked("title", "a\nb", 50, Lines::One).is_err());
        assert_eq!(checked("body", " a\nb ", 50, Lines::Many).unwrap(), "a\nb");
        assert!(checked("title", "   ", 50, Lines::One).unwrap_err().0.contains("empty"));
        assert!(checked("title", &"x".repeat(51), 50, Lines::One)
            .unwrap_err()
            .0
            .contains("limit is 50"));
        assert_eq!(optional("x", Some("  "), 5, Lines::One).unwrap(), None);
    }

    #[test]
    fn printable_escapes_what_a_terminal_would_obey() {
        assert_eq!(printable("Ada\u{1b}[2J\u{202e}x\nB"), "Ada\\u{001b}[2J\\u{202e}x\nB");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn truncates_on_a_character_boundary() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé… [truncated: 3 more characters]");
    }
}
