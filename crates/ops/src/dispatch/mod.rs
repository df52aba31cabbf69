//! Crew dispatch: once a charter has a captain, its open crew seats are offered one
//! person at a time (per seat; `fanout` widens it), in the order of
//! [`jada_core::dispatch::rank`], through a signed link to the crew page, until every
//! seat is filled or nobody is left to ask.
//!
//! Every step (offered, accepted, declined, expired, withdrawn, unable to crew) is one
//! store write with its note in the charter's chat thread. Offers and deadlines live in
//! the store, and [`Dispatcher::tick`] (the `dispatch` job, at start and every 30 s)
//! expires overdue offers and advances every active dispatch, so a restart resumes each
//! cascade where it was, and a cancellation or a captain removed is noticed within one tick.

pub mod links;
pub mod notify;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jada_core::dispatch::{rank, response_window, sailed_30d, Context, Ranking};
use jada_core::{
    BusinessZone, Charter, CharterId, CharterStatus, ChatAuthor, ChatKind, ChatMessage, CrewId, Fleet, Offer,
    OfferStatus, SeatKind,
};
use jada_store::{Acceptance, DispatchRecord, DispatchStatus, Store, StoreError};
use serde::Serialize;
use uuid::Uuid;

use jada_core::{Fault, Recovery};

pub use links::Links;
pub use notify::{MailNotifier, News, Notifier};

/// How a dispatch stopped by a cancel begins its detail.
const CANCELLED: &str = "stopped: the charter was cancelled";

pub struct DispatchConfig {
    pub fleet: Fleet,
    pub zone: BusinessZone,
    /// How long an offer waits at most (shorter as the charter nears).
    pub window: Duration,
    /// Open offers per open seat (1: strictly one person at a time).
    pub fanout: u32,
    /// Higher goes first among people who sailed equally often.
    pub priority: BTreeMap<CrewId, i32>,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            fleet: Fleet::default(),
            zone: BusinessZone::default(),
            window: Duration::hours(2),
            fanout: 1,
            priority: BTreeMap::new(),
        }
    }
}

pub struct Dispatcher {
    pub store: Arc<dyn Store>,
    pub cfg: DispatchConfig,
    pub links: Links,
    pub notifier: Arc<dyn Notifier>,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no charter {0}")]
    NoCharter(CharterId),
    #[error("no crew member `{0}`: see `jada crew list`")]
    NoCrew(CrewId),
    #[error("charter {0} is cancelled")]
    Cancelled(CharterId),
    #[error("{0} cannot captain: {1}")]
    CannotCaptain(CrewId, String),
    #[error("charter {charter}: vessel `{vessel}` is not in the fleet ({known}); add it to [[vessels]]")]
    UnknownVessel {
        charter: CharterId,
        vessel: String,
        known: String,
    },
    #[error("charter {0} changed while the captain was being assigned; try again")]
    Raced(CharterId),
    #[error("could not send the offer to {crew}: {source} (the offer was withdrawn; they will be asked again on the next attempt)")]
    Notify {
        crew: CrewId,
        #[source]
        source: Box<crate::mail::MailError>,
    },
}

impl Fault for DispatchError {
    /// A store that did not answer, a charter that changed meanwhile, or an offer that
    /// could not be sent for a passing reason may work on the next tick; a missing or
    /// cancelled charter, an uncertified captain or an unknown vessel need a person.
    fn recovery(&self) -> Recovery {
        match self {
            DispatchError::Store(e) => e.recovery(),
            DispatchError::Notify { source, .. } => source.recovery(),
            DispatchError::Raced(_) => Recovery::Retry,
            _ => Recovery::Operator,
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            DispatchError::Notify { source, .. } => source.needs_reauth(),
            _ => None,
        }
    }
}

/// Where a charter's dispatch stands after a step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub status: DispatchStatus,
    pub detail: String,
    /// Offers made in this step.
    pub offered: Vec<CrewId>,
}

/// A crew member's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
}

/// What answering did, for the crew page.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    Accepted(Charter),
    Declined,
    /// Answered before (or withdrawn, or expired): says which.
    AlreadyClosed(OfferStatus),
    SeatTaken,
    /// They are on a charter at an overlapping time.
    Busy(CharterId),
    /// The charter was cancelled.
    CharterClosed,
    /// The link does not belong to this offer (or the offer does not exist).
    NotYours,
}

