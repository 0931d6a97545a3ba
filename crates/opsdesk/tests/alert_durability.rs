//! Alert intake keeps what it acknowledged: Alertmanager webhook batches
//! posted by concurrent senders, a real `kill -9` of the server while
//! batches are in flight, a restart on the same database, and every alert
//! of every batch answered 200 is there; replaying every acknowledged
//! batch creates no duplicates; the audit chain verifies.
//!
//! The senders go on until more alerts were acknowledged than the store
//! takes before it moves alert identities between its key tables
//! (`store::alerts::keys`), so the replay finds alerts through the key
//! file as well as through the recent table.

mod common;

use common::{Server, opsdesk, run};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Alerts per webhook.
const BATCH: usize = 50;

/// Acknowledged alerts to wait for before the crash: more than the store
/// takes before it first moves identities out of its recent key table
/// (8,192).
const ALERTS_BEFORE_THE_CRASH: usize = 12_000;

fn webhook(sender: usize, batch: usize, size: usize) -> Value {
    let alerts: Vec<Value> = (0..size)
        .map(|k| {
            json!({"status": "firing",
                   "labels": {"alertname": format!("Crash{sender}"), "instance": format!("h-{sender}-{batch}-{k}")},
                   "annotations": {"summary": "written under load"},
                   "startsAt": "2026-11-29T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"})
        })
        .collect();
    json!({"version": "4", "status": "firing", "receiver": "opsdesk", "groupKey": "{}",
           "truncatedAlerts": 0, "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
           "externalURL": "http://am", "alerts": alerts})
}

async fn api(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut req = client
        .request(method.parse().expect("method"), url)
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("the server answers");
    assert!(r.status().is_success(), "{method} {url}: {}", r.status());
    r.json().await.expect("JSON")
}

#[test]
fn acknowledged_alert_batches_survive_kill_9_and_replays_add_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = Server::start();
    let (url, token) = (server.url.clone(), server.token.clone());
    let client = reqwest::Client::new();
    let (integration_id, key) = rt.block_on(async {
        let svc = api(
            &client,
            "POST",
            &format!("{url}/api/v1/services"),
            &token,
            Some(json!({"name": "Crash", "tier": 1})),
        )
        .await;
        let i = api(
            &client,
            "POST",
            &format!("{url}/api/v1/integrations"),
            &token,
            Some(json!({"name": "am", "service_id": svc["id"]})),
        )
        .await;
        (
            i["id"].as_i64().expect("id"),
            i["key"].as_str().expect("key").to_string(),
        )
    });

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for w in 0..8 {
        let (client, url, key, stop, answered) = (
            client.clone(),
            url.clone(),
            key.clone(),
            stop.clone(),
            answered.clone(),
        );
        senders.push(rt.spawn(async move {
            let mut acknowledged = Vec::new();
            let mut b = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(format!("{url}/api/v1/integrations/alertmanager/{key}"))
                    .json(&webhook(w, b, BATCH))
                    .send()
                    .await;
                // Only a 200 with its result acknowledged the batch.
                if let Ok(r) = r
                    && r.status() == 200
                    && r.json::<Value>().await.is_ok()
                {
                    acknowledged.push((w, b));
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                b += 1;
            }
            acknowledged
        }));
    }
    // Past the first move of identities, with a cap for a slow machine.
    let started = std::time::Instant::now();
    while answered.load(Ordering::Relaxed) * BATCH < ALERTS_BEFORE_THE_CRASH
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let data = server.crash();
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<(usize, usize)> = rt.block_on(async {
        let mut all = Vec::new();
        for s in senders {
            all.extend(s.await.expect("sender"));
        }
        all
    });
    assert!(
        acknowledged.len() > 10,
        "only {} batches were acknowledged before the crash",
        acknowledged.len()
    );

    let server = Server::start_in(data, &[]);
    let (url, token) = (server.url.clone(), server.token.clone());
    rt.block_on(async {
        // Every stored alert, page by page.
        let mut stored = HashSet::new();
        let mut before: Option<i64> = None;
        loop {
            let mut path =
                format!("{url}/api/v1/alerts?integration_id={integration_id}&limit=1000");
            if let Some(b) = before {
                path.push_str(&format!("&before_id={b}"));
            }
            let page = api(&client, "GET", &path, &token, None).await;
            for a in page["alerts"].as_array().expect("alerts") {
                stored.insert(
                    a["labels"]["instance"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            match page["next_before_id"].as_i64() {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        for (w, b) in &acknowledged {
            for k in 0..BATCH {
                let instance = format!("h-{w}-{b}-{k}");
                assert!(
                    stored.contains(&instance),
                    "acknowledged alert {instance} was lost"
                );
            }
        }
        // A batch is stored whole or not at all.
        let mut per_batch = std::collections::HashMap::<String, usize>::new();
        for i in &stored {
            let batch = i
                .rsplit_once('-')
                .map(|(b, _)| b.to_string())
                .unwrap_or_default();
            *per_batch.entry(batch).or_default() += 1;
        }
        assert!(
            per_batch.values().all(|n| *n == BATCH),
            "a partial batch was stored"
        );

        // Replaying every acknowledged batch adds nothing.
        let mut replays = Vec::new();
        for chunk in acknowledged.chunks(acknowledged.len().div_ceil(8)) {
            let (client, url, key, chunk) =
                (client.clone(), url.clone(), key.clone(), chunk.to_vec());
            replays.push(tokio::spawn(async move {
                for (w, b) in chunk {
                    let r = client
                        .post(format!("{url}/api/v1/integrations/alertmanager/{key}"))
                        .json(&webhook(w, b, BATCH))
                        .send()
                        .await
                        .expect("replay");
                    assert_eq!(r.status(), 200);
                    let result: Value = r.json().await.expect("result");
                    assert_eq!(
                        (&result["new"], &result["deduplicated"]),
                        (&json!(0), &json!(BATCH)),
                        "replay of batch {w}-{b}"
                    );
                }
            }));
        }
        for replay in replays {
            replay.await.expect("replays");
        }
    });
    let mut verify = opsdesk();
    verify
        .args(["audit", "verify"])
        .args(["--database-url", &server.dir.database_url()]);
    run(verify, None).ok();
}
