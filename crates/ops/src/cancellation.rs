//! A cancel that can be taken back. Whenever a charter becomes `cancelled` (the office's
//! Cancel, the booking API, an import), what it was just before is kept beside it: its
//! status, its dispatch state and who had an open crew offer. Within
//! `[office] reinstate_hours` the office, the CLI or the API can reinstate it: the status
//! comes back, dispatch resumes where it stood (the people whose offers were withdrawn
//! are asked again first), the crew aboard are told, and the chat says who did what.
//!
//! The record is a small shared document in the store (`cancellation/<charter id>`), so
//! both backends keep it without a schema of their own.

use chrono::{DateTime, Duration, Utc};
use jada_core::{Charter, CharterId, CharterStatus, ChatAuthor, ChatKind, ChatMessage, CrewId, Event};
use jada_store::{DispatchRecord, Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::dispatch::{Dispatcher, Step};
use crate::import::Conflict;

/// What a charter was just before it was cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancellation {
    pub charter_id: CharterId,
    pub previous_status: CharterStatus,
    /// Its dispatch state then (`None`: dispatch had not started).
    pub dispatch: Option<DispatchRecord>,
    /// Who held an open crew offer then (withdrawn by the cancel).
    pub offered_to: Vec<CrewId>,
    pub cancelled_at: DateTime<Utc>,
}

fn key(id: CharterId) -> String {
    format!("cancellation/{id}")
}

/// Who holds an open crew offer on the charter: the people a cancel withdraws and tells
/// (the confirmation page, the cancel's record and the dispatcher read it here).
pub async fn open_offers(store: &dyn Store, id: CharterId) -> Result<Vec<CrewId>, StoreError> {
    Ok(store
        .list_offers_for_charter(id)
        .await?
        .into_iter()
        .filter(|o| o.status.is_open())
        .map(|o| o.crew_id)
        .collect())
}

/// What `before` was, read now: taken just before the write that cancels it.
pub async fn snapshot(store: &dyn Store, before: &Charter, now: DateTime<Utc>) -> Result<Cancellation, StoreError> {
    let id = before.charter_id;
    let offered_to = open_offers(store, id).await?;
    Ok(Cancellation {
        charter_id: id,
        previous_status: before.status,
        dispatch: store.get_dispatch(id).await?,
        offered_to,
        cancelled_at: now,
    })
}

/// Who a cancel of `c` tells: the people aboard, then those holding an open offer
/// (`open_offers`). The confirmation page and the cancel itself both ask here.
pub fn told(c: &Charter, open_offers: &[CrewId]) -> Vec<CrewId> {
    let mut out: Vec<CrewId> = c.people().cloned().collect();
    for p in open_offers {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// Cancels a charter as a person asks it (the office's Cancel after its confirmation, or
/// `jada charters cancel`): written through the booking rules (so it is kept for
/// reinstating), then its offers withdrawn, the crew told and dispatch stopped. `version`
/// is the one the person saw: a charter changed since is a conflict, not cancelled.
pub async fn cancel(
    dispatcher: &Dispatcher,
    id: CharterId,
    version: u64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Charter, crate::booking::BookingError> {
    let change = crate::booking::BookingChange {
        charter_id: id,
        version,
        fields: crate::booking::BookingFields {
            status: Some(CharterStatus::Cancelled.to_string()),
            ..Default::default()
        },
    };
    let done = crate::booking::update(dispatcher.store.as_ref(), &dispatcher.cfg.fleet, change, now).await?;
    if let Err(e) = dispatcher.cancelled(id, Some(by), now).await {
        // The cancel stands; the dispatch tick sees the cancelled charter and finishes this.
        tracing::warn!(charter = %id, error = %e, "cancelled, but stopping dispatch failed; the next tick stops it");
    }
    Ok(done.after)
}

/// Keeps `c` as the charter's newest cancellation (replacing an older one).
pub async fn remember(store: &dyn Store, c: &Cancellation) -> Result<(), StoreError> {
    let value = serde_json::to_vec(c).expect("a cancellation serialises");
    // Compare-and-swap against whatever is there; two cancels of one charter cannot both
    // win the charter's own versioned write, so a second round only meets a stale read.
    for _ in 0..3 {
        let current = store.get_shared(&key(c.charter_id)).await?;
        if store
            .swap_shared(&key(c.charter_id), current.as_deref(), &value)
            .await?
        {
            return Ok(());
        }
    }
    Err(StoreError::Backend(
        format!(
            "the cancellation of {} kept changing while it was written",
            c.charter_id
        )
        .into(),
    ))
}

/// The charter's newest cancellation, if jada kept one.
pub async fn get(store: &dyn Store, id: CharterId) -> Result<Option<Cancellation>, StoreError> {
    match store.get_shared(&key(id)).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: "cancellation record",
                detail: e.to_string(),
            }),
    }
}