/// What a tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    pub expired: usize,
    pub advanced: usize,
    pub offered: usize,
    pub failures: Vec<String>,
}

/// Why each candidate stands where they do, and the others are left out.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub charter: Charter,
    pub crew_seats: u32,
    pub open_seats: u32,
    pub dispatch: Option<DispatchRecord>,
    pub offers: Vec<Offer>,
    pub ranking: Ranking,
}

fn note(charter: CharterId, kind: ChatKind, body: String, at: DateTime<Utc>) -> ChatMessage {
    ChatMessage {
        message_id: Uuid::new_v4(),
        charter_id: charter,
        posted_at: at,
        author: ChatAuthor::System,
        kind,
        body,
    }
}

impl Dispatcher {
    fn crew_seats(&self, c: &Charter) -> Result<u32, DispatchError> {
        self.cfg
            .fleet
            .crew_seats(&c.vessel_name, c.guest_count)
            .ok_or_else(|| DispatchError::UnknownVessel {
                charter: c.charter_id,
                vessel: c.vessel_name.clone(),
                known: self.cfg.fleet.names().join(", "),
            })
    }

    async fn charter(&self, id: CharterId) -> Result<Charter, DispatchError> {
        self.store.get_charter(id).await?.ok_or(DispatchError::NoCharter(id))
    }

    /// Who may be asked, in order, for a crew seat on `c` now.
    async fn ranking(&self, c: &Charter, offers: &[Offer]) -> Result<Ranking, DispatchError> {
        let crew = self.store.list_crew().await?;
        let recent = self
            .store
            .list_charters_between(c.charter_date - Duration::days(30), c.charter_date)
            .await?;
        let same_day: Vec<Charter> = recent
            .iter()
            .filter(|o| o.charter_date == c.charter_date)
            .cloned()
            .collect();
        let cx = Context {
            same_day: &same_day,
            declined: offers
                .iter()
                .filter(|o| matches!(o.status, OfferStatus::Declined | OfferStatus::Expired))
                .map(|o| o.crew_id.clone())
                .collect(),
            offered: offers
                .iter()
                .filter(|o| o.status.is_open())
                .map(|o| o.crew_id.clone())
                .collect(),
            sailed_30d: sailed_30d(c, &recent),
            priority: self.cfg.priority.clone(),
        };
        Ok(rank(&crew, SeatKind::Crew, c, &cx))
    }

    /// Sets the captain (who must be certified and free) and starts, or restarts, the
    /// charter's dispatch: open offers are withdrawn and the seats offered afresh.
    pub async fn assign_captain(
        &self,
        id: CharterId,
        captain: &CrewId,
        by: ChatAuthor,
        now: DateTime<Utc>,
    ) -> Result<Step, DispatchError> {
        let c = self.charter(id).await?;
        if c.status == CharterStatus::Cancelled {
            return Err(DispatchError::Cancelled(id));
        }
        let m = self
            .store
            .get_crew(captain)
            .await?
            .ok_or_else(|| DispatchError::NoCrew(captain.clone()))?;
        let same_day = self.store.list_charters_between(c.charter_date, c.charter_date).await?;
        let cx = Context {
            same_day: &same_day,
            ..Context::default()
        };
        let mut without = c.clone();
        without.captain_assigned = None;
        without.crew_assigned.retain(|p| p != captain);
        if let Some(why) = jada_core::dispatch::exclusion(&m, SeatKind::Captain, &without, &cx) {
            return Err(DispatchError::CannotCaptain(captain.clone(), why.describe()));
        }
        let mut next = without;
        next.captain_assigned = Some(captain.clone());
        let version = c.version;
        let event = jada_core::Event::CharterChanged {
            charter_id: id,
            version: version + 1,
        };
        match self.store.update_charter(next, version, vec![event], now).await {
            Ok(_) => {}
            Err(StoreError::StaleVersion { .. }) => return Err(DispatchError::Raced(id)),
            Err(e) => return Err(e.into()),
        }
        let who = match &by {
            ChatAuthor::Operator(o) => format!(" by {o}"),
            _ => String::new(),
        };
        let body = match &c.captain_assigned {
            Some(old) if old != captain => format!("captain changed from {old} to {captain}{who}; dispatch restarts"),
            _ => format!("captain {captain} assigned{who}; dispatch starts"),
        };
        self.store
            .append_chat(&ChatMessage {
                author: by,
                ..note(id, ChatKind::Status, body, now)
            })
            .await?;
        self.restart(id, now).await
    }

