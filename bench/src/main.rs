//! `opsdesk-bench`: seeds a data set and measures a running server.
//!
//! `seed` writes tickets straight through the store's import path (the same
//! validation, redaction and events as the API, one transaction per batch),
//! because creating a million tickets over HTTP would take longer than the
//! measurement itself. `run` then drives the server over HTTP and prints
//! throughput, p50/p99 latency and the server's resident memory.

mod alerts;
mod readings;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jiff::Timestamp;
use opsdesk_domain::{Impact, Role, ServiceId, TeamId, TicketKind, Urgency, UserId};
use opsdesk_store::directory::{ServiceInput, TeamInput};
use opsdesk_store::tickets::NewTicket;
use opsdesk_store::{NewUser, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use readings::{percentile, rss_mb};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod sla;

#[derive(Parser)]
#[command(about = "Seed and load-test an opsdesk server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill a database with a ticket data set (on top of what is there).
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        tickets: usize,
        #[arg(long, default_value_t = 5_000)]
        batch: usize,
    },
    /// Time recomputing every open ticket's SLA clocks after a calendar
    /// change (seeds `tickets` open tickets into an empty database first).
    SlaRecompute {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        tickets: usize,
    },
    /// Drive a running server and print the measurements.
    Run {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        #[arg(long, env = "OPSDESK_TOKEN")]
        token: String,
        /// Which measurements: create, list, search, pages (comma-separated).
        #[arg(long, default_value = "create,list,search")]
        scenarios: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The server's process id, to report its RSS.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Alert intake load: Alertmanager webhook batches of new and repeated
    /// alerts, and the same stream to a Prometheus Alertmanager.
    Alerts(alerts::AlertsArgs),
}

const WORDS: &[&str] = &[
    "printer",
    "vpn",
    "email",
    "laptop",
    "password",
    "reset",
    "network",
    "slow",
    "outage",
    "database",
    "timeout",
    "login",
    "access",
    "error",
    "disk",
    "full",
    "certificate",
    "expired",
    "wifi",
    "office",
    "crash",
    "update",
    "install",
    "license",
    "payroll",
    "invoice",
    "backup",
    "restore",
    "kubernetes",
    "pod",
    "memory",
    "cpu",
    "latency",
    "dns",
    "firewall",
    "proxy",
    "share",
    "folder",
    "permission",
    "monitor",
    "keyboard",
    "headset",
    "meeting",
    "room",
    "calendar",
    "sync",
    "mobile",
    "phone",
    "token",
    "sso",
    "account",
    "locked",
    "upgrade",
    "patch",
    "release",
];

fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

struct Directory {
    admin: UserId,
    requesters: Vec<UserId>,
    teams: Vec<TeamId>,
    services: Vec<ServiceId>,
}

/// Creates (or reuses) the people and groups the tickets refer to.
async fn directory(store: &Store, now: Timestamp) -> anyhow::Result<Directory> {
    let existing = store.list_users().await?;
    let admin = match existing.iter().find(|u| u.role == Role::Admin) {
        Some(a) => a.id,
        None => {
            store
                .create_user(
                    NewUser {
                        username: "admin".into(),
                        display_name: "Administrator".into(),
                        email: None,
                        role: Role::Admin,
                        organization: None,
                        password_hash: None,
                    },
                    None,
                    now,
                )
                .await?
                .id
        }
    };
    let mut requesters: Vec<UserId> = existing
        .iter()
        .filter(|u| u.role == Role::Requester)
        .map(|u| u.id)
        .collect();
    for i in requesters.len()..200 {
        let u = NewUser {
            username: format!("bench.requester{i}"),
            display_name: format!("Bench Requester {i}"),
            email: None,
            role: Role::Requester,
            organization: Some(["Finance", "Sales", "HR", "Engineering"][i % 4].into()),
            password_hash: None,
        };
        requesters.push(store.create_user(u, Some(admin), now).await?.id);
    }
    let mut teams: Vec<TeamId> = store.list_teams().await?.iter().map(|t| t.id).collect();
    for i in teams.len()..8 {
        let t = store
            .create_team(
                TeamInput {
                    name: format!("Bench team {i}"),
                    description: String::new(),
                    round_robin: false,
                },
                admin,
                now,
            )
            .await?;
        teams.push(t.id);
    }
    let mut services: Vec<ServiceId> = store.list_services().await?.iter().map(|s| s.id).collect();
    for i in services.len()..20 {
        let s = store
            .create_service(
                ServiceInput {
                    name: format!("Bench service {i}"),
                    description: String::new(),
                    owner_team_id: Some(teams[i % teams.len()]),
                    tier: (i % 4) as i64 + 1,
                },
                admin,
                now,
            )
            .await?;
        services.push(s.id);
    }
    Ok(Directory {
        admin,
        requesters,
        teams,
        services,
    })
}

