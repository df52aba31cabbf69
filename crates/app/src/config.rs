//! Configuration: the embedded defaults (`jada.default.toml`), then the config file, then
//! `JADA_*` environment variables, then flags. Deserialisation refuses unknown keys and
//! names them; [`Config::validate`] checks what types cannot.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::Figment;
use jada_core::{BusinessZone, Fleet, Vessel};
use serde::{Deserialize, Serialize};

/// The documented defaults; also what `jada init` writes.
pub const DEFAULT_TOML: &str = include_str!("../jada.default.toml");

/// `[server] public_url` as shipped (see jada.default.toml).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The file this configuration was read from, when there was one (backups take it).
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub business: Business,
    pub store: StoreConfig,
    pub server: Server,
    #[serde(default)]
    pub credentials: Vec<Credential>,
    pub google: Google,
    pub mail: Mail,
    pub alerts: Alerts,
    pub statements: Statements,
    pub dispatch: Dispatch,
    pub office: OfficeConfig,
    pub agent: AgentConfig,
    #[serde(default)]
    pub jobs: BTreeMap<String, toml::Table>,
    #[serde(default)]
    pub vessels: Vec<Vessel>,
    /// `[backup]`: where the `backup` job sends its archives (none: no backups).
    #[serde(default)]
    pub backup: Option<jada_backup::Settings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Business {
    pub name: String,
    pub time_zone: BusinessZone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Dynamodb,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: Backend,
    /// DynamoDB: the AWS region (default: the AWS chain's, e.g. AWS_REGION).
    #[serde(default)]
    pub region: Option<String>,
    /// DynamoDB: a local DynamoDB-compatible server instead of AWS.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// DynamoDB: this daemon's name among several on the same tables (default: the
    /// host name). Stable across restarts: a restarted daemon abandons its own runs.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// DynamoDB: read a month through the `charter_month` index (only when every writer
    /// of charters sets charter_month; the business's old scripts do not).
    #[serde(default)]
    pub month_index: bool,
    /// DynamoDB: the read and write capacity of an index jada adds to a table in
    /// provisioned mode (default: the table's own; an on-demand table takes none).
    #[serde(default)]
    pub index_read_capacity: Option<u64>,
    #[serde(default)]
    pub index_write_capacity: Option<u64>,
    #[serde(default)]
    pub tables: StoreTables,
}

/// `[store.tables]`: the DynamoDB tables, by role. Defaults: the business's tables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreTables {
    pub charters: String,
    pub crew: String,
    pub chats: String,
    pub ops: String,
    /// The charters table's index on `charter_date`, by name (default: whichever index
    /// has `charter_date` as its partition key, e.g. the scripts' `charter_date-index`).
    pub date_index: Option<String>,
}

impl Default for StoreTables {
    /// The business's tables as its scripts named them, and jada's own.
    fn default() -> StoreTables {
        StoreTables {
            charters: "crew-dispatch".into(),
            crew: "crew-roster".into(),
            chats: "charter-chats".into(),
            ops: "jada-ops".into(),
            date_index: None,
        }
    }
}

/// How to build a jada that has the AWS parts: the one wording every refusal uses.
pub const AWS_BUILD: &str = "cargo build --release --features aws";

/// Whether this jada was built with its AWS parts (the `aws` feature): the DynamoDB store
/// and the SNS and CloudWatch Logs alert sinks.
pub const HAS_AWS: bool = cfg!(feature = "aws");

/// The refusal of a configuration that asks for an AWS part this build lacks.
pub fn without_aws(what: &str) -> ConfigError {
    ConfigError(format!(
        "{what} needs jada's AWS parts, and this jada was built without them (the embedded default does not need them): build it with `{AWS_BUILD}` (or run `cargo run --release --features aws -- ...`), or remove {what} from the configuration"
    ))
}

