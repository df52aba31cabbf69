//! Agent sessions as configured: the provider client from `[agent]` (its key read from a
//! 0600 file or an environment variable), the playbooks (built in, then
//! `[agent.playbooks.NAME]`), and the [`Agent`] that runs them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jada_core::Backoff;
use jada_llm::{Client, Provider, Retry, Settings};
use jada_ops::agent::playbook::{Trigger, BUILT_IN};
use jada_ops::agent::tools::{ExternalTools, McpServer, Reach};
use jada_ops::agent::{tools, Agent, Business, Direct, Playbook, Toolbox};
use secrecy::SecretString;

use crate::config::{self, parse_duration, AgentConfig, ConfigError};
use crate::{App, AppError, DataDir};

/// Sessions of one playbook running at once, unless `max_concurrent` says otherwise.
pub const DEFAULT_MAX_CONCURRENT: u32 = 2;

/// Checks `[agent]` as far as it can without reading files: limits, durations, tool
/// names (with the nearest known one), playbooks that have instructions.
pub fn check(a: &AgentConfig) -> Result<(), ConfigError> {
    let bad = |key: &str, why: String| Err(ConfigError::new(format!("invalid configuration key `{key}`: {why}")));
    if parse_duration(&a.timeout).is_none() {
        return bad(
            "agent.timeout",
            format!("`{}` is not a duration: use e.g. \"120s\"", a.timeout),
        );
    }
    if !(1..=1000).contains(&a.max_turns) {
        return bad(
            "agent.max_turns",
            format!("{} is out of range: use 1 to 1000", a.max_turns),
        );
    }
    if !(1..=24 * 30).contains(&a.approval_hours) {
        return bad(
            "agent.approval_hours",
            format!("{} is out of range: use 1 to 720 hours", a.approval_hours),
        );
    }
    if !(1..=20).contains(&a.attempts) {
        return bad("agent.attempts", format!("{} is out of range: use 1 to 20", a.attempts));
    }
    if a.provider.is_some() && a.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
        return bad(
            "agent.model",
            "a provider is set, so name the model (e.g. \"claude-sonnet-4-5\")".into(),
        );
    }
    if parse_duration(&a.stuck_after).is_none() {
        return bad(
            "agent.stuck_after",
            format!("`{}` is not a duration: use e.g. \"10m\"", a.stuck_after),
        );
    }
    if !(a.daily_budget_usd >= 0.0 && a.daily_budget_usd.is_finite()) {
        return bad(
            "agent.daily_budget_usd",
            "a budget is an amount of US dollars (0 switches the default off)".into(),
        );
    }
    if !(1..=10_000).contains(&a.max_tool_calls) {
        return bad(
            "agent.max_tool_calls",
            format!("{} is out of range: use 1 to 10000", a.max_tool_calls),
        );
    }
    if !(1_000..=2_000_000).contains(&a.max_context_tokens) {
        return bad(
            "agent.max_context_tokens",
            format!("{} is out of range: use 1000 to 2000000", a.max_context_tokens),
        );
    }
    if !(1024..=256 * 1024 * 1024).contains(&a.max_response_bytes) {
        return bad(
            "agent.max_response_bytes",
            format!("{} is out of range: use 1024 to 268435456", a.max_response_bytes),
        );
    }
    if a.api_key_env.is_some() && a.api_key_file.is_some() {
        return bad("agent.api_key_file", "set api_key_file or api_key_env, not both".into());
    }
    for (name, p) in &a.playbooks {
        let key = |k: &str| format!("agent.playbooks.{name}.{k}");
        let built_in = BUILT_IN.iter().any(|(n, _, _)| n == name);
        if !built_in && p.instructions.is_none() && p.instructions_file.is_none() {
            return bad(
                &key("instructions"),
                "a playbook of your own needs instructions (or instructions_file)".into(),
            );
        }
        if !built_in && p.tools.is_none() {
            return bad(
                &key("tools"),
                "a playbook of your own lists the tools it may use".into(),
            );
        }
        let names = tools::names();
        for t in p.tools.iter().flatten() {
            if let Some(server) = tools::external::server_of(t) {
                if !a.mcp.contains_key(server) {
                    return bad(
                        &key("tools"),
                        format!("`{t}` is a tool of the MCP server `{server}`, which is not configured: add [agent.mcp.{server}] with command or url"),
                    );
                }
                continue;
            }
            if !names.contains(&t.as_str()) {
                let hint = match crate::jobs::nearest(t, &names) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("the tools are: {}", names.join(", ")),
                };
                return bad(&key("tools"), format!("`{t}` is not a tool; {hint}"));
            }
        }
        if let Some((x, y)) = p.tools.as_deref().and_then(tools::external::clash) {
            return bad(
                &key("tools"),
                format!(
                    "`{x}` and `{y}` would reach the model under one name ({}): list one of them",
                    tools::external::wire_name(x)
                ),
            );
        }
        for t in p.trusted_tools.iter().flatten() {
            let listed = p.tools.iter().flatten().any(|l| l == t);
            if !tools::is_external(t) || !listed {
                return bad(
                    &key("trusted_tools"),
                    format!("`{t}` is not one of its MCP servers' tools: trusted_tools names tools of its `tools` list written SERVER.tool (jada's own tools need no trust)"),
                );
            }
        }
        if let Some(t) = &p.trigger {
            if let Err(e) = Trigger::parse(t) {
                return bad(&key("trigger"), e);
            }
        }
        let starts_itself = p.schedule.is_some() || p.trigger.is_some();
        if p.enabled == Some(true) && starts_itself && a.provider.is_none() {
            return bad(
                &key("enabled"),
                "it starts sessions by itself, but [agent] has no provider: set provider, model and a key".into(),
            );
        }
        if let Some(n) = p.max_concurrent.filter(|n| !(1..=50).contains(n)) {
            return bad(&key("max_concurrent"), format!("{n} is out of range: use 1 to 50"));
        }
        if let Some(n) = p.max_turns.filter(|n| !(1..=1000).contains(n)) {
            return bad(&key("max_turns"), format!("{n} is out of range: use 1 to 1000"));
        }
        for (k, v) in [
            ("session_budget_usd", p.session_budget_usd),
            ("daily_budget_usd", p.daily_budget_usd),
        ] {
            if v.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
                return bad(&key(k), "a budget is a positive amount of US dollars".into());
            }
        }
        if let Some(d) = p.stuck_after.as_deref().filter(|d| parse_duration(d).is_none()) {
            return bad(
                &key("stuck_after"),
                format!("`{d}` is not a duration: use e.g. \"10m\""),
            );
        }
        if let Some(n) = p.max_tool_calls.filter(|n| !(1..=10_000).contains(n)) {
            return bad(&key("max_tool_calls"), format!("{n} is out of range: use 1 to 10000"));
        }
        if let Some(n) = p.max_context_tokens.filter(|n| !(1_000..=2_000_000).contains(n)) {
            return bad(
                &key("max_context_tokens"),
                format!("{n} is out of range: use 1000 to 2000000"),
            );
        }
    }
    check_mcp(a)?;
    check_prices(a)
}

