//! The command line, as clap sees it. Each command's doc comment is its `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// jada runs the back office of a sailing-charter business: bookings, crew, Google
/// Sheets sync, reports and crew dispatch.
///
/// With no configuration it runs on the embedded default: a SQLite database in
/// ./jada-data. Start with `jada demo` to load a sample business, or `jada init` to
/// write a jada.toml to edit.
#[derive(Debug, Parser)]
#[command(name = "jada", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The configuration file [default: ./jada.toml, used if it exists]
    #[arg(long, global = true, env = "JADA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory: database, secrets, mail outbox, reports [default: data_dir from the config, else ./jada-data]
    #[arg(long, global = true, env = "JADA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented jada.toml and create the data directory (secrets/ is mode 0700).
    Init(InitArgs),
    /// Import, list and inspect charters (bookings).
    #[command(subcommand)]
    Charters(ChartersCommand),
    /// Import and list the crew roster.
    #[command(subcommand)]
    Crew(CrewCommand),
    /// Load a sample business: 3 vessels, 15 crew and a few hundred charters.
    ///
    /// Without --season, the charters span the eight months up to today and the eight
    /// weeks after it, so there is history to report on and work to dispatch on any day
    /// of the year; with --season YEAR, that year's March-October season.
    ///
    /// The same --seed and --season always produce the same business; charters before
    /// today are completed, later ones booked. Loading twice changes nothing.
    Demo(DemoArgs),
    /// Run the daemon: scheduled jobs, the event outbox, alerts, token refresh, and the
    /// HTTP server (health, metrics, status). Stops cleanly on SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Scheduled jobs: list them, run one now, read a job's history.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// The dead-letter queue: events that failed every attempt.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Alerts: firing and resolved.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Is everything healthy? Daemon, jobs, credentials, outbox, disk, each with what to
    /// do. Asks the running daemon (or --remote), else reads the store. Exits 1 if not.
    Doctor(DoctorArgs),
    /// Reports: the monthly revenue workbook.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Keys for the booking API (`Authorization: Bearer <key>`), stored hashed.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Crew dispatch: assign a captain (offers go out), see why crew stand where they do.
    #[command(subcommand)]
    Dispatch(DispatchCommand),
    /// Monthly crew statements by mail ([statements], [mail]), each sent once.
    #[command(subcommand)]
    Statements(StatementsCommand),
    /// The crew's availability sheet ([jobs.roster-sync]).
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Sync now: write pending changes to the port sheet, or reconcile it in full.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Google credentials: status, live checks, refresh, login, tokens for scripts.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Show or check the effective configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// LLM agent sessions ([agent]): run a playbook, list sessions, read a transcript,
    /// resume one that stopped at its turn limit.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// The office's tasks: things a person (or an agent) must do, with their notes.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// The DynamoDB tables ([store]): check them against what jada needs, create what
    /// is missing, copy a business between SQLite and DynamoDB. DynamoDB needs a jada
    /// built with `cargo build --release --features aws`.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Backups ([backup]): an encrypted archive of the database and the data directory's
    /// irreplaceable files, sent to a target and proven by restoring it before it counts.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// The office pages: a sign-in link printed here, for the first sign-in.
    #[command(subcommand)]
    Office(OfficeCommand),
    /// Serve jada's tools to an MCP client on stdin/stdout (a desktop assistant on the
    /// office's machine starts it). The tools are the agent's: reads answer at once,
    /// office writes run and are recorded, mail and booking changes answer with an
    /// approval request a person decides in the office or with `jada agent approve`.
    /// Every call is recorded in an agent session `mcp:NAME` of the day. For a client on
    /// another machine, use the daemon's `POST /mcp` with an API key instead.
    Mcp(McpArgs),
}

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Who the calls are recorded as (agent session `mcp:NAME`)
    #[arg(long, default_value = "cli", value_name = "NAME")]
    pub name: String,
    /// Offer only the tools that read (no task or note written, no approval asked)
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup now (what the daemon's `backup` job does hourly): snapshot the
    /// database while jada runs, pack it with secrets/ and the statements as sent,
    /// encrypt it to the backup key, store it at the target, then fetch it back, restore
    /// it into a scratch directory and compare it with the snapshot. Prunes old archives
    /// (keep_hourly/daily/monthly) only after that. Skipped when nothing changed.
    Now {
        /// Print the outcome as JSON
        #[arg(long)]
        json: bool,
    },
    /// The archives at the target, newest first, and which was last verified.
    List {
        /// Another target than [backup] target (e.g. dir:/mnt/usb on a new machine)
        #[arg(long, value_name = "TARGET")]
        from: Option<String>,
        /// The Google credential a drive: target is reached with (one of
        /// [[credentials]]; default: [backup] credential)
        #[arg(long, value_name = "NAME")]
        credential: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Fetch an archive (the newest without ID) back, restore it into a scratch
    /// directory, check its integrity and compare it with its snapshot. Changes nothing.
    Verify {
        /// The backup's id (from `jada backup list`)
        id: Option<String>,
        #[arg(long, value_name = "TARGET")]
        from: Option<String>,
        /// The Google credential a drive: target is reached with
        #[arg(long, value_name = "NAME")]
        credential: Option<String>,
        /// The backup key file (default: this data directory's secrets/backup-key)
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into a directory, as a data directory jada runs on. Checked
    /// beside it before anything is moved in: a wrong key or a damaged archive changes
    /// nothing there. Refuses a directory that is not empty (unless --force) and one a
    /// running daemon uses.
    Restore {
        /// The backup's id (from `jada backup list`)
        id: String,
        /// The directory to restore into (made if missing)
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Another target than [backup] target (e.g. dir:/mnt/usb on a new machine)
        #[arg(long, value_name = "TARGET")]
        from: Option<String>,
        /// The Google credential a drive: target is reached with (on a new machine: set
        /// it up first with `jada auth login NAME`)
        #[arg(long, value_name = "NAME")]
        credential: Option<String>,
        /// The backup key file (default: this data directory's secrets/backup-key)
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Replace the files the backup has in a directory that is not empty
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// The backup key (made on first use): printed with what to do with it the first
    /// time; afterwards its file and public half (--show prints the secret again).
    Key {
        /// Print the secret half again
        #[arg(long)]
        show: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Compare the live DynamoDB tables ([store.tables]) with what jada needs: keys,
    /// indexes, time to live. Prints what is missing and how to add it; changes nothing.
    /// Exits 1 when something jada needs is missing.
    Check {
        /// Print the findings as JSON (ok, tables[].missing/wrong/notes).
        #[arg(long)]
        json: bool,
    },
    /// Create the DynamoDB tables, indexes, time to live and point-in-time recovery jada
    /// needs and does not find. Leaves what exists as it is (a table with another key is
    /// reported, never replaced), and never builds an index over a key an index already
    /// covers (the business's `charter_date-index` is used as it is). Prints what it will
    /// do first; a change to a business table (a new index: an online build over every
    /// item; charter_month set on charters that lack it) is made only with --yes. Waits
    /// while DynamoDB builds; leaving the wait is safe, and running it again waits again.
    CreateTables {
        /// Make the listed changes to the business's tables too (jada's own table and
        /// missing tables are made without asking)
        #[arg(long)]
        yes: bool,
    },
    /// Copy every record from one store to another: SQLite to DynamoDB, or back. Ids,
    /// versions and times are kept; what the destination has with the same key is
    /// replaced, so a copy can be run again safely (to catch up, or after a failure).
    /// Counts are checked after each kind. The link keys go along (sealed with the store
    /// key on DynamoDB), so links already sent keep working. Stop the daemons first.
    Migrate {
        /// Where to copy from: `sqlite:PATH` (a jada.db), `sqlite` (this data directory's)
        /// or `dynamodb` (the tables in [store])
        #[arg(long, value_name = "STORE")]
        from: String,
        /// Where to copy to (same forms as --from)
        #[arg(long, value_name = "STORE")]
        to: String,
        /// Print the counts as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Run a playbook once, now, and wait for its outcome.
    ///
    /// Every turn is saved as it happens. Exits 0 only when the session completed; any
    /// other outcome (turn_limit, provider_error, budget_exhausted, truncated, refused...)
    /// exits 1 and says what to do. At the turn limit the model leaves a handoff note, a
    /// task "Continue agent session N" is created, and `jada agent resume N` carries on.
    Run {
        /// The playbook (`jada agent playbooks` lists them)
        playbook: String,
        /// What the session is about (a mail, a question); the first user message
        #[arg(long, default_value = "")]
        input: String,
        /// Run only if no session exists for this key (e.g. gmail:MESSAGE_ID): one session per input
        #[arg(long)]
        input_key: Option<String>,
        /// Stop after this many model requests [default: the playbook's max_turns]
        #[arg(long)]
        max_turns: Option<u32>,
        /// Print one JSON object: session_id, outcome, turns, tokens, cost_usd, handoff
        #[arg(long)]
        json: bool,
    },
    /// The latest sessions, newest first, with their outcome, turns, tokens and cost.
    Sessions {
        /// How many
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One session: its transcript, tool calls and results, tokens, cost and outcome.
    Show {
        id: u64,
        #[arg(long)]
        json: bool,
    },
    /// Carry a session on from its saved transcript (after turn_limit, abandoned,
    /// provider_error...). Tool calls that already ran are not run again.
    Resume {
        id: u64,
        /// How many more model requests [default: the playbook's max_turns]
        #[arg(long)]
        turns: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Tool calls waiting for a person (mail to send, a captain to assign), with their
    /// exact arguments. Pending ones by default; --all for every decision.
    Approvals {
        #[arg(long)]
        all: bool,
        /// Print a list of objects: id, session_id, tool, arguments, state
        #[arg(long)]
        json: bool,
    },
    /// Approve one tool call: it runs once, with exactly the arguments shown, and its
    /// session carries on.
    Approve {
        id: u64,
        #[arg(long)]
        json: bool,
    },
    /// Deny one tool call: nothing is sent; the session is told why and carries on.
    Deny {
        id: u64,
        /// Why (the model reads it)
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// The playbooks: built in and configured, enabled or not, with their tools and limits.
    Playbooks {
        #[arg(long)]
        json: bool,
    },
    /// The other MCP servers playbooks use ([agent.mcp.NAME]): connects to each as the
    /// daemon does (starting a `command` server, then stopping it), and shows whether it
    /// answers, the tools it offers, and which playbooks use and trust each. Exits 1 when
    /// a server does not answer.
    Mcp {
        /// Print a list of objects: server, up, error, tools (name, description, used_by,
        /// trusted_by)
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Add a task.
    Add {
        /// One line saying what must be done
        title: String,
        /// The details
        #[arg(long, default_value = "")]
        body: String,
        /// The charter it is about (its id)
        #[arg(long)]
        charter: Option<String>,
        /// Who should do it
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Tasks, newest first: those still to do, or --status, or --all.
    List {
        /// open, in_progress, waiting, done or cancelled
        #[arg(long, conflicts_with = "all")]
        status: Option<String>,
        /// Every task, done and cancelled included
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One task with its notes.
    Show {
        id: u64,
        #[arg(long)]
        json: bool,
    },
    /// Add a note to a task.
    Note { id: u64, note: String },
    /// Mark a task done.
    Done {
        id: u64,
        /// Why, or what was done
        #[arg(long, default_value = "done")]
        note: String,
    },
    /// Cancel a task.
    Cancel {
        id: u64,
        /// Why
        #[arg(long, default_value = "cancelled")]
        note: String,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import (.csv or .json)
    pub file: PathBuf,
    /// The file's format, when its extension does not say
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Reject the whole file if any row is bad (default: import the good rows, report the bad)
    #[arg(long)]
    pub strict: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ChartersCommand {
    /// Import charters from CSV or JSON.
    ///
    /// Columns: charter_id,charter_date,start_time,end_time,vessel_name,guest_name,
    /// guest_count,reportable_revenue,tips,status,captain,crew (crew ids separated by `;`).
    /// Money is in dollars (1,234.50 or $1234.5; more than two decimals is refused), dates
    /// are YYYY-MM-DD or m/d/yyyy. Re-importing a charter id updates it; a column left out
    /// of the file keeps the stored value. Each bad row is reported with its line and
    /// column and the good rows are imported; the exit code is 1 if any row was rejected.
    Import(ImportArgs),
    /// List the charters of a month.
    List(ListChartersArgs),
    /// Show one charter and its chat thread.
    Show(ShowArgs),
    /// List charters that have one vessel booked twice at once (written before jada
    /// refused it, or by other tools): each pair, with both charters' times and guests.
    /// Exits 1 when there is one. Nothing is changed: cancel or move one of each pair.
    Check(CheckChartersArgs),
    /// Cancel a charter: its open crew offers are withdrawn, the crew aboard and those
    /// offered are told by mail, and dispatch stops. It can be taken back with
    /// `jada charters reinstate ID` for `[office] reinstate_hours` (72 by default).
    Cancel(ShowArgs),
    /// Take a cancel back: the charter returns to its status before the cancel (if its
    /// vessel is still free then), dispatch resumes where it stood (the people whose
    /// offers were withdrawn are asked again first), the crew aboard are told. Works for
    /// `[office] reinstate_hours` after the cancel.
    Reinstate(ShowArgs),
}

#[derive(Debug, Args)]
pub struct CheckChartersArgs {
    /// The first day to look at, YYYY-MM-DD [default: a year ago]
    #[arg(long)]
    pub from: Option<String>,
    /// The last day to look at, YYYY-MM-DD [default: two years ahead]
    #[arg(long)]
    pub to: Option<String>,
    /// Print JSON: a list of {charter, overlaps} pairs
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListChartersArgs {
    /// The month, YYYY-MM [default: the current month in the business time zone]
    #[arg(long)]
    pub month: Option<String>,
    /// Print JSON (amounts in integer cents, as stored)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The charter id (a UUID)
    pub id: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CrewCommand {
    /// Import crew from CSV or JSON.
    ///
    /// Columns: crew_id,name,email,phone,captain_certified,available_dates (dates separated
    /// by `;`), and optionally active. Re-importing a crew id updates that person.
    Import(ImportArgs),
    /// List the roster.
    List(ListCrewArgs),
}

#[derive(Debug, Args)]
pub struct ListCrewArgs {
    /// Only active crew available on this date (YYYY-MM-DD or m/d/yyyy)
    #[arg(long, value_name = "DATE")]
    pub available_on: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed for the generator
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The year whose March-October season to generate [default: the months around today]
    #[arg(long)]
    pub season: Option<i32>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults, file, environment), secrets redacted.
    Show {
        /// Print JSON instead of TOML
        #[arg(long)]
        json: bool,
    },
    /// Check the configuration; exits 2 when it is invalid, naming the key to fix.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// A table of every configured credential: kind, account, scopes, token expiry, last
    /// refresh, state and last error (as recorded by any jada process, the daemon included).
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Probe credentials live: get a token and ask Google's tokeninfo what it grants.
    /// Exits 1 if any credential is unhealthy, saying what to do about each.
    Check {
        /// Only this credential [default: all]
        name: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Refresh a credential's token now, even if the cached one is still valid.
    Refresh {
        /// The credential's name in jada.toml
        name: String,
    },
    /// Sign in as a Google user (installed-app flow with PKCE and a loopback redirect on
    /// 127.0.0.1) and write the credential's authorized_user file (mode 0600). This is
    /// how to recover a credential that needs re-auth.
    Login {
        /// The credential's name in jada.toml
        name: String,
        /// The OAuth client file (client_secret.json, "installed" app) from the Cloud
        /// console [default: the client in the credential's current file]
        #[arg(long, value_name = "FILE")]
        client_file: Option<std::path::PathBuf>,
        /// Only print the URL; do not try to open a browser
        #[arg(long)]
        no_browser: bool,
        /// Give up after this many seconds without an answer
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Print a fresh access token on stdout, for scripts (like `gcloud auth print-access-token`).
    Token {
        /// The credential's name in jada.toml
        name: String,
        /// Scopes the token must carry [default: all the credential's scopes]
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
    /// Make the secrets directory 0700 and credential and token files 0600.
    Harden,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Load the demo business first if the store is empty (embedded default, no accounts needed)
    #[arg(long)]
    pub demo: bool,
    /// Listen here instead of [server] listen (e.g. 127.0.0.1:0 for any free port)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Every job: schedule, last run, last success, next run, state.
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run a job now, the same way the scheduler does (leased and recorded). Exits 1 if it fails.
    Run {
        /// The job's name (see `jada jobs list`)
        name: String,
    },
    /// A job's recent runs, newest first.
    History {
        name: String,
        /// How many runs
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead letters: id, topic, attempts, when and why they failed.
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back in the queue (after fixing the cause).
    Retry {
        /// The event id
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every dead letter
        #[arg(long)]
        all: bool,
    },
    /// Give up on a dead letter; it stays on record as dropped.
    Drop {
        /// The event id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Firing alerts first, then resolved ones.
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Ask the daemon at this URL (default: the local daemon at [server] listen); the admin
    /// token comes from JADA_ADMIN_TOKEN or the data directory's secrets/admin-token
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// The port sheet ([jobs.port-sheet]): without --full, write the pending booking
    /// changes now (what the daemon does within seconds); with --full, diff the whole tab
    /// against the store and write the differences (the scheduled reconcile, recorded).
    PortSheet {
        /// Print the rows that would be added and changed; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Reconcile the whole tab, not only pending changes
        #[arg(long)]
        full: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Read the availability sheet into the roster now (the hourly job does the same).
    /// Prints what changes per crew member and every cell it could not read; exits 1 if
    /// any cell was unreadable (the rest is applied).
    Sync {
        /// Print what would change; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Apply even if it would remove more than the configured share of known availability
        #[arg(long)]
        force: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Write a month's revenue report (xlsx): one row per reportable charter (revenue
    /// above $0), totals as SUM formulas with cached results, in the previous month's
    /// column order when that report is in the reports folder.
    Monthly {
        /// The month, YYYY-MM [default: last month in the business time zone]
        #[arg(long)]
        month: Option<String>,
        /// Where to write it [default: <data_dir>/reports/revenue-YYYY-MM.xlsx]
        #[arg(long, value_name = "PATH")]
        out: Option<std::path::PathBuf>,
        /// Upload it to the Drive folder of [jobs.monthly-report] (replacing that month's file)
        #[arg(long)]
        upload: bool,
        /// Also share it with these addresses (comma-separated); implies --upload
        #[arg(long, value_delimiter = ',', value_name = "EMAILS")]
        share: Vec<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatementsCommand {
    /// Send a month's crew statements: each crew member who sailed gets theirs (an xlsx
    /// of their charters, role and tip share) with [statements] audit_cc in CC; the
    /// summary goes to [statements] recipients and to those of earlier summaries found
    /// by the Gmail search. Sends are recorded: a re-run sends only what is missing.
    Send {
        /// The month, YYYY-MM [default: last month in the business time zone]
        #[arg(long)]
        month: Option<String>,
        /// List the recipients and write the messages to
        /// <data_dir>/statements/YYYY-MM/dry-run/ without sending or recording them
        #[arg(long)]
        dry_run: bool,
        /// Send again to everyone, even those already sent this month's statement
        #[arg(long)]
        resend: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Which statements were sent for a month, to whom and when.
    List {
        /// The month, YYYY-MM [default: last month in the business time zone]
        #[arg(long)]
        month: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DispatchCommand {
    /// Make CREW the charter's captain and start (or restart) dispatch: the open crew
    /// seats are offered one person at a time by mail, through links to the crew page.
    AssignCaptain {
        /// The charter id
        charter: String,
        /// The captain's crew id (captain-certified, available, not on another charter then)
        crew: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Who would be offered the charter's next crew seat, in order, and why; who is left
    /// out and why; the offers so far.
    Explain {
        /// The charter id
        charter: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run one dispatch step now (the daemon does every 30 s): expire overdue offers,
    /// move every active dispatch on.
    Tick,
    /// Print a link to a crew member's schedule page (to send them by hand).
    Link {
        /// The crew id
        crew: String,
    },
    /// Make a new link-signing key. Links signed with the old key keep working for
    /// [dispatch] key_grace; use it if a link may have leaked widely.
    RotateKey,
}

#[derive(Debug, Subcommand)]
pub enum OfficeCommand {
    /// Print a sign-in link for an office user ([office] users): it works once, for 15
    /// minutes, exactly like a mailed one. For the first sign-in, before mail is set up;
    /// everyone else asks for theirs on the sign-in page.
    Link {
        /// The user's address, as listed in [office] users.
        email: String,
        /// Print JSON: email, url, expires_at
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key for the booking API or an MCP client and print it (once: only its hash
    /// is kept).
    Create {
        /// What the key is for, e.g. booking-site or desk-assistant
        name: String,
        /// For an MCP client that may only read: it is offered only the tools that read
        /// (no task or note written, no approval asked), and the booking API lets it read only
        #[arg(long)]
        mcp_read_only: bool,
    },
    /// The keys: name, when made, whether revoked (never the keys themselves).
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key at once; requests with it answer 401.
    Revoke { name: String },
}
