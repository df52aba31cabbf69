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
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use jada_core::{
    Cents, Charter, CharterId, CharterStatus, ChatAuthor, ChatKind, ChatMessage, CrewId, CrewMember, Email, Event,
    Month,
};
use uuid::Uuid;

use crate::{CharterWrite, EventStatus, RunOutcome, Store, StoreError, Trigger};

/// Generates one `#[tokio::test]` per conformance case for a backend factory.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@cases $factory;
            charter_create_and_get, charter_update_bumps_version, stale_update_fails_and_leaves_no_event,
            update_of_missing_charter_fails, batch_writes_are_independent, month_and_range_listing,
            crew_upsert_and_lookup, crew_email_is_unique, crew_availability, chat_threads,
            outbox_claim_lease_and_ack, outbox_failure_dead_letter_retry_and_drop, job_runs);
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

/// A valid charter on `day` starting at `hour`, with a fresh id.
pub fn charter(day: &str, hour: u32) -> Charter {
    Charter {
        charter_id: CharterId::from_uuid(Uuid::new_v4()),
        created_at: Utc.with_ymd_and_hms(2024, 1, 15, 9, 0, 0).unwrap(),
        charter_date: date(day),
        start_time: NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(hour + 2, 30, 0).unwrap(),
        vessel_name: "Marlin".into(),
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

pub async fn charter_create_and_get(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let c = charter("2024-05-03", 10);
    let ev = Event::CharterChanged {
        charter_id: c.charter_id,
        version: 1,
    };
    let stored = s.create_charter(c.clone(), vec![ev.clone()], now).await.unwrap();
    assert_eq!(stored.version, 1, "a created charter is version 1");
    let got = s
        .get_charter(c.charter_id)
        .await
        .unwrap()
        .expect("created charter is found");
    assert_eq!(got, stored);
    assert!(got.same_booking(&c), "every field survives the round trip");
    assert_eq!(pending_events(s).await, vec![ev], "the create wrote its event");

    let err = s.create_charter(c.clone(), vec![], now).await.unwrap_err();
    assert!(
        matches!(err, StoreError::CharterExists(id) if id == c.charter_id),
        "{err}"
    );

    assert!(s
        .get_charter(CharterId::from_uuid(Uuid::new_v4()))
        .await
        .unwrap()
        .is_none());
    let other = s.create_charter(charter("2024-05-04", 9), vec![], now).await.unwrap();
    let mut found = s
        .get_charters(&[c.charter_id, other.charter_id, CharterId::from_uuid(Uuid::new_v4())])
        .await
        .unwrap();
    found.sort_by_key(|c| c.charter_date);
    assert_eq!(
        found.iter().map(|c| c.charter_id).collect::<Vec<_>>(),
        vec![c.charter_id, other.charter_id]
    );
}

pub async fn charter_update_bumps_version(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let c = s.create_charter(charter("2024-05-03", 10), vec![], now).await.unwrap();
    let mut next = c.clone();
    next.guest_count = 8;
    next.status = CharterStatus::Confirmed;
    next.crew_assigned = vec![];
    next.captain_assigned = None;
    next.created_at = t("2030-01-01T00:00:00Z");
    let stored = s
        .update_charter(next.clone(), 1, vec![changed(&next)], t("2024-04-02T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored.created_at, c.created_at,
        "created_at is the sort key and never changes"
    );
    let got = s.get_charter(c.charter_id).await.unwrap().unwrap();
    assert_eq!(got, stored);
    assert_eq!(
        (
            got.guest_count,
            got.status,
            got.crew_assigned.len(),
            got.captain_assigned
        ),
        (8, CharterStatus::Confirmed, 0, None)
    );
}

pub async fn stale_update_fails_and_leaves_no_event(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let c = s.create_charter(charter("2024-05-03", 10), vec![], now).await.unwrap();
    let mut a = c.clone();
    a.guest_count = 3;
    s.update_charter(a.clone(), 1, vec![changed(&a)], now).await.unwrap();
    let mut b = c.clone();
    b.guest_count = 12;
    let stale_event = Event::CharterChanged {
        charter_id: c.charter_id,
        version: 99,
    };
    let err = s
        .update_charter(b, 1, vec![stale_event.clone()], now)
        .await
        .unwrap_err();
    match err {
        StoreError::StaleVersion { id, expected, actual } => assert_eq!((id, expected, actual), (c.charter_id, 1, 2)),
        other => panic!("expected a stale-version error, got {other}"),
    }
    assert!(
        err_message_names_fix(c.charter_id),
        "the message tells the operator what to do"
    );
    let got = s.get_charter(c.charter_id).await.unwrap().unwrap();
    assert_eq!(
        (got.guest_count, got.version),
        (3, 2),
        "the stale write changed nothing"
    );
    assert!(
        !pending_events(s).await.contains(&stale_event),
        "a refused write leaves no event behind"
    );
}

fn err_message_names_fix(id: CharterId) -> bool {
    StoreError::StaleVersion {
        id,
        expected: 1,
        actual: 2,
    }
    .to_string()
    .contains("reload it")
}

pub async fn update_of_missing_charter_fails(s: &impl Store) {
    let c = charter("2024-05-03", 10);
    let err = s
        .update_charter(c.clone(), 1, vec![changed(&c)], t("2024-04-01T10:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CharterNotFound(id) if id == c.charter_id),
        "{err}"
    );
    assert!(pending_events(s).await.is_empty());
    assert!(s.get_charter(c.charter_id).await.unwrap().is_none());
}

pub async fn batch_writes_are_independent(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let existing = s.create_charter(charter("2024-05-03", 10), vec![], now).await.unwrap();
    let fresh = charter("2024-05-04", 10);
    let mut stale = existing.clone();
    stale.guest_count = 2;
    let mut good_update = existing.clone();
    good_update.guest_count = 4;
    let writes = vec![
        CharterWrite::Create {
            charter: fresh.clone(),
            events: vec![Event::CharterChanged {
                charter_id: fresh.charter_id,
                version: 1,
            }],
        },
        CharterWrite::Create {
            charter: existing.clone(),
            events: vec![Event::CharterChanged {
                charter_id: existing.charter_id,
                version: 1,
            }],
        },
        CharterWrite::Update {
            charter: stale,
            expected_version: 7,
            events: vec![Event::CharterChanged {
                charter_id: existing.charter_id,
                version: 8,
            }],
        },
        CharterWrite::Update {
            charter: good_update,
            expected_version: 1,
            events: vec![Event::CharterChanged {
                charter_id: existing.charter_id,
                version: 2,
            }],
        },
    ];
    let results = s.write_charters(writes, now).await.unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].as_ref().unwrap().version, 1);
    assert!(matches!(results[1], Err(StoreError::CharterExists(_))));
    assert!(matches!(
        results[2],
        Err(StoreError::StaleVersion {
            expected: 7,
            actual: 1,
            ..
        })
    ));
    assert_eq!(results[3].as_ref().unwrap().guest_count, 4);
    let events = pending_events(s).await;
    assert_eq!(
        events,
        vec![
            Event::CharterChanged {
                charter_id: fresh.charter_id,
                version: 1
            },
            Event::CharterChanged {
                charter_id: existing.charter_id,
                version: 2
            },
        ],
        "only the writes that succeeded published their events, in order"
    );
    assert!(s.write_charters(vec![], now).await.unwrap().is_empty());
}

pub async fn month_and_range_listing(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let days = [
        ("2024-04-30", 9),
        ("2024-05-01", 14),
        ("2024-05-01", 9),
        ("2024-05-31", 16),
        ("2024-06-01", 9),
        ("2025-05-10", 9),
    ];
    for (d, h) in days {
        s.create_charter(charter(d, h), vec![], now).await.unwrap();
    }
    let may = s
        .list_charters_in_month(Month::parse("2024-05").unwrap())
        .await
        .unwrap();
    let got: Vec<(String, u32)> = may
        .iter()
        .map(|c| {
            (
                c.charter_date.to_string(),
                c.start_time.format("%H").to_string().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("2024-05-01".into(), 9),
            ("2024-05-01".into(), 14),
            ("2024-05-31".into(), 16)
        ],
        "one month, by date then start"
    );
    assert!(s
        .list_charters_in_month(Month::parse("2024-07").unwrap())
        .await
        .unwrap()
        .is_empty());
    let range = s
        .list_charters_between(date("2024-04-30"), date("2024-05-01"))
        .await
        .unwrap();
    assert_eq!(range.len(), 3, "both ends of the range are included");
    assert_eq!(range[0].charter_date, date("2024-04-30"));

    // Moving a charter to another month moves it in the index.
    let mut moved = may[0].clone();
    moved.charter_date = date("2024-06-15");
    s.update_charter(moved, 1, vec![], now).await.unwrap();
    assert_eq!(
        s.list_charters_in_month(Month::parse("2024-05").unwrap())
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.list_charters_in_month(Month::parse("2024-06").unwrap())
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn crew_upsert_and_lookup(s: &impl Store) {
    let mut ana = member("ana", "ana@example.com");
    ana.available_dates = [date("2024-05-03"), date("2024-05-04")].into();
    s.upsert_crew(&ana).await.unwrap();
    s.upsert_crew(&member("bo", "bo@example.com")).await.unwrap();
    assert_eq!(s.get_crew(&crew_id("ana")).await.unwrap().unwrap(), ana);
    assert!(s.get_crew(&crew_id("nobody")).await.unwrap().is_none());
    let by_email = s
        .get_crew_by_email(&Email::parse("ANA@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.crew_id, ana.crew_id);
    assert!(s
        .get_crew_by_email(&Email::parse("x@example.com").unwrap())
        .await
        .unwrap()
        .is_none());

    let mut ana2 = ana.clone();
    ana2.name = "Ana María".into();
    ana2.email = Email::parse("ana.m@example.com").unwrap();
    ana2.captain_certified = true;
    ana2.available_dates = [date("2024-06-01")].into();
    s.upsert_crew(&ana2).await.unwrap();
    let list = s.list_crew().await.unwrap();
    assert_eq!(
        list.iter().map(|m| m.crew_id.as_str()).collect::<Vec<_>>(),
        vec!["ana", "bo"]
    );
    assert_eq!(list[0], ana2, "an upsert replaces every field, availability included");
    assert!(
        s.get_crew_by_email(&ana.email).await.unwrap().is_none(),
        "the old email no longer finds anyone"
    );
}

pub async fn crew_email_is_unique(s: &impl Store) {
    s.upsert_crew(&member("ana", "ana@example.com")).await.unwrap();
    let err = s.upsert_crew(&member("bo", "ana@example.com")).await.unwrap_err();
    match &err {
        StoreError::EmailTaken { email, owner } => {
            assert_eq!((email.as_str(), owner.as_str()), ("ana@example.com", "ana"))
        }
        other => panic!("expected EmailTaken, got {other}"),
    }
    assert!(
        s.get_crew(&crew_id("bo")).await.unwrap().is_none(),
        "the refused upsert wrote nothing"
    );
}

pub async fn crew_availability(s: &impl Store) {
    let mut ana = member("ana", "ana@example.com");
    ana.available_dates = [date("2024-05-03")].into();
    let mut bo = member("bo", "bo@example.com");
    bo.available_dates = [date("2024-05-03"), date("2024-05-05")].into();
    let mut cy = member("cy", "cy@example.com");
    cy.available_dates = [date("2024-05-03")].into();
    cy.active = false;
    for m in [&ana, &bo, &cy] {
        s.upsert_crew(m).await.unwrap();
    }
    let on = |d: &'static str| async move {
        s.list_crew_available_on(date(d))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.crew_id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        on("2024-05-03").await,
        vec!["ana", "bo"],
        "inactive crew are never listed"
    );
    assert_eq!(on("2024-05-05").await, vec!["bo"]);
    assert!(on("2024-05-04").await.is_empty());

    s.set_availability(&crew_id("ana"), &[date("2024-05-04")].into())
        .await
        .unwrap();
    assert_eq!(on("2024-05-03").await, vec!["bo"]);
    assert_eq!(on("2024-05-04").await, vec!["ana"]);
    let listed = s.list_crew_available_on(date("2024-05-04")).await.unwrap();
    assert_eq!(
        listed[0].available_dates,
        [date("2024-05-04")].into(),
        "listed members carry their dates"
    );
    let err = s
        .set_availability(&crew_id("nobody"), &BTreeSet::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CrewNotFound(_)), "{err}");
}

pub async fn chat_threads(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let c = s.create_charter(charter("2024-05-03", 10), vec![], now).await.unwrap();
    let other = s.create_charter(charter("2024-05-03", 14), vec![], now).await.unwrap();
    let msg = |charter_id, at: &str, author, body: &str| ChatMessage {
        message_id: Uuid::new_v4(),
        charter_id,
        posted_at: t(at),
        author,
        kind: ChatKind::Note,
        body: body.into(),
    };
    let first = msg(
        c.charter_id,
        "2024-04-01T10:00:00Z",
        ChatAuthor::System,
        "offered to ana",
    );
    let same_instant = msg(
        c.charter_id,
        "2024-04-01T10:00:00Z",
        ChatAuthor::Crew(crew_id("ana")),
        "accepted",
    );
    let earlier_posted_later = msg(
        c.charter_id,
        "2024-04-01T09:00:00Z",
        ChatAuthor::Operator("office@example.com".into()),
        "note",
    );
    for m in [&first, &same_instant, &earlier_posted_later] {
        s.append_chat(m).await.unwrap();
    }
    s.append_chat(&msg(
        other.charter_id,
        "2024-04-01T10:00:00Z",
        ChatAuthor::System,
        "elsewhere",
    ))
    .await
    .unwrap();
    let thread = s.list_chat(c.charter_id).await.unwrap();
    assert_eq!(
        thread,
        vec![earlier_posted_later, first, same_instant],
        "by time, ties in append order"
    );
    let orphan = msg(
        CharterId::from_uuid(Uuid::new_v4()),
        "2024-04-01T10:00:00Z",
        ChatAuthor::System,
        "x",
    );
    assert!(matches!(
        s.append_chat(&orphan).await.unwrap_err(),
        StoreError::CharterNotFound(_)
    ));
}

pub async fn outbox_claim_lease_and_ack(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let lease = Duration::from_secs(60);
    let a = s
        .enqueue_event(
            &Event::CrewChanged {
                crew_id: crew_id("ana"),
            },
            now,
        )
        .await
        .unwrap();
    let b = s
        .enqueue_event(&Event::CrewChanged { crew_id: crew_id("bo") }, now)
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.attempts, a.next_attempt_at),
        (EventStatus::Pending, 0, now)
    );
    assert!(
        s.claim_due_events(now - chrono::Duration::seconds(1), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before it was written"
    );

    let claimed = s.claim_due_events(now, lease, 1).await.unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        vec![a.event_id],
        "oldest first, up to the limit"
    );
    assert_eq!(claimed[0].attempts, 1);
    let claimed = s.claim_due_events(now, lease, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        vec![b.event_id],
        "a leased event is not handed out twice"
    );
    assert!(s
        .claim_due_events(now + chrono::Duration::seconds(30), lease, 10)
        .await
        .unwrap()
        .is_empty());

    // The worker holding `a` died: after the lease it is due again.
    let again = s
        .claim_due_events(now + chrono::Duration::seconds(61), lease, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].attempts, 2);

    s.ack_event(a.event_id, now + chrono::Duration::seconds(62))
        .await
        .unwrap();
    let done = s.get_event(a.event_id).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.finished_at),
        (EventStatus::Done, Some(now + chrono::Duration::seconds(62)))
    );
    assert_eq!(s.count_events(EventStatus::Done).await.unwrap(), 1);
    assert_eq!(s.count_events(EventStatus::Pending).await.unwrap(), 1);
    assert!(
        s.claim_due_events(now + chrono::Duration::hours(1), lease, 10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.event_id != a.event_id),
        "a done event is never claimed"
    );
    assert!(
        matches!(
            s.ack_event(a.event_id, now).await.unwrap_err(),
            StoreError::NoSuchRecord { .. }
        ),
        "acking twice is refused"
    );
    assert!(s.get_event(Uuid::new_v4()).await.unwrap().is_none());
}

