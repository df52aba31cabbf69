//! The office pages (reads only): Today, Charters, a charter, Crew, a crew member,
//! Automation, Revenue.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use jada_core::revenue::Totals;
use jada_core::{Cents, Charter, CharterId, CharterStatus, ChatAuthor, CrewId, Month};
use jada_store::{AlertStatus, DispatchStatus, EventStatus, StoreError};
use maud::{html, PreEscaped};

use super::auth::SignedIn;
use super::OfficeState;
use super::{button, csrf_field, layout, office, Office};

/// A store failure as a page (details in the log, not on the page).
pub(crate) fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "office page failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the store is unavailable; see the daemon's log",
    )
        .into_response()
}

/// The value, or the page that says the store is unavailable.
macro_rules! tryp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $crate::office::pages::unavailable(e.into()),
        }
    };
}
pub(crate) use tryp;

pub(crate) fn not_found(who: &SignedIn, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        layout("Not found", Some(who), html! { h1 { "Not found" } p { (what) } }),
    )
        .into_response()
}

/// Crew seats a charter needs (0 for a vessel not in the fleet).
pub(crate) fn crew_seats(o: &Office, c: &Charter) -> u32 {
    o.fleet().crew_seats(&c.vessel_name, c.guest_count).unwrap_or(0)
}

/// A live charter still missing its captain or some crew: the office must see it.
fn short_handed(o: &Office, c: &Charter) -> bool {
    c.status != CharterStatus::Cancelled
        && (c.captain_assigned.is_none() || (c.crew_assigned.len() as u32) < crew_seats(o, c))
}

/// "09:00–12:00", never broken after its dash (a word joiner holds the two times together).
pub(crate) fn time(c: &Charter) -> String {
    format!(
        "{}–\u{2060}{}",
        c.start_time.format("%H:%M"),
        c.end_time.format("%H:%M")
    )
}

fn money(c: Cents) -> String {
    c.to_string()
}

/// `GET /office`: what needs attention, red first, each with what to do.
pub async fn today(State(shared): State<Arc<OfficeState>>, who: SignedIn) -> Response {
    let o = office(&shared);
    let report = tryp!(shared.status.full_report().await);
    let today = o.zone().date_of(shared.clock.now());
    let week = tryp!(
        shared
            .store
            .list_charters_between(today, today + Duration::days(7))
            .await
    );
    let short: Vec<&Charter> = week.iter().filter(|c| short_handed(o, c)).collect();
    let findings = report.findings();
    let bad: Vec<_> = findings.iter().filter(|f| !f.ok).collect();
    let waiting = tryp!(super::agent::waiting_for_a_person(&shared).await);
    let body = html! {
        h1 { "Today" }
        @if !waiting.is_empty() {
            h2 { "Waiting for a person (" (waiting.len()) ")" }
            ul.findings {
                @for (what, href, link) in &waiting {
                    li.bad { (what) " " a href=(href) { (link) } }
                }
            }
        }
        @if bad.is_empty() && short.is_empty() && waiting.is_empty() {
            p.ok { "All is well: every job is on time, every credential works, nothing is parked, and the next 7 days are crewed." }
        }
        @if !bad.is_empty() {
            h2 { "Needs action" }
            ul.findings {
                @for f in &bad {
                    li.bad {
                        strong { (f.what) }
                        @if let Some(fix) = f.fix.as_ref().filter(|fix| !f.what.contains(fix.as_str())) { br; span.fix { "Fix: " (fix) } }
                        " " a href="/office/automation" { "Open Automation" }
                    }
                }
            }
        }
        h2 { "Next 7 days not fully crewed (" (short.len()) ")" }
        @if short.is_empty() { p.ok { "Every charter in the next 7 days has its captain and crew." } }
        @else {
            table.cards {
                thead { tr { th { "Date" } th { "Time" } th { "Vessel" } th { "Captain" } th { "Crew" } th { "" } } }
                tbody {
                    @for c in &short {
                        tr.bad {
                            td data-label="Date" { (c.charter_date) } td data-label="Time" { (time(c)) } td data-label="Vessel" { (c.vessel_name) }
                            td data-label="Captain" { (c.captain_assigned.as_ref().map_or("none: assign one", |x| x.as_str())) }
                            td data-label="Crew" { (c.crew_assigned.len()) "/" (crew_seats(o, c)) }
                            td { a href=(format!("/office/charters/{}", c.charter_id)) { "Open" } }
                        }
                    }
                }
            }
        }
        h2 { "Healthy" }
        ul.findings { @for f in findings.iter().filter(|f| f.ok && !f.needs_a_person()) { li.good { (f.what) } } }
    };
    layout("Today", Some(&who), body)
}

