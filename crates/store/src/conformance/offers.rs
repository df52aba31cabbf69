//! Dispatch offers: each answered once, one winner per seat, nobody double-booked.

use chrono::{DateTime, Duration, Utc};
use jada_core::{Charter, ChatAuthor, ChatKind, ChatMessage, CrewId, Event, Offer, OfferStatus, SeatKind};
use uuid::Uuid;

use super::{charter, pending_events, t};
use crate::{Acceptance, DispatchRecord, DispatchStatus, Store};

fn note(c: &Charter, body: &str, at: DateTime<Utc>) -> ChatMessage {
    ChatMessage {
        message_id: Uuid::new_v4(),
        charter_id: c.charter_id,
        posted_at: at,
        author: ChatAuthor::System,
        kind: ChatKind::Offer,
        body: body.into(),
    }
}

fn offer(c: &Charter, crew: &str, seat: SeatKind, at: DateTime<Utc>) -> Offer {
    Offer {
        offer_id: Uuid::new_v4(),
        charter_id: c.charter_id,
        crew_id: CrewId::parse(crew).unwrap(),
        seat,
        status: OfferStatus::Offered,
        offered_at: at,
        expires_at: at + Duration::hours(2),
        answered_at: None,
    }
}

/// A charter with a captain and no crew yet.
async fn open_charter(s: &impl Store, day: &str, hour: u32) -> Charter {
    let mut c = charter(day, hour);
    c.crew_assigned.clear();
    s.create_charter(c, vec![], t("2024-04-01T10:00:00Z")).await.unwrap()
}

