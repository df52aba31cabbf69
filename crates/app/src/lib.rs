//! jada's application core: the typed configuration ([`config`]), the data directory's
//! layout ([`data_dir`]), and [`App`] — every service built once from them, for the CLI
//! and the daemon alike. A command or the daemon asks `App` for the store, the token
//! service, a Google client, the mailer, the dispatcher, the port sheet, the roster sync,
//! the report's Drive settings or the statements' settings; none of them builds its own.
//!
//! Services are made on first use and kept ([`Once`]), so `jada charters list` does not
//! read credential files or make link keys, and the daemon's parts share one token
//! service. Choosing the store backend happens here and nowhere else ([`App::open`]).
//! `[jobs.NAME]` settings are typed where they are read ([`jobs`]).

pub mod agent;
pub mod config;
pub mod data_dir;
pub mod jobs;
mod once;
pub mod shared;

use std::path::Path;
use std::sync::Arc;

use jada_core::Clock;
use jada_google::auth::{AuthError, CredentialConfig, ServiceOptions, TokenService};
use jada_google::client::GoogleClient;
use jada_ops::auth::StoreStateSink;
use jada_ops::dispatch::links::KeyFileError;
use jada_ops::dispatch::{DispatchConfig, Dispatcher, Links, MailNotifier};
use jada_ops::mail::{EmlOutbox, GmailMailer, Mailer};
use jada_ops::port_sheet::PortSheet;
use jada_ops::report::Publish;
use jada_ops::roster::RosterSync;
use jada_ops::statements::{Search, StatementsConfig};
use jada_ops::SystemClock;
use jada_store::sqlite::SqliteStore;
use jada_store::{Store, StoreError};
use tokio::sync::Notify;

pub use config::{Config, ConfigError, Source};
pub use data_dir::{DaemonLock, DataDir, DataDirError, LockError, RunningDaemon};
use once::Once;

/// Why the application could not be set up. [`AppError::is_usage`] tells the operator's
/// configuration (exit code 2) from a failure of the machine (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    LinkKeys(#[from] KeyFileError),
    /// What daemons share through the store (the sealed link keys) cannot be read.
    #[error("{0}")]
    Shared(String),
    /// A command that reads the business found no store where it looked.
    /// Agent sessions cannot run as configured (no provider, no key...).
    #[error("{0}")]
    Agent(String),
    #[error("no jada data directory at {dir} (there is no jada.db): run `jada init` (or `jada demo` for a sample business), or point --data-dir, JADA_DATA_DIR or `data_dir` in jada.toml at yours")]
    NoDataDir { dir: String },
}

impl AppError {
    /// Whether the configuration is at fault (the operator must change it).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            AppError::Config(_) | AppError::NoDataDir { .. } | AppError::Agent(_)
        )
    }
}

/// The configured business: configuration, data directory, store, clock, and the
/// services made from them on first use.
pub struct App {
    pub config: Config,
    pub data: DataDir,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Woken by whatever records a failure (a job run, a dead letter, a refused
    /// credential), so the daemon's alert loop evaluates within seconds.
    pub alerts_due: Arc<Notify>,
    tokens: Once<Arc<TokenService>>,
    mailer: Once<Arc<dyn Mailer>>,
    dispatcher: Once<Arc<Dispatcher>>,
    port_sheet: Once<Option<Arc<PortSheet>>>,
    roster: Once<Option<Arc<RosterSync>>>,
    publish: Once<Option<Arc<Publish>>>,
    statements: Once<Arc<StatementsConfig>>,
    /// The `[agent.mcp.NAME]` servers, connected on first use by the agent.
    mcp: Once<Option<Arc<dyn jada_ops::agent::tools::ExternalTools>>>,
}

/// The DynamoDB store. Loading the AWS configuration (region, credential chain) is
/// async; `App::open` is not, and may run inside a runtime or outside one, so it runs on
/// a thread of its own. Nothing is sent: the first request reports a missing table or
/// permission (`jada store check` asks at once).
#[cfg(feature = "aws")]
fn open_dynamo(config: &jada_dynamo::DynamoConfig) -> jada_dynamo::DynamoStore {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to load the AWS configuration")
                .block_on(jada_dynamo::DynamoStore::connect(config))
        })
        .join()
        .expect("loading the AWS configuration")
    })
}