/// `GET /office/charters?month=YYYY-MM`.
pub async fn charters(
    State(shared): State<Arc<OfficeState>>,
    who: SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let o = office(&shared);
    let month = q
        .get("month")
        .and_then(|m| Month::parse(m).ok())
        .unwrap_or_else(|| Month::of(o.zone().date_of(shared.clock.now())));
    let list = tryp!(shared.store.list_charters_in_month(month).await);
    let mut status: BTreeMap<CharterId, DispatchStatus> = BTreeMap::new();
    for c in &list {
        if let Some(d) = tryp!(shared.store.get_dispatch(c.charter_id).await) {
            status.insert(c.charter_id, d.status);
        }
    }
    let body = html! {
        h1 { "Charters: " (month.long_name()) }
        p.pager {
            a href=(format!("/office/charters?month={}", month.prev())) { "← " (month.prev().long_name()) }
            " · " a href="/office/charters/new" { "Add a booking" } " · "
            a href=(format!("/office/charters?month={}", month.next())) { (month.next().long_name()) " →" }
        }
        @if list.is_empty() { p { "No charters this month." } }
        @else {
            table.cards {
                thead { tr { th { "Date" } th { "Time" } th { "Vessel" } th { "Guest" } th { "Status" } th { "Crew" } th { "Dispatch" } } }
                tbody {
                    @for c in &list {
                        @let seats = crew_seats(o, c);
                        tr class=(if short_handed(o, c) { "short" } else { "" }) {
                            td data-label="Date" { a href=(format!("/office/charters/{}", c.charter_id)) { (c.charter_date) } }
                            td data-label="Time" { (time(c)) } td data-label="Vessel" { (c.vessel_name) } td.text data-label="Guest" { (c.guest_name) " (" (c.guest_count) ")" }
                            td data-label="Status" { (c.status.to_string()) }
                            td data-label="Crew" { (if c.captain_assigned.is_some() { "captain, " } else { "no captain, " }) (c.crew_assigned.len()) "/" (seats) }
                            td data-label="Dispatch" { (status.get(&c.charter_id).map_or("", |s| s.as_str())) }
                        }
                    }
                }
            }
        }
    };
    layout("Charters", Some(&who), body)
}

