//! Alerts fire once, remind, and recover; a job that never succeeds goes stale.

use std::sync::Arc;
use std::time::Duration;

use jada_google::auth::ServiceOptions;
use jada_server::alerts::{conditions, NoticeKind};
use jada_server::jobs::{JobError, Registry};
use jada_store::Trigger;

use crate::support::*;

#[tokio::test]
async fn an_eighteen_hour_outage_is_one_alert_a_few_reminders_and_one_recovery() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let hook = hook().await;
    let job = Arc::new(Switch::default());
    *job.fail.lock().unwrap() = Some(JobError::retry(
        "credential `workspace` needs re-auth: run `jada auth login workspace`",
    ));
    let mut registry = Registry::default();
    registry.register(spec("port-sheet"), job.clone());
    let runner = env.runner(registry.clone(), env.tokens(vec![], ServiceOptions::default()));
    let engine = engine(&env, &hook);
    let started = env.clock_now();

    // Every 30 minutes for 18 hours: the job runs, fails, and the alert rules are evaluated.
    let mut sent = Vec::new();
    for _ in 0..36 {
        runner.run("port-sheet", Trigger::Schedule).await.unwrap();
        let specs: Vec<_> = registry.specs().collect();
        let firing = conditions(env.store.as_ref(), &specs, &[], started, env.clock_now())
            .await
            .unwrap();
        sent.extend(engine.reconcile(&firing, env.clock_now()).await.unwrap());
        env.advance(30);
    }
    *job.fail.lock().unwrap() = None;
    runner.run("port-sheet", Trigger::Schedule).await.unwrap();
    let specs: Vec<_> = registry.specs().collect();
    let firing = conditions(env.store.as_ref(), &specs, &[], started, env.clock_now())
        .await
        .unwrap();
    sent.extend(engine.reconcile(&firing, env.clock_now()).await.unwrap());

    let kinds: Vec<NoticeKind> = sent.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        vec![
            NoticeKind::Firing,
            NoticeKind::Reminder,
            NoticeKind::Reminder,
            NoticeKind::Resolved
        ],
        "36 failed runs: one alert, reminders at 6 h and 12 h, one recovery"
    );
    let bodies = hook.received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 4, "the webhook got exactly those: {bodies:#?}");
    assert_eq!(bodies[0]["status"], "firing");
    assert_eq!(bodies[0]["alert"], "job-failing:port-sheet");
    assert_eq!(
        bodies[0]["text"],
        "ALERT: job `port-sheet` is failing: credential `workspace` needs re-auth: run `jada auth login workspace`"
    );
    assert!(
        bodies[1]["text"]
            .as_str()
            .unwrap()
            .starts_with("STILL FAILING for 6h: "),
        "{}",
        bodies[1]
    );
    assert_eq!(bodies[3]["status"], "resolved");
    assert!(
        bodies[3]["text"].as_str().unwrap().starts_with("RESOLVED after 18h: "),
        "{}",
        bodies[3]
    );
}

#[tokio::test]
async fn a_job_that_never_succeeds_within_its_window_goes_stale() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let hook = hook().await;
    let mut s = spec("roster-sync");
    s.stale_after = Some(Duration::from_secs(2 * 3600));
    let mut registry = Registry::default();
    registry.register(s, Arc::new(Switch::default()));
    let engine = engine(&env, &hook);
    let started = env.clock_now();
    let specs: Vec<_> = registry.specs().collect();

    env.advance(119);
    let firing = conditions(env.store.as_ref(), &specs, &[], started, env.clock_now())
        .await
        .unwrap();
    assert!(firing.is_empty(), "inside the window: {firing:?}");
    env.advance(2);
    let firing = conditions(env.store.as_ref(), &specs, &[], started, env.clock_now())
        .await
        .unwrap();
    assert_eq!(firing.len(), 1, "a dead man's switch: it never ran at all");
    assert_eq!(firing[0].key, "job-stale:roster-sync");
    assert!(
        firing[0]
            .summary
            .contains("has not succeeded since the daemon started 2h1m ago"),
        "{}",
        firing[0].summary
    );
    let sent = engine.reconcile(&firing, env.clock_now()).await.unwrap();
    assert_eq!(sent.len(), 1);

    // It runs and succeeds: the alert resolves; stale again only a window later.
    let runner = env.runner(registry.clone(), env.tokens(vec![], ServiceOptions::default()));
    runner.run("roster-sync", Trigger::Manual).await.unwrap();
    let firing = conditions(env.store.as_ref(), &specs, &[], started, env.clock_now())
        .await
        .unwrap();
    let sent = engine.reconcile(&firing, env.clock_now()).await.unwrap();
    assert_eq!(sent[0].kind, NoticeKind::Resolved);
    env.advance(121);
    let firing = conditions(env.store.as_ref(), &specs, &[], started, env.clock_now())
        .await
        .unwrap();
    assert!(
        firing[0].summary.contains("has not succeeded since"),
        "{}",
        firing[0].summary
    );
}

impl Env {
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        jada_core::Clock::now(self.clock.as_ref())
    }
}

