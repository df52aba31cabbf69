//! `[jobs.NAME]` settings of the built-in jobs, typed where they are read. Each function
//! returns `None` when its job is not configured, and names the bad key otherwise.

use jada_ops::port_sheet::{Columns, PortSheetConfig};
use jada_ops::roster::{RosterConfig, Source, UnknownCrew};

use crate::config::{Config, ConfigError};

/// `[jobs.port-sheet]`: see [`port_sheet_settings`].
pub fn port_sheet(config: &Config) -> Result<Option<PortSheetConfig>, ConfigError> {
    port_sheet_settings(config).map_err(ConfigError::new)
}

/// `[jobs.roster-sync]`: see [`roster_settings`].
pub fn roster(config: &Config) -> Result<Option<RosterConfig>, ConfigError> {
    roster_settings(config).map_err(ConfigError::new)
}

/// `[jobs.monthly-report]`'s Drive settings: see [`report_drive_settings`].
pub fn report_drive(config: &Config) -> Result<Option<ReportDrive>, ConfigError> {
    report_drive_settings(config).map_err(ConfigError::new)
}

/// `[jobs.port-sheet]`, if configured: `spreadsheet_id`, `credential`, and optionally
/// `tab` (default "Port Sheet"), `columns = { "Header" = "field" }`, `window_days`.
fn port_sheet_settings(config: &Config) -> Result<Option<PortSheetConfig>, String> {
    let Some(t) = config.jobs.get("port-sheet") else {
        return Ok(None);
    };
    let key = |k: &str| format!("invalid configuration key `jobs.port-sheet.{k}`");
    let text = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let spreadsheet_id = text("spreadsheet_id").ok_or_else(|| {
        format!(
            "{}: the port sheet needs the spreadsheet's id (from its URL)",
            key("spreadsheet_id")
        )
    })?;
    let credential = job_credential(config, "port-sheet", t, "edit the sheet")?;
    let columns = match t.get("columns") {
        None => Columns::default(),
        Some(v) => {
            let table = v.as_table().ok_or_else(|| {
                format!(
                    "{}: expected a table like {{ \"Guest\" = \"guest_name\" }}",
                    key("columns")
                )
            })?;
            let pairs = table
                .iter()
                .map(|(h, f)| (h.clone(), f.as_str().unwrap_or("").to_string()))
                .collect();
            Columns::from_pairs(pairs).map_err(|e| format!("{}: {e}", key("columns")))?
        }
    };
    let window_days = match t.get("window_days") {
        None => 30,
        Some(v) => v
            .as_integer()
            .filter(|d| *d >= 0)
            .ok_or_else(|| format!("{}: expected a number of days", key("window_days")))?,
    };
    let tab = text("tab").unwrap_or_else(|| "Port Sheet".into());
    Ok(Some(PortSheetConfig {
        spreadsheet_id,
        tab,
        credential,
        columns,
        window_days,
    }))
}

/// `[jobs.roster-sync]`, if configured: `credential`, and `file_id` or `folder_path` +
/// `name`; optionally `window_days` (365), `unknown_crew` ("report" or "create"),
/// `max_removal_share` (0.5).
fn roster_settings(config: &Config) -> Result<Option<RosterConfig>, String> {
    let Some(t) = config.jobs.get("roster-sync") else {
        return Ok(None);
    };
    let key = |k: &str| format!("invalid configuration key `jobs.roster-sync.{k}`");
    let text = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let credential = job_credential(config, "roster-sync", t, "read the sheet")?;
    let source = match (text("file_id"), text("folder_path"), text("name")) {
        (Some(id), None, None) => Source::FileId(id),
        (None, Some(folder_path), Some(name)) => Source::Path { folder_path, name },
        _ => return Err(format!("{}: give either `file_id`, or `folder_path` and `name` (e.g. \"JADA Business/Crew\" and \"Crew Availability\")", key("file_id"))),
    };
    let unknown_crew = match text("unknown_crew").as_deref() {
        None | Some("report") => UnknownCrew::Report,
        Some("create") => UnknownCrew::Create,
        Some(other) => {
            return Err(format!(
                "{}: `{other}`: use \"report\" or \"create\"",
                key("unknown_crew")
            ))
        }
    };
    let window_days = match t.get("window_days") {
        None => 365,
        Some(v) => v
            .as_integer()
            .filter(|d| *d > 0)
            .ok_or_else(|| format!("{}: expected a number of days", key("window_days")))?,
    };
    let max_removal_share = match t.get("max_removal_share") {
        None => 0.5,
        Some(v) => v
            .as_float()
            .filter(|f| (0.0..=1.0).contains(f))
            .ok_or_else(|| format!("{}: expected a share from 0.0 to 1.0", key("max_removal_share")))?,
    };
    Ok(Some(RosterConfig {
        source,
        credential,
        window_days,
        unknown_crew,
        max_removal_share,
    }))
}