/// `[agent.mcp.NAME]`: a name a tool can be written under, and one way to reach it.
fn check_mcp(a: &AgentConfig) -> Result<(), ConfigError> {
    for (name, m) in &a.mcp {
        let bad = |k: &str, why: String| {
            Err(ConfigError::new(format!(
                "invalid configuration key `agent.mcp.{name}{k}`: {why}"
            )))
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return bad(
                "",
                "a server's name is letters, digits, `-` and `_` (its tools are written NAME.tool)".into(),
            );
        }
        match (&m.command, &m.url) {
            (Some(_), Some(_)) => return bad(".url", "set command (stdio) or url (streamable HTTP), not both".into()),
            (None, None) => {
                return bad(
                    "",
                    "say how to reach it: command = [\"program\", \"arg\"] (stdio) or url = \"https://…/mcp\" (streamable HTTP)".into(),
                )
            }
            (Some(c), None) if c.first().is_none_or(|p| p.trim().is_empty()) => {
                return bad(".command", "name the program to run: command = [\"program\", \"arg\"]".into())
            }
            (None, Some(u)) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                return bad(".url", format!("`{u}` is not an http:// or https:// URL"))
            }
            _ => {}
        }
        if m.api_key_file.is_some() && m.url.is_none() {
            return bad(
                ".api_key_file",
                "a key file is for a server reached by url; a command gets its secrets through env".into(),
            );
        }
        if let Some(t) = m
            .timeout
            .as_deref()
            .filter(|t| parse_duration(t).is_none_or(|s| s == 0))
        {
            return bad(".timeout", format!("`{t}` is not a duration: use e.g. \"60s\""));
        }
        if let Some(t) = m.trusted_tools.iter().find(|t| t.is_empty() || t.contains('.')) {
            return bad(
                ".trusted_tools",
                format!("`{t}`: name the server's tools as it names them (\"forecast\", not \"{name}.forecast\")"),
            );
        }
    }
    Ok(())
}

