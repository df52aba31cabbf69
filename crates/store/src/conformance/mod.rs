//! The conformance suite: every store method's contract, written once against the
//! traits. A backend's test binary runs all of it with one line:
//!
//! ```text
//! jada_store::conformance_tests!(my_backend_factory);
//! ```
//!
//! where `my_backend_factory` is an `async fn() -> (impl Store, impl Any)` returning a
//! fresh, empty store and a guard that keeps its resources (a temp dir, a table) alive.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId, CrewMember, Email, Event};
use uuid::Uuid;

use crate::{EventStatus, Store};

mod access;
mod agents;
mod charters;
mod crew;
mod offers;
mod outbox;
mod statements;

pub use access::*;
pub use agents::*;
pub use charters::*;
pub use crew::*;
pub use offers::*;
pub use outbox::*;
pub use statements::*;

/// Generates one `#[tokio::test]` per conformance case for a backend factory.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@cases $factory;
            charter_create_and_get, charter_update_bumps_version, stale_update_fails_and_leaves_no_event,
            update_of_missing_charter_fails, batch_writes_are_independent, month_and_range_listing,
            a_vessel_is_never_booked_twice_at_once, one_charter_per_id_whatever_its_creation_time,
            crew_upsert_and_lookup, crew_email_is_unique, crew_availability, chat_threads,
            outbox_claim_lease_and_ack, a_write_with_events_rings_the_outbox, outbox_failure_dead_letter_retry_and_drop, job_runs, credential_states, leases, alerts, released_events_keep_their_attempts,
            statements_sent_once_per_month_and_key,
            offers_are_answered_once, accepting_assigns_and_queues_the_change, concurrent_accepts_have_one_winner, dispatch_records,
            sessions_links_and_api_keys, shared_documents_change_only_from_what_was_read, tasks_are_numbered_noted_and_closed_once,
            agent_sessions_commit_turns_and_run_tools_once, approvals_are_decided_once_bound_to_their_arguments_and_expire,
            leases_are_listed_and_claims_released_after_a_crash, quiet_job_checks_are_kept_per_job);
    };
    (@cases $factory:path; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $factory().await;
                $crate::conformance::$case(&store).await;
            }
        )*
    };
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

fn crew_id(s: &str) -> CrewId {
    CrewId::parse(s).expect("test crew id")
}

/// A valid charter on `day` starting at `hour`, with a fresh id, on a vessel of its own
/// (so that cases about other rules never meet the one-vessel-one-charter rule).
pub fn charter(day: &str, hour: u32) -> Charter {
    let id = Uuid::new_v4();
    Charter {
        charter_id: CharterId::from_uuid(id),
        created_at: Utc.with_ymd_and_hms(2024, 1, 15, 9, 0, 0).unwrap(),
        charter_date: date(day),
        start_time: NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(hour + 2, 30, 0).unwrap(),
        vessel_name: format!("Marlin {}", &id.simple().to_string()[..8]),
        guest_name: "Grace Hopper".into(),
        guest_count: 6,
        captain_assigned: Some(crew_id("cap-1")),
        crew_assigned: vec![crew_id("deck-1"), crew_id("deck-2")],
        reportable_revenue: Cents(125_050),
        tips: Cents(20_000),
        status: CharterStatus::Booked,
        version: 0,
    }
}

fn changed(c: &Charter) -> Event {
    Event::CharterChanged {
        charter_id: c.charter_id,
        version: c.version,
    }
}

pub fn member(id: &str, email: &str) -> CrewMember {
    CrewMember {
        crew_id: crew_id(id),
        name: format!("Person {id}"),
        email: Email::parse(email).unwrap(),
        phone: Some("+1 619 555 0100".into()),
        captain_certified: false,
        available_dates: BTreeSet::new(),
        active: true,
    }
}

async fn pending_events(s: &impl Store) -> Vec<Event> {
    s.list_events(EventStatus::Pending, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}