impl StoreConfig {
    /// Where the DynamoDB tables are, as the store takes it.
    #[cfg(feature = "aws")]
    pub fn dynamo(&self) -> jada_dynamo::DynamoConfig {
        jada_dynamo::DynamoConfig {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            tables: jada_dynamo::Tables {
                charters: self.tables.charters.clone(),
                crew: self.tables.crew.clone(),
                chats: self.tables.chats.clone(),
                ops: self.tables.ops.clone(),
                date_index: self.tables.date_index.clone(),
            },
            instance: self.instance_id.clone(),
            month_index: self.month_index,
            index_read_capacity: self.index_read_capacity,
            index_write_capacity: self.index_write_capacity,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub listen: SocketAddr,
    pub public_url: String,
    pub shutdown_grace: String,
    /// Behind a reverse proxy: take the client's address from the last
    /// X-Forwarded-For entry (for the crew pages' rate limit).
    #[serde(default)]
    pub behind_proxy: bool,
    /// A request head must arrive within this (and an idle connection closes after it).
    pub header_timeout: String,
    pub max_connections: usize,
    /// How long a running job's lease lasts unless renewed (every third of it): when a
    /// daemon dies, another daemon on the same store takes its jobs within this.
    #[serde(default = "default_job_lease")]
    pub job_lease: String,
}

fn default_job_lease() -> String {
    "60s".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub name: String,
    pub file: PathBuf,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub subject: Option<String>,
    pub token_uri: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Google {
    pub token_uri: String,
    /// The consent page of the login flow.
    pub auth_uri: String,
    pub tokeninfo_url: String,
    pub sheets_url: String,
    pub drive_url: String,
    pub gmail_url: String,
}

impl Google {
    /// The API base URLs the Google client calls.
    pub fn endpoints(&self) -> jada_google::client::Endpoints {
        jada_google::client::Endpoints {
            sheets: self.sheets_url.clone(),
            drive: self.drive_url.clone(),
            gmail: self.gmail_url.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailMode {
    Outbox,
    Gmail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    pub mode: MailMode,
    pub sender: String,
    pub credential: Option<String>,
}

/// `[office]`: who may sign in to the office pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeConfig {
    /// Email addresses of the office users.
    #[serde(default)]
    pub users: Vec<String>,
    /// A signed-in session lasts this many hours.
    pub session_hours: i64,
    /// A cancelled charter can be reinstated for this many hours after the cancel.
    pub reinstate_hours: i64,
}

impl OfficeConfig {
    /// How long after a cancel a charter can be reinstated.
    pub fn reinstate_within(&self) -> chrono::Duration {
        chrono::Duration::hours(self.reinstate_hours)
    }
}

/// `[dispatch]`: offering crew seats through magic links.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dispatch {
    /// How long an offer waits for an answer at most (shorter as the charter nears).
    pub response_window: String,
    /// Open offers per open seat at a time.
    pub fanout: u32,
    /// Schedule links work this many days.
    pub schedule_link_days: i64,
    /// After `jada dispatch rotate-key`, links signed with the old key work this long.
    pub key_grace: String,
    /// Crew-page requests per minute per client address.
    pub rate_limit_per_minute: u32,
    /// Whom crew should contact when a link does not work ("" = [mail] sender).
    #[serde(default)]
    pub contact: String,
    /// Higher goes first among crew who sailed equally often: { "ana-m" = 5 }.
    #[serde(default)]
    pub priority: BTreeMap<String, i32>,
}

/// `[agent]`: the LLM provider and the playbooks of agent sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// "anthropic" or "openai"; unset, agent sessions are off.
    #[serde(default)]
    pub provider: Option<jada_llm::Provider>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// The name of an environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// A 0600 file holding the API key (relative paths are in the data directory).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    pub max_turns: u32,
    pub max_output_tokens: u32,
    pub timeout: String,
    pub attempts: u32,
    /// An approval request expires after this many hours unanswered.
    pub approval_hours: i64,
    /// A running session with no heartbeat for this long is marked abandoned by the
    /// daemon (each playbook may set its own).
    pub stuck_after: String,
    /// Each playbook's daily budget in USD unless it sets its own; 0 switches it off.
    pub daily_budget_usd: f64,
    /// Tool calls one session may make unless its playbook says otherwise.
    pub max_tool_calls: u32,
    /// The context one request may carry (tokens) unless a playbook says otherwise:
    /// near it a session compacts its transcript into a summary.
    pub max_context_tokens: u64,
    /// The most bytes one provider answer may have; a longer one ends the session
    /// `provider_error` naming this bound.
    pub max_response_bytes: u64,
    /// Ask Anthropic to cache each request's prefix (OpenAI caches by itself).
    pub prompt_caching: bool,
    #[serde(default)]
    pub prices: BTreeMap<String, jada_core::agent::Price>,
    #[serde(default)]
    pub playbooks: BTreeMap<String, PlaybookConfig>,
    /// Other MCP servers whose tools playbooks may call as `NAME.tool`.
    #[serde(default)]
    pub mcp: BTreeMap<String, McpServerConfig>,
}

/// `[agent.mcp.NAME]`: another MCP server, reached over stdio (`command`, a process jada
/// starts, stops and restarts) or streamable HTTP (`url`, with `api_key_file`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program and its arguments: ["npx", "-y", "some-mcp-server"].
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Environment variables for `command` (its only environment besides PATH and HOME).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The server's streamable HTTP endpoint: "https://tides.example.com/mcp".
    #[serde(default)]
    pub url: Option<String>,
    /// A 0600 file holding the bearer token `url` wants (relative: in the data directory).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// Its tools that run without a person's approval, in every playbook ("forecast").
    #[serde(default)]
    pub trusted_tools: Vec<String>,
    /// How long one tool call may take (default "60s").
    #[serde(default)]
    pub timeout: Option<String>,
}

/// `[agent.playbooks.NAME]`: every key optional; a built-in playbook keeps what is not set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookConfig {
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub instructions_file: Option<PathBuf>,
    /// When it runs by itself (cron, in the business time zone).
    #[serde(default)]
    pub schedule: Option<String>,
    /// What else starts it: "gmail:QUERY", "chat", "task".
    #[serde(default)]
    pub trigger: Option<String>,
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// Other servers' tools of its list ("tides.forecast") that run without approval.
    #[serde(default)]
    pub trusted_tools: Option<Vec<String>>,
    #[serde(default)]
    pub max_turns: Option<u32>,
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub session_budget_usd: Option<f64>,
    #[serde(default)]
    pub daily_budget_usd: Option<f64>,
    /// At most this many of its sessions at once (default 2).
    #[serde(default)]
    pub max_concurrent: Option<u32>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// No heartbeat for this long and a running session is abandoned ([agent] stuck_after).
    #[serde(default)]
    pub stuck_after: Option<String>,
    /// Tool calls one session may make ([agent] max_tool_calls).
    #[serde(default)]
    pub max_tool_calls: Option<u32>,
    /// The context one request may carry, in tokens ([agent] max_context_tokens).
    #[serde(default)]
    pub max_context_tokens: Option<u64>,
}

/// `[statements]`: monthly crew statements.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statements {
    /// In CC of every crew member's statement ("" for none).
    #[serde(default)]
    pub audit_cc: String,
    /// The summary statement's recipients.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Gmail search for earlier summaries, whose To and Cc also get this month's ("" off).
    #[serde(default)]
    pub search: String,
    /// Tip cents that do not divide evenly: "captain" or "round_robin".
    pub leftover_cents: jada_core::tips::Leftover,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    pub remind_every: String,
    #[serde(default)]
    pub email: Vec<String>,
    #[serde(default)]
    pub webhook: Vec<Webhook>,
    /// Publish each notification to an SNS topic.
    #[serde(default)]
    pub sns: Option<SnsAlerts>,
    /// Write each notification to a CloudWatch Logs stream, as one JSON event.
    #[serde(default)]
    pub cloudwatch: Option<CloudWatchAlerts>,
}

