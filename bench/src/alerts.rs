//! `opsdesk-bench alerts`: alert intake load. Sends Alertmanager webhook
//! (version 4) batches to opsdesk from concurrent senders, first of new
//! alerts, then of repeats of known ones, optionally paced to a fixed batch
//! rate for latency, and the same stream of alerts to a Prometheus
//! Alertmanager (`POST /api/v2/alerts`) for comparison. Prints alerts/s,
//! p50/p99 batch latency and the RSS of both servers.
//!
//! Alerts of one sender share an `alertname`, so they group into one
//! incident per sender (as Alertmanager's own `group_by: [alertname]`
//! would): the measurement is of intake, dedup and grouping, not of
//! opening a ticket per alert.

use crate::readings::{cpu_seconds, percentile, rss_mb};
use anyhow::{Context, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct AlertsArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin's (or manager's) token, to create the bench integration.
    #[arg(long, env = "OPSDESK_TOKEN")]
    token: String,
    /// A Prometheus Alertmanager to send the same stream to, e.g. http://127.0.0.1:9093.
    #[arg(long)]
    alertmanager: Option<String>,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Seconds per phase (new, repeat, paced).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop the new-alerts phase after this many alerts (0: by time only).
    #[arg(long, default_value_t = 0)]
    max_new: u64,
    /// Batches per second for the paced phase (0: skip it).
    #[arg(long, default_value_t = 500)]
    rate: u64,
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long)]
    alertmanager_pid: Option<u32>,
}

/// What a phase cost in CPU: of the server, and of this process (the load
/// itself runs on the same machine and takes part of its cores).
struct CpuMeter {
    server_pid: Option<u32>,
    server: Option<f64>,
    client: Option<f64>,
}

impl CpuMeter {
    fn start(server_pid: Option<u32>) -> CpuMeter {
        CpuMeter {
            server_pid,
            server: cpu_seconds(server_pid),
            client: cpu_seconds(Some(std::process::id())),
        }
    }

    /// Prints CPU microseconds per alert over the phase that `o` measured.
    fn report(&self, o: &Outcome) {
        let per_alert = |start: Option<f64>, now: Option<f64>| -> Option<f64> {
            let used = now? - start?;
            (o.alerts > 0).then(|| used * 1e6 / o.alerts as f64)
        };
        let server = per_alert(self.server, cpu_seconds(self.server_pid));
        let client = per_alert(self.client, cpu_seconds(Some(std::process::id())));
        if let (Some(server), Some(client)) = (server, client) {
            let busy = (server + client) * o.alerts as f64 / 1e6 / o.elapsed;
            println!(
                "{:<22} CPU per alert: server {server:.1} µs, load generator {client:.1} µs ({busy:.2} cores busy with both)",
                ""
            );
        }
    }
}

/// One Alertmanager alert as JSON text: sender `w`, alert number `n`.
fn alert_json(w: usize, n: u64, starts_at: &str, for_webhook: bool) -> String {
    if for_webhook {
        format!(
            r#"{{"status":"firing","labels":{{"alertname":"BenchAlert{w}","instance":"host-{w}-{n}","job":"node","severity":"warning"}},"annotations":{{"summary":"Bench alert {w}-{n}"}},"startsAt":"{starts_at}","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.bench/graph","fingerprint":""}}"#
        )
    } else {
        format!(
            r#"{{"labels":{{"alertname":"BenchAlert{w}","instance":"host-{w}-{n}","job":"node","severity":"warning"}},"annotations":{{"summary":"Bench alert {w}-{n}"}},"startsAt":"{starts_at}","generatorURL":"http://prometheus.bench/graph"}}"#
        )
    }
}

