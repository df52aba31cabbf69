//! Bookings from the website (the booking API) and the office form: one charter created
//! or updated through the same rules and writes as an import, so every field is checked
//! the same way and the change publishes `charter.changed` (the port sheet and dispatch
//! follow). Callers hand in typed commands ([`NewBooking`], [`BookingChange`]) and get a
//! typed error back: a lost race is [`BookingError::Conflict`] carrying both versions.

use chrono::{DateTime, Utc};
use jada_core::{Charter, CharterId, Fleet};
use jada_store::{Store, StoreError};
use serde::Serialize;
use serde_json::{Map, Value};

pub use crate::import::Conflict;
use crate::import::{import_charters, CharterContext, Format, ImportError};

/// A booking's fields as a person or a website typed them; each is checked by the
/// import's rules. On an update, a field left `None` keeps the stored value; an empty
/// `captain` or `crew` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BookingFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charter_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vessel_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_count: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reportable_revenue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tips: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crew: Option<Vec<String>>,
}

/// Create a booking. `charter_id` is the website's own UUID, if it has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewBooking {
    pub charter_id: Option<String>,
    pub fields: BookingFields,
}

/// Change a booking: `version` is the one the caller read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingChange {
    pub charter_id: CharterId,
    pub version: u64,
    pub fields: BookingFields,
}

impl BookingFields {
    /// The fields as one record of the charter import (absent fields left out).
    fn record(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("the booking is not valid: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// Someone else wrote first (or the id is taken): the caller must reload.
    #[error("{0}")]
    Conflict(Conflict),
    #[error("no charter {0}")]
    NotFound(CharterId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &str, reason: impl Into<String>) -> BookingError {
    BookingError::Invalid(vec![FieldError {
        field: field.into(),
        reason: reason.into(),
    }])
}

/// Runs one record through the charter import (strict: all or nothing).
async fn import_one(
    store: &dyn Store,
    fleet: &Fleet,
    record: Map<String, Value>,
    expected_version: Option<u64>,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    let bytes = serde_json::to_vec(&Value::Array(vec![Value::Object(record)])).expect("JSON serialises");
    let ctx = CharterContext {
        fleet,
        now,
        strict: true,
        expected_version,
    };
    match import_charters(store, &bytes, Format::Json, "request body", &ctx, &|_| {}).await {
        Ok(r) if r.rejected.is_empty() => Ok(()),
        Ok(r) => Err(rejections(r.rejected)),
        Err(ImportError::Strict { report, .. }) => Err(rejections(report.rejected)),
        Err(ImportError::Store(e)) => Err(e.into()),
        Err(e) => Err(invalid("body", e.to_string())),
    }
}

/// Import rejections as field errors; a write that lost a race is a conflict.
fn rejections(rs: Vec<crate::import::Rejection>) -> BookingError {
    if let Some(c) = rs.iter().find_map(|r| r.conflict.clone()) {
        return BookingError::Conflict(c);
    }
    BookingError::Invalid(
        rs.into_iter()
            .map(|r| FieldError {
                field: r.column.unwrap_or("body").to_string(),
                reason: r.reason,
            })
            .collect(),
    )
}

/// Creates a charter. `charter_id` may be given (the website's own UUID); otherwise one
/// is made. An id that exists already is a conflict.
pub async fn create(
    store: &dyn Store,
    fleet: &Fleet,
    new: NewBooking,
    now: DateTime<Utc>,
) -> Result<Charter, BookingError> {
    let id = match new.charter_id.as_deref().map(str::trim) {
        None | Some("") => CharterId::from_uuid(uuid::Uuid::new_v4()),
        Some(s) => CharterId::parse(s).map_err(|e| invalid("charter_id", e.0))?,
    };
    if store.get_charter(id).await?.is_some() {
        return Err(BookingError::Conflict(Conflict::Exists { charter_id: id }));
    }
    let mut record = new.fields.record();
    record.insert("charter_id".into(), Value::String(id.to_string()));
    import_one(store, fleet, record, None, now).await?;
    store.get_charter(id).await?.ok_or(BookingError::NotFound(id))
}

/// A charter before and after an update (dispatch reacts to the difference).
#[derive(Debug, Clone)]
pub struct Updated {
    pub before: Charter,
    pub after: Charter,
}

/// Updates a charter: `version` must be the one the caller read (else a conflict);
/// fields left out keep their stored values, as in an import.
pub async fn update(
    store: &dyn Store,
    fleet: &Fleet,
    change: BookingChange,
    now: DateTime<Utc>,
) -> Result<Updated, BookingError> {
    let (id, version) = (change.charter_id, change.version);
    let mut record = change.fields.record();
    let stored = store.get_charter(id).await?.ok_or(BookingError::NotFound(id))?;
    if stored.version != version {
        return Err(BookingError::Conflict(Conflict::Stale {
            charter_id: id,
            your_version: version,
            current_version: stored.version,
        }));
    }
    // Required columns of the import that the caller may leave out of an update.
    let keep = [
        ("charter_date", Value::String(stored.charter_date.to_string())),
        (
            "start_time",
            Value::String(stored.start_time.format("%H:%M:%S").to_string()),
        ),
        (
            "end_time",
            Value::String(stored.end_time.format("%H:%M:%S").to_string()),
        ),
        ("vessel_name", Value::String(stored.vessel_name.clone())),
        ("guest_name", Value::String(stored.guest_name.clone())),
        ("guest_count", Value::from(stored.guest_count)),
        (
            "reportable_revenue",
            Value::String(stored.reportable_revenue.dollars_string()),
        ),
    ];
    for (k, v) in keep {
        record.entry(k).or_insert(v);
    }
    record.insert("charter_id".into(), Value::String(id.to_string()));
    // The import writes conditionally on this version: a change landing after the check
    // above is refused in the write's own transaction, not overwritten.
    import_one(store, fleet, record, Some(version), now).await?;
    let after = store.get_charter(id).await?.ok_or(BookingError::NotFound(id))?;
    Ok(Updated { before: stored, after })
}
