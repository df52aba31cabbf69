//! Conformance cases for the outbox and job runs.

use std::time::Duration;

use jada_core::Event;
use uuid::Uuid;

use super::*;
use crate::{EventStatus, RunEnd, RunOutcome, Store, StoreError, Trigger};

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
            &RunEnd::succeeded("12 rows written", 3),
            now + chrono::Duration::seconds(3),
        )
        .await
        .unwrap();
    assert_eq!(
        (done.outcome, done.summary.as_deref(), done.finished_at, done.attempts),
        (
            RunOutcome::Succeeded,
            Some("12 rows written"),
            Some(now + chrono::Duration::seconds(3)),
            3
        )
    );
    let failed = RunEnd {
        outcome: RunOutcome::Failed,
        summary: None,
        error: Some("credential `workspace` needs re-auth".into()),
        attempts: 1,
        recovery: Some(jada_core::Recovery::Operator),
        needs_reauth: Some("workspace".into()),
    };
    assert!(
        matches!(
            s.finish_run(r1.run_id, &failed, now).await.unwrap_err(),
            StoreError::NoSuchRecord { .. }
        ),
        "a finished run stays as it ended"
    );

    let r2 = s
        .start_run("port-sheet", Trigger::Manual, now + chrono::Duration::minutes(30))
        .await
        .unwrap();
    let r2 = s
        .finish_run(r2.run_id, &failed, now + chrono::Duration::minutes(31))
        .await
        .unwrap();
    assert_eq!(
        (r2.recovery, r2.needs_reauth.as_deref(), r2.attempts),
        (Some(jada_core::Recovery::Operator), Some("workspace"), 1),
        "why a run failed is kept, typed"
    );
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