#[tokio::test]
async fn a_charter_dispatch_could_not_crew_alerts_until_it_is_crewed_or_past() {
    use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId};
    use jada_store::{CharterStore, DispatchRecord, DispatchStatus, OfferStore};

    let env = Env::new("2024-05-03T08:00:00Z");
    let charter = |n: u128, day: &str| Charter {
        charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(n)),
        created_at: env.clock_now(),
        charter_date: day.parse().unwrap(),
        start_time: "10:00:00".parse().unwrap(),
        end_time: "13:00:00".parse().unwrap(),
        vessel_name: "Marlin".into(),
        guest_name: "Ada".into(),
        guest_count: 4,
        captain_assigned: Some(CrewId::parse("cap").unwrap()),
        crew_assigned: vec![],
        reportable_revenue: Cents(1),
        tips: Cents(0),
        status: CharterStatus::Booked,
        version: 0,
    };
    let soon = env
        .store
        .create_charter(charter(1, "2024-05-10"), vec![], env.clock_now())
        .await
        .unwrap();
    let past = env
        .store
        .create_charter(charter(2, "2024-04-10"), vec![], env.clock_now())
        .await
        .unwrap();
    for c in [&soon, &past] {
        let r = DispatchRecord {
            charter_id: c.charter_id,
            status: DispatchStatus::Exhausted,
            detail: "unable to crew: 1 seat(s) open and nobody left to ask".into(),
            updated_at: env.clock_now(),
        };
        env.store.put_dispatch(&r).await.unwrap();
    }
    let firing = conditions(env.store.as_ref(), &[], &[], env.clock_now(), env.clock_now())
        .await
        .unwrap();
    let keys: Vec<&str> = firing.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [format!("unable-to-crew:{}", soon.charter_id)],
        "only the charter still to come"
    );
    assert!(
        firing[0].summary.contains("jada dispatch assign-captain"),
        "{}",
        firing[0].summary
    );

    // Crewed by hand: the dispatch is no longer exhausted, and the alert clears.
    env.store
        .put_dispatch(&DispatchRecord {
            charter_id: soon.charter_id,
            status: DispatchStatus::Crewed,
            detail: "crewed".into(),
            updated_at: env.clock_now(),
        })
        .await
        .unwrap();
    let firing = conditions(env.store.as_ref(), &[], &[], env.clock_now(), env.clock_now())
        .await
        .unwrap();
    assert!(firing.is_empty(), "{firing:?}");
}

/// Ends a session of `playbook` with `outcome`, as the agent would have.
async fn session(env: &Env, playbook: &str, outcome: jada_core::agent::Outcome) -> u64 {
    use jada_core::agent::Message;
    use jada_store::{AgentStore, NewSession, SessionEnd, Started};
    let new = NewSession {
        playbook: playbook.into(),
        input: "x".into(),
        input_key: format!("k:{}", uuid::Uuid::new_v4()),
        max_turns: 30,
        owner: "host:1".into(),
    };
    let Started::New(s) = env
        .store
        .start_agent_session(&new, &Message::user_text("x"), env.clock_now())
        .await
        .unwrap()
    else {
        panic!("new")
    };
    let end = SessionEnd {
        outcome,
        handoff: None,
        error: Some("the anthropic API refused the key (HTTP 401)".into()),
        owner: None,
    };
    env.store
        .finish_agent_session(s.id, &end, env.clock_now())
        .await
        .unwrap();
    s.id
}

#[tokio::test]
async fn two_of_three_sessions_at_the_turn_limit_is_one_alert_that_resolves() {
    use jada_core::agent::Outcome::{Completed, ProviderError, TurnLimit};
    let env = Env::new("2026-07-01T08:00:00Z");
    let hook = hook().await;
    let engine = engine(&env, &hook);
    let started = env.clock_now();
    let evaluate = || async {
        let firing = conditions(env.store.as_ref(), &[], &[], started, env.clock_now())
            .await
            .unwrap();
        engine.reconcile(&firing, env.clock_now()).await.unwrap()
    };
    session(&env, "inbox-triage", TurnLimit).await;
    session(&env, "inbox-triage", Completed).await;
    session(&env, "morning-check", Completed).await;
    assert!(evaluate().await.is_empty(), "one of the last three is not a pattern");
    session(&env, "inbox-triage", TurnLimit).await;
    let sent = evaluate().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].kind, sent[0].key.as_str()),
        (NoticeKind::Firing, "agent-turn-limit:inbox-triage")
    );
    assert!(
        sent[0].summary.contains("2 of its last 3 sessions"),
        "{}",
        sent[0].summary
    );
    env.advance(10);
    assert!(evaluate().await.is_empty(), "once, not every evaluation");
    session(&env, "inbox-triage", Completed).await;
    let sent = evaluate().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, NoticeKind::Resolved);
    assert_eq!(
        hook.received.lock().unwrap().len(),
        2,
        "the webhook got the alert and its recovery"
    );

    // A refused key at the provider is its own alert, naming the cause.
    session(&env, "morning-check", ProviderError).await;
    let sent = evaluate().await;
    assert_eq!(sent[0].key, "agent-provider:morning-check");
    assert!(sent[0].summary.contains("refused the key"));
}