    /// (Re)starts the cascade of a charter whose captain is set (by `assign_captain`, or
    /// by a booking-API write): open offers are withdrawn and the seats offered afresh.
    pub async fn restart(&self, id: CharterId, now: DateTime<Utc>) -> Result<Step, DispatchError> {
        self.withdraw_open(id, "the captain changed", now).await?;
        self.set(id, DispatchStatus::Active, "starting".into(), now).await?;
        self.advance(id, now).await
    }

    /// What a booking change means for dispatch: a captain set or changed (re)starts the
    /// cascade, a captain removed or a cancellation stops it; anything else waits for the
    /// next tick (guest count changes are picked up there).
    pub async fn after_booking_change(
        &self,
        before: Option<&jada_core::Charter>,
        after: &jada_core::Charter,
        now: DateTime<Utc>,
    ) -> Result<Option<Step>, DispatchError> {
        let old = before.and_then(|c| c.captain_assigned.as_ref());
        let new = after.captain_assigned.as_ref();
        let id = after.charter_id;
        if after.status == CharterStatus::Cancelled && before.is_some_and(|c| c.status != CharterStatus::Cancelled) {
            return self.cancelled(id, None, now).await.map(Some);
        }
        match (old, new) {
            (o, Some(n)) if o != Some(n) && after.status != CharterStatus::Cancelled => {
                let body = format!("captain {n} set by a booking change; dispatch starts");
                self.store.append_chat(&note(id, ChatKind::Status, body, now)).await?;
                self.restart(id, now).await.map(Some)
            }
            (Some(_), None) => self.stop(id, "the captain was removed", now).await.map(Some),
            _ => Ok(None),
        }
    }

    /// A charter was cancelled: open offers are withdrawn, the people aboard and those
    /// who held an offer are told (once: not again when the tick sees it later), and
    /// dispatch stops.
    pub async fn cancelled(&self, id: CharterId, by: Option<&str>, now: DateTime<Utc>) -> Result<Step, DispatchError> {
        let c = self.charter(id).await?;
        let was = self.store.get_dispatch(id).await?;
        let told_before = was
            .as_ref()
            .is_some_and(|d| d.status == DispatchStatus::Stopped && d.detail.starts_with(CANCELLED));
        let offered = crate::cancellation::open_offers(self.store.as_ref(), id).await?;
        self.withdraw_open(id, "the charter was cancelled", now).await?;
        if !told_before || !offered.is_empty() {
            let people = crate::cancellation::told(&c, &offered);
            self.tell(&c, &people, News::Cancelled, now).await?;
        }
        let by = by.map(|b| format!(" by {b}")).unwrap_or_default();
        self.finish(id, DispatchStatus::Stopped, format!("{CANCELLED}{by}"), now)
            .await
    }

    /// A cancelled charter is back on (see `crate::cancellation`): the people aboard are
    /// told, and dispatch goes back to where it stood: offering again (those whose offers
    /// the cancel withdrew first) when it was under way and a captain is set, otherwise
    /// the state it had.
    pub async fn reinstated(
        &self,
        c: &Charter,
        before: &crate::cancellation::Cancellation,
        now: DateTime<Utc>,
    ) -> Result<Step, DispatchError> {
        let aboard: Vec<CrewId> = c.people().cloned().collect();
        self.tell(c, &aboard, News::Reinstated, now).await?;
        let id = c.charter_id;
        match &before.dispatch {
            Some(d) if c.captain_assigned.is_some() && d.status != DispatchStatus::Stopped => {
                self.set(id, DispatchStatus::Active, "resuming after a reinstate".into(), now)
                    .await?;
                self.advance_preferring(id, &before.offered_to, now).await
            }
            Some(d) => {
                self.set(id, d.status, d.detail.clone(), now).await?;
                Ok(Step {
                    status: d.status,
                    detail: d.detail.clone(),
                    offered: vec![],
                })
            }
            None => {
                let detail = "not started: dispatch starts when a captain is assigned".to_string();
                self.set(id, DispatchStatus::Stopped, detail.clone(), now).await?;
                Ok(Step {
                    status: DispatchStatus::Stopped,
                    detail,
                    offered: vec![],
                })
            }
        }
    }

