//! The store's work for alert intake, without HTTP: batches of 100 alerts
//! sent one after another through `Store::ingest_alerts`, as new alerts or
//! as repeats of stored ones. Made to be counted in instructions
//! (`valgrind --tool=callgrind`), which do not move with a noisy machine
//! as throughput does (docs/BENCHMARKS.md, "How to reproduce").
//!
//! A database holding many alerts is filled once, uncounted, and copied
//! for each counted run:
//!
//! ```sh
//! cargo build --release -p opsdesk-store --example intake_cost
//! EX=$CARGO_TARGET_DIR/release/examples/intake_cost
//! $EX /tmp/intake.db fill 300000         # 300,000 new alerts
//! cp /tmp/intake.db /tmp/run.db
//! valgrind --tool=callgrind --separate-threads=yes $EX /tmp/run.db new 20000
//! ```
//!
//! Valgrind hides the CPU's SHA extensions, so fingerprints and content
//! digests take SHA-256's software path there and the async thread's
//! count overstates them; the SQLite thread's count is the server's.

use jiff::Timestamp;
use opsdesk_domain::Role;
use opsdesk_domain::alerts::parse_generic;
use opsdesk_store::alerts::{IntakeBatch, Integration, IntegrationInput};
use opsdesk_store::directory::ServiceInput;
use opsdesk_store::{NewUser, Store};
use std::time::Instant;

const BATCH: u64 = 100;

/// The server's allocator (`crates/opsdesk/src/main.rs`), which SQLite
/// uses too: its cost is part of what is counted.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The benchmark's alert stream (`bench/src/alerts.rs`): alert `n` of one
/// alert name, in batches of `BATCH` from `first`.
fn batch(first: u64) -> IntakeBatch {
    let alerts: Vec<serde_json::Value> = (first..first + BATCH)
        .map(|n| {
            serde_json::json!({
                "labels": {"alertname": "CostAlert", "instance": format!("host-{n}"), "job": "node", "severity": "warning"},
                "annotations": {"summary": format!("Cost alert {n}")},
            })
        })
        .collect();
    let body = serde_json::json!({ "alerts": alerts }).to_string();
    IntakeBatch {
        signals: parse_generic(body.as_bytes()).unwrap_or_default(),
        truncated: 0,
    }
}

/// The integration alerts go to: the first there is, else a new one (with
/// the user and service it needs).
async fn integration(store: &Store) -> Result<Integration, Box<dyn std::error::Error>> {
    if let Some(first) = store.list_integrations().await?.into_iter().next() {
        return Ok(first);
    }
    let now = Timestamp::now();
    let admin = store
        .create_user(
            NewUser {
                username: "cost".into(),
                display_name: "Cost".into(),
                email: None,
                role: Role::Admin,
                organization: None,
                password_hash: None,
            },
            None,
            now,
        )
        .await?;
    let service = store
        .create_service(
            ServiceInput {
                name: "Cost".into(),
                description: String::new(),
                owner_team_id: None,
                tier: 2,
            },
            admin.id,
            now,
        )
        .await?;
    let (integration, _key) = store
        .create_integration(IntegrationInput::new("cost", service.id), admin.id, now)
        .await?;
    Ok(integration)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: intake_cost <database file> fill|new|repeat <alerts>";
    let (Some(path), Some(mode), Some(alerts)) = (args.get(1), args.get(2), args.get(3)) else {
        return Err(usage.into());
    };
    let alerts: u64 = alerts.parse().map_err(|_| usage)?;
    let store = Store::open(&format!("sqlite://{path}?mode=rwc")).await?;
    let integration = integration(&store).await?;
    let stored: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM alerts")
            .fetch_one(store.pool())
            .await?,
        "n",
    )?;
    let stored = u64::try_from(stored)?;
    // New alerts carry numbers after every stored one; repeats resend the
    // first ones stored.
    let first = match mode.as_str() {
        "fill" | "new" => stored,
        "repeat" if alerts <= stored => 0,
        "repeat" => return Err(format!("only {stored} alerts are stored").into()),
        _ => return Err(usage.into()),
    };
    let started = Instant::now();
    for b in 0..alerts / BATCH {
        store
            .ingest_alerts(&integration, batch(first + b * BATCH), Timestamp::now())
            .await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{mode}: {} alerts after {stored} stored, {:.0}/s",
        alerts / BATCH * BATCH,
        (alerts / BATCH * BATCH) as f64 / seconds
    );
    store.close().await;
    Ok(())
}
