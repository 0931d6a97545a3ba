//! `sla-recompute`: how long recomputing every open ticket's SLA clocks
//! takes after a calendar change, through the store's own projection code.
//!
//! Seeds open tickets, attaches a policy with two targets (first response
//! and resolution) on an office-hours calendar, builds the projection once,
//! then changes the calendar's hours and times the pass that the change
//! triggers: every open ticket's history replayed, clocks evaluated, rows
//! written.

use anyhow::Context;
use jiff::civil::time;
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::{CalendarConfig, WeeklyHours};
use opsdesk_domain::sla::{PolicyMatcher, SlaMetric, SlaTarget};
use opsdesk_store::Store;
use opsdesk_store::sla::{CalendarInput, SlaPolicyInput};
use std::time::Instant;

fn office(name: &str, start: u8, end: u8) -> CalendarInput {
    CalendarInput {
        name: name.to_string(),
        config: CalendarConfig {
            time_zone: "Europe/Berlin".into(),
            hours: WeeklyHours::office(time(start as i8, 0, 0, 0), time(end as i8, 0, 0, 0)),
            holidays: vec![],
        },
    }
}

pub async fn recompute(url: &str, tickets: usize) -> anyhow::Result<()> {
    let store = Store::open(url)
        .await
        .with_context(|| format!("open {url}"))?;
    let existing = store.list_tickets(&Default::default()).await?.items.len();
    if existing == 0 {
        super::seed(url, tickets, 5_000).await?;
    }
    let admin = store
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.role == opsdesk_domain::Role::Admin)
        .context("the seeded database has an admin")?;
    let now = Timestamp::now();
    // Reuse the calendar and policy of an earlier run on the same database.
    let calendar = match store
        .list_calendars()
        .await?
        .into_iter()
        .find(|c| c.name == "Bench office hours")
    {
        Some(c) => c,
        None => {
            store
                .create_calendar(office("Bench office hours", 9, 17), admin.id, now)
                .await?
        }
    };
    let has_policy = store
        .list_sla_policies()
        .await?
        .iter()
        .any(|p| p.name == "Bench: every ticket");
    if !has_policy {
        store
            .create_sla_policy(
                SlaPolicyInput {
                    name: "Bench: every ticket".into(),
                    order: 1,
                    matcher: PolicyMatcher::default(),
                    targets: vec![
                        SlaTarget::new(
                            SlaMetric::FirstResponse,
                            SignedDuration::from_hours(8 * 200),
                            calendar.id,
                        ),
                        SlaTarget::new(
                            SlaMetric::Resolution,
                            SignedDuration::from_hours(8 * 400),
                            calendar.id,
                        ),
                    ],
                },
                admin.id,
                now,
            )
            .await?;
    }
    let started = Instant::now();
    let first = store.project_sla("bench", Timestamp::now()).await?;
    println!(
        "sla-recompute: initial projection of {} tickets ({} announcements) in {:.2} s",
        first.tickets,
        first.announced,
        started.elapsed().as_secs_f64()
    );

    // The change: support starts an hour later (or earlier again, on a
    // second run).
    let starts_at_nine = calendar
        .hours
        .monday
        .first()
        .is_some_and(|(start, _)| start.hour() == 9);
    let start = if starts_at_nine { 10 } else { 9 };
    store
        .update_calendar(
            calendar.id,
            office("Bench office hours", start, 17),
            admin.id,
            Timestamp::now(),
        )
        .await?;
    let started = Instant::now();
    let pass = store.project_sla("bench", Timestamp::now()).await?;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sla-recompute: calendar change recomputed {} open tickets (2 clocks each) in {elapsed:.2} s ({:.0} tickets/s)",
        pass.tickets,
        pass.tickets as f64 / elapsed
    );
    Ok(())
}