    /// Sends `news` of `c` to each of `people`; one that cannot be told is said in the
    /// chat (and the log), and the others are still told.
    async fn tell(&self, c: &Charter, people: &[CrewId], news: News, now: DateTime<Utc>) -> Result<(), DispatchError> {
        let what = match news {
            News::Cancelled => "cancelled",
            News::Reinstated => "back on",
        };
        let mut told = Vec::new();
        for p in people {
            let Some(member) = self.store.get_crew(p).await? else {
                continue;
            };
            match self.notifier.news(&member, c, news).await {
                Ok(()) => told.push(p.to_string()),
                Err(e) => {
                    tracing::warn!(charter = %c.charter_id, crew = %p, error = %e, "could not tell a crew member");
                    let body = format!("could not tell {p} that the charter is {what}: {e}");
                    self.store
                        .append_chat(&note(c.charter_id, ChatKind::Status, body, now))
                        .await?;
                }
            }
        }
        if !told.is_empty() {
            let body = format!("told that the charter is {what}: {}", told.join(", "));
            self.store
                .append_chat(&note(c.charter_id, ChatKind::Status, body, now))
                .await?;
        }
        Ok(())
    }

    /// Withdraws every open offer of a charter and stops its dispatch.
    pub async fn stop(&self, id: CharterId, why: &str, now: DateTime<Utc>) -> Result<Step, DispatchError> {
        self.withdraw_open(id, why, now).await?;
        self.finish(id, DispatchStatus::Stopped, format!("stopped: {why}"), now)
            .await
    }

