//! jada's store on DynamoDB.
//!
//! The business's tables are used as its Python scripts left them: `crew-dispatch`
//! (charters), `crew-roster` (crew) and `charter-chats` (chat threads). jada reads every
//! attribute they wrote, gives the ones they never wrote documented defaults, and
//! changes only the attributes it owns (`UpdateItem`, never a `PutItem` over an item),
//! so their other attributes survive. jada's own records (outbox, runs, leases, offers,
//! sessions, tasks, agent sessions...) live in one table of its own, `jada-ops`
//! ([`docs`]: one JSON document per item, optimistic concurrency on a write token).
//!
//! Every store method is one atomic operation: a conditional write, or a
//! `TransactWriteItems` when a change spans items (a charter with its outbox events, an
//! accepted offer with its charter, event and chat note). `docs/dynamodb.md` maps each
//! method to its requests.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::Region;
use aws_smithy_http_client::tls;

mod access;
mod agents;
pub mod backups;
pub mod charters;
mod chats;
mod crew;
mod docs;
mod offers;
mod outbox;
mod records;
mod runs;
pub mod stats;
pub mod tables;
mod tasks;
mod transfer;
mod wire;

pub use tables::{Check, TableCheck};

/// The tables jada uses, by name (`[store.tables]`, whose defaults are the business's tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub charters: String,
    pub crew: String,
    pub chats: String,
    pub ops: String,
    /// The charters table's index on `charter_date`, by name. `None`: the index whose
    /// partition key is `charter_date`, whatever it is called (`charter_date-index`...).
    pub date_index: Option<String>,
}

/// Where the tables are. Credentials come from the standard AWS chain only
/// (environment, profile, instance role).
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    /// `None`: the chain's region (AWS_REGION, the profile).
    pub region: Option<String>,
    /// A local DynamoDB-compatible server, for tests and development.
    pub endpoint_url: Option<String>,
    pub tables: Tables,
    /// This daemon's name among several sharing the tables; stable across restarts, so
    /// a restarted daemon finds its own interrupted runs. Default: the host name.
    pub instance: Option<String>,
    /// Read a month through the `charter_month` index. Only when every program that
    /// writes charters sets `charter_month`: the old scripts do not, and their charters
    /// would be missing from the month. Off: one query per day on `charter_date`.
    pub month_index: bool,
    /// The read and write capacity of an index jada adds to a provisioned table
    /// (default: the table's own). Ignored on an on-demand table, which takes none.
    pub index_read_capacity: Option<u64>,
    pub index_write_capacity: Option<u64>,
}

/// How jada reaches any AWS service (DynamoDB here; SNS and CloudWatch Logs for alerts):
/// the standard credential chain, the region given or the chain's, an endpoint for a
/// local server, rustls with ring (no second HTTP stack), the SDK's retries of
/// throttling and 5xx (5 attempts, backoff with jitter) and timeouts.
pub async fn sdk_config(region: Option<&str>, endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The host's name (or `jada` when it has none to read).
pub fn default_instance() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "jada".into())
}

/// The store on DynamoDB. Cheap to clone (the SDK client is shared).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    tables: Tables,
    /// The live index names found for days (`charter_date`) and months
    /// (`charter_month`), looked up once found; a failed or empty lookup is asked again.
    date_index: std::sync::Arc<tokio::sync::OnceCell<String>>,
    month_index: std::sync::Arc<tokio::sync::OnceCell<String>>,
    month_index_wanted: bool,
    /// [store] index_read_capacity / index_write_capacity.
    index_capacity: (Option<u64>, Option<u64>),
    /// This daemon among several on the same tables (its job runs are its own).
    instance: String,
    /// Every request sent, by operation.
    stats: std::sync::Arc<stats::RequestStats>,
    /// Each vessel's turnaround, for the overlap check of every charter write.
    turnarounds: std::sync::Arc<jada_store::Turnarounds>,
    /// The caller's clock: what "today" is when an old item's status is defaulted.
    clock: StoreClock,
    /// Rung when a write of this process queued outbox events.
    events: jada_store::EventsWritten,
}

/// The caller's clock, printable (a store is `Debug`).
#[derive(Clone)]
struct StoreClock(std::sync::Arc<dyn jada_core::Clock>);