/// A budget is counted in dollars: with a provider set and any budget in force (the
/// default daily one included), the model must have a price, or the budget would
/// silently count nothing.
fn check_prices(a: &AgentConfig) -> Result<(), ConfigError> {
    let (Some(_), Some(model)) = (a.provider, a.model.as_deref()) else {
        return Ok(());
    };
    if a.prices.contains_key(model) {
        return Ok(());
    }
    let budgeted: Vec<String> = a
        .playbooks
        .iter()
        .filter(|(_, p)| p.session_budget_usd.is_some() || p.daily_budget_usd.is_some())
        .map(|(n, _)| format!("agent.playbooks.{n}"))
        .chain(
            (a.daily_budget_usd > 0.0).then(|| "agent.daily_budget_usd (the default for every playbook)".to_string()),
        )
        .collect();
    if budgeted.is_empty() {
        return Ok(());
    }
    Err(ConfigError::new(format!(
        "invalid configuration key `agent.prices`: budgets are counted in US dollars ({}), but model `{model}` has no price, so they would count nothing: add [agent.prices.\"{model}\"] with input_per_mtok and output_per_mtok (0.0 for a model you run yourself), or set [agent] daily_budget_usd = 0 and no playbook budgets",
        budgeted.join(", ")
    )))
}

/// Every playbook: the built-in ones with their settings applied, then your own.
pub fn playbooks(a: &AgentConfig, data: &DataDir) -> Result<BTreeMap<String, Playbook>, AppError> {
    let mut out = BTreeMap::new();
    let defaults = |name: &str, enabled: bool| Playbook {
        max_turns: a.max_turns,
        max_output_tokens: a.max_output_tokens.max(1),
        daily_budget_usd: (a.daily_budget_usd > 0.0).then_some(a.daily_budget_usd),
        max_concurrent: DEFAULT_MAX_CONCURRENT,
        enabled,
        stuck_after: Duration::from_secs(parse_duration(&a.stuck_after).unwrap_or(600)),
        max_tool_calls: a.max_tool_calls,
        max_context_tokens: a.max_context_tokens,
        ..Playbook::named(name)
    };
    for (name, instructions, tools) in BUILT_IN {
        out.insert(
            name.to_string(),
            Playbook {
                instructions: instructions.to_string(),
                tools: tools.iter().map(|t| t.to_string()).collect(),
                ..defaults(name, false)
            },
        );
    }
    for (name, p) in &a.playbooks {
        let entry = out.entry(name.clone()).or_insert_with(|| defaults(name, true));
        if let Some(i) = &p.instructions {
            entry.instructions = i.clone();
        }
        if let Some(f) = &p.instructions_file {
            let path = data.root().join(f);
            entry.instructions = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(format!(
                    "invalid configuration key `agent.playbooks.{name}.instructions_file`: cannot read {}: {e}",
                    path.display()
                ))
            })?;
        }
        if let Some(t) = &p.tools {
            entry.tools = t.clone();
        }
        if let Some(t) = &p.trusted_tools {
            entry.trusted_tools = t.clone();
        }
        entry.max_turns = p.max_turns.unwrap_or(entry.max_turns);
        entry.max_output_tokens = p.max_output_tokens.unwrap_or(entry.max_output_tokens);
        entry.session_budget_usd = p.session_budget_usd;
        entry.daily_budget_usd = p.daily_budget_usd.or(entry.daily_budget_usd);
        if let Some(d) = p.stuck_after.as_deref().and_then(parse_duration) {
            entry.stuck_after = Duration::from_secs(d);
        }
        entry.max_tool_calls = p.max_tool_calls.unwrap_or(entry.max_tool_calls);
        entry.max_context_tokens = p.max_context_tokens.unwrap_or(entry.max_context_tokens);
        entry.enabled = p.enabled.unwrap_or(entry.enabled);
        entry.max_concurrent = p.max_concurrent.unwrap_or(entry.max_concurrent);
        entry.schedule = p.schedule.clone();
        entry.trigger = p.trigger.as_deref().and_then(|t| Trigger::parse(t).ok());
    }
    // A server's own trusted tools hold in every playbook that lists them.
    for pb in out.values_mut() {
        let by_server = pb
            .tools
            .iter()
            .filter(|t| {
                tools::external::server_of(t)
                    .and_then(|s| a.mcp.get(s))
                    .is_some_and(|m| {
                        m.trusted_tools
                            .iter()
                            .any(|x| Some(x.as_str()) == t.split_once('.').map(|(_, n)| n))
                    })
            })
            .cloned()
            .collect::<Vec<_>>();
        for t in by_server {
            if !pb.trusted_tools.contains(&t) {
                pb.trusted_tools.push(t);
            }
        }
    }
    Ok(out)
}

