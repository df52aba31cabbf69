//! Talking to DynamoDB: attribute values, timestamps, what a refusal means, and which
//! failures an operator must fix (a missing table, a permission) versus which may pass
//! (throttling, after the SDK's own retries with backoff and jitter).

use std::collections::HashMap;
use std::error::Error as StdError;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use chrono::{DateTime, Utc};
use jada_store::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// What a request was, for the operator's message: `dynamodb:Query` on a table or index,
/// or a transaction over several tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op<'a> {
    pub action: &'static str,
    pub table: &'a str,
    pub index: Option<&'a str>,
    /// The other tables a transaction writes.
    pub others: &'a [String],
}

impl<'a> Op<'a> {
    pub fn new(action: &'static str, table: &'a str) -> Op<'a> {
        Op {
            action,
            table,
            index: None,
            others: &[],
        }
    }

    /// A transaction over `tables` (at least one).
    pub fn across(action: &'static str, tables: &'a [String]) -> Op<'a> {
        Op {
            action,
            table: tables.first().map(String::as_str).unwrap_or_default(),
            index: None,
            others: tables.get(1..).unwrap_or_default(),
        }
    }

    pub fn on_index(mut self, index: Option<&'a str>) -> Op<'a> {
        self.index = index;
        self
    }

    fn tables(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.table).chain(self.others.iter().map(String::as_str))
    }

    fn resource(&self) -> String {
        self.tables()
            .map(|t| {
                let table = format!("arn:aws:dynamodb:REGION:ACCOUNT:table/{t}");
                match self.index {
                    Some(i) => format!("{table}/index/{i}"),
                    None => table,
                }
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// `table `x`` (`index `i``), or `tables `x`, `y`` for a transaction.
    fn target(&self) -> String {
        if !self.others.is_empty() {
            let names: Vec<String> = self.tables().map(|t| format!("`{t}`")).collect();
            return format!("tables {}", names.join(", "));
        }
        match self.index {
            Some(i) => format!("table `{}` (index `{i}`)", self.table),
            None => format!("table `{}`", self.table),
        }
    }
}

/// A DynamoDB failure that may pass, in jada's words, with the SDK's error kept as its
/// source (for a debugger or a chain printer; jada's words already carry the code and
/// message, so a one-line print does not repeat them).
#[derive(Debug)]
pub struct DynamoFailure {
    said: String,
    source: Box<dyn StdError + Send + Sync>,
}

impl std::fmt::Display for DynamoFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said)
    }
}

impl StdError for DynamoFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// Error codes DynamoDB uses for "slow down / try later". The SDK retries these itself
/// (standard mode: exponential backoff with jitter); reaching us means it gave up.
const PASSING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "LimitExceededException",
];

const DENIED: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "MissingAuthenticationTokenException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "IncompleteSignature",
];

/// A failed request as a typed store error (conditions are handled by the caller first),
/// classified by the error code DynamoDB sends with it, never by its message.
pub(crate) fn failure<E, R>(op: Op<'_>, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    // What DynamoDB said, as people read it (never the SDK's debug form).
    let said = match (code.as_str(), message.as_str()) {
        ("", "") => chain(&err),
        (c, "") => c.to_string(),
        ("", m) => m.to_string(),
        (c, m) => format!("{c}: {m}"),
    };
    let action = op.action;
    let target = op.target();
    if code == "ResourceNotFoundException" {
        return StoreError::Setup(format!(
            "DynamoDB has no {target} (dynamodb:{action}: {said}): create it with `jada store create-tables`, \
             or name the existing table in [store.tables]; `jada store check` lists what is missing"
        ));
    }
    if code == "UnknownOperationException" {
        let need = if action.starts_with("Transact") {
            " jada needs DynamoDB transactions (TransactWriteItems): every change that spans items \
             (a charter and its events, an accepted offer) is one; use DynamoDB itself or a compatible \
             server that has them."
        } else {
            ""
        };
        return StoreError::Setup(format!(
            "this DynamoDB endpoint does not offer dynamodb:{action} ({said}).{need} Check [store] endpoint_url"
        ));
    }
    if DENIED.contains(&code.as_str()) {
        return StoreError::Setup(format!(
            "DynamoDB refused dynamodb:{action} on {target}: {said}. Grant the IAM action dynamodb:{action} on \
             {resource} to the credentials jada runs with (README: \"Running on DynamoDB\" has the \
             least-privilege policy)",
            resource = op.resource()
        ));
    }
    if code == "ValidationException" {
        return StoreError::Setup(format!(
            "DynamoDB refused dynamodb:{action} on {target} as invalid: {said}"
        ));
    }
    if let SdkError::DispatchFailure(d) = &err {
        if d.is_user() || d.is_other() {
            return StoreError::Setup(format!(
                "cannot send dynamodb:{action} to DynamoDB: {e}. Check [store] region and endpoint_url, and \
                 that AWS credentials are available (environment, profile or instance role)",
                e = chain(&err)
            ));
        }
    }
    if matches!(err, SdkError::ConstructionFailure(_)) {
        return StoreError::Setup(format!(
            "cannot build dynamodb:{action}: {e}. AWS credentials must come from the environment \
             (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), a profile (AWS_PROFILE) or an instance role",
            e = chain(&err)
        ));
    }
    // Throttling, outages and timeouts may pass (after the SDK's own retries): all are
    // `Backend`, which callers treat as retryable.
    let what = match &err {
        SdkError::TimeoutError(_) => "did not answer in time".to_string(),
        SdkError::DispatchFailure(_) => {
            "could not be reached (check [store] endpoint_url and region, and the network)".to_string()
        }
        _ if PASSING.contains(&code.as_str()) => "is busy or unavailable, after 5 attempts".to_string(),
        _ => "failed".to_string(),
    };
    let said = if matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) {
        chain(&err)
    } else {
        said
    };
    StoreError::Backend(Box::new(DynamoFailure {
        said: format!("dynamodb:{action} on {target} {what}: {said}"),
        source: Box::new(err),
    }))
}