/// A batch of alerts `first..first+len` of sender `w`.
fn batch_body(w: usize, first: u64, len: usize, starts_at: &str, webhook: bool) -> String {
    let mut alerts = String::with_capacity(len * 260);
    for k in 0..len as u64 {
        if k > 0 {
            alerts.push(',');
        }
        alerts.push_str(&alert_json(w, first + k, starts_at, webhook));
    }
    if webhook {
        format!(
            r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"BenchAlert{w}\"}}","truncatedAlerts":0,"status":"firing","receiver":"opsdesk","groupLabels":{{"alertname":"BenchAlert{w}"}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://alertmanager.bench","alerts":[{alerts}]}}"#
        )
    } else {
        format!("[{alerts}]")
    }
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    alerts: u64,
    elapsed: f64,
}

/// Runs `concurrency` senders; sender `w` sends its `i`-th batch with
/// `send(w, i)` until time is up, `stop_at_alerts` alerts went out, or
/// (paced) at `rate` batches/s over all senders.
async fn drive<F, Fut>(
    concurrency: usize,
    seconds: u64,
    batch: usize,
    stop_at_alerts: u64,
    rate: u64,
    send: F,
) -> Outcome
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let send = Arc::new(send);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (send, stop, sent) = (send.clone(), stop.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = 0u64;
            // Paced: each sender's share of the rate, on a fixed schedule
            // (open loop, so a slow answer shows up as latency).
            let interval =
                (rate > 0).then(|| Duration::from_secs_f64(concurrency as f64 / rate as f64));
            let begin = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if let Some(iv) = interval {
                    let due = begin + iv.mul_f64(i as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                let t = Instant::now();
                match send(w, i).await {
                    Ok(()) => {
                        latencies.push(t.elapsed());
                        let total = sent.fetch_add(batch as u64, Ordering::Relaxed) + batch as u64;
                        if stop_at_alerts > 0 && total >= stop_at_alerts {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
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
    let deadline = started + Duration::from_secs(seconds);
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            latencies.extend(l);
            errors += e;
        }
    }
    latencies.sort();
    Outcome {
        alerts: latencies.len() as u64 * batch as u64,
        latencies,
        errors,
        elapsed: started.elapsed().as_secs_f64(),
    }
}

fn report(name: &str, o: &Outcome, concurrency: usize) -> f64 {
    let rate = o.alerts as f64 / o.elapsed;
    println!(
        "{name:<22} {rate:>9.0} alerts/s  {:>6.0} batches/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} alerts, {} errors, {concurrency} senders, {:.1} s)",
        o.latencies.len() as f64 / o.elapsed,
        percentile(&o.latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&o.latencies, 0.99).as_secs_f64() * 1000.0,
        o.latencies
            .last()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0,
        o.alerts,
        o.errors,
        o.elapsed,
    );
    rate
}

async fn setup_integration(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<String> {
    let auth = format!("Bearer {token}");
    let suffix = jiff::Timestamp::now().as_millisecond();
    let r = client
        .post(format!("{base}/api/v1/services"))
        .header("authorization", &auth)
        .json(&serde_json::json!({"name": format!("Bench alerts {suffix}"), "tier": 2}))
        .send()
        .await?;
    if r.status() != 201 {
        bail!("create service: {} {}", r.status(), r.text().await?);
    }
    let service: serde_json::Value = r.json().await?;
    let r = client
        .post(format!("{base}/api/v1/integrations"))
        .header("authorization", &auth)
        .json(&serde_json::json!({"name": format!("bench-{suffix}"), "service_id": service["id"]}))
        .send()
        .await?;
    if r.status() != 201 {
        bail!("create integration: {} {}", r.status(), r.text().await?);
    }
    let integration: serde_json::Value = r.json().await?;
    integration["key"]
        .as_str()
        .map(str::to_string)
        .context("the integration has no key")
}

pub async fn run(a: AlertsArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency * 2)
        .no_proxy()
        .build()?;
    let base = a.server.trim_end_matches('/').to_string();
    let key = setup_integration(&client, &base, &a.token).await?;
    let url = Arc::new(format!("{base}/api/v1/integrations/alertmanager/{key}"));
    let starts_at = Arc::new(jiff::Timestamp::now().to_string());
    let batch = a.batch;
    if let Some(mb) = rss_mb(a.server_pid) {
        println!("opsdesk RSS before: {mb:.1} MB");
    }

    // 1. New alerts: sender w's batch i holds alerts i*batch..(i+1)*batch.
    let post = {
        let (client, url, starts_at) = (client.clone(), url.clone(), starts_at.clone());
        move |w: usize, first: u64| {
            let (client, url) = (client.clone(), url.clone());
            let body = batch_body(w, first, batch, &starts_at, true);
            async move {
                let r = client
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!(
                        "intake: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                }
                let _ = r.bytes().await?;
                Ok(())
            }
        }
    };
    let post = Arc::new(post);
    let p = post.clone();
    let meter = CpuMeter::start(a.server_pid);
    let new = drive(
        a.concurrency,
        a.seconds,
        batch,
        a.max_new,
        0,
        move |w, i| p(w, i * batch as u64),
    )
    .await;
    let new_rate = report("opsdesk new", &new, a.concurrency);
    meter.report(&new);
    let batches_per_sender = (new.latencies.len() / a.concurrency).max(1) as u64;
    if let Some(mb) = rss_mb(a.server_pid) {
        println!("opsdesk RSS after {} new alerts: {mb:.1} MB", new.alerts);
    }

    // 2. Repeats: the same senders resend batches they sent before.
    let p = post.clone();
    let meter = CpuMeter::start(a.server_pid);
    let repeat = drive(a.concurrency, a.seconds, batch, 0, 0, move |w, i| {
        p(w, (i % batches_per_sender) * batch as u64)
    })
    .await;
    report("opsdesk repeats", &repeat, a.concurrency);
    meter.report(&repeat);

    // 3. Paced: a fixed batch rate of repeats, for latency under a known load.
    if a.rate > 0 {
        let p = post.clone();
        let meter = CpuMeter::start(a.server_pid);
        let paced = drive(a.concurrency, a.seconds, batch, 0, a.rate, move |w, i| {
            p(w, (i % batches_per_sender) * batch as u64)
        })
        .await;
        report(
            &format!("opsdesk paced {}/s", a.rate),
            &paced,
            a.concurrency,
        );
        meter.report(&paced);
    }
    if let Some(mb) = rss_mb(a.server_pid) {
        println!("opsdesk RSS at the end: {mb:.1} MB");
    }

    // 4. The same stream of new alerts to Alertmanager.
    if let Some(am) = &a.alertmanager {
        let am_url = Arc::new(format!("{}/api/v2/alerts", am.trim_end_matches('/')));
        let (client, starts_at) = (client.clone(), starts_at.clone());
        let meter = CpuMeter::start(a.alertmanager_pid);
        let am_new = drive(
            a.concurrency,
            a.seconds,
            batch,
            a.max_new,
            0,
            move |w, i| {
                let (client, am_url) = (client.clone(), am_url.clone());
                let body = batch_body(w, i * batch as u64, batch, &starts_at, false);
                async move {
                    let r = client
                        .post(am_url.as_str())
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    if !r.status().is_success() {
                        bail!(
                            "alertmanager: {} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        );
                    }
                    let _ = r.bytes().await?;
                    Ok(())
                }
            },
        )
        .await;
        let am_rate = report("alertmanager new", &am_new, a.concurrency);
        meter.report(&am_new);
        if let Some(mb) = rss_mb(a.alertmanager_pid) {
            println!(
                "alertmanager RSS after {} alerts: {mb:.1} MB",
                am_new.alerts
            );
        }
        if am_rate > 0.0 {
            println!(
                "opsdesk / alertmanager, new alerts: {:.2}",
                new_rate / am_rate
            );
        }
    }
    if new.errors + repeat.errors > 0 {
        bail!("some batches failed");
    }
    Ok(())
}