/// Each vessel's turnaround, from `[[vessels]]`: what the store checks every charter write
/// against, and what `jada charters check` lists old overlaps by.
pub fn turnarounds(config: &Config) -> jada_store::Turnarounds {
    jada_store::Turnarounds::of_fleet(&config.fleet())
}

impl App {
    /// Loads the configuration (`source`, then `JADA_*`; `data_dir` wins) and opens it.
    pub fn load(source: &Source, data_dir: Option<&Path>) -> Result<App, AppError> {
        App::open(Config::load(source, data_dir)?)
    }

    /// Opens the data directory only if it holds a store: for commands that read the
    /// business, which must not answer "0 charters" from a directory made by mistake.
    pub fn open_existing(config: Config) -> Result<App, AppError> {
        let data = DataDir::new(&config.data_dir);
        if config.store.backend == config::Backend::Sqlite && !data.db().exists() {
            return Err(AppError::NoDataDir {
                dir: data.root().display().to_string(),
            });
        }
        App::open(config)
    }

    /// Makes the data directory if needed and opens the configured store: the one
    /// place the backend is chosen.
    pub fn open(config: Config) -> Result<App, AppError> {
        let data = DataDir::new(&config.data_dir);
        data.ensure()?;
        data.check_private().map_err(ConfigError::new)?;
        // The fleet's turnarounds: every charter write checks its vessel's time with them.
        let turnarounds = turnarounds(&config);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store: Arc<dyn Store> = match config.store.backend {
            config::Backend::Sqlite => Arc::new(SqliteStore::open(data.db())?.with_turnarounds(turnarounds)),
            #[cfg(feature = "aws")]
            config::Backend::Dynamodb => Arc::new(
                open_dynamo(&config.store.dynamo())
                    .with_turnarounds(turnarounds)
                    .with_clock(Arc::clone(&clock)),
            ),
            // `Config::validate` refuses this first; a config built in code meets it here.
            #[cfg(not(feature = "aws"))]
            config::Backend::Dynamodb => return Err(config::without_aws("[store] backend = \"dynamodb\"").into()),
        };
        Ok(App {
            config,
            data,
            store,
            clock,
            alerts_due: Arc::new(Notify::new()),
            tokens: Once::default(),
            mailer: Once::default(),
            dispatcher: Once::default(),
            port_sheet: Once::default(),
            roster: Once::default(),
            publish: Once::default(),
            statements: Once::default(),
            mcp: Once::default(),
        })
    }