pub async fn offers_are_answered_once(s: &impl Store) {
    let now = t("2024-05-01T10:00:00Z");
    let c = open_charter(s, "2024-05-03", 10).await;
    let a = offer(&c, "deck-1", SeatKind::Crew, now);
    let b = offer(&c, "deck-2", SeatKind::Crew, now + Duration::minutes(1));
    s.create_offer(&a, &note(&c, "offered to deck-1", now)).await.unwrap();
    s.create_offer(&b, &note(&c, "offered to deck-2", now)).await.unwrap();
    assert_eq!(s.get_offer(a.offer_id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_offer(Uuid::new_v4()).await.unwrap(), None);
    let ids: Vec<Uuid> = s
        .list_offers_for_charter(c.charter_id)
        .await
        .unwrap()
        .iter()
        .map(|o| o.offer_id)
        .collect();
    assert_eq!(ids, [a.offer_id, b.offer_id]);
    assert_eq!(s.list_open_offers_for_crew(&a.crew_id).await.unwrap(), vec![a.clone()]);

    assert!(s
        .list_offers_due(now + Duration::minutes(119))
        .await
        .unwrap()
        .is_empty());
    let due = s.list_offers_due(now + Duration::hours(2)).await.unwrap();
    assert_eq!(due.iter().map(|o| o.offer_id).collect::<Vec<_>>(), [a.offer_id]);

    let later = now + Duration::minutes(5);
    assert!(s
        .close_offer(a.offer_id, OfferStatus::Declined, later, &note(&c, "declined", later))
        .await
        .unwrap());
    assert!(!s
        .close_offer(a.offer_id, OfferStatus::Expired, later, &note(&c, "expired", later))
        .await
        .unwrap());
    let got = s.get_offer(a.offer_id).await.unwrap().unwrap();
    assert_eq!((got.status, got.answered_at), (OfferStatus::Declined, Some(later)));
    assert!(s.list_open_offers_for_crew(&a.crew_id).await.unwrap().is_empty());
    assert_eq!(
        s.accept_offer(a.offer_id, later, 2, &note(&c, "accepted", later))
            .await
            .unwrap(),
        Acceptance::NotOpen(OfferStatus::Declined),
        "a declined offer cannot be accepted"
    );
    let bodies: Vec<String> = s
        .list_chat(c.charter_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        ["offered to deck-1", "offered to deck-2", "declined"],
        "one note per change, none for refusals"
    );

    // Past its deadline an open offer cannot be accepted.
    let late = b.expires_at;
    assert_eq!(
        s.accept_offer(b.offer_id, late, 2, &note(&c, "x", late)).await.unwrap(),
        Acceptance::PastDeadline
    );
}

pub async fn accepting_assigns_and_queues_the_change(s: &impl Store) {
    let now = t("2024-05-01T10:00:00Z");
    let c = open_charter(s, "2024-05-04", 10).await;
    let before = pending_events(s).await.len();
    let o = offer(&c, "deck-1", SeatKind::Crew, now);
    s.create_offer(&o, &note(&c, "offered", now)).await.unwrap();
    let Acceptance::Accepted(written) = s
        .accept_offer(o.offer_id, now, 1, &note(&c, "accepted", now))
        .await
        .unwrap()
    else {
        panic!("the seat was free");
    };
    assert_eq!(written.crew_assigned, vec![o.crew_id.clone()]);
    assert_eq!(written.version, c.version + 1);
    assert_eq!(s.get_charter(c.charter_id).await.unwrap(), Some(written.clone()));
    let events = pending_events(s).await;
    assert_eq!(events.len(), before + 1);
    assert_eq!(
        events.last(),
        Some(&Event::CharterChanged {
            charter_id: c.charter_id,
            version: written.version
        })
    );
    assert_eq!(
        s.get_offer(o.offer_id).await.unwrap().unwrap().status,
        OfferStatus::Accepted
    );
    // The one seat is taken now.
    let o2 = offer(&c, "deck-2", SeatKind::Crew, now);
    s.create_offer(&o2, &note(&c, "offered", now)).await.unwrap();
    assert_eq!(
        s.accept_offer(o2.offer_id, now, 1, &note(&c, "accepted", now))
            .await
            .unwrap(),
        Acceptance::SeatTaken
    );
    // A captain seat that is filled is taken too.
    let cap = offer(&c, "skipper", SeatKind::Captain, now);
    s.create_offer(&cap, &note(&c, "offered", now)).await.unwrap();
    assert_eq!(
        s.accept_offer(cap.offer_id, now, 1, &note(&c, "accepted", now))
            .await
            .unwrap(),
        Acceptance::SeatTaken
    );
    // A cancelled charter takes nobody.
    let mut cancelled = open_charter(s, "2024-05-04", 16).await;
    let o3 = offer(&cancelled, "deck-3", SeatKind::Crew, now);
    s.create_offer(&o3, &note(&cancelled, "offered", now)).await.unwrap();
    cancelled.status = jada_core::CharterStatus::Cancelled;
    let v = cancelled.version;
    s.update_charter(cancelled, v, vec![], now).await.unwrap();
    assert_eq!(
        s.accept_offer(o3.offer_id, now, 2, &note(&c, "accepted", now))
            .await
            .unwrap(),
        Acceptance::CharterClosed
    );
}

pub async fn concurrent_accepts_have_one_winner(s: &impl Store) {
    let now = t("2024-05-01T10:00:00Z");
    let c = open_charter(s, "2024-05-05", 10).await;
    let mut offers = Vec::new();
    for i in 0..100 {
        let o = offer(&c, &format!("deck-{i}"), SeatKind::Crew, now);
        s.create_offer(&o, &note(&c, "offered", now)).await.unwrap();
        offers.push(o);
    }
    let notes: Vec<ChatMessage> = offers.iter().map(|_| note(&c, "accepted", now)).collect();
    let outcomes = futures::future::join_all(
        offers
            .iter()
            .zip(&notes)
            .map(|(o, n)| s.accept_offer(o.offer_id, now, 1, n)),
    )
    .await;
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Acceptance::Accepted(_))))
        .count();
    let taken = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Acceptance::SeatTaken)))
        .count();
    assert_eq!((winners, taken), (1, 99), "{outcomes:?}");
    let stored = s.get_charter(c.charter_id).await.unwrap().unwrap();
    assert_eq!(stored.crew_assigned.len(), 1);
    assert_eq!(stored.version, c.version + 1);

    // One person, two overlapping charters, both accepts at once: one wins.
    let a = open_charter(s, "2024-05-06", 10).await;
    let b = open_charter(s, "2024-05-06", 11).await;
    let (oa, ob) = (
        offer(&a, "solo", SeatKind::Crew, now),
        offer(&b, "solo", SeatKind::Crew, now),
    );
    s.create_offer(&oa, &note(&a, "offered", now)).await.unwrap();
    s.create_offer(&ob, &note(&b, "offered", now)).await.unwrap();
    let (na, nb) = (note(&a, "accepted", now), note(&b, "accepted", now));
    let (ra, rb) = futures::join!(
        s.accept_offer(oa.offer_id, now, 2, &na),
        s.accept_offer(ob.offer_id, now, 2, &nb)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let won = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Acceptance::Accepted(_)))
        .count();
    assert_eq!(won, 1, "{ra:?} {rb:?}");
    assert!(
        matches!(ra, Acceptance::Busy(id) if id == b.charter_id)
            || matches!(rb, Acceptance::Busy(id) if id == a.charter_id),
        "{ra:?} {rb:?}"
    );
    // Back to back is not overlapping: a charter after the first one ends is fine.
    let after = open_charter(s, "2024-05-06", 13).await;
    let oc = offer(&after, "solo", SeatKind::Crew, now);
    s.create_offer(&oc, &note(&after, "offered", now)).await.unwrap();
    let first_end = if matches!(ra, Acceptance::Accepted(_)) {
        a.end_time
    } else {
        b.end_time
    };
    let outcome = s
        .accept_offer(oc.offer_id, now, 2, &note(&after, "accepted", now))
        .await
        .unwrap();
    assert_eq!(
        matches!(outcome, Acceptance::Accepted(_)),
        after.start_time >= first_end,
        "{outcome:?}"
    );
}

pub async fn dispatch_records(s: &impl Store) {
    let now = t("2024-05-01T10:00:00Z");
    let c = open_charter(s, "2024-05-07", 10).await;
    assert_eq!(s.get_dispatch(c.charter_id).await.unwrap(), None);
    let mut r = DispatchRecord {
        charter_id: c.charter_id,
        status: DispatchStatus::Active,
        detail: "offering 2 crew seats".into(),
        updated_at: now,
    };
    s.put_dispatch(&r).await.unwrap();
    assert_eq!(
        s.list_dispatches(DispatchStatus::Active).await.unwrap(),
        vec![r.clone()]
    );
    r.status = DispatchStatus::Exhausted;
    r.detail = "nobody left".into();
    s.put_dispatch(&r).await.unwrap();
    assert_eq!(s.get_dispatch(c.charter_id).await.unwrap(), Some(r.clone()));
    assert!(s.list_dispatches(DispatchStatus::Active).await.unwrap().is_empty());
    assert_eq!(s.list_dispatches(DispatchStatus::Exhausted).await.unwrap(), vec![r]);
}