/// A job's `credential` key: present, and naming a `[[credentials]]` entry.
fn job_credential(config: &Config, job: &str, t: &toml::Table, purpose: &str) -> Result<String, String> {
    let key = format!("invalid configuration key `jobs.{job}.credential`");
    let name = t
        .get("credential")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{key}: name the [[credentials]] entry that may {purpose}"))?;
    if !config.credentials.iter().any(|c| c.name == name) {
        return Err(format!("{key}: no [[credentials]] entry is named `{name}`"));
    }
    Ok(name.to_string())
}

/// Where the monthly report goes on Drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDrive {
    pub credential: String,
    pub folder_id: String,
    pub share: Vec<String>,
}

/// `[jobs.monthly-report]`'s Drive settings, if any: `folder_id`, `credential`, `share = [...]`.
fn report_drive_settings(config: &Config) -> Result<Option<ReportDrive>, String> {
    let Some(t) = config.jobs.get("monthly-report") else {
        return Ok(None);
    };
    let Some(folder_id) = t.get("folder_id").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    let credential = job_credential(config, "monthly-report", t, "upload to the folder")?;
    let share = match t.get("share") {
        None => vec![],
        Some(v) => v
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .ok_or("invalid configuration key `jobs.monthly-report.share`: expected a list of email addresses")?,
    };
    Ok(Some(ReportDrive {
        credential,
        folder_id: folder_id.to_string(),
        share,
    }))
}

/// Settings every job takes in `[jobs.NAME]`.
pub const COMMON_KEYS: &[&str] = &[
    "schedule",
    "enabled",
    "run_at_start",
    "timeout",
    "attempts",
    "stale_after",
    "credentials",
];

/// The built-in jobs, each with the settings of its own (read above, or by the job).
pub const BUILT_IN: &[(&str, &[&str])] = &[
    ("token-health", &[]),
    ("outbox", &[]),
    ("dispatch", &[]),
    (
        "port-sheet",
        &["spreadsheet_id", "tab", "credential", "columns", "window_days"],
    ),
    (
        "roster-sync",
        &[
            "credential",
            "file_id",
            "folder_path",
            "name",
            "window_days",
            "unknown_crew",
            "max_removal_share",
        ],
    ),
    ("monthly-report", &["credential", "folder_id", "share"]),
    ("crew-statements", &[]),
];

/// Whether `key` is a setting of the built-in job `job` (beyond [`COMMON_KEYS`]).
pub fn is_own_key(job: &str, key: &str) -> bool {
    BUILT_IN.iter().any(|(n, keys)| *n == job && keys.contains(&key))
}

/// Every `[jobs.NAME]` names a built-in job or has a `command`, and has only the
/// settings that job takes; a near miss is named (`port-shet` -> `port-sheet`).
pub fn check(config: &Config) -> Result<(), ConfigError> {
    for (name, table) in &config.jobs {
        let own: Option<&[&str]> = BUILT_IN.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
        let allowed: Vec<&str> = match own {
            Some(keys) => COMMON_KEYS.iter().chain(keys.iter()).copied().collect(),
            None if table.contains_key("command") => COMMON_KEYS.iter().copied().chain(["command"]).collect(),
            None => {
                let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
                let hint = match nearest(name, &names) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("the built-in jobs are {}", names.join(", ")),
                };
                return Err(ConfigError::new(format!(
                    "`[jobs.{name}]`: no such job; {hint} (a job of your own needs `command = [\"program\", \"arg\"]`)"
                )));
            }
        };
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = match nearest(key, &allowed) {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => format!("it takes {}", allowed.join(", ")),
                };
                return Err(ConfigError::new(format!(
                    "invalid configuration key `jobs.{name}.{key}`: job `{name}` has no such setting; {hint}"
                )));
            }
        }
    }
    Ok(())
}

/// The candidate closest to `word` by edit distance, when it is a plausible typo.
pub(crate) fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_named() {
        assert_eq!(nearest("port-shet", &["port-sheet", "outbox"]), Some("port-sheet"));
        assert_eq!(
            nearest("spreadshet_id", &["spreadsheet_id", "tab"]),
            Some("spreadsheet_id")
        );
        assert_eq!(nearest("backup", &["port-sheet", "outbox"]), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