/// A request jada could not build (a required field left out): jada's bug, not the
/// store's, and no retry helps.
pub(crate) fn built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Setup(format!(
        "jada built an incomplete DynamoDB request ({e}): a bug in jada; please report it"
    ))
}

/// DynamoDB's limit on one item, attribute names and values together.
pub(crate) const ITEM_LIMIT: usize = 400 * 1024;

/// An item's size as DynamoDB counts it (names and values, in bytes), near enough to
/// refuse what it would refuse before sending it.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(l) | AttributeValue::Ns(l) => l.iter().map(String::len).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Refuses an item of `bytes` (see [`item_size`]) that DynamoDB would refuse for its
/// size, naming what it is.
pub(crate) fn fits(bytes: usize, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    if bytes > ITEM_LIMIT {
        return Err(StoreError::TooLarge {
            what: what(),
            bytes,
            limit: ITEM_LIMIT,
        });
    }
    Ok(())
}

/// The one pager: every item a paginated `Query` or `Scan` yields (the SDK's paginator
/// follows `LastEvaluatedKey` across 1 MB pages), stopping at `limit` items, the first
/// failure as the typed store error.
pub(crate) async fn drain<E, R>(
    mut items: PaginationStream<Result<Item, SdkError<E, R>>>,
    limit: Option<usize>,
    op: Op<'_>,
) -> Result<Vec<Item>, StoreError>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let mut out = Vec::new();
    while limit.is_none_or(|l| out.len() < l) {
        match items.next().await {
            None => break,
            Some(Ok(item)) => out.push(item),
            Some(Err(e)) => return Err(failure(op, e)),
        }
    }
    Ok(out)
}

/// The pages of a paginated request, each handed to `each` (for `Select = COUNT`).
pub(crate) async fn each_page<P, E, R>(
    mut pages: PaginationStream<Result<P, SdkError<E, R>>>,
    op: Op<'_>,
    mut each: impl FnMut(P),
) -> Result<(), StoreError>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    while let Some(page) = pages.next().await {
        each(page.map_err(|e| failure(op, e))?);
    }
    Ok(())
}

/// A conditional write's answer: `Ok(true)` when it was written, `Ok(false)` when its
/// condition failed (someone else's write, or nothing to do), else the typed failure.
pub(crate) fn conditional<T, E, R>(res: Result<T, SdkError<E, R>>, op: Op<'_>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(failure(op, e)),
    }
}

/// An error and its sources on one line (the SDK's Display alone says "dispatch failure").
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// Instants as fixed-width UTC text with microseconds, so they sort as text in keys.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            // The old scripts wrote naive ISO 8601 (`2024-07-01T12:00:00.123456`), in UTC.
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(crate) fn get_n<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => Some(v),
        _ => None,
    }
}

/// A fresh random token (write tokens, transaction request tokens).
pub(crate) fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Expression values from (`:name`, value) pairs.
pub(crate) fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
