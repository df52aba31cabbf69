//! The dispatch cascade against a real SQLite file with controlled time: offer, decline,
//! expiry, accept, withdrawal, exhaustion, cancellation, and a restart in the middle.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use jada_core::link::Purpose;
use jada_core::{
    BusinessZone, Cents, Charter, CharterId, CharterStatus, ChatAuthor, CrewId, CrewMember, CrewTier, Email, Fleet,
    Offer, OfferStatus, SeatRules, Vessel,
};
use jada_ops::dispatch::{Answer, Answered, DispatchConfig, Dispatcher, Links, News, Notifier};
use jada_store::sqlite::SqliteStore;
use jada_store::{CharterStore, CrewStore, DispatchStatus, OfferStore, Store};

/// Keeps every link sent, by person (and, apart, every piece of news).
#[derive(Default)]
struct Inbox(Mutex<Vec<(CrewId, String)>>, Mutex<Vec<(CrewId, News)>>);

#[async_trait]
impl Notifier for Inbox {
    async fn offer(
        &self,
        crew: &CrewMember,
        _c: &Charter,
        _o: &Offer,
        link: &str,
    ) -> Result<(), jada_ops::mail::MailError> {
        self.0.lock().unwrap().push((crew.crew_id.clone(), link.to_string()));
        Ok(())
    }

    async fn news(&self, crew: &CrewMember, _c: &Charter, news: News) -> Result<(), jada_ops::mail::MailError> {
        self.1.lock().unwrap().push((crew.crew_id.clone(), news));
        Ok(())
    }
}

impl Inbox {
    fn news(&self) -> Vec<(String, News)> {
        self.1
            .lock()
            .unwrap()
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect()
    }

    fn to(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|(c, _)| c.to_string()).collect()
    }

    fn last_link_for(&self, crew: &str) -> String {
        self.0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(c, _)| c.as_str() == crew)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| panic!("no link for {crew}"))
    }
}

fn id(s: &str) -> CrewId {
    CrewId::parse(s).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 7, 6).unwrap()
}

fn member(s: &str, captain: bool, available: bool) -> CrewMember {
    CrewMember {
        crew_id: id(s),
        name: s.to_uppercase(),
        email: Email::parse(&format!("{s}@example.com")).unwrap(),
        phone: None,
        captain_certified: captain,
        available_dates: if available { [day()].into() } else { BTreeSet::new() },
        active: true,
    }
}

fn charter(n: u128, date: NaiveDate, hour: u32, guests: u32, crew: &[&str]) -> Charter {
    Charter {
        charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(0xd15 + n)),
        created_at: "2030-01-01T00:00:00Z".parse().unwrap(),
        charter_date: date,
        start_time: NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(hour + 3, 0, 0).unwrap(),
        vessel_name: "Marlin".into(),
        guest_name: format!("Guest {n}"),
        guest_count: guests,
        captain_assigned: None,
        crew_assigned: crew.iter().map(|c| id(c)).collect(),
        reportable_revenue: Cents(100_000),
        tips: Cents(0),
        status: CharterStatus::Booked,
        version: 0,
    }
}

fn fleet() -> Fleet {
    Fleet::new(vec![Vessel {
        name: "Marlin".into(),
        turnaround: 0,
        seats: SeatRules {
            captains: 1,
            crew: vec![
                CrewTier { max_guests: 6, crew: 1 },
                CrewTier {
                    max_guests: 12,
                    crew: 2,
                },
            ],
        },
    }])
}

fn dispatcher(store: Arc<dyn Store>, dir: &Path, inbox: Arc<Inbox>, fanout: u32) -> Dispatcher {
    let now: DateTime<Utc> = "2030-07-01T09:00:00Z".parse().unwrap();
    // The link keys' folder is private, as secrets/ is.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    Dispatcher {
        store,
        cfg: DispatchConfig {
            fleet: fleet(),
            zone: BusinessZone::default(),
            fanout,
            ..DispatchConfig::default()
        },
        links: Links::load_or_create(&dir.join("link-keys.json"), "http://jada.test", now).unwrap(),
        notifier: inbox,
    }
}

/// Answers through the link, as the crew page does: verify, then answer the offer.
async fn answer_by_link(d: &Dispatcher, link: &str, a: Answer, now: DateTime<Utc>) -> Answered {
    let token = link.rsplit('/').next().unwrap();
    let claims = d.links.verify(token, now).expect("a link we sent verifies");
    let Purpose::Offer(offer) = claims.purpose else {
        panic!("an offer link")
    };
    d.answer(offer, &id(&claims.subject), a, now).await.unwrap()
}