/// The provider client, or why agent sessions cannot run (an operator's fix).
pub fn client(a: &AgentConfig, data: &DataDir) -> Result<Client, AppError> {
    let off = |why: &str| AppError::Agent(format!("agent sessions are off: {why}"));
    let provider = a.provider.ok_or_else(|| {
        off("set [agent] provider = \"anthropic\" or \"openai\", with model and api_key_file or api_key_env (or run `llm-emulator` and point base_url at it)")
    })?;
    let base_url = a.base_url.clone().unwrap_or_else(|| match provider {
        Provider::Anthropic => "https://api.anthropic.com".into(),
        Provider::OpenAi => "https://api.openai.com/v1".into(),
    });
    let api_key = read_key(a, data.root())?;
    let timeout = parse_duration(&a.timeout).unwrap_or(120);
    Client::new(Settings {
        provider,
        base_url,
        model: a.model.clone().unwrap_or_default(),
        api_key,
        timeout: Duration::from_secs(timeout),
        retry: Retry {
            attempts: a.attempts.max(1),
            backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(60)),
        },
        max_response_bytes: usize::try_from(a.max_response_bytes).unwrap_or(usize::MAX),
        prompt_caching: a.prompt_caching,
    })
    .map_err(|e| AppError::Agent(e.to_string()))
}

/// What starts the MCP clients: `jada_mcp_client::start`, registered by the binary.
pub type StartMcp = fn(Vec<McpServer>, Arc<dyn jada_core::Clock>, Arc<tokio::sync::Notify>) -> Arc<dyn ExternalTools>;

/// Registered once by the program that links an MCP client. This crate does not import
/// jada-mcp so that its build never waits on the MCP SDK's (the two build side by side).
static MCP: std::sync::OnceLock<StartMcp> = std::sync::OnceLock::new();