/// Why a charter could not be reinstated.
#[derive(Debug, thiserror::Error)]
pub enum ReinstateError {
    #[error("no charter {0}")]
    NotFound(CharterId),
    #[error("charter {id} is {status}, not cancelled: there is nothing to reinstate")]
    NotCancelled { id: CharterId, status: CharterStatus },
    #[error("charter {0} was cancelled before jada kept what a cancel changes, so its earlier status is unknown: book it again (`jada charters import`, or New booking on the office page)")]
    NoRecord(CharterId),
    #[error("charter {id} was cancelled at {cancelled_at}, more than {hours} hours ago ([office] reinstate_hours): book it again instead")]
    TooLate {
        id: CharterId,
        cancelled_at: DateTime<Utc>,
        hours: i64,
    },
    /// The slot was booked meanwhile, or the charter changed while being reinstated.
    #[error("{0}")]
    Conflict(Conflict),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ReinstateError {
    fn from(e: StoreError) -> Self {
        match Conflict::of(&e) {
            Some(c) => ReinstateError::Conflict(c),
            None => ReinstateError::Store(e),
        }
    }
}

impl ReinstateError {
    /// A short machine-readable name (the API's `code`).
    pub fn code(&self) -> &'static str {
        match self {
            ReinstateError::NotFound(_) => "not_found",
            ReinstateError::NotCancelled { .. } => "not_cancelled",
            ReinstateError::NoRecord(_) => "no_record",
            ReinstateError::TooLate { .. } => "too_late",
            ReinstateError::Conflict(Conflict::Overlap { .. }) => "overlap",
            ReinstateError::Conflict(_) => "conflict",
            ReinstateError::Store(_) => "store",
        }
    }
}

/// What reinstating did.
#[derive(Debug, Clone, Serialize)]
pub struct Reinstated {
    pub charter: Charter,
    pub cancelled_at: DateTime<Utc>,
    /// Where dispatch stands now (`None` when it could not resume: see `dispatch_error`).
    pub dispatch: Option<Step>,
    /// Why dispatch did not resume (the charter is reinstated all the same; "Restart
    /// dispatch" on its page, or `jada dispatch assign-captain`, starts it again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatch_error: Option<String>,
}

/// Takes a cancel back: the charter returns to its status before the cancel (claiming its
/// vessel's slot again, so a slot booked meanwhile refuses it), dispatch resumes, the
/// crew aboard are told and the chat tells the story. `within`: `[office] reinstate_hours`.
pub async fn reinstate(
    dispatcher: &Dispatcher,
    id: CharterId,
    by: ChatAuthor,
    within: Duration,
    now: DateTime<Utc>,
) -> Result<Reinstated, ReinstateError> {
    let store = dispatcher.store.as_ref();
    let c = store.get_charter(id).await?.ok_or(ReinstateError::NotFound(id))?;
    if c.status != CharterStatus::Cancelled {
        return Err(ReinstateError::NotCancelled { id, status: c.status });
    }
    let record = get(store, id).await?.ok_or(ReinstateError::NoRecord(id))?;
    if now - record.cancelled_at > within {
        return Err(ReinstateError::TooLate {
            id,
            cancelled_at: record.cancelled_at,
            hours: within.num_hours(),
        });
    }
    let mut next = c.clone();
    next.status = record.previous_status;
    let event = Event::CharterChanged {
        charter_id: id,
        version: c.version + 1,
    };
    // Written straight to the store: the lifecycle check of an edit (a cancelled charter
    // is final) is exactly what an undo steps around; the store still checks the slot.
    let charter = store.update_charter(next, c.version, vec![event], now).await?;
    let who = match &by {
        ChatAuthor::Operator(o) => format!(" by {o}"),
        _ => String::new(),
    };
    let ago = format!("{} ago", jada_core::text::age(now - record.cancelled_at));
    store
        .append_chat(&ChatMessage {
            message_id: uuid::Uuid::new_v4(),
            charter_id: id,
            posted_at: now,
            author: by,
            kind: ChatKind::Status,
            body: format!("reinstated{who}: back to {} (it was cancelled {ago})", charter.status),
        })
        .await?;
    let (dispatch, dispatch_error) = match dispatcher.reinstated(&charter, &record, now).await {
        Ok(step) => (Some(step), None),
        Err(e) => {
            tracing::warn!(charter = %id, error = %e, "reinstated, but dispatch did not resume");
            (None, Some(e.to_string()))
        }
    };
    Ok(Reinstated {
        charter,
        cancelled_at: record.cancelled_at,
        dispatch,
        dispatch_error,
    })
}
