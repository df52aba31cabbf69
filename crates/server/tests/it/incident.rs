//! The incident that cost the business 18 hours of syncs, reproduced: the refresh token is
//! revoked while bookings keep changing. The sync fails with the re-auth message, the run
//! is recorded as failed, one alert goes out, and no event is lost; after re-auth the
//! backlog drains, the sheet converges to the store, and the alert resolves.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use jada_core::{Cents, Charter, CharterId, CharterStatus, Event};
use jada_google::auth::{CredentialConfig, ServiceOptions, TokenService};
use jada_google::client::{Endpoints, GoogleClient};
use jada_google::sheets::SCOPE;
use jada_ops::auth::StoreStateSink;
use jada_ops::port_sheet::{Columns, PortSheet, PortSheetConfig, PortSheetHandler};
use jada_ops::SystemClock;
use jada_server::alerts::{conditions, NoticeKind};
use jada_server::jobs::builtin::PortSheetReconcile;
use jada_server::jobs::runner::JobRunner;
use jada_server::jobs::{JobSpec, Registry, Schedule};
use jada_server::outbox::OutboxWorker;
use jada_store::{EventStatus, RunOutcome, Store, Trigger};
use tokio_util::sync::CancellationToken;

use crate::support::*;

fn booking(n: u128) -> Charter {
    Charter {
        charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(0xfeed_0000 + n)),
        created_at: Utc::now(),
        charter_date: Utc::now().date_naive() + chrono::Duration::days(n as i64),
        start_time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end_time: chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        vessel_name: "Marlin".into(),
        guest_name: format!("Guest {n}"),
        guest_count: 4,
        captain_assigned: None,
        crew_assigned: vec![],
        reportable_revenue: Cents(90_000),
        tips: Cents(0),
        status: CharterStatus::Booked,
        version: 0,
    }
}