impl std::fmt::Debug for StoreClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.0.now())
    }
}

/// The clock a store has until its caller gives it one ([`DynamoStore::with_clock`]).
struct WallClock;

impl jada_core::Clock for WallClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// What jada calls the GSI on `charter_date` when it creates one. A table that has one
/// already (the old scripts' `charter_date-index`) is read through that one instead.
pub const DATE_INDEX: &str = "charter_date";
/// What jada calls the GSI it adds with [store] month_index: `charter_month` (YYYY-MM) +
/// `charter_date`, a month in one query.
pub const MONTH_INDEX: &str = "charter_month";

impl DynamoStore {
    /// A client for the configured tables. Sends no request: a missing table or a
    /// missing permission is reported by the first operation that needs it (or at once
    /// by `jada store check`).
    pub async fn connect(config: &DynamoConfig) -> DynamoStore {
        let sdk = sdk_config(config.region.as_deref(), config.endpoint_url.as_deref()).await;
        let stats = std::sync::Arc::new(stats::RequestStats::default());
        let client_config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(stats::Counter(std::sync::Arc::clone(&stats)))
            .build();
        DynamoStore {
            client: aws_sdk_dynamodb::Client::from_conf(client_config),
            stats,
            tables: config.tables.clone(),
            date_index: Default::default(),
            month_index: Default::default(),
            month_index_wanted: config.month_index,
            index_capacity: (config.index_read_capacity, config.index_write_capacity),
            instance: config.instance.clone().unwrap_or_else(default_instance),
            turnarounds: Default::default(),
            clock: StoreClock(std::sync::Arc::new(WallClock)),
            events: Default::default(),
        }
    }

    /// The store, reading "today" from this clock (the application's).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn jada_core::Clock>) -> DynamoStore {
        self.clock = StoreClock(clock);
        self
    }

    /// Today's date (UTC) by the caller's clock: old items without a status read as
    /// completed once their date is before it.
    pub(crate) fn today(&self) -> chrono::NaiveDate {
        self.clock.0.now().date_naive()
    }

    /// The store, checking charter writes against these turnarounds (the fleet's).
    pub fn with_turnarounds(mut self, t: jada_store::Turnarounds) -> DynamoStore {
        self.turnarounds = std::sync::Arc::new(t);
        self
    }

    /// Requests sent so far, by operation (retries counted).
    pub fn request_stats(&self) -> std::collections::BTreeMap<String, stats::OpStats> {
        self.stats.snapshot()
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The index a day's charters are read through: the configured one, else the live
    /// index keyed by `charter_date` (the business's, whatever its name), else jada's
    /// name for it (whose absence the query then reports, naming `create-tables`).
    pub async fn date_index(&self) -> String {
        let spec = self.date_index_spec();
        if spec.configured {
            return spec.name;
        }
        self.live_index(&self.date_index, &spec).await.unwrap_or(spec.name)
    }

    /// The month index's name when months are read through it: when configured, and the
    /// table has an index keyed by `charter_month`. Otherwise a month is one query per
    /// day on the date index, which sees every writer's charters.
    pub async fn month_index(&self) -> Option<String> {
        if !self.month_index_wanted {
            return None;
        }
        self.live_index(&self.month_index, &self.month_index_spec()).await
    }

    pub async fn uses_month_index(&self) -> bool {
        self.month_index().await.is_some()
    }

    /// The name of the live index serving `spec`, remembered once found. A failed
    /// `DescribeTable` is logged and asked again next time, never remembered.
    async fn live_index(&self, cell: &tokio::sync::OnceCell<String>, spec: &tables::IndexSpec) -> Option<String> {
        let found = cell
            .get_or_try_init(|| async {
                match self.describe(&self.tables.charters).await {
                    Ok(Some(d)) => spec.find(&d).and_then(|g| g.index_name()).map(str::to_string).ok_or(()),
                    Ok(None) => Err(()),
                    Err(e) => {
                        tracing::warn!(
                            "cannot tell which index of {} serves {} ({e}); asking again next time",
                            self.tables.charters,
                            spec.hash
                        );
                        Err(())
                    }
                }
            })
            .await;
        found.ok().cloned()
    }
}