/// Lets `[agent.mcp.NAME]` work in this program (the `jada` binary calls it at start).
pub fn register_mcp(start: StartMcp) {
    let _ = MCP.set(start);
}

/// How to reach one `[agent.mcp.NAME]` (its key file read and checked now).
fn mcp_server(name: &str, m: &config::McpServerConfig, root: &Path) -> Result<McpServer, AppError> {
    let reach = match (&m.command, &m.url) {
        (Some(cmd), _) => Reach::Stdio {
            program: cmd.first().cloned().unwrap_or_default(),
            args: cmd.iter().skip(1).cloned().collect(),
            env: m.env.clone(),
            dir: root.to_path_buf(),
        },
        (None, Some(url)) => Reach::Http {
            url: url.clone(),
            token: m
                .api_key_file
                .as_ref()
                .map(|f| secret_file(&root.join(f), &format!("[agent.mcp.{name}] api_key_file")))
                .transpose()?,
        },
        (None, None) => {
            return Err(AppError::Agent(format!(
                "[agent.mcp.{name}] says neither command nor url"
            )))
        }
    };
    Ok(McpServer {
        name: name.to_string(),
        reach,
        timeout: Duration::from_secs(m.timeout.as_deref().and_then(parse_duration).unwrap_or(60)),
    })
}

/// A secret from a 0600 file in a 0700 directory, trimmed; `key` names the setting.
fn secret_file(path: &Path, key: &str) -> Result<String, AppError> {
    jada_google::secret_files::check_secret(path).map_err(|e| AppError::Agent(e.to_string()))?;
    match std::fs::read_to_string(path) {
        Ok(k) if !k.trim().is_empty() => Ok(k.trim().to_string()),
        Ok(_) => Err(AppError::Agent(format!("the key file {} is empty", path.display()))),
        Err(e) => Err(AppError::Agent(format!(
            "cannot read the key file {} ({key}): {e}",
            path.display()
        ))),
    }
}

/// The key: from the named environment variable, or a 0600 file in a 0700 directory.
/// A local OpenAI-compatible server may need none.
fn read_key(a: &AgentConfig, root: &Path) -> Result<SecretString, AppError> {
    if let Some(var) = &a.api_key_env {
        return match std::env::var(var) {
            Ok(k) if !k.trim().is_empty() => Ok(SecretString::from(k.trim().to_string())),
            _ => Err(AppError::Agent(format!(
                "[agent] api_key_env names `{var}`, which is not set in jada's environment: set it, or use api_key_file"
            ))),
        };
    }
    let Some(file) = &a.api_key_file else {
        return match a.provider {
            Some(Provider::OpenAi) => Ok(SecretString::from(String::new())),
            _ => Err(AppError::Agent(
                "[agent] has no key: set api_key_file (a 0600 file) or api_key_env".into(),
            )),
        };
    };
    secret_file(&root.join(file), "[agent] api_key_file").map(SecretString::from)
}