async fn chat(store: &dyn Store, c: CharterId) -> String {
    store
        .list_chat(c)
        .await
        .unwrap()
        .iter()
        .map(|m| m.body.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn setup(dir: &Path) -> Arc<SqliteStore> {
    let store = Arc::new(SqliteStore::open(dir.join("jada.db")).unwrap());
    for m in [
        member("cap", true, true),
        member("ann", false, true),
        member("bob", false, true),
        member("cat", true, true),
        member("dan", false, false),
    ] {
        store.upsert_crew(&m).await.unwrap();
    }
    // History for fairness: bob sailed once and cat twice in the last 30 days.
    let t0 = Utc::now();
    store
        .create_charter(
            charter(90, day() - Duration::days(3), 9, 4, &["bob", "cat"]),
            vec![],
            t0,
        )
        .await
        .unwrap();
    store
        .create_charter(charter(91, day() - Duration::days(10), 9, 4, &["cat"]), vec![], t0)
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn the_cascade_offers_moves_on_fills_and_reports_exhaustion_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let c = store
        .create_charter(charter(1, day(), 10, 8, &[]), vec![], Utc::now())
        .await
        .unwrap();
    let inbox = Arc::new(Inbox::default());
    let d = dispatcher(store.clone(), dir.path(), inbox.clone(), 1);
    let t0: DateTime<Utc> = "2030-07-01T09:00:00Z".parse().unwrap();

    // The explanation before anything happens: fairness order, and who is left out.
    let ex = d.explain(c.charter_id).await.unwrap();
    let order: Vec<String> = ex.ranking.candidates.iter().map(|x| x.crew_id.to_string()).collect();
    assert_eq!(order, ["ann", "cap", "bob", "cat"]);
    assert_eq!(ex.ranking.excluded[0].0, id("dan"));

    // Assigning the captain offers the two crew seats to the first two eligible people.
    let step = d
        .assign_captain(
            c.charter_id,
            &id("cap"),
            ChatAuthor::Operator("office@example.com".into()),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(step.status, DispatchStatus::Active);
    assert_eq!(inbox.to(), ["ann", "bob"]);
    let offers = store.list_offers_for_charter(c.charter_id).await.unwrap();
    assert!(offers.iter().all(|o| o.expires_at == t0 + Duration::hours(2)));
    assert!(
        d.assign_captain(c.charter_id, &id("dan"), ChatAuthor::System, t0)
            .await
            .is_err(),
        "dan is not certified"
    );

    // bob declines: cat is asked at once.
    let t1 = t0 + Duration::minutes(10);
    assert_eq!(
        answer_by_link(&d, &inbox.last_link_for("bob"), Answer::Decline, t1).await,
        Answered::Declined
    );
    assert_eq!(inbox.to(), ["ann", "bob", "cat"]);
    // The same link does nothing the second time.
    assert_eq!(
        answer_by_link(&d, &inbox.last_link_for("bob"), Answer::Accept, t1).await,
        Answered::AlreadyClosed(OfferStatus::Declined)
    );

    // The daemon restarts: a new store handle and dispatcher on the same files.
    drop(d);
    let store2 = Arc::new(SqliteStore::open(dir.path().join("jada.db")).unwrap());
    let d = dispatcher(store2.clone(), dir.path(), inbox.clone(), 1);

    // ann never answers: past her deadline, the start-up tick expires her offer. Nobody
    // else is left (bob declined, cat holds an offer, dan is unavailable).
    let t2 = t0 + Duration::hours(3);
    let report = d.tick(t2).await.unwrap();
    assert_eq!(report.expired, 2, "{report:?}");
    // cat's offer (made at t1) expired too; with everyone asked, dispatch is exhausted.
    let rec = store2.get_dispatch(c.charter_id).await.unwrap().unwrap();
    assert_eq!(rec.status, DispatchStatus::Exhausted, "{rec:?}");
    assert!(rec.detail.contains("unable to crew"), "{}", rec.detail);
    let thread = chat(store2.as_ref(), c.charter_id).await;
    for step in [
        "captain cap assigned by office@example.com",
        "offered to ANN",
        "bob declined",
        "offered to CAT",
        "ann expired",
        "unable to crew",
    ] {
        assert!(thread.contains(step), "`{step}` missing from the thread:\n{thread}");
    }
    // An expired link cannot take the seat.
    assert_eq!(
        answer_by_link(&d, &inbox.last_link_for("cat"), Answer::Accept, t2).await,
        Answered::AlreadyClosed(OfferStatus::Expired)
    );
    // Ticking again neither repeats the note nor offers anything.
    let sent = inbox.to().len();
    d.tick(t2 + Duration::minutes(1)).await.unwrap();
    assert_eq!(inbox.to().len(), sent);
    assert_eq!(
        thread.matches("unable to crew").count(),
        chat(store2.as_ref(), c.charter_id)
            .await
            .matches("unable to crew")
            .count()
    );
}

#[tokio::test]
async fn accepting_fills_seats_and_withdraws_the_other_offers() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let c = store
        .create_charter(charter(2, day(), 10, 4, &[]), vec![], Utc::now())
        .await
        .unwrap();
    let inbox = Arc::new(Inbox::default());
    // Fan-out 2: two people hold offers for the one seat.
    let d = dispatcher(store.clone(), dir.path(), inbox.clone(), 2);
    let t0: DateTime<Utc> = "2030-07-01T09:00:00Z".parse().unwrap();
    d.assign_captain(c.charter_id, &id("cap"), ChatAuthor::System, t0)
        .await
        .unwrap();
    assert_eq!(inbox.to(), ["ann", "bob"]);

    let t1 = t0 + Duration::minutes(3);
    let Answered::Accepted(written) = answer_by_link(&d, &inbox.last_link_for("bob"), Answer::Accept, t1).await else {
        panic!("bob takes the seat");
    };
    assert_eq!(written.crew_assigned, vec![id("bob")]);
    let stored = store.get_charter(c.charter_id).await.unwrap().unwrap();
    assert_eq!(stored.crew_assigned, vec![id("bob")]);
    let offers = store.list_offers_for_charter(c.charter_id).await.unwrap();
    let ann = offers.iter().find(|o| o.crew_id == id("ann")).unwrap();
    assert_eq!(
        ann.status,
        OfferStatus::Withdrawn,
        "the seat is filled: ann's offer is withdrawn"
    );
    assert_eq!(
        store.get_dispatch(c.charter_id).await.unwrap().unwrap().status,
        DispatchStatus::Crewed
    );
    // ann's link now says the offer is closed; it changes nothing.
    assert_eq!(
        answer_by_link(&d, &inbox.last_link_for("ann"), Answer::Accept, t1).await,
        Answered::AlreadyClosed(OfferStatus::Withdrawn)
    );
    assert!(chat(store.as_ref(), c.charter_id)
        .await
        .contains("crewed: 1 crew aboard"));
}

#[tokio::test]
async fn a_cancelled_charter_stops_its_cascade_and_the_window_shrinks_near_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let c = store
        .create_charter(charter(3, day(), 10, 4, &[]), vec![], Utc::now())
        .await
        .unwrap();
    let inbox = Arc::new(Inbox::default());
    let d = dispatcher(store.clone(), dir.path(), inbox.clone(), 1);
    // 10:00 in Los Angeles is 17:00 UTC; four hours before, the window is one hour.
    let t0: DateTime<Utc> = "2030-07-06T13:00:00Z".parse().unwrap();
    d.assign_captain(c.charter_id, &id("cap"), ChatAuthor::System, t0)
        .await
        .unwrap();
    let offer = &store.list_offers_for_charter(c.charter_id).await.unwrap()[0];
    assert_eq!(offer.expires_at - offer.offered_at, Duration::hours(1));

    let mut cancelled = store.get_charter(c.charter_id).await.unwrap().unwrap();
    cancelled.status = CharterStatus::Cancelled;
    let v = cancelled.version;
    store.update_charter(cancelled, v, vec![], t0).await.unwrap();
    d.tick(t0 + Duration::seconds(30)).await.unwrap();
    let offers = store.list_offers_for_charter(c.charter_id).await.unwrap();
    assert!(offers.iter().all(|o| o.status == OfferStatus::Withdrawn), "{offers:?}");
    assert_eq!(
        store.get_dispatch(c.charter_id).await.unwrap().unwrap().status,
        DispatchStatus::Stopped
    );
    assert_eq!(
        answer_by_link(
            &d,
            &inbox.last_link_for("ann"),
            Answer::Accept,
            t0 + Duration::minutes(1)
        )
        .await,
        Answered::AlreadyClosed(OfferStatus::Withdrawn)
    );
    // The tick that noticed told the captain and the person whose offer went, once.
    d.tick(t0 + Duration::minutes(2)).await.unwrap();
    assert_eq!(
        inbox.news(),
        [("cap".into(), News::Cancelled), ("ann".into(), News::Cancelled)]
    );
}

/// The office's cancel and its undo: the cancel keeps what it changed; reinstating brings
/// back the status, asks again the people whose offers were withdrawn (first), tells the
/// crew aboard, and the chat says it all. Too late, or a slot taken meanwhile, is refused.
#[tokio::test]
async fn a_cancel_is_taken_back_within_the_window_with_status_offers_and_crew_restored() {
    use jada_ops::cancellation::{self, ReinstateError};
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let mut booked = charter(4, day(), 10, 8, &["bob"]);
    booked.status = CharterStatus::Confirmed;
    let c = store.create_charter(booked, vec![], Utc::now()).await.unwrap();
    let inbox = Arc::new(Inbox::default());
    let d = dispatcher(store.clone(), dir.path(), inbox.clone(), 1);
    let t0: DateTime<Utc> = "2030-07-01T09:00:00Z".parse().unwrap();
    d.assign_captain(c.charter_id, &id("cap"), ChatAuthor::System, t0)
        .await
        .unwrap();
    let open = |offers: Vec<Offer>| -> Vec<String> {
        offers
            .iter()
            .filter(|o| o.status.is_open())
            .map(|o| o.crew_id.to_string())
            .collect()
    };
    assert_eq!(
        open(store.list_offers_for_charter(c.charter_id).await.unwrap()),
        ["ann"]
    );
    let v = store.get_charter(c.charter_id).await.unwrap().unwrap().version;

    // A stale version is not cancelled.
    let stale = cancellation::cancel(&d, c.charter_id, v - 1, "office@example.com", t0).await;
    assert!(stale.is_err(), "{stale:?}");
    let t1 = t0 + Duration::hours(1);
    let gone = cancellation::cancel(&d, c.charter_id, v, "office@example.com", t1)
        .await
        .unwrap();
    assert_eq!(gone.status, CharterStatus::Cancelled);
    assert!(open(store.list_offers_for_charter(c.charter_id).await.unwrap()).is_empty());
    assert_eq!(
        inbox.news(),
        [
            ("cap".into(), News::Cancelled),
            ("bob".into(), News::Cancelled),
            ("ann".into(), News::Cancelled)
        ]
    );
    let kept = cancellation::get(store.as_ref(), c.charter_id).await.unwrap().unwrap();
    assert_eq!(kept.previous_status, CharterStatus::Confirmed);
    assert_eq!(kept.offered_to, [id("ann")]);
    assert_eq!(kept.cancelled_at, t1);

    // Past the window: refused, nothing changed.
    let window = Duration::hours(72);
    let late = cancellation::reinstate(&d, c.charter_id, ChatAuthor::System, window, t1 + Duration::hours(73)).await;
    assert!(
        matches!(late, Err(ReinstateError::TooLate { hours: 72, .. })),
        "{late:?}"
    );
    assert_eq!(
        store.get_charter(c.charter_id).await.unwrap().unwrap().status,
        CharterStatus::Cancelled
    );

    // Someone booked the freed slot meanwhile: reinstating would book Marlin twice.
    let other = store
        .create_charter(charter(5, day(), 11, 2, &[]), vec![], t1)
        .await
        .unwrap();
    let taken = cancellation::reinstate(&d, c.charter_id, ChatAuthor::System, window, t1 + Duration::hours(2)).await;
    assert!(
        matches!(&taken, Err(ReinstateError::Conflict(jada_ops::import::Conflict::Overlap { other: o, .. })) if o.charter_id == other.charter_id),
        "{taken:?}"
    );
    let mut moved = store.get_charter(other.charter_id).await.unwrap().unwrap();
    moved.status = CharterStatus::Cancelled;
    let mv = moved.version;
    store.update_charter(moved, mv, vec![], t1).await.unwrap();

    // Within the window: back to confirmed, ann asked again first, the crew aboard told.
    let t2 = t1 + Duration::hours(3);
    let by = ChatAuthor::Operator("office@example.com".into());
    let back = cancellation::reinstate(&d, c.charter_id, by, window, t2).await.unwrap();
    assert_eq!(back.charter.status, CharterStatus::Confirmed);
    assert_eq!(back.dispatch.unwrap().offered, [id("ann")]);
    assert_eq!(
        open(store.list_offers_for_charter(c.charter_id).await.unwrap()),
        ["ann"]
    );
    assert_eq!(
        store.get_dispatch(c.charter_id).await.unwrap().unwrap().status,
        DispatchStatus::Active
    );
    assert_eq!(
        &inbox.news()[3..],
        [("cap".into(), News::Reinstated), ("bob".into(), News::Reinstated)]
    );
    let story = chat(store.as_ref(), c.charter_id).await;
    assert!(
        story.contains("the charter was cancelled by office@example.com"),
        "{story}"
    );
    assert!(
        story.contains("reinstated by office@example.com: back to confirmed (it was cancelled 3h ago)"),
        "{story}"
    );
    // Reinstating twice says there is nothing to reinstate.
    let again = cancellation::reinstate(&d, c.charter_id, ChatAuthor::System, window, t2).await;
    assert!(matches!(again, Err(ReinstateError::NotCancelled { .. })), "{again:?}");
}