async fn seed(url: &str, total: usize, batch: usize) -> anyhow::Result<()> {
    let store = Store::open(url)
        .await
        .with_context(|| format!("open {url}"))?;
    let started = Instant::now();
    let dir = directory(&store, Timestamp::now()).await?;
    let mut rng = StdRng::seed_from_u64(42);
    let kinds = [
        TicketKind::Incident,
        TicketKind::Incident,
        TicketKind::Incident,
        TicketKind::ServiceRequest,
        TicketKind::Problem,
        TicketKind::Change,
    ];
    let levels = [Impact::High, Impact::Medium, Impact::Medium, Impact::Low];
    let urgencies = [Urgency::High, Urgency::Medium, Urgency::Low, Urgency::Low];
    let mut done = 0;
    // Spread creation times over the last year so time filters and sorts are realistic.
    let start = Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24 * 365))?;
    while done < total {
        let n = batch.min(total - done);
        let tickets: Vec<NewTicket> = (0..n)
            .map(|_| NewTicket {
                kind: kinds[rng.random_range(0..kinds.len())],
                title: sentence(&mut rng, 6),
                description: sentence(&mut rng, 30),
                requester_id: dir.requesters[rng.random_range(0..dir.requesters.len())],
                team_id: Some(dir.teams[rng.random_range(0..dir.teams.len())]),
                assignee_id: None,
                service_id: Some(dir.services[rng.random_range(0..dir.services.len())]),
                category: None,
                tags: if rng.random_bool(0.2) {
                    vec![WORDS[rng.random_range(0..8)].to_string()]
                } else {
                    vec![]
                },
                impact: levels[rng.random_range(0..levels.len())],
                urgency: urgencies[rng.random_range(0..urgencies.len())],
                priority_override: None,
            })
            .collect();
        let at = start.checked_add(jiff::SignedDuration::from_secs(
            ((done as f64 / total as f64) * 365.0 * 86_400.0) as i64,
        ))?;
        store.import_tickets(&tickets, at, dir.admin).await?;
        done += n;
        if done % (batch * 20) == 0 || done == total {
            eprintln!(
                "seeded {done}/{total} tickets ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "seed: {total} tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs `concurrency` workers calling `request` until `seconds` pass.
async fn measure<F, Fut>(
    name: &str,
    concurrency: usize,
    seconds: u64,
    request: F,
) -> anyhow::Result<()>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let request = Arc::new(request);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let request = request.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match request(w, i).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("{e:#}");
                        }
                    }
                }
                i += 1;
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "{name:<8} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} ok, {errors} errors, {concurrency} clients, {elapsed:.1} s)",
        all.len() as f64 / elapsed,
        percentile(&all, 0.50).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        all.len(),
    );
    if errors > 0 {
        bail!("{name}: {errors} requests failed");
    }
    Ok(())
}

/// Signs in as the admin (`BENCH_WEB_USER`, default `admin`, with
/// `BENCH_WEB_PASSWORD`) and returns the session cookie, for the HTML pages.
async fn web_session(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let user = std::env::var("BENCH_WEB_USER").unwrap_or_else(|_| "admin".into());
    let password = std::env::var("BENCH_WEB_PASSWORD")
        .context("the pages scenario signs in: set BENCH_WEB_PASSWORD")?;
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await?;
    if r.status() != 200 {
        bail!("sign-in for the pages scenario: {}", r.status());
    }
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("opsdesk_session="))
        .and_then(|v| v.split(';').next())
        .context("sign-in returned no session cookie")?;
    Ok(cookie.to_string())
}