pub async fn outbox_failure_dead_letter_retry_and_drop(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let lease = Duration::from_secs(60);
    let e = s
        .enqueue_event(
            &Event::CrewChanged {
                crew_id: crew_id("ana"),
            },
            now,
        )
        .await
        .unwrap();
    s.claim_due_events(now, lease, 10).await.unwrap();
    let retry_at = now + chrono::Duration::minutes(5);
    s.fail_event(e.event_id, "sheets answered 503", retry_at).await.unwrap();
    assert!(
        s.claim_due_events(now + chrono::Duration::minutes(4), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "backoff is honoured"
    );
    let claimed = s.claim_due_events(retry_at, lease, 10).await.unwrap();
    assert_eq!(
        (claimed.len(), claimed[0].attempts, claimed[0].last_error.as_deref()),
        (1, 2, Some("sheets answered 503"))
    );

    s.mark_event_dead(e.event_id, "gave up after 2 attempts: sheets answered 503", retry_at)
        .await
        .unwrap();
    let dead = s.list_events(EventStatus::Dead, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("gave up after 2 attempts: sheets answered 503")
    );
    assert!(
        s.claim_due_events(now + chrono::Duration::days(1), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "dead letters are parked"
    );
    assert_eq!(s.count_events(EventStatus::Dead).await.unwrap(), 1);

    let later = now + chrono::Duration::hours(2);
    s.retry_dead_event(e.event_id, later).await.unwrap();
    let back = s.get_event(e.event_id).await.unwrap().unwrap();
    assert_eq!(
        (back.status, back.attempts, back.next_attempt_at),
        (EventStatus::Pending, 0, later)
    );
    assert!(
        matches!(
            s.retry_dead_event(e.event_id, later).await.unwrap_err(),
            StoreError::NoSuchRecord { .. }
        ),
        "only dead letters are retried"
    );

    s.claim_due_events(later, lease, 10).await.unwrap();
    s.mark_event_dead(e.event_id, "still failing", later).await.unwrap();
    s.drop_dead_event(e.event_id, later).await.unwrap();
    let dropped = s.get_event(e.event_id).await.unwrap().unwrap();
    assert_eq!(dropped.status, EventStatus::Dropped, "a dropped event stays on record");
    assert_eq!(s.list_events(EventStatus::Dropped, 10).await.unwrap().len(), 1);
    assert!(matches!(
        s.fail_event(e.event_id, "x", later).await.unwrap_err(),
        StoreError::NoSuchRecord { .. }
    ));
    assert!(matches!(
        s.mark_event_dead(Uuid::new_v4(), "x", later).await.unwrap_err(),
        StoreError::NoSuchRecord { .. }
    ));
    assert!(matches!(
        s.drop_dead_event(e.event_id, later).await.unwrap_err(),
        StoreError::NoSuchRecord { .. }
    ));
}

pub async fn job_runs(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    assert!(s.last_success("port-sheet").await.unwrap().is_none());
    let r1 = s.start_run("port-sheet", Trigger::Schedule, now).await.unwrap();
    assert_eq!(r1.outcome, RunOutcome::Running);
    let done = s
        .finish_run(
            r1.run_id,
            RunOutcome::Succeeded,
            Some("12 rows written"),
            None,
            now + chrono::Duration::seconds(3),
        )
        .await
        .unwrap();
    assert_eq!(
        (done.outcome, done.summary.as_deref(), done.finished_at),
        (
            RunOutcome::Succeeded,
            Some("12 rows written"),
            Some(now + chrono::Duration::seconds(3))
        )
    );
    assert!(
        matches!(
            s.finish_run(r1.run_id, RunOutcome::Failed, None, None, now)
                .await
                .unwrap_err(),
            StoreError::NoSuchRecord { .. }
        ),
        "a finished run stays as it ended"
    );

    let r2 = s
        .start_run("port-sheet", Trigger::Manual, now + chrono::Duration::minutes(30))
        .await
        .unwrap();
    s.finish_run(
        r2.run_id,
        RunOutcome::Failed,
        None,
        Some("credential `workspace` needs re-auth"),
        now + chrono::Duration::minutes(31),
    )
    .await
    .unwrap();
    let other = s
        .start_run("token-health", Trigger::Startup, now + chrono::Duration::minutes(40))
        .await
        .unwrap();
    let hanging = s
        .start_run("port-sheet", Trigger::Schedule, now + chrono::Duration::minutes(60))
        .await
        .unwrap();

    assert_eq!(
        s.last_success("port-sheet").await.unwrap().unwrap().run_id,
        r1.run_id,
        "the last success, not the last run"
    );
    let recent = s.recent_runs(Some("port-sheet"), 2).await.unwrap();
    assert_eq!(
        recent.iter().map(|r| r.run_id).collect::<Vec<_>>(),
        vec![hanging.run_id, r2.run_id],
        "newest first, limited"
    );
    assert_eq!(recent[1].error.as_deref(), Some("credential `workspace` needs re-auth"));
    assert_eq!(s.recent_runs(None, 10).await.unwrap().len(), 4);

    assert_eq!(
        s.abandon_running_runs(now + chrono::Duration::hours(2)).await.unwrap(),
        2
    );
    let runs = s.recent_runs(None, 10).await.unwrap();
    let abandoned: Vec<_> = runs
        .iter()
        .filter(|r| r.outcome == RunOutcome::Abandoned)
        .map(|r| r.run_id)
        .collect();
    assert_eq!(abandoned, vec![hanging.run_id, other.run_id]);
    assert_eq!(
        s.abandon_running_runs(now + chrono::Duration::hours(3)).await.unwrap(),
        0
    );
}