async fn book(store: &dyn Store, c: Charter) -> Charter {
    let ev = vec![Event::CharterChanged {
        charter_id: c.charter_id,
        version: 1,
    }];
    store.create_charter(c, ev, Utc::now()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_loud_loses_nothing_and_recovers() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let hook = hook().await;
    let emu = google_emulator::spawn().await.unwrap();
    let client = emu.create_oauth_client();
    let user = emu.create_authorized_user(&client, &[SCOPE]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workspace.json");
    let write_file = |v: &serde_json::Value| {
        std::fs::write(&file, v.to_string()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    write_file(&user);
    let store: Arc<dyn Store> = env.store.clone();
    let creds = vec![CredentialConfig {
        name: "workspace".into(),
        file: file.clone(),
        scopes: vec![SCOPE.into()],
        subject: None,
        token_uri: None,
    }];
    let opts = ServiceOptions {
        token_uri: emu.token_uri(),
        backoff_base: Duration::from_millis(5),
        ..ServiceOptions::default()
    };
    let tokens = Arc::new(
        TokenService::new(
            creds,
            opts,
            Arc::new(SystemClock),
            Arc::new(StoreStateSink::new(store.clone())),
        )
        .unwrap(),
    );
    let sheet_id = emu.create_spreadsheet("Port", &["Port Sheet"]);
    let mut sheets = GoogleClient::new(&Endpoints::all_at(emu.base_url()), tokens.clone(), "workspace");
    sheets.backoff = Duration::from_millis(5);
    let cfg = PortSheetConfig {
        spreadsheet_id: sheet_id.clone(),
        tab: "Port Sheet".into(),
        credential: "workspace".into(),
        columns: Columns::default(),
        window_days: 30,
    };
    let sheet = Arc::new(PortSheet {
        cfg,
        client: sheets,
        store: store.clone(),
    });
    let mut worker = OutboxWorker::new(store.clone(), Arc::new(SystemClock))
        .handle("charter.changed", Arc::new(PortSheetHandler(sheet.clone())));
    worker.blocked_wait = Duration::ZERO;
    let mut spec = JobSpec::new("port-sheet", Schedule::parse("0 */30 * * * *").unwrap());
    spec.credentials = vec!["workspace".into()];
    let mut registry = Registry::default();
    registry.register(
        spec,
        Arc::new(PortSheetReconcile {
            sheet: sheet.clone(),
            clock: Arc::new(SystemClock),
            zone: Default::default(),
        }),
    );
    let runner = JobRunner {
        store: store.clone(),
        tokens: tokens.clone(),
        clock: Arc::new(SystemClock),
        registry: registry.clone(),
        owner: "d".into(),
        shutdown: CancellationToken::new(),
        alerts_due: Arc::default(),
        checks: Default::default(),
        running: Default::default(),
        run_logs: vec![],
        lease: Duration::from_secs(60),
    };
    let engine = engine(&env, &hook);
    let started = Utc::now();
    let mut now = Utc::now();
    let mut sent = Vec::new();
    let mut evaluate = |firing: Vec<jada_server::alerts::Condition>| {
        now += chrono::Duration::minutes(30);
        let engine = &engine;
        async move { engine.reconcile(&firing, now).await.unwrap() }
    };
    let conds = || async {
        let creds = jada_ops::auth::status(&tokens, store.as_ref()).await.unwrap();
        let specs: Vec<_> = registry.specs().collect();
        conditions(store.as_ref(), &specs, &creds, started, Utc::now())
            .await
            .unwrap()
    };

    // A normal day: the first booking reaches the sheet.
    book(store.as_ref(), booking(1)).await;
    assert_eq!(worker.drain().await.unwrap().handled, 1);
    assert_eq!(emu.cells(&sheet_id, "Port Sheet").len(), 2);

    // The token is revoked (a password change), and bookings keep changing.
    emu.revoke_refresh_token(user["refresh_token"].as_str().unwrap());
    emu.expire_access_tokens();
    for n in 2..=4 {
        book(store.as_ref(), booking(n)).await;
    }
    let mut first = store.get_charter(booking(1).charter_id).await.unwrap().unwrap();
    first.guest_count = 6;
    store
        .update_charter(
            first.clone(),
            1,
            vec![Event::CharterChanged {
                charter_id: first.charter_id,
                version: 2,
            }],
            Utc::now(),
        )
        .await
        .unwrap();

    for _ in 0..5 {
        let d = worker.drain().await.unwrap();
        assert_eq!(
            (d.handled, d.blocked, d.dead),
            (0, 4, 0),
            "the events wait; none is parked"
        );
        let run = runner.run("port-sheet", Trigger::Schedule).await.unwrap().unwrap();
        assert_eq!(run.outcome, RunOutcome::Failed);
        assert!(
            run.error
                .as_deref()
                .unwrap()
                .starts_with("credential `workspace` needs re-auth: run `jada auth login workspace`"),
            "{run:?}"
        );
        sent.extend(evaluate(conds().await).await);
    }
    assert_eq!(sent.len(), 1, "one alert, not one per run: {sent:#?}");
    assert_eq!(sent[0].key, "credential-reauth:workspace");
    assert!(
        sent[0].summary.contains("jobs failing because of it: port-sheet"),
        "{}",
        sent[0].summary
    );
    assert_eq!(hook.received.lock().unwrap().len(), 1);
    assert_eq!(
        store.count_events(EventStatus::Pending).await.unwrap(),
        4,
        "nothing lost"
    );
    assert_eq!(store.count_events(EventStatus::Dead).await.unwrap(), 0);

    // The operator logs in again (`jada auth login workspace` writes a new file).
    std::thread::sleep(Duration::from_millis(20));
    write_file(&emu.create_authorized_user(&client, &[SCOPE]));
    assert_eq!(worker.drain().await.unwrap().handled, 4, "the backlog drains");
    let run = runner.run("port-sheet", Trigger::Schedule).await.unwrap().unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert!(
        run.summary.unwrap().contains("no drift"),
        "the sheet converged to the store"
    );
    let cells = emu.cells(&sheet_id, "Port Sheet");
    assert_eq!(cells.len(), 5);
    assert_eq!(cells[1][6], "6", "the change made during the outage is there");
    sent.extend(evaluate(conds().await).await);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].kind, NoticeKind::Resolved);
    assert_eq!(hook.received.lock().unwrap()[1]["status"], "resolved");
}
