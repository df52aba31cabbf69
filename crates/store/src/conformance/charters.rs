//! Conformance cases for charters and their chat threads.

use jada_core::{CharterId, CharterStatus, ChatAuthor, ChatKind, ChatMessage, Event, Month};
use uuid::Uuid;

use super::*;
use crate::{CharterWrite, Store, StoreError};

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

/// One vessel, one charter at a time: an overlapping write is refused naming the other
/// charter; back to back, another vessel, another day or a cancelled charter are fine;
/// an update that keeps its slot is not refused; concurrent bookings of one slot leave
/// exactly one.
pub async fn a_vessel_is_never_booked_twice_at_once(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let at = |day: &str, from: (u32, u32), to: (u32, u32), vessel: &str| {
        let mut c = charter(day, 9);
        c.start_time = NaiveTime::from_hms_opt(from.0, from.1, 0).unwrap();
        c.end_time = NaiveTime::from_hms_opt(to.0, to.1, 0).unwrap();
        c.vessel_name = vessel.into();
        c
    };
    let first = s
        .create_charter(at("2024-06-01", (9, 0), (12, 0), "Marlin"), vec![], now)
        .await
        .unwrap();
    let inside = at("2024-06-01", (10, 0), (11, 0), "marlin ");
    let err = s.create_charter(inside.clone(), vec![], now).await.unwrap_err();
    match &err {
        StoreError::Overlap { id, other, .. } => {
            assert_eq!((*id, other.charter_id), (inside.charter_id, first.charter_id));
        }
        other => panic!("expected an overlap, got {other}"),
    }
    let said = err.to_string();
    assert!(
        said.contains(&first.charter_id.to_string()) && said.contains("09:00–12:00") && said.contains("Grace Hopper"),
        "{said}"
    );
    assert!(
        s.get_charter(inside.charter_id).await.unwrap().is_none(),
        "nothing written"
    );
    assert!(pending_events(s).await.is_empty(), "no event for a refused write");

    // Back to back, another vessel, another day: all fine.
    for ok in [
        at("2024-06-01", (12, 0), (14, 0), "Marlin"),
        at("2024-06-01", (7, 0), (9, 0), "Marlin"),
        at("2024-06-01", (10, 0), (11, 0), "Pelican"),
        at("2024-06-02", (10, 0), (11, 0), "Marlin"),
    ] {
        s.create_charter(ok, vec![], now).await.unwrap();
    }
    // A cancelled charter does not hold its vessel; cancelling frees the slot.
    let mut cancelled = at("2024-06-01", (15, 0), (16, 0), "Marlin");
    cancelled.status = CharterStatus::Cancelled;
    let cancelled = s.create_charter(cancelled, vec![], now).await.unwrap();
    s.create_charter(at("2024-06-01", (15, 0), (16, 0), "Marlin"), vec![], now)
        .await
        .unwrap();
    // Moving a charter onto a taken slot is refused; an update that keeps its slot is not.
    let mut moved = first.clone();
    moved.start_time = NaiveTime::from_hms_opt(13, 0, 0).unwrap();
    moved.end_time = NaiveTime::from_hms_opt(14, 30, 0).unwrap();
    let err = s.update_charter(moved, first.version, vec![], now).await.unwrap_err();
    assert!(matches!(err, StoreError::Overlap { .. }), "{err}");
    let mut recrewed = first.clone();
    recrewed.guest_count = 7;
    s.update_charter(recrewed, first.version, vec![], now).await.unwrap();
    let mut revived = cancelled.clone();
    revived.status = CharterStatus::Booked;
    let err = s
        .update_charter(revived, cancelled.version, vec![], now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Overlap { .. }),
        "reinstating onto a taken slot: {err}"
    );

    // Twenty bookings of one slot at once: exactly one is made.
    let attempts: Vec<Charter> = (0..20).map(|_| at("2024-06-03", (10, 0), (12, 0), "Marlin")).collect();
    let results = futures::future::join_all(attempts.into_iter().map(|c| s.create_charter(c, vec![], now))).await;
    let made = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Overlap { .. })))
        .count();
    assert_eq!((made, refused), (1, 19), "{results:?}");
    let day = s
        .list_charters_between(date("2024-06-03"), date("2024-06-03"))
        .await
        .unwrap();
    assert_eq!(day.len(), 1);
}

/// One charter per id, whatever its creation time: DynamoDB's key is (id, created_at),
/// so this holds there only through the id's claim. Ten creates of one id at once, each
/// with its own creation time (and boat, so the vessel rule stays out of it): one is
/// made, nine are told the charter exists, and the id reads as the one that was made.
pub async fn one_charter_per_id_whatever_its_creation_time(s: &impl Store) {
    let now = t("2024-04-01T10:00:00Z");
    let first = charter("2024-07-01", 9);
    let attempts: Vec<Charter> = (0..10)
        .map(|i| {
            let mut c = first.clone();
            c.created_at = t("2024-01-15T09:00:00Z") + chrono::Duration::seconds(i);
            c.vessel_name = format!("Boat {i} of {}", first.charter_id);
            c
        })
        .collect();
    let results = futures::future::join_all(attempts.iter().cloned().map(|c| s.create_charter(c, vec![], now))).await;
    let made: Vec<&Charter> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let exists = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::CharterExists(id)) if *id == first.charter_id))
        .count();
    assert_eq!((made.len(), exists), (1, 9), "{results:?}");
    let got = s.get_charter(first.charter_id).await.unwrap().expect("the one made");
    assert_eq!(got.vessel_name, made[0].vessel_name);
    let listed = s
        .list_charters_between(date("2024-07-01"), date("2024-07-01"))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.charter_id == first.charter_id)
        .count();
    assert_eq!(listed, 1, "the id lists once");
}
