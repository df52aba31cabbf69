//! `jada statements send|list`.

use jada_core::Month;
use jada_ops::statements::{send, Options};

use crate::cli::{Global, StatementsCommand};
use crate::commands::Context;
use crate::output::{print_json, table};
use crate::Failure;

fn month_of(ctx: &Context, month: Option<String>) -> Result<Month, Failure> {
    match month {
        Some(m) => Month::parse(&m).map_err(|e| Failure::Usage(anyhow::anyhow!("--month: {e}"))),
        None => Ok(Month::of(ctx.today()).prev()),
    }
}

pub async fn run(g: &Global, cmd: StatementsCommand) -> Result<(), Failure> {
    let ctx = crate::commands::load_app(g)?;
    match cmd {
        StatementsCommand::Send {
            month,
            dry_run,
            resend,
            json,
        } => {
            let month = month_of(&ctx, month)?;
            let cfg = ctx.statements_config()?;
            let mailer = ctx.mailer()?;
            let dir = ctx.data.statements().join(month.to_string());
            let out = send(
                ctx.store.as_ref(),
                mailer.as_ref(),
                &cfg,
                month,
                Options { dry_run, resend },
                &dir,
                chrono::Utc::now(),
            )
            .await
            .map_err(Failure::op)?;
            if json {
                print_json(&out)?;
            } else {
                let verb = if dry_run { "would send" } else { "sent" };
                let mut t = table(&["Statement", "To", "Cc", if dry_run { "Written to" } else { "Message" }]);
                for s in &out.sent {
                    t.add_row(vec![
                        s.what.clone(),
                        s.to.join(", "),
                        s.cc.join(", "),
                        s.message.clone(),
                    ]);
                }
                if !out.sent.is_empty() {
                    say!("{t}");
                }
                say!(
                    "{}: {verb} {} message(s); {} already sent (--resend to send again); workbooks in {}",
                    month.long_name(),
                    out.sent.len(),
                    out.already_sent.len(),
                    out.dir.display()
                );
                for n in &out.notes {
                    say!("note: {n}");
                }
                if !out.found_by_search.is_empty() {
                    say!("summary recipients found in Gmail: {}", out.found_by_search.join(", "));
                }
            }
            if !out.ok() {
                let why = out.not_sent();
                return Err(Failure::op(anyhow::anyhow!(
                    "not every statement went out:\n  {}\nrun `jada statements send --month {month}` again once fixed: only what is missing is sent",
                    why.join("\n  ")
                )));
            }
            Ok(())
        }
        StatementsCommand::List { month, json } => {
            let month = month_of(&ctx, month)?;
            let sent = ctx.store.list_statements(month).await.map_err(Failure::op)?;
            if json {
                return Ok(print_json(&sent)?);
            }
            if sent.is_empty() {
                say!("no statements sent for {}", month.long_name());
                return Ok(());
            }
            let mut t = table(&["Statement", "Recipients", "Sent", "Message"]);
            t.whole(&[0, 2]);
            for s in &sent {
                t.add_row(vec![
                    s.key.clone(),
                    s.recipient.clone(),
                    ctx.show_time(s.sent_at),
                    s.message_id.clone(),
                ]);
            }
            say!("{t}");
            Ok(())
        }
    }
}
