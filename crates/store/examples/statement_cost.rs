//! How long one round trip to the database takes through the store, and one
//! ticket read: the floor under every request's latency.
//!
//! cargo run --release -p opsdesk-store --example statement_cost -- sqlite:///tmp/x.db

use opsdesk_store::Store;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite:///tmp/opsdesk-statement-cost.db".into());
    let store = Store::open(&url).await?;
    let n = 5_000;
    let t = Instant::now();
    for _ in 0..n {
        sqlx::query("SELECT 1").execute(store.pool()).await?;
    }
    println!(
        "SELECT 1 on the pool:       {:>7.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let mut conn = store.pool().acquire().await?;
    let t = Instant::now();
    for _ in 0..n {
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
    }
    println!(
        "SELECT 1 on one connection: {:>7.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    drop(conn);
    let t = Instant::now();
    for _ in 0..n {
        let tx = store.write(None, jiff::Timestamp::now()).await?;
        tx.commit().await?;
    }
    println!(
        "empty write + commit:       {:>7.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    creates(&store).await?;
    Ok(())
}

/// Ticket creation throughput through the store alone, 16 concurrent writers.
async fn creates(store: &Store) -> Result<(), Box<dyn std::error::Error>> {
    use opsdesk_domain::{Impact, Role, TicketKind, Urgency};
    use opsdesk_store::NewUser;
    use opsdesk_store::tickets::NewTicket;
    let now = jiff::Timestamp::now();
    let user = store
        .create_user(
            NewUser {
                username: format!("cost{}", now.as_millisecond()),
                display_name: "Cost".into(),
                email: None,
                role: Role::Agent,
                organization: None,
                password_hash: None,
            },
            None,
            now,
        )
        .await?;
    let per_task = 500;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                let new = NewTicket {
                    kind: TicketKind::Incident,
                    title: format!("cost {i}"),
                    description:
                        "Users on the third floor lose VPN every few minutes since this morning."
                            .into(),
                    requester_id: user.id,
                    team_id: None,
                    assignee_id: None,
                    service_id: None,
                    category: None,
                    tags: vec!["bench".into()],
                    impact: Impact::Medium,
                    urgency: Urgency::High,
                    priority_override: None,
                };
                store
                    .create_ticket(new, jiff::Timestamp::now(), user.id, None)
                    .await
                    .expect("create");
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let n = 16 * per_task;
    println!(
        "create_ticket x16 writers:  {:>7.0} /s",
        n as f64 / t.elapsed().as_secs_f64()
    );
    Ok(())
}