/// `[alerts.sns]`: credentials from the standard AWS chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsAlerts {
    pub topic_arn: String,
    #[serde(default)]
    pub region: Option<String>,
    /// A local AWS-compatible server, for testing.
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// `[alerts.cloudwatch]`: the group must exist; the stream is made when missing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchAlerts {
    pub log_group: String,
    /// Default: `jada-<[store] instance_id or the host name>`.
    #[serde(default)]
    pub log_stream: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
}

/// Where the configuration file comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Named by `--config` or `JADA_CONFIG`: it must exist.
    Explicit(PathBuf),
    /// `./jada.toml` if it exists; the defaults alone otherwise.
    Default(PathBuf),
}

impl Source {
    pub fn path(&self) -> &Path {
        match self {
            Source::Explicit(p) | Source::Default(p) => p,
        }
    }
}

/// The configuration decides what jada runs (`command` jobs, the agent's tools): a file
/// every user may write is refused (one its group may write is warned about), and one defining `command` jobs must belong to jada's
/// user or root — whatever the mode, as OpenSSH treats its own configuration.
fn check_file_owner(file: &Path, runs_commands: bool) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(file)
        .map_err(|e| ConfigError(format!("cannot read the config file {}: {e}", file.display())))?;
    let mode = m.mode() & 0o777;
    if mode & 0o002 != 0 {
        return Err(ConfigError(format!(
            "refusing the config file {}: every user may write it (mode {mode:o}), and it decides what jada runs; run `chmod go-w {}`",
            file.display(),
            file.display()
        )));
    }
    if mode & 0o020 != 0 {
        tracing::warn!(
            "the config file {} may be written by its group (mode {mode:o}), and it decides what jada runs; run `chmod g-w {}` unless the group is yours alone",
            file.display(),
            file.display()
        );
    }
    // SAFETY: geteuid cannot fail and touches no memory.
    let me = unsafe { libc::geteuid() };
    if runs_commands && m.uid() != me && m.uid() != 0 {
        return Err(ConfigError(format!(
            "refusing the config file {}: it defines `command` jobs but belongs to uid {}, not to jada's user ({me}) or root; run `chown {me} {}` if you trust it",
            file.display(),
            m.uid(),
            file.display()
        )));
    }
    Ok(())
}

