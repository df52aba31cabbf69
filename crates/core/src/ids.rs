//! Identifiers and addresses: charter ids are UUIDs (the DynamoDB partition key), crew ids
//! are short slugs chosen by the office, emails are checked for shape only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ParseError;

/// A charter's id: a UUID, as in the `crew-dispatch` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CharterId(Uuid);

impl CharterId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Uuid::parse_str(s.trim()).map(CharterId).map_err(|_| {
            ParseError::new(format!(
                "`{s}` is not a charter id: expected a UUID like 3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f7a8b9c"
            ))
        })
    }
    pub fn from_uuid(u: Uuid) -> Self {
        CharterId(u)
    }
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CharterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for CharterId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A crew member's id: 1 to 64 characters of letters, digits, `.`, `_` or `-`.
/// Kept that narrow because crew lists travel in one CSV cell separated by `;`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CrewId(String);

impl CrewId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(CrewId(s.to_string()))
        } else {
            Err(ParseError::new(format!(
                "`{s}` is not a crew id: use 1-64 letters, digits, `.`, `_` or `-` (e.g. `ana-m`)"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses a `;`-separated list of crew ids, as in the `crew` CSV column. Blank is empty.
    pub fn parse_list(s: &str) -> Result<Vec<CrewId>, ParseError> {
        s.split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(CrewId::parse)
            .collect()
    }
}

impl TryFrom<String> for CrewId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CrewId::parse(&s)
    }
}

impl From<CrewId> for String {
    fn from(id: CrewId) -> String {
        id.0
    }
}

impl fmt::Display for CrewId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, checked for shape (`local@domain.tld`) and stored lower-cased so
/// lookups by email match however the office typed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let bad = || ParseError::new(format!("`{s}` is not an email address: expected name@example.com"));
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let domain_ok =
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains("..");
        if local.is_empty()
            || !domain_ok
            || s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
            || domain.contains('@')
        {
            return Err(bad());
        }
        Ok(Email(s.to_ascii_lowercase()))
    }
    /// An address as a mail client would accept it to send to: ASCII only, a dot-atom
    /// local part (letters, digits and ``!#$%&'*+/=?^_`{|}~-``, dots between), and a host
    /// name of at least two labels. No display names, angle brackets, quoting, spaces,
    /// controls or invisible characters: what is shown for approval is what is sent.
    pub fn parse_strict(s: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| {
            ParseError::new(format!(
                "`{}` is not an address mail can be sent to ({why}): give just name@example.com",
                crate::text::printable(s)
            ))
        };
        if let Some(c) = s.chars().find(|c| !c.is_ascii() || c.is_ascii_control()) {
            return Err(bad(&format!("it holds U+{:04X}", c as u32)));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| bad("no @"))?;
        let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        let local_ok =
            !local.is_empty() && local.len() <= 64 && local.split('.').all(|w| !w.is_empty() && w.chars().all(atom));
        if !local_ok {
            return Err(bad("the part before @ is not a plain mailbox name"));
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || domain.len() > 253 || !labels.iter().all(|l| label_ok(l)) {
            return Err(bad("the part after @ is not a host name"));
        }
        Ok(Email(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod strict_tests {
    use super::Email;

    #[test]
    fn only_plain_addresses_are_sent_to() {
        for ok in [
            "guest@example.com",
            "o'brien+sail@mail.example.co.uk",
            "A.B@Example.COM",
        ] {
            assert!(Email::parse_strict(ok).is_ok(), "{ok}");
        }
        for bad in [
            "boss.example.com<evil@evil.example>",
            "a\u{0}b@example.com",
            "guest@exa\u{202e}mple.com",
            "guest\u{200b}@example.com",
            "Guest <guest@example.com>",
            "guest@example",
            "guest@-example.com",
            ".guest@example.com",
            "gu..est@example.com",
            "\"quoted\"@example.com",
            "guest@example.com ",
        ] {
            let e = Email::parse_strict(bad).unwrap_err().0;
            assert!(!e.contains('\u{202e}') && !e.contains('\u{0}'), "{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crew_ids() {
        assert!(CrewId::parse("ana-m").is_ok());
        assert!(CrewId::parse("  J.Smith_2 ").is_ok());
        assert!(CrewId::parse("").is_err());
        assert!(CrewId::parse("a b").is_err());
        assert!(CrewId::parse("a;b").is_err());
        assert!(CrewId::parse(&"x".repeat(65)).is_err());
        let list = CrewId::parse_list("ana; bo ;;cy").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1].as_str(), "bo");
        assert!(CrewId::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        for bad in [
            "",
            "ana",
            "@x.com",
            "ana@",
            "ana@x",
            "ana@.com",
            "ana@x.com.",
            "a b@x.com",
            "a@b@x.com",
            "a@x..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn charter_ids() {
        let id = CharterId::parse("3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f7a8b9c").unwrap();
        assert_eq!(id.to_string(), "3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f7a8b9c");
        let err = CharterId::parse("42").unwrap_err();
        assert!(err.0.contains("expected a UUID"));
    }
}
