//! How an offer reaches a crew member. Mail today (Gmail when configured, `.eml` files
//! otherwise); SMS can come later behind the same trait.

use std::sync::Arc;

use async_trait::async_trait;
use jada_core::{BusinessZone, Charter, CrewMember, Offer};

use crate::mail::{Mail, MailError, Mailer};

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Tells `crew` about `offer` on `charter`, with the link to answer it.
    async fn offer(&self, crew: &CrewMember, charter: &Charter, offer: &Offer, link: &str) -> Result<(), MailError>;

    /// Tells `crew` that `charter`, which they sail or were offered, is off or back on.
    async fn news(&self, crew: &CrewMember, charter: &Charter, news: News) -> Result<(), MailError>;
}

/// What changed about a charter someone sails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum News {
    /// Called off: their seat (or their offer) is gone.
    Cancelled,
    /// Back on after a cancel: they sail it again.
    Reinstated,
}

/// Offers by mail.
pub struct MailNotifier {
    pub mailer: Arc<dyn Mailer>,
    pub sender: String,
    pub business: String,
    pub zone: BusinessZone,
}

#[async_trait]
impl Notifier for MailNotifier {
    async fn offer(&self, crew: &CrewMember, charter: &Charter, offer: &Offer, link: &str) -> Result<(), MailError> {
        let when = charter.charter_date.format("%A %-d %B %Y");
        let deadline = offer
            .expires_at
            .with_timezone(&self.zone.tz())
            .format("%-d %B at %H:%M");
        let mail = Mail {
            from: self.sender.clone(),
            to: vec![crew.email.to_string()],
            subject: format!("Can you sail {when} on {}?", charter.vessel_name),
            body: format!(
                "Hello {},\n\nA seat is open on {} on {when}, {}–{}, {} guests.\n\nAccept or decline here (the link is yours alone):\n{link}\n\nThe offer stands until {deadline}; after that it goes to the next person.\n\n{}\n",
                crew.name,
                charter.vessel_name,
                charter.start_time.format("%H:%M"),
                charter.end_time.format("%H:%M"),
                charter.guest_count,
                self.business
            ),
            ..Mail::default()
        };
        self.mailer.send(&mail).await.map(|_| ())
    }

    async fn news(&self, crew: &CrewMember, charter: &Charter, news: News) -> Result<(), MailError> {
        let when = charter.charter_date.format("%A %-d %B %Y");
        let sail = format!(
            "{} on {when}, {}–{}",
            charter.vessel_name,
            charter.start_time.format("%H:%M"),
            charter.end_time.format("%H:%M")
        );
        let (subject, text) = match news {
            News::Cancelled => (
                format!("Cancelled: {sail}"),
                format!("The charter on {sail} is cancelled. You do not need to come in for it; any open offer for it is withdrawn."),
            ),
            News::Reinstated => (
                format!("Back on: {sail}"),
                format!("The charter on {sail} was cancelled and is back on. You are aboard again, as before."),
            ),
        };
        let mail = Mail {
            from: self.sender.clone(),
            to: vec![crew.email.to_string()],
            subject,
            body: format!("Hello {},\n\n{text}\n\n{}\n", crew.name, self.business),
            ..Mail::default()
        };
        self.mailer.send(&mail).await.map(|_| ())
    }
}
