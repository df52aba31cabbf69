//! Bookings from the website (the booking API): one charter created or updated through
//! the same rules and writes as an import, so every cell is checked the same way and the
//! change publishes `charter.changed` (the port sheet and dispatch follow).

use chrono::{DateTime, Utc};
use jada_core::{Charter, CharterId, Fleet};
use jada_store::{Store, StoreError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::import::{import_charters, CharterContext, Format, ImportError};

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
    #[error("{0}")]
    Conflict(String),
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
    if let Some(r) = rs.iter().find(|r| r.reason.contains("was changed by someone else")) {
        return BookingError::Conflict(r.reason.clone());
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
    mut record: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Charter, BookingError> {
    if record.contains_key("version") {
        return Err(invalid("version", "a new booking has no version; leave it out"));
    }
    let id = match record.get("charter_id") {
        None | Some(Value::Null) => CharterId::from_uuid(uuid::Uuid::new_v4()),
        Some(Value::String(s)) => CharterId::parse(s).map_err(|e| invalid("charter_id", e.0))?,
        Some(_) => return Err(invalid("charter_id", "expected a UUID string")),
    };
    if store.get_charter(id).await?.is_some() {
        return Err(BookingError::Conflict(format!(
            "charter {id} already exists: update it with PUT /api/charters/{id}"
        )));
    }
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
    id: CharterId,
    mut record: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Updated, BookingError> {
    let version = match record.remove("version") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(0),
        Some(_) => return Err(invalid("version", "expected a whole number")),
        None => {
            return Err(invalid(
                "version",
                "required: the version you read (GET returns it), so a change made meanwhile is not overwritten",
            ))
        }
    };
    match record.get("charter_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if CharterId::parse(s).ok() == Some(id) => {}
        Some(_) => {
            return Err(invalid(
                "charter_id",
                "does not match the charter in the URL; leave it out",
            ))
        }
    }
    let stored = store.get_charter(id).await?.ok_or(BookingError::NotFound(id))?;
    if stored.version != version {
        return Err(BookingError::Conflict(format!(
            "charter {id} was changed by someone else (your copy is version {version}, the store has version {}): GET it again and apply your change",
            stored.version
        )));
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
