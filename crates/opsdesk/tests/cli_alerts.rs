//! End-to-end tests of the alert commands (`opsdesk alert|silence|
//! maintenance|inhibition|integration|heartbeat`): the real binary against
//! a real server on a random port over a temporary SQLite file.

mod common;

use common::{Out, Server, opsdesk, run};
use serde_json::{Value, json};

/// `opsdesk ARGS` against this server with its admin token.
fn cli(server: &Server, args: &[&str]) -> Out {
    let mut cmd = opsdesk();
    cmd.args(args)
        .env("OPSDESK_SERVER", &server.url)
        .env("OPSDESK_TOKEN", &server.token);
    run(cmd, None)
}

/// A request the CLI has no command for (services) or that a monitoring
/// system makes (intake, no token).
fn http(server: &Server, method: &str, path: &str, token: bool, body: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut req = reqwest::Client::new()
            .request(
                method.parse().expect("method"),
                format!("{}{path}", server.url),
            )
            .json(&body);
        if token {
            req = req.bearer_auth(&server.token);
        }
        let r = req.send().await.expect("the server answers");
        assert!(r.status().is_success(), "{method} {path}: {}", r.status());
        r.json().await.expect("JSON")
    })
}

#[test]
fn alert_commands_end_to_end() {
    let server = Server::start();
    let service = http(
        &server,
        "POST",
        "/api/v1/services",
        true,
        json!({"name": "Storage", "tier": 1}),
    );
    let service_id = service["id"].to_string();

    // An integration: the key is printed once.
    let out = cli(
        &server,
        &[
            "integration",
            "create",
            "--name",
            "nas monitoring",
            "--service",
            &service_id,
            "--json",
        ],
    )
    .ok();
    let created = out.json();
    let key = created["key"].as_str().expect("key").to_string();
    let out = cli(&server, &["integration", "list"]).ok();
    assert!(
        out.stdout.contains("nas monitoring") && out.stdout.contains("Storage"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&key), "the key is never listed again");

    // A silence, listed.
    let out = cli(
        &server,
        &[
            "silence",
            "create",
            "--matcher",
            "alertname=\"BackupFailed\"",
            "--matcher",
            "host=~\"nas-.*\"",
            "--duration",
            "2h",
            "--comment",
            "replacing the backup disk",
        ],
    )
    .ok();
    assert!(out.stdout.starts_with("Created silence "), "{}", out.stdout);
    let silence_id = out
        .stdout
        .trim_start_matches("Created silence ")
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(silence_id.parse::<i64>().is_ok(), "{}", out.stdout);
    let out = cli(&server, &["silence", "list"]).ok();
    let header = out.stdout.lines().next().unwrap_or_default();
    for column in ["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "COMMENT"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        out.stdout
            .contains("{alertname=\"BackupFailed\", host=~\"nas-.*\"}")
            && out.stdout.contains("active")
            && out.stdout.contains("replacing the backup disk"),
        "{}",
        out.stdout
    );

    // Alerts through the generic intake: one silenced, one not.
    let result = http(
        &server,
        "POST",
        &format!("/api/v1/integrations/generic/{key}"),
        false,
        json!({"alerts": [
            {"labels": {"alertname": "BackupFailed", "host": "nas-1", "severity": "critical"},
             "annotations": {"summary": "Nightly backup of nas-1 failed"}},
            {"labels": {"alertname": "DiskFull", "host": "nas-2"}, "summary": "nas-2 is 97% full"}
        ]}),
    );
    assert_eq!(result["received"], 2, "{result}");
    let incident = result["incidents_opened"][0]
        .as_str()
        .unwrap_or_else(|| panic!("an incident number: {result}"))
        .to_string();

    let out = cli(&server, &["alert", "list"]).ok();
    let header = out.stdout.lines().next().unwrap_or_default();
    for column in [
        "STATUS",
        "SEVERITY",
        "SERVICE",
        "SUMMARY",
        "COUNT",
        "LAST SEEN",
        "SUPPRESSED",
        "INCIDENT",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let line = |needle: &str| -> String {
        out.stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", out.stdout))
            .to_string()
    };
    let backup = line("Nightly backup of nas-1 failed");
    assert!(
        backup.contains("firing")
            && backup.contains("critical")
            && backup.contains("Storage")
            && backup.contains(&format!("silence #{silence_id}")),
        "{backup}"
    );
    let disk = line("nas-2 is 97% full");
    assert!(
        disk.contains("warning") && disk.contains(&incident),
        "{disk}"
    );

    let suppressed = cli(&server, &["alert", "list", "--suppressed", "--json"])
        .ok()
        .json();
    let alerts = suppressed["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{suppressed}");
    assert_eq!(alerts[0]["labels"]["alertname"], "BackupFailed");
    let id = alerts[0]["id"].to_string();
    let out = cli(&server, &["alert", "show", &id]).ok();
    assert!(
        out.stdout.contains("host=nas-1") && out.stdout.contains("Fingerprint"),
        "{}",
        out.stdout
    );
    let out = cli(&server, &["alert", "ack", &id]).ok();
    assert!(
        out.stdout.contains(&format!("Alert {id} is acknowledged")),
        "{}",
        out.stdout
    );
    let acked = cli(&server, &["alert", "show", &id, "--json"]).ok().json();
    assert_eq!(acked["status"], "acknowledged");
    let resolved = cli(&server, &["alert", "list", "--state", "resolved"]).ok();
    assert!(
        resolved.stdout.contains("No alerts match."),
        "{}",
        resolved.stdout
    );
    let out = cli(&server, &["alert", "noise"]).ok();
    assert!(
        out.stdout.contains("RECEIVED") && out.stdout.contains("Storage"),
        "{}",
        out.stdout
    );

    // Expire the silence: gone from the list, kept with --expired.
    let out = cli(&server, &["silence", "expire", &silence_id]).ok();
    assert!(
        out.stdout
            .starts_with(&format!("Expired silence {silence_id}"))
            && out.stdout.contains("expired"),
        "{}",
        out.stdout
    );
    let out = cli(&server, &["silence", "list"]).ok();
    assert!(out.stdout.contains("No silences."), "{}", out.stdout);
    let all = cli(&server, &["silence", "list", "--expired", "--json"])
        .ok()
        .json();
    assert_eq!(all[0]["state"], "expired", "{all}");
    let out = cli(&server, &["silence", "show", &silence_id]).ok();
    assert!(
        out.stdout.contains("expired") && out.stdout.contains("admin"),
        "{}",
        out.stdout
    );

    // A bad matcher: the server names the field; exit 1, nothing created.
    let out = cli(
        &server,
        &[
            "silence",
            "create",
            "--matcher",
            "alertname=",
            "--duration",
            "1h",
            "--comment",
            "x",
        ],
    )
    .code(1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("matchers"), "{}", out.stderr);
    let out = cli(
        &server,
        &[
            "silence",
            "create",
            "--matcher",
            "alertname=",
            "--duration",
            "1h",
            "--comment",
            "x",
            "--json",
        ],
    )
    .code(1);
    assert_eq!(
        out.json()["errors"][0]["field"],
        "matchers",
        "{}",
        out.stdout
    );
    let all = cli(&server, &["silence", "list", "--expired", "--json"])
        .ok()
        .json();
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");

    // A command-line mistake is clap's: exit 2.
    cli(
        &server,
        &[
            "silence",
            "create",
            "--matcher",
            "a=\"b\"",
            "--comment",
            "x",
        ],
    )
    .code(2);
}

#[test]
fn windows_rules_routes_and_heartbeats() {
    let server = Server::start();
    let service = http(
        &server,
        "POST",
        "/api/v1/services",
        true,
        json!({"name": "Payments", "tier": 1}),
    );
    let service_id = service["id"].to_string();

    // Maintenance windows: one-off and weekly; a bad zone is refused by name.
    let out = cli(
        &server,
        &[
            "maintenance",
            "create",
            "--service",
            &service_id,
            "--duration",
            "1h",
            "--comment",
            "database upgrade",
        ],
    )
    .ok();
    assert!(
        out.stdout.contains("Created maintenance window") && out.stdout.contains("Payments"),
        "{}",
        out.stdout
    );
    cli(
        &server,
        &[
            "maintenance",
            "create",
            "--service",
            &service_id,
            "--weekly",
            "--day",
            "sunday",
            "--start",
            "01:00",
            "--duration",
            "3h",
            "--time-zone",
            "Europe/Berlin",
        ],
    )
    .ok();
    let out = cli(&server, &["maintenance", "list"]).ok();
    assert!(
        out.stdout.contains("open now")
            && out.stdout.contains("weekly sunday 01:00")
            && out.stdout.contains("Europe/Berlin"),
        "{}",
        out.stdout
    );
    let out = cli(
        &server,
        &[
            "maintenance",
            "create",
            "--service",
            &service_id,
            "--weekly",
            "--day",
            "monday",
            "--start",
            "01:00",
            "--duration",
            "1h",
            "--time-zone",
            "Mars/Olympus",
        ],
    )
    .code(1);
    assert!(out.stderr.contains("schedule.time_zone"), "{}", out.stderr);
    let windows = cli(&server, &["maintenance", "list", "--json"]).ok().json();
    let first = windows[0]["id"].to_string();
    let out = cli(&server, &["maintenance", "delete", &first]).ok();
    assert!(out.stdout.contains("Deleted"), "{}", out.stdout);
    let windows = cli(&server, &["maintenance", "list", "--json"]).ok().json();
    assert_eq!(windows.as_array().map(Vec::len), Some(1), "{windows}");

    // Inhibition rules.
    let out = cli(
        &server,
        &[
            "inhibition",
            "create",
            "--source",
            "alertname=\"NodeDown\"",
            "--target",
            "severity=\"warning\"",
            "--equal",
            "instance",
        ],
    )
    .ok();
    assert!(
        out.stdout.contains("mutes") && out.stdout.contains("equal: instance"),
        "{}",
        out.stdout
    );
    let rules = cli(&server, &["inhibition", "list", "--json"]).ok().json();
    let rule = rules[0]["id"].to_string();
    let out = cli(&server, &["inhibition", "list"]).ok();
    assert!(
        out.stdout.contains("{alertname=\"NodeDown\"}"),
        "{}",
        out.stdout
    );
    cli(&server, &["inhibition", "delete", &rule]).ok();
    let out = cli(&server, &["inhibition", "list"]).ok();
    assert!(
        out.stdout.contains("No inhibition rules."),
        "{}",
        out.stdout
    );

    // Routes from a file, then a heartbeat through the integration.
    let created = cli(
        &server,
        &[
            "integration",
            "create",
            "--name",
            "prometheus",
            "--service",
            &service_id,
            "--group-by",
            "alertname",
            "--group-by",
            "cluster",
            "--auto-resolve",
            "--impact",
            "high",
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(created["impact"], "high");
    let id = created["id"].to_string();
    let file = server.dir.0.join("routes.json");
    std::fs::write(
        &file,
        json!([{"name": "db", "matchers": "team=\"db\"", "service": service["id"], "action": "page"}])
            .to_string(),
    )
    .expect("write routes");
    let out = cli(
        &server,
        &[
            "integration",
            "routes",
            "set",
            &id,
            "--file",
            &file.display().to_string(),
        ],
    )
    .ok();
    assert!(
        out.stdout.contains("Saved 1 route(s)") && out.stdout.contains("{team=\"db\"}"),
        "{}",
        out.stdout
    );
    let out = cli(&server, &["integration", "show", &id]).ok();
    assert!(
        out.stdout.contains("alertname, cluster")
            && out.stdout.contains("page")
            && out.stdout.contains("Impact        high"),
        "{}",
        out.stdout
    );
    std::fs::write(
        &file,
        json!({"routes": [{"name": "bad", "matchers": "team=~\"(\"", "service": service["id"], "action": "page"}]})
            .to_string(),
    )
    .expect("write routes");
    cli(
        &server,
        &[
            "integration",
            "routes",
            "set",
            &id,
            "--file",
            &file.display().to_string(),
        ],
    )
    .code(1);

    let out = cli(
        &server,
        &[
            "heartbeat",
            "create",
            "--integration",
            &id,
            "--name",
            "nightly_backup",
            "--interval",
            "1d",
        ],
    )
    .ok();
    assert!(out.stdout.contains("nightly_backup"), "{}", out.stdout);
    let out = cli(&server, &["heartbeat", "list"]).ok();
    assert!(
        out.stdout.contains("nightly_backup") && out.stdout.contains("1d"),
        "{}",
        out.stdout
    );
    let hb = cli(&server, &["heartbeat", "list", "--json"]).ok().json();
    cli(&server, &["heartbeat", "delete", &hb[0]["id"].to_string()]).ok();
    cli(
        &server,
        &[
            "heartbeat",
            "create",
            "--integration",
            "999999",
            "--name",
            "x",
            "--interval",
            "1h",
        ],
    )
    .code(1);
}