pub async fn released_events_keep_their_attempts(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let e = s
        .enqueue_event(
            &Event::CrewChanged {
                crew_id: crew_id("ana"),
            },
            now,
        )
        .await
        .unwrap();
    for _ in 0..5 {
        s.claim_due_events(now, Duration::from_secs(60), 10).await.unwrap();
        s.release_event(e.event_id, "credential `workspace` needs re-auth", now)
            .await
            .unwrap();
    }
    let back = s.get_event(e.event_id).await.unwrap().unwrap();
    assert_eq!(
        (back.status, back.attempts),
        (EventStatus::Pending, 0),
        "waiting on an operator used up no attempts"
    );
    assert_eq!(back.last_error.as_deref(), Some("credential `workspace` needs re-auth"));
    let later = now + chrono::Duration::minutes(1);
    s.release_event(e.event_id, "still", later).await.unwrap();
    assert!(
        s.claim_due_events(now, Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before its next attempt"
    );
    assert_eq!(
        s.claim_due_events(later, Duration::from_secs(60), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        s.release_event(Uuid::new_v4(), "x", now).await.unwrap_err(),
        StoreError::NoSuchRecord { .. }
    ));
}

pub async fn leases(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let ttl = Duration::from_secs(60);
    assert!(s
        .try_acquire_lease("job:port-sheet", "daemon-a", now, ttl)
        .await
        .unwrap());
    assert!(
        !s.try_acquire_lease("job:port-sheet", "daemon-b", now, ttl)
            .await
            .unwrap(),
        "held by a"
    );
    assert!(
        s.try_acquire_lease("job:port-sheet", "daemon-a", now, ttl)
            .await
            .unwrap(),
        "the owner renews"
    );
    assert!(
        s.try_acquire_lease("job:outbox", "daemon-b", now, ttl).await.unwrap(),
        "leases are per name"
    );
    let later = now + chrono::Duration::seconds(61);
    assert!(
        s.try_acquire_lease("job:port-sheet", "daemon-b", later, ttl)
            .await
            .unwrap(),
        "an expired lease is taken over"
    );
    assert!(!s
        .try_acquire_lease("job:port-sheet", "daemon-a", later, ttl)
        .await
        .unwrap());
    s.release_lease("job:port-sheet", "daemon-a").await.unwrap();
    assert!(
        !s.try_acquire_lease("job:port-sheet", "daemon-a", later, ttl)
            .await
            .unwrap(),
        "only the owner releases"
    );
    s.release_lease("job:port-sheet", "daemon-b").await.unwrap();
    assert!(
        s.try_acquire_lease("job:port-sheet", "daemon-a", later, ttl)
            .await
            .unwrap(),
        "released: free again"
    );
}

pub async fn alerts(s: &impl Store) {
    use crate::{AlertRecord, AlertStatus};
    let now = t("2024-04-01T10:00:00Z");
    assert!(s.get_alert("job-failing:port-sheet").await.unwrap().is_none());
    let mut a = AlertRecord {
        key: "job-failing:port-sheet".into(),
        status: AlertStatus::Firing,
        summary: "port-sheet failing: credential `workspace` needs re-auth".into(),
        since: now,
        last_notified: Some(now),
        notifications: 1,
    };
    s.put_alert(&a).await.unwrap();
    let b = AlertRecord {
        key: "dead-letters".into(),
        status: AlertStatus::Resolved,
        ..a.clone()
    };
    s.put_alert(&b).await.unwrap();
    let c = AlertRecord {
        key: "zz-stale:roster".into(),
        ..a.clone()
    };
    s.put_alert(&c).await.unwrap();
    assert_eq!(s.get_alert("job-failing:port-sheet").await.unwrap(), Some(a.clone()));
    a.notifications = 3;
    a.status = AlertStatus::Resolved;
    s.put_alert(&a).await.unwrap();
    let keys: Vec<String> = s.list_alerts().await.unwrap().into_iter().map(|x| x.key).collect();
    assert_eq!(
        keys,
        vec!["zz-stale:roster", "dead-letters", "job-failing:port-sheet"],
        "firing first, then by key"
    );
    assert_eq!(
        s.get_alert("job-failing:port-sheet")
            .await
            .unwrap()
            .unwrap()
            .notifications,
        3
    );
}

pub async fn leases_are_listed_and_claims_released_after_a_crash(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let ttl = Duration::from_secs(600);
    assert!(s.try_acquire_lease("outbox", "host:111", now, ttl).await.unwrap());
    assert!(s.try_acquire_lease("port-sheet", "host:222", now, ttl).await.unwrap());
    let leases = s.list_leases().await.unwrap();
    assert_eq!(
        leases,
        vec![
            (
                "outbox".to_string(),
                "host:111".to_string(),
                now + chrono::Duration::seconds(600)
            ),
            (
                "port-sheet".to_string(),
                "host:222".to_string(),
                now + chrono::Duration::seconds(600)
            ),
        ]
    );
    s.enqueue_event(
        &Event::CrewChanged {
            crew_id: crew_id("ana"),
        },
        now,
    )
    .await
    .unwrap();
    let claimed = s.claim_due_events(now, ttl, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        s.claim_due_events(now, ttl, 10).await.unwrap().is_empty(),
        "claimed for 10 minutes"
    );
    assert_eq!(s.release_claims(now).await.unwrap(), 1);
    let again = s.claim_due_events(now, ttl, 10).await.unwrap();
    assert_eq!(again.len(), 1, "due again at once");
    assert_eq!(again[0].attempts, 2, "the interrupted attempt still counts");
}

pub async fn quiet_job_checks_are_kept_per_job(s: &impl Store) {
    assert!(s.last_checks().await.unwrap().is_empty());
    s.record_check("outbox", t("2024-04-01T10:00:00Z")).await.unwrap();
    s.record_check("dispatch", t("2024-04-01T10:00:05Z")).await.unwrap();
    s.record_check("outbox", t("2024-04-01T10:01:00Z")).await.unwrap();
    assert_eq!(
        s.last_checks().await.unwrap(),
        vec![
            ("dispatch".to_string(), t("2024-04-01T10:00:05Z")),
            ("outbox".to_string(), t("2024-04-01T10:01:00Z")),
        ]
    );
}

/// A write that queues events rings the store's bell, so this process's outbox runs at
/// once instead of at its next (backing-off) poll; a write without events does not.
pub async fn a_write_with_events_rings_the_outbox(s: &impl Store) {
    let bell = s.events_written();
    let rang = |bell: crate::EventsWritten| async move {
        tokio::time::timeout(Duration::from_millis(200), bell.wait())
            .await
            .is_ok()
    };
    let now = t("2024-04-01T10:00:00Z");
    s.create_charter(charter("2024-09-01", 9), vec![], now).await.unwrap();
    assert!(!rang(bell.clone()).await, "no events, no bell");
    let c = charter("2024-09-02", 9);
    let ev = Event::CharterChanged {
        charter_id: c.charter_id,
        version: 1,
    };
    s.create_charter(c, vec![ev.clone()], now).await.unwrap();
    assert!(rang(bell.clone()).await, "a charter write with events");
    assert!(!rang(bell.clone()).await, "rung once, heard once");
    s.enqueue_event(&ev, now).await.unwrap();
    assert!(rang(bell).await, "an enqueued event");
}