/// `GET /office/charters/{id}`: details, the chat thread, the dispatch timeline, actions.
pub async fn charter(
    State(shared): State<Arc<OfficeState>>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let o = office(&shared);
    let Ok(id) = CharterId::parse(&id) else {
        return not_found(&who, "That is not a charter id.");
    };
    let Some(c) = tryp!(shared.store.get_charter(id).await) else {
        return not_found(&who, "No such charter.");
    };
    let chat = tryp!(shared.store.list_chat(id).await);
    let offers = tryp!(shared.store.list_offers_for_charter(id).await);
    let dispatch = tryp!(shared.store.get_dispatch(id).await);
    let captains: Vec<_> = tryp!(shared.store.list_crew().await)
        .into_iter()
        .filter(|m| m.active && m.captain_certified && m.is_available_on(c.charter_date))
        .collect();
    let seats = crew_seats(o, &c);
    let cancelled = if c.status == CharterStatus::Cancelled {
        tryp!(jada_ops::cancellation::get(shared.store.as_ref(), id).await)
    } else {
        None
    };
    // An overlap written before jada refused them (or by other tools) is shown, never hidden.
    let same_day = tryp!(shared.store.list_charters_between(c.charter_date, c.charter_date).await);
    let turnarounds = jada_store::Turnarounds::of_fleet(o.fleet());
    let clashes: Vec<&Charter> = same_day
        .iter()
        .filter(|x| turnarounds.first_overlap(&c, std::slice::from_ref(*x)).is_some())
        .collect();
    let body = html! {
        h1 { (c.vessel_name) ", " (c.charter_date) " " (time(&c)) }
        @for x in &clashes {
            p.bad {
                "This charter books " (c.vessel_name) " twice: it overlaps "
                a href=(format!("/office/charters/{}", x.charter_id)) { (x.guest_name) ", " (time(x)) }
                ". Cancel or move one of them."
            }
        }
        @if let Some(msg) = super::notice::of(&q, "done") { p.notice { (msg) } }
        @if let Some(msg) = super::notice::of(&q, "error") { p.bad { (msg) } }
        dl {
            dt { "Guest" } dd { (c.guest_name) " (" (c.guest_count) " guests)" }
            dt { "Status" } dd { (c.status.to_string()) }
            dt { "Captain" } dd { (c.captain_assigned.as_ref().map_or("none", |x| x.as_str())) }
            dt { "Crew" } dd { (c.crew_assigned.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")) " (" (c.crew_assigned.len()) "/" (seats) ")" }
            dt { "Revenue" } dd { (money(c.reportable_revenue)) ", tips " (money(c.tips)) }
            dt { "Dispatch" } dd { (dispatch.as_ref().map_or("not started", |d| d.detail.as_str())) }
            dt { "Version" } dd { (c.version) }
        }
        @if c.status.is_final() {
            section.actions { a.button href=(format!("/office/charters/{id}/edit")) { "Edit booking" } }
        } @else {
            section.actions {
                form.inline method="post" action=(format!("/office/charters/{id}/captain")) {
                    (csrf_field(&who))
                    label for="captain" { "Captain " }
                    select #captain name="crew" {
                        @for m in &captains { option value=(m.crew_id) selected[c.captain_assigned.as_ref() == Some(&m.crew_id)] { (m.name) " (" (m.crew_id) ")" } }
                    }
                    button type="submit" { "Assign captain and dispatch" }
                }
                @if c.captain_assigned.is_some() { (button(&who, &format!("/office/charters/{id}/dispatch"), "Restart dispatch", "")) }
                a.button href=(format!("/office/charters/{id}/edit")) { "Edit booking" }
                a.button href=(format!("/office/tasks?charter={id}#title")) { "Add a task" }
            }
            // Apart from Edit, and only a link: the cancel itself is on its own page.
            section.danger-zone {
                a.button.danger href=(format!("/office/charters/{id}/cancel")) { "Cancel charter…" }
            }
        }
        @if let Some(x) = &cancelled {
            @let until = x.cancelled_at + o.reinstate_within;
            section.danger-zone {
                @if shared.clock.now() <= until {
                    p { "Cancelled " (shared.local(x.cancelled_at)) "; it can be reinstated until " (shared.local(until))
                        ": it goes back to " (x.previous_status.to_string()) " and dispatch resumes." }
                    (button(&who, &format!("/office/charters/{id}/reinstate"), "Reinstate charter", ""))
                } @else {
                    p { "Cancelled " (shared.local(x.cancelled_at)) "; too long ago to reinstate (" (o.reinstate_within.num_hours()) " hours): book it again instead." }
                }
            }
        }
        h2 { "Dispatch timeline" }
        @if offers.is_empty() { p { "No offers yet." } }
        @else {
            table.cards #offers {
                thead { tr { th { "Crew" } th { "Status" } th { "Offered" } th { "Answer by" } th { "Answered" } } }
                tbody {
                    @for x in &offers {
                        tr {
                            td data-label="Crew" { (x.crew_id) } td.status data-label="Status" { (x.status.as_str()) }
                            td data-label="Offered" { (shared.local(x.offered_at)) } td data-label="Answer by" { (shared.local(x.expires_at)) }
                            td data-label="Answered" { (x.answered_at.map(|t| shared.local(t)).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        h2 { "Chat" }
        ol.chat {
            @for m in &chat {
                li { span.when { (shared.local(m.posted_at)) } " " span.who { (author(&m.author)) } ": " (m.body) }
            }
        }
    };
    layout("Charter", Some(&who), body)
}

fn author(a: &ChatAuthor) -> String {
    a.to_string()
}

impl OfficeState {
    /// An instant as the office reads it: business-local, with the zone ("Jul 4, 18:49 PDT").
    pub(crate) fn local(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        let this_year = self.office.zone().date_of(self.clock.now()).year();
        self.office.zone().show(t, this_year)
    }
}

/// The add/edit form. `c` is the charter being edited; `errors` field -> reason.
pub(crate) fn charter_form(
    who: &SignedIn,
    o: &Office,
    c: Option<&Charter>,
    values: &HashMap<String, String>,
    errors: &[(String, String)],
) -> Response {
    let v = |k: &str, from: &dyn Fn(&Charter) -> String| -> String {
        values.get(k).cloned().or_else(|| c.map(from)).unwrap_or_default()
    };
    let fields: Vec<(&str, &str, String)> = vec![
        (
            "charter_date",
            "Date (YYYY-MM-DD)",
            v("charter_date", &|c| c.charter_date.to_string()),
        ),
        (
            "start_time",
            "Start (HH:MM)",
            v("start_time", &|c| c.start_time.format("%H:%M").to_string()),
        ),
        (
            "end_time",
            "End (HH:MM)",
            v("end_time", &|c| c.end_time.format("%H:%M").to_string()),
        ),
        ("vessel_name", "Vessel", v("vessel_name", &|c| c.vessel_name.clone())),
        ("guest_name", "Guest", v("guest_name", &|c| c.guest_name.clone())),
        (
            "guest_count",
            "Guests",
            v("guest_count", &|c| c.guest_count.to_string()),
        ),
        (
            "reportable_revenue",
            "Revenue ($)",
            v("reportable_revenue", &|c| c.reportable_revenue.dollars_string()),
        ),
        ("tips", "Tips ($)", v("tips", &|c| c.tips.dollars_string())),
        ("status", "Status", v("status", &|c| c.status.to_string())),
    ];
    // Errors in the form's own words: a field's label, never its internal name.
    let label_of = |f: &str| -> String {
        fields
            .iter()
            .find(|(n, _, _)| *n == f)
            .map(|(_, l, _)| l.split(" (").next().unwrap_or(l).to_string())
            .unwrap_or_else(|| {
                if f == "booking" {
                    "Booking".into()
                } else {
                    f.replace('_', " ")
                }
            })
    };
    let said: Vec<(String, String)> = errors
        .iter()
        .map(|(f, r)| {
            let reason = fields
                .iter()
                .fold(r.clone(), |acc, (n, _, _)| acc.replace(n, &label_of(n).to_lowercase()));
            (label_of(f), reason)
        })
        .collect();
    let action = c.map_or("/office/charters".to_string(), |c| {
        format!("/office/charters/{}", c.charter_id)
    });
    let body = html! {
        h1 { (if c.is_some() { "Edit booking" } else { "Add a booking" }) }
        @if !errors.is_empty() {
            ul.bad { @for (f, r) in &said { li { strong { (f) } ": " (r) } } }
        }
        form.booking method="post" action=(action) {
            (csrf_field(who))
            @if let Some(c) = c { input type="hidden" name="version" value=(values.get("version").cloned().unwrap_or_else(|| c.version.to_string())); }
            @for (name, label, value) in &fields {
                label for=(name) { (label) }
                @if *name == "vessel_name" {
                    select id=(name) name=(name) {
                        @for n in o.fleet().names() { option value=(n) selected[value.eq_ignore_ascii_case(n)] { (n) } }
                    }
                } @else if *name == "status" {
                    select id=(name) name=(name) {
                        @for s in ["requested", "booked", "confirmed", "completed", "cancelled"] { option value=(s) selected[value == s || (value.is_empty() && s == "booked")] { (s) } }
                    }
                } @else {
                    input id=(name) name=(name) value=(value) class=(if errors.iter().any(|(f, _)| f == name) { "invalid" } else { "" });
                }
            }
            button type="submit" { "Save" }
        }
    };
    layout("Booking", Some(who), body)
}

pub async fn new_charter(State(shared): State<Arc<OfficeState>>, who: SignedIn) -> Response {
    charter_form(&who, office(&shared), None, &HashMap::new(), &[])
}

pub async fn edit_charter(State(shared): State<Arc<OfficeState>>, who: SignedIn, Path(id): Path<String>) -> Response {
    let Ok(id) = CharterId::parse(&id) else {
        return not_found(&who, "That is not a charter id.");
    };
    match tryp!(shared.store.get_charter(id).await) {
        Some(c) => charter_form(&who, office(&shared), Some(&c), &HashMap::new(), &[]),
        None => not_found(&who, "No such charter."),
    }
}

/// `GET /office/crew`: the roster with certification, activity and this month's charters.
pub async fn crew(State(shared): State<Arc<OfficeState>>, who: SignedIn) -> Response {
    let o = office(&shared);
    let month = Month::of(o.zone().date_of(shared.clock.now()));
    let crew = tryp!(shared.store.list_crew().await);
    let charters = tryp!(shared.store.list_charters_in_month(month).await);
    let mut sailed: HashMap<&CrewId, usize> = HashMap::new();
    for c in charters.iter().filter(|c| c.status != CharterStatus::Cancelled) {
        for p in c.people() {
            *sailed.entry(p).or_default() += 1;
        }
    }
    let body = html! {
        h1 { "Crew" }
        table.cards {
            thead { tr { th { "Crew" } th { "Email" } th { "Captain" } th { "Active" } th.count { "Charters in " (month.long_name()) } } }
            tbody {
                @for m in &crew {
                    tr {
                        td data-label="Crew" { a href=(format!("/office/crew/{}", m.crew_id)) { (m.name) } " (" (m.crew_id) ")" }
                        td data-label="Email" { (m.email.to_string()) }
                        td data-label="Captain" { (if m.captain_certified { "certified" } else { "no" }) }
                        td data-label="Active" { (if m.active { "yes" } else { "no" }) }
                        td.count data-label=(format!("Charters in {}", month.long_name())) { (sailed.get(&m.crew_id).copied().unwrap_or(0)) }
                    }
                }
            }
        }
    };
    layout("Crew", Some(&who), body)
}

/// `GET /office/crew/{id}?month=`: one person's month as a calendar.
pub async fn crew_member(
    State(shared): State<Arc<OfficeState>>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let o = office(&shared);
    let Ok(id) = CrewId::parse(&id) else {
        return not_found(&who, "That is not a crew id.");
    };
    let Some(m) = tryp!(shared.store.get_crew(&id).await) else {
        return not_found(&who, "No such crew member.");
    };
    let month = q
        .get("month")
        .and_then(|s| Month::parse(s).ok())
        .unwrap_or_else(|| Month::of(o.zone().date_of(shared.clock.now())));
    let charters = tryp!(shared.store.list_charters_in_month(month).await);
    let mine: Vec<&Charter> = charters
        .iter()
        .filter(|c| c.status != CharterStatus::Cancelled && c.people().any(|p| *p == id))
        .collect();
    let first = month.first_day();
    let lead = first.weekday().num_days_from_monday() as i64;
    let days: Vec<Option<NaiveDate>> = (0..lead)
        .map(|_| None)
        .chain((0..=(month.last_day() - first).num_days()).map(|d| Some(first + Duration::days(d))))
        .collect();
    let body = html! {
        h1 { (m.name) " (" (m.crew_id) ")" }
        p { (m.email.to_string()) " · " (if m.captain_certified { "captain-certified" } else { "crew" }) " · " (if m.active { "active" } else { "inactive" }) }
        p.pager {
            a href=(format!("/office/crew/{id}?month={}", month.prev())) { "← " (month.prev().long_name()) }
            " · " strong { (month.long_name()) } " · "
            a href=(format!("/office/crew/{id}?month={}", month.next())) { (month.next().long_name()) " →" }
        }
        table.calendar {
            thead { tr { @for d in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] { th { (d) } } } }
            tbody {
                @for week in days.chunks(7) {
                    tr {
                        @for d in week {
                            @match d {
                                Some(d) => {
                                    @let sailing = mine.iter().filter(|c| c.charter_date == *d).count();
                                    td class=(if sailing > 0 { "sailing" } else if m.is_available_on(*d) { "available" } else { "" }) {
                                        (d.day())
                                        @if sailing > 0 { br; small { (sailing) " charter" } }
                                    }
                                }
                                None => td {},
                            }
                        }
                    }
                }
            }
        }
        p.legend { span.available { "available" } " " span.sailing { "sailing" } }
        h2 { "Charters in " (month.long_name()) " (" (mine.len()) ")" }
        ul { @for c in &mine { li { a href=(format!("/office/charters/{}", c.charter_id)) { (c.charter_date) " " (time(c)) " " (c.vessel_name) } } } }
    };
    layout("Crew member", Some(&who), body)
}

/// `GET /office/automation`: jobs, alerts, dead letters, credentials.
pub async fn automation(
    State(shared): State<Arc<OfficeState>>,
    who: SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let report = tryp!(shared.status.report().await);
    let runs = tryp!(shared.store.recent_runs(None, 30).await);
    let alerts = tryp!(shared.store.list_alerts().await);
    let dead = tryp!(shared.store.list_events(EventStatus::Dead, 100).await);
    let body = html! {
        h1 { "Automation" }
        @if let Some(msg) = super::notice::of(&q, "done") { p.notice { (msg) } }
        @if let Some(b) = &report.backup {
            h2 { "Backups" }
            p #backups class=(if b.state.last_verified.is_none() { "bad" } else { "" }) {
                @match &b.state.last_verified {
                    Some(v) => { "Last verified backup " (shared.local(v.at)) ", " (crate::alerts::age(report.generated_at - v.at)) " ago, at " code { (b.target) } "." }
                    None => { "No verified backup yet at " code { (b.target) } ": run the " code { "backup" } " job below." }
                }
            }
        }
        h2 { "Jobs" }
        table.cards #jobs {
            thead { tr { th { "Job" } th { "Schedule" } th { "Last run" } th { "Last success" } th { "Next run" } th { "" } } }
            tbody {
                @for j in &report.jobs {
                    tr class=(if j.failing || j.stale { "bad" } else { "" }) {
                        td.key data-label="Job" { (j.name) }
                        td.schedule data-label="Schedule" { (j.schedule) (if j.enabled { "" } else { " (disabled)" }) }
                        td.text data-label="Last run" { @if let Some(r) = &j.last_run { (shared.local(r.started_at)) " " (r.outcome.to_string()) @if let Some(e) = &r.error { br; small.error { (e) } } } }
                        td data-label="Last success" { (match (j.last_success_at, j.last_checked) {
                            (Some(t), _) => shared.local(t),
                            (None, Some(c)) if j.last_run.is_none() => format!("checked {}, nothing to do", shared.local(c)),
                            _ => "never".into(),
                        }) }
                        td data-label="Next run" { (j.next_run.map(|t| shared.local(t)).unwrap_or_default()) }
                        td { (button(&who, &format!("/office/jobs/{}/run", j.name), "Run now", "")) }
                    }
                }
            }
        }
        h3 { "Recent runs" }
        table.cards {
            thead { tr { th { "Job" } th { "Started" } th { "Outcome" } th { "Summary or error" } } }
            tbody {
                @for r in &runs {
                    tr { td.key data-label="Job" { (r.job) } td data-label="Started" { (shared.local(r.started_at)) } td data-label="Outcome" { (r.outcome.to_string()) }
                         td.text data-label="Summary or error" { (r.error.clone().or_else(|| r.summary.clone()).unwrap_or_default()) } }
                }
            }
        }
        h2 { "Alerts" }
        @if alerts.is_empty() { p { "No alerts, ever." } }
        ul.findings {
            @for a in &alerts {
                li class=(if a.status == AlertStatus::Firing { "bad" } else { "good" }) {
                    (if a.status == AlertStatus::Firing { "Firing" } else { "Resolved" }) " since " (shared.local(a.since)) ": " (a.summary)
                }
            }
        }
        h2 { "Dead letters (" (dead.len()) ")" }
        @if dead.is_empty() { p.ok { "None: every change reached its consumers." } }
        @else {
            table.cards #dead {
                thead { tr { th { "Event" } th { "Topic" } th.count { "Attempts" } th { "Last error" } th { "" } } }
                tbody {
                    @for e in &dead {
                        tr {
                            td data-label="Event" { (e.event_id) } td data-label="Topic" { (e.event.topic()) } td.count data-label="Attempts" { (e.attempts) } td.text data-label="Last error" { (e.last_error.clone().unwrap_or_default()) }
                            td { (button(&who, &format!("/office/dlq/{}/retry", e.event_id), "Retry", "")) (button(&who, &format!("/office/dlq/{}/drop", e.event_id), "Drop", "danger")) }
                        }
                    }
                }
            }
        }
        h2 { "Google credentials" }
        @if report.credentials.is_empty() {
            p { "None yet: a credential appears here once " code { "jada auth login NAME" } " has signed it in (see the README's Google section)." }
        } @else {
        table.cards {
            thead { tr { th { "Name" } th { "State" } th { "Token expires" } th { "Last error" } th { "Fix" } } }
            tbody {
                @for c in &report.credentials {
                    tr class=(if c.needs_reauth { "bad" } else { "" }) {
                        td data-label="Name" { (c.name) }
                        td data-label="State" { (c.health(report.generated_at)) }
                        td data-label="Token expires" { (c.expires_at.map(|t| shared.local(t)).unwrap_or_default()) }
                        td.text data-label="Last error" { (c.last_error.clone().unwrap_or_default()) }
                        td data-label="Fix" { @if c.needs_reauth { code { "jada auth login " (c.name) } } }
                    }
                }
            }
        }
        }
    };
    layout("Automation", Some(&who), body)
}

/// `GET /office/revenue?year=`: revenue and tips per month as an SVG chart.
pub async fn revenue(
    State(shared): State<Arc<OfficeState>>,
    who: SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let o = office(&shared);
    let year = q
        .get("year")
        .and_then(|y| y.parse::<i32>().ok())
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| o.zone().date_of(shared.clock.now()).year());
    let mut months = Vec::new();
    for m in 1..=12 {
        let month = Month::new(year, m).expect("1..=12 is a month");
        let cs = tryp!(shared.store.list_charters_in_month(month).await);
        let t = Totals::of(&cs);
        months.push((month, t.revenue, t.tips));
    }
    let svg = super::chart::revenue_svg(&months);
    let body = html! {
        h1 { "Revenue " (year) }
        p.pager { a href=(format!("/office/revenue?year={}", year - 1)) { "← " (year - 1) } " · " a href=(format!("/office/revenue?year={}", year + 1)) { (year + 1) " →" } }
        figure { (PreEscaped(svg)) }
        table.cards {
            thead { tr { th { "Month" } th.money { "Revenue" } th.money { "Tips" } th { "Report" } } }
            tbody {
                @for (m, r, t) in &months {
                    tr {
                        td data-label="Month" { (m.long_name()) } td.money data-label="Revenue" { (money(*r)) } td.money data-label="Tips" { (money(*t)) }
                        td data-label="Report" {
                            @let file = jada_ops::report::file_name(*m);
                            @if o.reports_dir.join(&file).exists() { a href=(format!("/office/reports/{file}")) { (file) } }
                            @else if *r > Cents::ZERO { small { "not built: " code { "jada report monthly --month " (m) } } }
                        }
                    }
                }
            }
        }
    };
    layout("Revenue", Some(&who), body)
}

/// `GET /office/reports/{file}`: a monthly report from the reports folder.
pub async fn report_file(State(shared): State<Arc<OfficeState>>, who: SignedIn, Path(file): Path<String>) -> Response {
    let o = office(&shared);
    // Only names the report writer makes: no paths.
    let ok = file.starts_with("revenue-")
        && file.ends_with(".xlsx")
        && file.len() == "revenue-2024-05.xlsx".len()
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !ok {
        return not_found(&who, "No such report.");
    }
    match read_report(&o.reports_dir, &file).await {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, jada_google::drive::XLSX.to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
            ],
            bytes,
        )
            .into_response(),
        None => not_found(&who, "No such report."),
    }
}

/// A report's bytes, only when it is a regular file (not a symlink) that resolves inside
/// the reports folder: a link planted there cannot serve `/etc/passwd` or a secret.
async fn read_report(dir: &std::path::Path, file: &str) -> Option<Vec<u8>> {
    let path = dir.join(file);
    let meta = tokio::fs::symlink_metadata(&path).await.ok()?;
    if !meta.file_type().is_file() {
        tracing::warn!(path = %path.display(), "refused to serve a report that is not a regular file");
        return None;
    }
    let (real, root) = (
        tokio::fs::canonicalize(&path).await.ok()?,
        tokio::fs::canonicalize(dir).await.ok()?,
    );
    if !real.starts_with(&root) {
        return None;
    }
    tokio::fs::read(&real).await.ok()
}
