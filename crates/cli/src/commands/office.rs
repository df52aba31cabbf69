//! `jada office link EMAIL`: a sign-in link printed in the terminal, for the first
//! sign-in (the mailed link lands quoted-printable in an `.eml` file until mail is set
//! up). Made by the same function as the mailed one: once, for 15 minutes.

use jada_core::Email;
use jada_ops::office::{may_sign_in, sign_in_link, LINK_LIFETIME};
use serde_json::json;

use crate::cli::{Global, OfficeCommand};
use crate::commands::load_app;
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, cmd: OfficeCommand) -> Result<(), Failure> {
    let OfficeCommand::Link { email, json } = cmd;
    let app = load_app(g)?;
    // This data directory's daemon may let more people in than the configuration says
    // (`serve --demo` lets the mail sender in): a link is for the daemon that will read it.
    let daemon = app.data.running_daemon();
    let users = match &daemon {
        Some(d) if app.config.office.users.is_empty() => &d.office_users,
        _ => &app.config.office.users,
    };
    if users.is_empty() {
        return Err(Failure::Usage(anyhow::anyhow!(
            "no one may sign in to the office pages: list the office's addresses in jada.toml, e.g.\n\n[office]\nusers = [\"{email}\"]"
        )));
    }
    if !may_sign_in(users, &email) {
        return Err(Failure::Usage(anyhow::anyhow!(
            "`{email}` is not an office user ([office] users: {}): add it there first",
            users.join(", ")
        )));
    }
    let address = Email::parse(&email).map_err(|e| Failure::Usage(anyhow::anyhow!("{e}")))?;
    let now = app.clock.now();
    let links = &app.dispatcher()?.links;
    let mut url = sign_in_link(links, &address, now);
    // With the default public URL, the link goes to the daemon of this data directory,
    // wherever `--listen` put it (as the daemon's own mail does).
    if app.config.server.public_url == jada_app::config::DEFAULT_PUBLIC_URL {
        if let Some(d) = app.data.running_daemon() {
            url = url.replacen(&links.public_url, &d.url(), 1);
        }
    }
    let expires_at = now + chrono::Duration::minutes(LINK_LIFETIME);
    tracing::info!(email = %address, "office sign-in link printed");
    if json {
        return Ok(print_json(
            &json!({"email": address, "url": url, "expires_at": expires_at}),
        )?);
    }
    println!("{url}");
    eprintln!(
        "(signs {address} in once, until {}; open it where the daemon's pages are served)",
        app.config
            .business
            .time_zone
            .show(expires_at, chrono::Datelike::year(&now))
    );
    Ok(())
}