async fn run(
    server: String,
    token: String,
    scenarios: String,
    concurrency: usize,
    seconds: u64,
    pid: Option<u32>,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    let base = Arc::new(server.trim_end_matches('/').to_string());
    let auth = Arc::new(format!("Bearer {token}"));
    if let Some(mb) = rss_mb(pid) {
        println!("server RSS before: {mb:.1} MB");
    }
    for scenario in scenarios.split(',').map(str::trim) {
        let (client, base, auth) = (client.clone(), base.clone(), auth.clone());
        match scenario {
            "create" => {
                measure("create", concurrency, seconds, move |w, i| {
                    let (client, base, auth) = (client.clone(), base.clone(), auth.clone());
                    async move {
                        let body = serde_json::json!({
                            "kind": "incident",
                            "title": format!("bench {w}-{i}: vpn drops every few minutes"),
                            "description": "Users on the third floor lose VPN every few minutes since this morning.",
                            "impact": "medium", "urgency": "high", "tags": ["bench"],
                        });
                        let r = client.post(format!("{base}/api/v1/tickets")).header("authorization", auth.as_str()).json(&body).send().await?;
                        if r.status() != 201 {
                            bail!("create: {} {}", r.status(), r.text().await.unwrap_or_default());
                        }
                        Ok(())
                    }
                })
                .await?
            }
            "list" => {
                // The queues an agent lives in: filtered by team/state/priority, sorted, 50 rows.
                let queries = [
                    "open=true&sort=-created_at&limit=50",
                    "open=true&team_id=3&sort=-updated_at&limit=50",
                    "open=true&sort=priority&limit=50",
                    "kind=incident&priority=P1,P2&sort=-created_at&limit=50",
                    "assignee=none&open=true&sort=-created_at&limit=50",
                    "team_id=5&kind=service_request&sort=-created_at&limit=50",
                ];
                measure("list", concurrency, seconds, move |_, i| {
                    let (client, base, auth) = (client.clone(), base.clone(), auth.clone());
                    let q = queries[i as usize % queries.len()];
                    async move {
                        let r = client.get(format!("{base}/api/v1/tickets?{q}")).header("authorization", auth.as_str()).send().await?;
                        if r.status() != 200 {
                            bail!("list {q}: {}", r.status());
                        }
                        let _ = r.bytes().await?;
                        Ok(())
                    }
                })
                .await?
            }
            "search" => {
                measure("search", concurrency, seconds, move |_, i| {
                    let (client, base, auth) = (client.clone(), base.clone(), auth.clone());
                    let a = WORDS[(i as usize * 7) % WORDS.len()];
                    let b = WORDS[(i as usize * 13 + 5) % WORDS.len()];
                    async move {
                        let r = client
                            .get(format!("{base}/api/v1/tickets?q={a}+{b}&sort=-created_at&limit=50"))
                            .header("authorization", auth.as_str())
                            .send()
                            .await?;
                        if r.status() != 200 {
                            bail!("search: {}", r.status());
                        }
                        let _ = r.bytes().await?;
                        Ok(())
                    }
                })
                .await?
            }
            "pages" => {
                // The agent workspace's queue pages, rendered HTML, as a
                // signed-in browser asks for them.
                let cookie = Arc::new(web_session(&client, &base).await?);
                let pages = [
                    "/agent/queues/open",
                    "/agent/queues/unassigned",
                    "/agent/queues/open?sort=priority",
                    "/agent/queues/open?kind=incident&priority=P1,P2",
                    "/agent/queues/team",
                ];
                measure("pages", concurrency, seconds, move |_, i| {
                    let (client, base, cookie) = (client.clone(), base.clone(), cookie.clone());
                    let page = pages[i as usize % pages.len()];
                    async move {
                        let r = client
                            .get(format!("{base}{page}"))
                            .header("cookie", cookie.as_str())
                            .send()
                            .await?;
                        if r.status() != 200 {
                            bail!("page {page}: {}", r.status());
                        }
                        let _ = r.bytes().await?;
                        Ok(())
                    }
                })
                .await?
            }
            other => bail!("unknown scenario '{other}': use create, list, search or pages"),
        }
        if let Some(mb) = rss_mb(pid) {
            println!("server RSS after {scenario}: {mb:.1} MB");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed {
            database_url,
            tickets,
            batch,
        } => seed(&database_url, tickets, batch).await,
        Command::SlaRecompute {
            database_url,
            tickets,
        } => sla::recompute(&database_url, tickets).await,
        Command::Run {
            server,
            token,
            scenarios,
            concurrency,
            seconds,
            server_pid,
        } => run(server, token, scenarios, concurrency, seconds, server_pid).await,
        Command::Alerts(args) => alerts::run(args).await,
    }
}