    async fn withdraw_open(&self, id: CharterId, why: &str, now: DateTime<Utc>) -> Result<(), DispatchError> {
        for o in self.store.list_offers_for_charter(id).await? {
            if o.status.is_open() {
                let body = format!("offer to {} withdrawn: {why}", o.crew_id);
                self.store
                    .close_offer(
                        o.offer_id,
                        OfferStatus::Withdrawn,
                        now,
                        &note(id, ChatKind::Offer, body, now),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn set(
        &self,
        id: CharterId,
        status: DispatchStatus,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        let r = DispatchRecord {
            charter_id: id,
            status,
            detail,
            updated_at: now,
        };
        Ok(self.store.put_dispatch(&r).await?)
    }

    /// Records a final state, with a chat note when it is new.
    async fn finish(
        &self,
        id: CharterId,
        status: DispatchStatus,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<Step, DispatchError> {
        let was = self.store.get_dispatch(id).await?.map(|d| d.status);
        if was != Some(status) {
            self.store
                .append_chat(&note(id, ChatKind::Status, detail.clone(), now))
                .await?;
        }
        self.set(id, status, detail.clone(), now).await?;
        Ok(Step {
            status,
            detail,
            offered: vec![],
        })
    }

    /// One step of the cascade: expire what is overdue, stop if the charter no longer
    /// wants crew, withdraw leftovers when full, otherwise offer open seats to the next
    /// people in order, or report that nobody is left.
    pub async fn advance(&self, id: CharterId, now: DateTime<Utc>) -> Result<Step, DispatchError> {
        self.advance_preferring(id, &[], now).await
    }

    /// [`Dispatcher::advance`], asking the people in `prefer` first among those who may
    /// be asked (after a reinstate: the people whose offers the cancel withdrew).
    async fn advance_preferring(
        &self,
        id: CharterId,
        prefer: &[CrewId],
        now: DateTime<Utc>,
    ) -> Result<Step, DispatchError> {
        let c = self.charter(id).await?;
        if c.status == CharterStatus::Cancelled {
            return self.cancelled(id, None, now).await;
        }
        if c.captain_assigned.is_none() {
            return self.stop(id, "the charter has no captain", now).await;
        }
        let seats = self.crew_seats(&c)?;
        let open = seats.saturating_sub(c.crew_assigned.len() as u32);
        if open == 0 {
            self.withdraw_open(id, "every seat is filled", now).await?;
            let detail = format!("crewed: {} crew aboard", c.crew_assigned.len());
            return self.finish(id, DispatchStatus::Crewed, detail, now).await;
        }
        let starts = self.cfg.zone.instant(c.charter_date, c.start_time);
        let window = response_window(now, starts, self.cfg.window);
        if window <= Duration::zero() {
            self.withdraw_open(id, "the charter has started", now).await?;
            let detail = format!("unable to crew: the charter started with {open} seat(s) open");
            return self.finish(id, DispatchStatus::Exhausted, detail, now).await;
        }
        let mut offers = self.store.list_offers_for_charter(id).await?;
        self.expire(&mut offers, now).await?;
        let out = offers.iter().filter(|o| o.status.is_open()).count() as u32;
        let want = (open * self.cfg.fanout.max(1)).saturating_sub(out);
        let ranking = self.ranking(&c, &offers).await?;
        let mut in_order: Vec<_> = ranking.candidates.iter().collect();
        in_order.sort_by_key(|cand| !prefer.contains(&cand.crew_id));
        let mut offered = Vec::new();
        for cand in in_order.into_iter().take(want as usize) {
            self.offer(&c, &cand.crew_id, now, window).await?;
            offered.push(cand.crew_id.clone());
        }
        let out = out + offered.len() as u32;
        if out == 0 {
            let left_out: Vec<String> = ranking
                .excluded
                .iter()
                .map(|(id, _, why)| format!("{id} ({})", why.describe()))
                .collect();
            let detail = format!(
                "unable to crew: {open} seat(s) open and nobody left to ask; {}",
                if left_out.is_empty() {
                    "there is no crew".to_string()
                } else {
                    format!("left out: {}", left_out.join(", "))
                }
            );
            return self.finish(id, DispatchStatus::Exhausted, detail, now).await;
        }
        let detail = format!("{open} seat(s) open, {out} offer(s) out");
        self.set(id, DispatchStatus::Active, detail.clone(), now).await?;
        Ok(Step {
            status: DispatchStatus::Active,
            detail,
            offered,
        })
    }

    /// Closes the open offers in `offers` whose deadline has passed.
    async fn expire(&self, offers: &mut [Offer], now: DateTime<Utc>) -> Result<usize, DispatchError> {
        let mut n = 0;
        for o in offers.iter_mut().filter(|o| o.is_expired_at(now)) {
            let body = format!("offer to {} expired unanswered", o.crew_id);
            if self
                .store
                .close_offer(
                    o.offer_id,
                    OfferStatus::Expired,
                    now,
                    &note(o.charter_id, ChatKind::Offer, body, now),
                )
                .await?
            {
                n += 1;
            }
            o.status = OfferStatus::Expired;
        }
        Ok(n)
    }

    /// Makes one offer and sends its link. The offer is stored first (durable); if it
    /// cannot be sent it is withdrawn (the person stays eligible) and the error returned.
    async fn offer(
        &self,
        c: &Charter,
        crew: &CrewId,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<(), DispatchError> {
        let member = self
            .store
            .get_crew(crew)
            .await?
            .ok_or_else(|| DispatchError::NoCrew(crew.clone()))?;
        let offer = Offer {
            offer_id: Uuid::new_v4(),
            charter_id: c.charter_id,
            crew_id: crew.clone(),
            seat: SeatKind::Crew,
            status: OfferStatus::Offered,
            offered_at: now,
            expires_at: now + window,
            answered_at: None,
        };
        let body = format!(
            "crew seat offered to {} ({}), answer by {}",
            member.name,
            crew,
            offer
                .expires_at
                .with_timezone(&self.cfg.zone.tz())
                .format("%Y-%m-%d %H:%M")
        );
        self.store
            .create_offer(&offer, &note(c.charter_id, ChatKind::Offer, body, now))
            .await?;
        let token = self
            .links
            .token(crew.as_str(), jada_core::link::Purpose::Offer(offer.offer_id), now);
        if let Err(source) = self.notifier.offer(&member, c, &offer, &self.links.url(&token)).await {
            let body = format!("offer to {crew} withdrawn: it could not be sent ({source})");
            self.store
                .close_offer(
                    offer.offer_id,
                    OfferStatus::Withdrawn,
                    now,
                    &note(c.charter_id, ChatKind::Offer, body, now),
                )
                .await?;
            return Err(DispatchError::Notify {
                crew: crew.clone(),
                source: Box::new(source),
            });
        }
        Ok(())
    }

    /// A crew member answers an offer (from the crew page). Accepting takes the seat
    /// atomically; either way the cascade moves on at once.
    pub async fn answer(
        &self,
        offer_id: Uuid,
        crew: &CrewId,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> Result<Answered, DispatchError> {
        let Some(offer) = self.store.get_offer(offer_id).await?.filter(|o| &o.crew_id == crew) else {
            return Ok(Answered::NotYours);
        };
        let id = offer.charter_id;
        if !offer.status.is_open() {
            return Ok(Answered::AlreadyClosed(offer.status));
        }
        let result = match answer {
            Answer::Decline => {
                let body = format!("{crew} declined the crew seat");
                let closed = self
                    .store
                    .close_offer(
                        offer_id,
                        OfferStatus::Declined,
                        now,
                        &note(id, ChatKind::Reply, body, now),
                    )
                    .await?;
                if closed {
                    Answered::Declined
                } else {
                    let status = self
                        .store
                        .get_offer(offer_id)
                        .await?
                        .map_or(OfferStatus::Withdrawn, |o| o.status);
                    Answered::AlreadyClosed(status)
                }
            }
            Answer::Accept => {
                let c = self.charter(id).await?;
                let seats = match offer.seat {
                    SeatKind::Captain => 1,
                    SeatKind::Crew => self.crew_seats(&c)?,
                };
                let body = format!("{crew} accepted the crew seat");
                let done = self
                    .store
                    .accept_offer(offer_id, now, seats, &note(id, ChatKind::Reply, body, now))
                    .await?;
                match done {
                    Acceptance::Accepted(c) => Answered::Accepted(c),
                    Acceptance::NotOpen(s) => Answered::AlreadyClosed(s),
                    Acceptance::PastDeadline => Answered::AlreadyClosed(OfferStatus::Expired),
                    refused => {
                        let (why, answered) = match refused {
                            Acceptance::SeatTaken => ("the seat was already taken".to_string(), Answered::SeatTaken),
                            Acceptance::Busy(other) => (
                                format!("{crew} is on charter {other} at that time"),
                                Answered::Busy(other),
                            ),
                            _ => ("the charter is cancelled".to_string(), Answered::CharterClosed),
                        };
                        let body = format!("{crew} tried to accept, but {why}; offer withdrawn");
                        self.store
                            .close_offer(
                                offer_id,
                                OfferStatus::Withdrawn,
                                now,
                                &note(id, ChatKind::Offer, body, now),
                            )
                            .await?;
                        answered
                    }
                }
            }
        };
        if !matches!(result, Answered::AlreadyClosed(_)) {
            // The answer stands even if the next offer cannot go out now; the tick retries.
            if let Err(e) = self.advance(id, now).await {
                tracing::warn!(charter = %id, error = %e, "dispatch could not move on after an answer; the next tick retries");
            }
        }
        Ok(result)
    }

    /// Expires overdue offers and advances every active dispatch (and those with an
    /// expired offer). One charter's failure does not stop the others; each is reported.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, DispatchError> {
        let mut report = TickReport::default();
        let mut charters: Vec<CharterId> = Vec::new();
        for mut o in self.store.list_offers_due(now).await? {
            report.expired += self.expire(std::slice::from_mut(&mut o), now).await?;
            charters.push(o.charter_id);
        }
        charters.extend(
            self.store
                .list_dispatches(DispatchStatus::Active)
                .await?
                .into_iter()
                .map(|d| d.charter_id),
        );
        charters.sort();
        charters.dedup();
        for id in charters {
            match self.advance(id, now).await {
                Ok(step) => {
                    report.advanced += 1;
                    report.offered += step.offered.len();
                }
                Err(e) => report.failures.push(format!("charter {id}: {e}")),
            }
        }
        Ok(report)
    }

    /// The candidates for the charter's crew seats in order, and why the others are out.
    pub async fn explain(&self, id: CharterId) -> Result<Explanation, DispatchError> {
        let c = self.charter(id).await?;
        let crew_seats = self.crew_seats(&c)?;
        let offers = self.store.list_offers_for_charter(id).await?;
        Ok(Explanation {
            open_seats: crew_seats.saturating_sub(c.crew_assigned.len() as u32),
            crew_seats,
            dispatch: self.store.get_dispatch(id).await?,
            ranking: self.ranking(&c, &offers).await?,
            offers,
            charter: c,
        })
    }
}