/// This process, as a session owner: `host:pid:start`, where `start` is when the
/// process started (clock ticks since boot, from `/proc`). A pid is reused — always 1
/// in a container — but not with the same start: an owner names one process lifetime.
pub fn process_owner() -> String {
    let pid = std::process::id();
    match process_start(pid) {
        Some(start) => format!("{}:{pid}:{start}", host_name()),
        None => format!("{}:{pid}", host_name()),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat`, field 22).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// An owner's parts: host, pid and (for owners written since the start was recorded)
/// the process's start.
fn owner_parts(owner: &str) -> Option<(&str, u32, Option<u64>)> {
    let (rest, last) = owner.rsplit_once(':')?;
    let last: u64 = last.parse().ok()?;
    match rest.rsplit_once(':').map(|(h, p)| (h, p.parse::<u32>())) {
        Some((host, Ok(pid))) => Some((host, pid, Some(last))),
        _ => Some((rest, u32::try_from(last).ok()?, None)),
    }
}

/// Whether an owner (`host:pid:start`, `host:pid`, or `cli:pid` for a command of this
/// host) may still be running: a process of this host is asked the kernel, and must have
/// the recorded start (else its pid was reused); one of another host is assumed alive
/// (its lease expires, its session's heartbeat goes stale and the daemon sweeps it).
pub fn owner_alive(owner: &str) -> bool {
    let Some((host, pid, start)) = owner_parts(owner) else {
        return true;
    };
    if host != host_name() && host != "cli" {
        return true;
    }
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let exists = raw > 0 && unsafe { libc::kill(raw, 0) == 0 || *libc::__errno_location() == libc::EPERM };
    match start {
        Some(start) => exists && process_start(pid) == Some(start),
        None => exists,
    }
}

impl App {
    /// The playbook called `name`.
    pub fn playbook(&self, name: &str) -> Result<Playbook, AppError> {
        let all = playbooks(&self.config.agent, &self.data)?;
        let names: Vec<&str> = all.keys().map(String::as_str).collect();
        all.get(name).cloned().ok_or_else(|| {
            AppError::Agent(format!(
                "there is no playbook `{name}`: the playbooks are {} ([agent.playbooks.NAME] adds one)",
                names.join(", ")
            ))
        })
    }

    /// The tools over this app's store and services (an agent's, or an MCP caller's).
    pub fn toolbox(&self) -> Result<Toolbox, AppError> {
        let mut toolbox =
            Toolbox::new(self.store.clone(), self.dispatcher().ok()).with_mail(self.mailer()?, self.sender());
        if let (config::MailMode::Gmail, Some(credential)) = (&self.config.mail.mode, &self.config.mail.credential) {
            toolbox = toolbox.with_gmail(self.google(credential)?);
        }
        Ok(toolbox)
    }

    /// jada's tools for callers outside it (MCP), recorded and gated like an agent's:
    /// needs no model provider.
    pub fn direct(&self) -> Result<Direct, AppError> {
        let public_url = Some(self.config.server.public_url.clone()).filter(|u| !u.trim().is_empty());
        Ok(Direct::new(
            self.store.clone(),
            self.toolbox()?,
            self.clock.clone(),
            self.config.business.time_zone,
            process_owner(),
        )
        .approvals_expire_after(chrono::Duration::hours(self.config.agent.approval_hours))
        .decided_at(public_url))
    }

    /// The `[agent.mcp.NAME]` servers, each kept connected by a task of its own from the
    /// first call on (so this needs a tokio runtime); `None` when none is configured.
    pub fn mcp_clients(&self) -> Result<Option<Arc<dyn ExternalTools>>, AppError> {
        self.mcp.get_or_try(|| {
            if self.config.agent.mcp.is_empty() {
                return Ok(None);
            }
            let start = MCP.get().ok_or_else(|| {
                AppError::Agent(
                    "[agent.mcp] names MCP servers, but this program has no MCP client: run the jada binary".into(),
                )
            })?;
            let configs = self
                .config
                .agent
                .mcp
                .iter()
                .map(|(name, m)| mcp_server(name, m, self.data.root()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(start(configs, self.clock.clone(), self.alerts_due.clone())))
        })
    }

    /// The agent: the provider client, the tools over this app's store and services, and
    /// those of the `[agent.mcp.NAME]` servers.
    pub fn agent(&self) -> Result<Agent, AppError> {
        let a = &self.config.agent;
        let llm = client(a, &self.data)?;
        let price = a.model.as_ref().and_then(|m| a.prices.get(m)).copied();
        let mut toolbox = self.toolbox()?;
        if let Some(mcp) = self.mcp_clients()? {
            toolbox = toolbox.with_external(mcp);
        }
        Ok(Agent::new(
            self.store.clone(),
            llm,
            price,
            toolbox,
            self.clock.clone(),
            process_owner(),
            Business {
                name: self.config.business.name.clone(),
                zone: self.config.business.time_zone,
            },
        )
        .approvals_expire_after(chrono::Duration::hours(a.approval_hours)))
    }
}