/// A configuration that cannot be used. The message names the key or file and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// A message that names the key or file at fault and the fix.
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError(message.into())
    }
}

impl Config {
    /// Loads the layers; `data_dir` (from `--data-dir`/`JADA_DATA_DIR`) wins over them all.
    pub fn load(source: &Source, data_dir: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        match source {
            Source::Explicit(p) if !p.exists() => {
                return Err(ConfigError(format!(
                    "config file {} does not exist: create it with `jada init --config {}`, or leave out --config/JADA_CONFIG to run on the defaults",
                    p.display(),
                    p.display()
                )))
            }
            Source::Explicit(p) => figment = figment.merge(Toml::file_exact(p)),
            Source::Default(p) if p.exists() => figment = figment.merge(Toml::file_exact(p)),
            Source::Default(_) => {}
        }
        // JADA_CONFIG, JADA_DATA_DIR (via the flag), JADA_LOG, JADA_ADMIN_TOKEN and
        // JADA_STORE_KEY (app::shared) are read
        // elsewhere; every other JADA_* variable is configuration and must name a key.
        figment =
            figment.merge(
                Env::prefixed("JADA_")
                    .split("__")
                    .ignore(&["config", "log", "admin_token", "store_key"]),
            );
        if let Some(dir) = data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        let mut config: Config = figment.extract().map_err(describe)?;
        let file = match source {
            Source::Explicit(p) => Some(p),
            Source::Default(p) => p.exists().then_some(p),
        };
        if let Some(file) = file {
            let runs_commands = config.jobs.values().any(|t| t.contains_key("command"));
            check_file_owner(file, runs_commands)?;
            config.source_file = Some(file.clone());
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks what deserialisation cannot: cross-field rules and value shapes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(what) = self.aws_parts().first().filter(|_| !HAS_AWS) {
            return Err(without_aws(what));
        }
        let bad = |key: &str, why: String| Err(ConfigError(format!("invalid configuration key `{key}`: {why}")));
        if let Some(url) = &self.store.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(
                    "store.endpoint_url",
                    format!("`{url}` is not a URL: give one like http://127.0.0.1:8000, or remove it to use AWS"),
                );
            }
        }
        let date_index = self.store.tables.date_index.as_ref();
        for (key, name) in [
            ("charters", &self.store.tables.charters),
            ("crew", &self.store.tables.crew),
            ("chats", &self.store.tables.chats),
            ("ops", &self.store.tables.ops),
        ]
        .into_iter()
        .chain(date_index.map(|n| ("date_index", n)))
        {
            let ok =
                (3..=255).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !ok {
                return bad(
                    &format!("store.tables.{key}"),
                    format!("`{name}` is not a DynamoDB table or index name (3 to 255 of a-z, A-Z, 0-9, _ - .)"),
                );
            }
        }
        for (key, units) in [
            ("store.index_read_capacity", self.store.index_read_capacity),
            ("store.index_write_capacity", self.store.index_write_capacity),
        ] {
            if units == Some(0) {
                return bad(
                    key,
                    "0 capacity units: give at least 1, or remove it to use the table's own".into(),
                );
            }
        }
        if let Some(b) = &self.backup {
            if let Err(why) = jada_backup::target::check(b) {
                return bad("backup.target", why);
            }
            if self.store.backend == Backend::Dynamodb {
                return bad(
                    "backup",
                    "on DynamoDB, backups are DynamoDB's own: remove [backup]; `jada backup now` asks DynamoDB for an on-demand backup of each table, and `jada store check` says whether point-in-time recovery is on".into(),
                );
            }
        }
        if let Some(name) = self.backup.as_ref().and_then(|b| b.credential.as_ref()) {
            if !self.credentials.iter().any(|c| &c.name == name) {
                return bad(
                    "backup.credential",
                    format!("no [[credentials]] named `{name}`: add it, or name one of those there"),
                );
            }
        }
        for v in &self.vessels {
            if let Err(e) = v.validate() {
                return bad("vessels", e.to_string());
            }
        }
        let mut names: Vec<&str> = self.vessels.iter().map(|v| v.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0].eq_ignore_ascii_case(w[1])) {
            return bad("vessels", format!("vessel `{}` is listed twice", w[0]));
        }
        let mut creds: Vec<&str> = self.credentials.iter().map(|c| c.name.as_str()).collect();
        creds.sort_unstable();
        if let Some(w) = creds.windows(2).find(|w| w[0] == w[1]) {
            return bad("credentials", format!("credential `{}` is listed twice", w[0]));
        }
        for c in &self.credentials {
            if c.name.trim().is_empty() || c.name.contains(char::is_whitespace) {
                return bad(
                    "credentials.name",
                    format!(
                        "`{}` is not a usable credential name: use letters, digits and dashes",
                        c.name
                    ),
                );
            }
            if c.scopes.is_empty() {
                return bad(
                    "credentials.scopes",
                    format!(
                        "credential `{}` has no scopes: list the Google scopes it may use",
                        c.name
                    ),
                );
            }
        }
        if parse_duration(&self.server.header_timeout).is_none() {
            return bad(
                "server.header_timeout",
                format!("`{}` is not a duration: use e.g. \"10s\"", self.server.header_timeout),
            );
        }
        if !(16..=100_000).contains(&self.server.max_connections) {
            return bad(
                "server.max_connections",
                format!("{} is out of range: use 16 to 100000", self.server.max_connections),
            );
        }
        if parse_duration(&self.server.job_lease).is_none_or(|s| s < 3) {
            return bad(
                "server.job_lease",
                format!(
                    "`{}` is not a duration of 3s or more: use e.g. \"60s\"",
                    self.server.job_lease
                ),
            );
        }
        if parse_duration(&self.server.shutdown_grace).is_none() {
            return bad(
                "server.shutdown_grace",
                format!("`{}` is not a duration: use e.g. \"20s\"", self.server.shutdown_grace),
            );
        }
        if self.mail.mode == MailMode::Gmail {
            match &self.mail.credential {
                None => return bad("mail.credential", "mode = \"gmail\" sends as a credential: name the [[credentials]] entry (with the gmail.send scope and `subject` = the sender)".into()),
                Some(n) if !self.credentials.iter().any(|c| &c.name == n) => {
                    return bad("mail.credential", format!("no [[credentials]] entry is named `{n}`"))
                }
                Some(_) => {}
            }
        }
        for (key, a) in std::iter::once(("mail.sender", &self.mail.sender))
            .chain((!self.statements.audit_cc.is_empty()).then_some(("statements.audit_cc", &self.statements.audit_cc)))
            .chain(self.statements.recipients.iter().map(|r| ("statements.recipients", r)))
            .chain(self.alerts.email.iter().map(|r| ("alerts.email", r)))
            .chain(self.office.users.iter().map(|r| ("office.users", r)))
        {
            if jada_core::Email::parse(a).is_err() {
                return bad(key, format!("`{a}` is not an email address"));
            }
        }
        for (key, v) in [
            ("dispatch.response_window", &self.dispatch.response_window),
            ("dispatch.key_grace", &self.dispatch.key_grace),
        ] {
            if parse_duration(v).filter(|s| *s >= 60).is_none() {
                return bad(
                    key,
                    format!("`{v}` is not a duration of a minute or more: use e.g. \"2h\" or \"14d\""),
                );
            }
        }
        crate::agent::check(&self.agent)?;
        if !(1..=720).contains(&self.office.session_hours) {
            return bad(
                "office.session_hours",
                format!("{} is out of range: use 1 to 720 hours", self.office.session_hours),
            );
        }
        if !(1..=8760).contains(&self.office.reinstate_hours) {
            return bad(
                "office.reinstate_hours",
                format!(
                    "{} is out of range: use 1 to 8760 hours (a year)",
                    self.office.reinstate_hours
                ),
            );
        }
        if !(1..=10).contains(&self.dispatch.fanout) {
            return bad(
                "dispatch.fanout",
                format!(
                    "{} is out of range: use 1 (one offer per seat at a time) to 10",
                    self.dispatch.fanout
                ),
            );
        }
        if self.dispatch.schedule_link_days < 1 || self.dispatch.rate_limit_per_minute < 1 {
            return bad(
                "dispatch",
                "schedule_link_days and rate_limit_per_minute must be at least 1".into(),
            );
        }
        for id in self.dispatch.priority.keys() {
            if jada_core::CrewId::parse(id).is_err() {
                return bad("dispatch.priority", format!("`{id}` is not a crew id"));
            }
        }
        if parse_duration(&self.alerts.remind_every).is_none() {
            return bad(
                "alerts.remind_every",
                format!(
                    "`{}` is not a duration: use e.g. \"30m\", \"6h\" or \"1d\"",
                    self.alerts.remind_every
                ),
            );
        }
        for (key, url) in [
            ("server.public_url", &self.server.public_url),
            ("google.token_uri", &self.google.token_uri),
            ("google.auth_uri", &self.google.auth_uri),
            ("google.tokeninfo_url", &self.google.tokeninfo_url),
            ("google.sheets_url", &self.google.sheets_url),
            ("google.drive_url", &self.google.drive_url),
            ("google.gmail_url", &self.google.gmail_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(key, format!("`{url}` is not an http(s) URL"));
            }
        }
        for w in &self.alerts.webhook {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return bad(
                    "alerts.webhook.url",
                    "webhook URLs must start with http:// or https://".into(),
                );
            }
        }
        if let Some(sns) = &self.alerts.sns {
            if !sns.topic_arn.starts_with("arn:") || sns.topic_arn.split(':').count() != 6 {
                return bad(
                    "alerts.sns.topic_arn",
                    format!(
                        "`{}` is not a topic ARN: use arn:aws:sns:REGION:ACCOUNT:TOPIC",
                        sns.topic_arn
                    ),
                );
            }
        }
        if let Some(cw) = &self.alerts.cloudwatch {
            if cw.log_group.trim().is_empty() {
                return bad(
                    "alerts.cloudwatch.log_group",
                    "name the log group (it must exist)".into(),
                );
            }
        }
        for (key, url) in [
            (
                "alerts.sns.endpoint_url",
                self.alerts.sns.as_ref().and_then(|s| s.endpoint_url.as_ref()),
            ),
            (
                "alerts.cloudwatch.endpoint_url",
                self.alerts.cloudwatch.as_ref().and_then(|c| c.endpoint_url.as_ref()),
            ),
        ] {
            if let Some(url) = url.filter(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
                return bad(key, format!("`{url}` is not an http(s) URL"));
            }
        }
        crate::jobs::check(self)?;
        Ok(())
    }

    /// The configured fleet, or the sample fleet when none is configured.
    /// The settings that need jada's AWS parts (the `aws` build feature), as an operator
    /// finds them in jada.toml.
    pub fn aws_parts(&self) -> Vec<&'static str> {
        let mut parts = vec![];
        if self.store.backend == Backend::Dynamodb {
            parts.push("[store] backend = \"dynamodb\"");
        }
        if self.alerts.sns.is_some() {
            parts.push("[alerts.sns]");
        }
        if self.alerts.cloudwatch.is_some() {
            parts.push("[alerts.cloudwatch]");
        }
        if self.backup.as_ref().is_some_and(|b| b.target.starts_with("s3://")) {
            parts.push("[backup] target = \"s3://...\"");
        }
        parts
    }

    pub fn fleet(&self) -> Fleet {
        if self.vessels.is_empty() {
            jada_ops::demo::sample_fleet()
        } else {
            Fleet::new(self.vessels.clone())
        }
    }

    /// A credential's file; relative paths are relative to the data directory.
    pub fn credential_path(&self, c: &Credential) -> PathBuf {
        if c.file.is_absolute() {
            c.file.clone()
        } else {
            self.data_dir.join(&c.file)
        }
    }

    /// Advice that does not make the configuration invalid.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.vessels.is_empty() {
            w.push("no [[vessels]] configured: the sample fleet (Marlin, Sea Lion, Pelican) is in use; add your boats to jada.toml".into());
        }
        for c in &self.credentials {
            let path = if c.file.is_absolute() {
                c.file.clone()
            } else {
                self.data_dir.join(&c.file)
            };
            if !path.exists() {
                w.push(format!(
                    "credential `{}`: file {} does not exist",
                    c.name,
                    path.display()
                ));
            }
        }
        w
    }

    /// The configuration as `config show` prints it: webhook URLs carry their secret in
    /// the path, so only scheme and host are shown.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        for w in &mut c.alerts.webhook {
            w.url = redact_url(&w.url);
        }
        c
    }
}

fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}/<redacted>")
}

/// `30s`, `30m`, `6h`, `1d` -> seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    (n > 0).then_some(n * mult)
}

/// figment's errors name the key and the file; say it as one line per problem.
fn describe(e: figment::Error) -> ConfigError {
    let lines: Vec<String> = e
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let origin = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(figment::Source::File(path)) => path.display().to_string(),
                    _ => m.name.to_string(),
                })
                .unwrap_or_default();
            let origin = if origin.is_empty() {
                String::new()
            } else {
                format!(" (from {origin})")
            };
            // An unknown key is named with the nearest known one (a typo is the usual
            // cause), in plain words rather than serde's nested backticks.
            let why = match &e.kind {
                figment::error::Kind::UnknownField(found, expected) => {
                    let hint = match crate::jobs::nearest(found, expected) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => format!("the known ones are {}", expected.join(", ")),
                    };
                    format!("`{found}` is not a known key here: {hint}")
                }
                kind => kind.to_string(),
            };
            if key.is_empty() {
                format!("invalid configuration{origin}: {why}")
            } else {
                format!("invalid configuration key `{key}`{origin}: {why}")
            }
        })
        .collect();
    ConfigError(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_section_is_named_with_the_nearest_one() {
        let dir = std::env::temp_dir().join(format!("jada-typo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jada.toml");
        std::fs::write(&file, "[buisness]\nname = \"x\"\n").unwrap();
        let e = Config::load(&Source::Explicit(file), None).unwrap_err().to_string();
        assert!(
            e.contains("`buisness` is not a known key here: did you mean `business`?"),
            "{e}"
        );
        assert!(!e.contains("``"), "no doubled backticks: {e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn defaults_load_and_validate() {
        let c = Config::load(&Source::Default(PathBuf::from("/nonexistent/jada.toml")), None).unwrap();
        assert_eq!(c.business.time_zone.to_string(), "America/Los_Angeles");
        assert_eq!(c.data_dir, PathBuf::from("./jada-data"));
        assert_eq!(c.fleet().vessels().len(), 3);
        assert!(!c.warnings().is_empty());
        assert_eq!(c.server.public_url, DEFAULT_PUBLIC_URL, "serve --listen relies on it");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6h"), Some(21_600));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("6 hours"), None);
        assert_eq!(parse_duration("h"), None);
    }

    #[test]
    fn webhook_secrets_are_redacted() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/<redacted>"
        );
        assert_eq!(
            redact_url("https://user:pw@example.com?token=x"),
            "https://example.com/<redacted>"
        );
    }

    /// A build without the `aws` feature refuses every AWS setting with the build command
    /// (scripts/test runs jada-app's tests without features for this one).
    #[test]
    #[cfg(not(feature = "aws"))]
    fn a_build_without_aws_refuses_aws_settings_with_the_build_command() {
        let mut c = Config::load(&Source::Default(PathBuf::from("/nonexistent/jada.toml")), None).unwrap();
        assert!(c.aws_parts().is_empty());
        c.validate().expect("the embedded default needs nothing from AWS");
        c.alerts.cloudwatch = Some(CloudWatchAlerts {
            log_group: "/jada/alerts".into(),
            log_stream: None,
            region: None,
            endpoint_url: None,
        });
        let err = c.validate().unwrap_err().to_string();
        assert!(err.starts_with("[alerts.cloudwatch] needs jada's AWS parts"), "{err}");
        assert!(err.contains("`cargo build --release --features aws`"), "{err}");
        c.alerts.cloudwatch = None;
        c.store.backend = Backend::Dynamodb;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.starts_with("[store] backend = \"dynamodb\" needs"), "{err}");
        c.validate().unwrap_err();
        let dir = tempfile::tempdir().unwrap();
        c.data_dir = dir.path().to_path_buf();
        let err = crate::App::open(c)
            .err()
            .expect("no store without the aws feature")
            .to_string();
        assert!(err.contains(AWS_BUILD), "{err}");
    }

    #[test]
    #[cfg(feature = "aws")]
    fn aws_settings_are_checked_where_they_are_read() {
        let mut c = Config::load(&Source::Default(PathBuf::from("/nonexistent/jada.toml")), None).unwrap();
        c.alerts.sns = Some(SnsAlerts {
            topic_arn: "jada-alerts".into(),
            region: None,
            endpoint_url: None,
        });
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("alerts.sns.topic_arn") && err.contains("arn:aws:sns:"),
            "{err}"
        );
        c.alerts.sns = None;
        c.store.tables.ops = "no spaces allowed".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("store.tables.ops"), "{err}");
        c.store.tables = StoreTables::default();
        c.server.job_lease = "1s".into();
        assert!(c.validate().unwrap_err().to_string().contains("server.job_lease"));
    }
}