    /// The same app on another clock (tests move time with a manual one). Call it
    /// before any service is made: they take the clock they are made with.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> App {
        self.clock = clock;
        self
    }

    /// Who jada's mail is from: the business's name and `[mail] sender`
    /// (`Blue Water Charters <office@bluewater.example.com>`), quoted as mail requires.
    pub fn sender(&self) -> String {
        let name = self.config.business.name.trim();
        match self.config.mail.sender.parse::<lettre::Address>() {
            Ok(addr) if !name.is_empty() => lettre::message::Mailbox::new(Some(name.to_string()), addr).to_string(),
            _ => self.config.mail.sender.clone(),
        }
    }

    /// An instant as people read it: business-local time with the zone ("Jul 4, 18:49 PDT").
    pub fn show_time(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        use chrono::Datelike;
        self.config.business.time_zone.show(at, self.today().year())
    }

    /// Today in the business's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.config.business.time_zone.date_of(self.clock.now())
    }

    /// The token service for every configured credential, recording their health in the
    /// store (and waking [`App::alerts_due`] when one needs re-auth).
    pub fn tokens(&self) -> Result<Arc<TokenService>, AppError> {
        self.tokens.get_or_try(|| {
            let secrets = self.data.secrets();
            let creds = self
                .config
                .credentials
                .iter()
                .map(|c| CredentialConfig {
                    name: c.name.clone(),
                    file: self.config.credential_path(c),
                    scopes: c.scopes.clone(),
                    subject: c.subject.clone(),
                    token_uri: c.token_uri.clone(),
                })
                .collect();
            let opts = ServiceOptions {
                token_uri: self.config.google.token_uri.clone(),
                tokeninfo_url: self.config.google.tokeninfo_url.clone(),
                cache_file: Some(secrets.join("unified-token.json")),
                secrets_dir: Some(secrets),
                ..ServiceOptions::default()
            };
            let sink = StoreStateSink::alerting(Arc::clone(&self.store), Arc::clone(&self.alerts_due));
            Ok(Arc::new(TokenService::new(
                creds,
                opts,
                Arc::clone(&self.clock),
                Arc::new(sink),
            )?))
        })
    }

    /// A Google client (Sheets, Drive, Gmail) acting as `credential`.
    pub fn google(&self, credential: &str) -> Result<GoogleClient, AppError> {
        Ok(GoogleClient::new(
            &self.config.google.endpoints(),
            self.tokens()?,
            credential,
        ))
    }

    /// Where mail goes: Gmail when `[mail] mode = "gmail"`, else `.eml` files in the outbox.
    pub fn mailer(&self) -> Result<Arc<dyn Mailer>, AppError> {
        self.mailer.get_or_try(|| {
            Ok(match (&self.config.mail.mode, &self.config.mail.credential) {
                (config::MailMode::Gmail, Some(credential)) => Arc::new(GmailMailer {
                    client: self.google(credential)?,
                }),
                _ => Arc::new(EmlOutbox {
                    dir: self.data.outbox(),
                }) as Arc<dyn Mailer>,
            })
        })
    }

    /// The port sheet, when `[jobs.port-sheet]` is configured.
    pub fn port_sheet(&self) -> Result<Option<Arc<PortSheet>>, AppError> {
        self.port_sheet.get_or_try(|| {
            let Some(cfg) = jobs::port_sheet(&self.config)? else {
                return Ok(None);
            };
            Ok(Some(Arc::new(PortSheet {
                client: self.google(&cfg.credential)?,
                cfg,
                store: Arc::clone(&self.store),
            })))
        })
    }

    /// The roster sync, when `[jobs.roster-sync]` is configured.
    pub fn roster(&self) -> Result<Option<Arc<RosterSync>>, AppError> {
        self.roster.get_or_try(|| {
            let Some(cfg) = jobs::roster(&self.config)? else {
                return Ok(None);
            };
            Ok(Some(Arc::new(RosterSync {
                client: self.google(&cfg.credential)?,
                cfg,
                store: Arc::clone(&self.store),
            })))
        })
    }

    /// Where the monthly report is published, when `[jobs.monthly-report]` names a folder.
    pub fn report_publish(&self) -> Result<Option<Arc<Publish>>, AppError> {
        self.publish.get_or_try(|| {
            let Some(p) = jobs::report_drive(&self.config)? else {
                return Ok(None);
            };
            Ok(Some(Arc::new(Publish {
                client: self.google(&p.credential)?,
                folder_id: p.folder_id,
                share: p.share,
            })))
        })
    }

    /// The backups `[backup]` configures, if any.
    pub fn backups(&self) -> Result<Option<Arc<jada_backup::Backups>>, AppError> {
        let Some(settings) = &self.config.backup else {
            return Ok(None);
        };
        Ok(Some(Arc::new(self.backups_to(settings)?)))
    }

    /// Backups with these settings (`[backup]`, or another target given with `--from`).
    pub fn backups_to(&self, settings: &jada_backup::Settings) -> Result<jada_backup::Backups, AppError> {
        let google = settings.credential.as_deref().map(|c| self.google(c)).transpose()?;
        let backups = jada_backup::Backups::new(settings, self.data.root(), google).map_err(ConfigError::new)?;
        Ok(backups.with_config_file(self.config.source_file.clone()))
    }

    /// `[statements]` with `[business]` and `[mail]`; the Gmail search only when mail
    /// goes through Gmail (the outbox has no sent folder to search).
    pub fn statements_config(&self) -> Result<Arc<StatementsConfig>, AppError> {
        self.statements.get_or_try(|| {
            let c = &self.config.statements;
            let search = match (&self.config.mail.mode, &self.config.mail.credential) {
                (config::MailMode::Gmail, Some(credential)) if !c.search.trim().is_empty() => Some(Search {
                    client: self.google(credential)?,
                    query: c.search.clone(),
                }),
                _ => None,
            };
            Ok(Arc::new(StatementsConfig {
                business: self.config.business.name.clone(),
                sender: self.sender(),
                audit_cc: (!c.audit_cc.trim().is_empty()).then(|| c.audit_cc.clone()),
                recipients: c.recipients.clone(),
                search,
                leftover: c.leftover_cents,
            }))
        })
    }

    /// The link keys: secrets/link-keys.json (0600, made on first use) on SQLite; on
    /// DynamoDB the store's, sealed with the store key, so every daemon signs and
    /// verifies with the same ring.
    pub fn links(&self) -> Result<Links, AppError> {
        let public_url = &self.config.server.public_url;
        match self.config.store.backend {
            config::Backend::Sqlite => Ok(Links::load_or_create(
                &jada_ops::dispatch::links::key_file(&self.data.secrets()),
                public_url,
                self.clock.now(),
            )?),
            config::Backend::Dynamodb => {
                let key = shared::StoreKey::load(&self.data.secrets())?;
                shared::block_on(shared::load_links(
                    self.store.as_ref(),
                    &key,
                    public_url,
                    self.clock.now(),
                ))
            }
        }
    }

    /// Rotates the link keys (see [`App::links`]); the old key verifies for `grace`.
    /// Returns the new key's id.
    pub fn rotate_links(&self, grace: chrono::Duration) -> Result<String, AppError> {
        match self.config.store.backend {
            config::Backend::Sqlite => Ok(Links::rotate(
                &jada_ops::dispatch::links::key_file(&self.data.secrets()),
                grace,
                self.clock.now(),
            )?),
            config::Backend::Dynamodb => {
                let key = shared::StoreKey::load(&self.data.secrets())?;
                shared::block_on(shared::rotate_links(self.store.as_ref(), &key, grace, self.clock.now()))
            }
        }
    }

    /// The dispatcher: `[dispatch]` settings, the fleet, the link keys (made on first use
    /// in secrets/link-keys.json, 0600) and offers by mail.
    pub fn dispatcher(&self) -> Result<Arc<Dispatcher>, AppError> {
        self.dispatcher.get_or_try(|| {
            let d = &self.config.dispatch;
            let links = self.links()?;
            let priority = d
                .priority
                .iter()
                .filter_map(|(k, v)| Some((jada_core::CrewId::parse(k).ok()?, *v)))
                .collect();
            let window = config::parse_duration(&d.response_window).unwrap_or(7200) as i64;
            Ok(Arc::new(Dispatcher {
                store: Arc::clone(&self.store),
                cfg: DispatchConfig {
                    fleet: self.config.fleet(),
                    zone: self.config.business.time_zone,
                    window: chrono::Duration::seconds(window),
                    fanout: d.fanout,
                    priority,
                },
                links,
                notifier: Arc::new(MailNotifier {
                    mailer: self.mailer()?,
                    sender: self.sender(),
                    business: self.config.business.name.clone(),
                    zone: self.config.business.time_zone,
                }),
            }))
        })
    }

    /// Where the business's data is, as people read it: the SQLite file, or the DynamoDB
    /// tables and their region or endpoint.
    pub fn data_location(&self) -> String {
        match self.config.store.backend {
            config::Backend::Sqlite => self.data.db().display().to_string(),
            config::Backend::Dynamodb => {
                let s = &self.config.store;
                let t = &s.tables;
                let place = match (&s.endpoint_url, &s.region) {
                    (Some(url), _) => format!("at {url}"),
                    (None, Some(region)) => format!("in {region}"),
                    (None, None) => "in the AWS chain's region".to_string(),
                };
                format!(
                    "DynamoDB tables {}, {}, {}, {} {place}",
                    t.charters, t.crew, t.chats, t.ops
                )
            }
        }
    }

    /// The bearer token for `/api/status`: `secrets/admin-token`, made on first use
    /// (0600) when `create`.
    pub fn admin_token(&self, create: bool) -> std::io::Result<Option<String>> {
        let path = self.data.secrets().join("admin-token");
        jada_google::secret_files::check_secret(&path)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::PermissionDenied, e))?;
        match std::fs::read_to_string(&path) {
            Ok(t) if !t.trim().is_empty() => return Ok(Some(t.trim().to_string())),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        if !create {
            return Ok(None);
        }
        let token = hex::encode(rand::random::<[u8; 32]>());
        jada_google::secret_files::write_private_atomic(&path, token.as_bytes())?;
        Ok(Some(token))
    }
}
