//! End-to-end tests of the `opsdesk` binary: a real server on a random port
//! over a temporary SQLite file, driven by the real client commands.

mod common;

use common::{Out, Server, TempDir, opsdesk, run};
use serde_json::Value;

/// "Created INC-000001: title" -> "INC-000001"
fn created_number(out: &Out) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Created "))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no 'Created' line in:\n{}", out.stdout))
        .to_string()
}

fn numbers(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["number"].as_str().expect("number").to_string())
        .collect()
}

#[test]
fn ticket_commands_end_to_end() {
    let server = Server::start();

    // Create: human output, JSON output, description from stdin.
    let out = server
        .ticket(&[
            "create",
            "--kind",
            "incident",
            "--title",
            "Mail is down",
            "--description",
            "Nobody can send mail",
            "--impact",
            "high",
            "--urgency",
            "high",
            "--tag",
            "email",
            "--tag",
            "outage",
            "--category",
            "messaging",
        ])
        .ok();
    let mail = created_number(&out);
    assert!(mail.starts_with("INC-"), "{mail}");
    assert!(
        out.stdout.contains("P1 (impact high, urgency high)"),
        "{}",
        out.stdout
    );

    let out = server
        .ticket(&[
            "create",
            "--kind",
            "service_request",
            "--title",
            "New laptop for Ana",
            "--json",
        ])
        .ok();
    assert!(
        out.stdout.starts_with("{\n  \"id\": "),
        "the server's field order is kept:\n{}",
        out.stdout
    );
    let laptop = out.json();
    assert_eq!(laptop["kind"], "service_request");
    assert_eq!(laptop["state"], "new");
    let laptop = laptop["number"].as_str().expect("number").to_string();
    assert!(laptop.starts_with("REQ-"), "{laptop}");

    let out = server
        .ticket_with_stdin(
            &[
                "create",
                "--kind",
                "incident",
                "--title",
                "Cannot send mail from Outlook",
                "--description-file",
                "-",
                "--impact",
                "low",
                "--urgency",
                "low",
            ],
            Some("Error 0x800CCC0F\nsince this morning\n"),
        )
        .ok();
    let outlook = created_number(&out);
    let shown = server.ticket(&["show", &outlook, "--json"]).ok().json();
    assert_eq!(shown["description"], "Error 0x800CCC0F\nsince this morning");
    assert_eq!(shown["priority"], "P5");

    // List with filters.
    let out = server.ticket(&["list", "--kind", "incident"]).ok();
    let header = out.stdout.lines().next().unwrap_or_default();
    for column in [
        "NUMBER", "KIND", "STATE", "PRI", "TITLE", "ASSIGNEE", "UPDATED",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        out.stdout.contains(&mail) && out.stdout.contains(&outlook),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&laptop), "{}", out.stdout);
    assert_eq!(
        numbers(
            &server
                .ticket(&["list", "--priority", "p1", "--json"])
                .ok()
                .json()
        ),
        vec![mail.clone()]
    );
    assert_eq!(
        numbers(
            &server
                .ticket(&["list", "--q", "laptop", "--json"])
                .ok()
                .json()
        ),
        vec![laptop.clone()]
    );
    assert_eq!(
        numbers(
            &server
                .ticket(&["list", "--tag", "outage", "--open", "--json"])
                .ok()
                .json()
        ),
        vec![mail.clone()]
    );
    assert!(numbers(&server.ticket(&["list", "--closed", "--json"]).ok().json()).is_empty());
    let out = server
        .ticket(&["list", "--limit", "1", "--sort", "-created_at"])
        .ok();
    assert!(
        out.stdout.contains(&outlook) && out.stdout.contains("--cursor "),
        "{}",
        out.stdout
    );
    let all = server
        .ticket(&["list", "--limit", "1", "--all", "--json"])
        .ok()
        .json();
    assert_eq!(numbers(&all).len(), 3, "{all}");
    assert_eq!(all["next_cursor"], Value::Null);
    let out = server.ticket(&["list", "--kind", "change"]).ok();
    assert!(out.stdout.contains("No tickets match."), "{}", out.stdout);

    // Show.
    let out = server.ticket(&["show", &mail]).ok();
    for expected in [
        "Mail is down",
        "incident",
        "P1 (impact high, urgency high)",
        "email, outage",
        "messaging",
        "(unassigned)",
        "Nobody can send mail",
        "Next steps:",
        "acknowledge",
    ] {
        assert!(
            out.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            out.stdout
        );
    }

    // Update, including a stale version.
    let out = server
        .ticket(&[
            "update",
            &mail,
            "--title",
            "Mail is down for everyone",
            "--urgency",
            "medium",
        ])
        .ok();
    assert!(
        out.stdout.contains("Updated") && out.stdout.contains("P2"),
        "{}",
        out.stdout
    );
    let version = server.ticket(&["show", &mail, "--json"]).ok().json()["version"]
        .as_i64()
        .expect("version");
    let stale = (version - 1).to_string();
    let out = server
        .ticket(&["update", &mail, "--title", "x", "--version", &stale])
        .code(1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    let out = server.ticket(&["update", &mail]).code(2);
    assert!(out.stderr.contains("nothing to update"), "{}", out.stderr);

    // Comments, public and internal.
    server
        .ticket(&["comment", &mail, "--body", "We are looking into it."])
        .ok();
    let out = server
        .ticket_with_stdin(
            &["comment", &mail, "--body-file", "-", "--internal"],
            Some("MTA queue is full"),
        )
        .ok();
    assert!(out.stdout.contains("internal note"), "{}", out.stdout);
    let out = server.ticket(&["show", &mail]).ok();
    let public_at = out
        .stdout
        .find("We are looking into it.")
        .expect("public comment shown");
    let internal_at = out
        .stdout
        .find("MTA queue is full")
        .expect("internal note shown");
    assert!(public_at < internal_at, "oldest first:\n{}", out.stdout);
    let internal_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("[INTERNAL NOTE]"))
        .collect();
    assert_eq!(internal_lines.len(), 1, "{}", out.stdout);
    let shown = server.ticket(&["show", &mail, "--json"]).ok().json();
    assert_eq!(shown["comments"].as_array().map(Vec::len), Some(2));
    assert_eq!(shown["title"], "Mail is down for everyone");

    // Assign to me.
    let out = server.ticket(&["assign", &mail, "--assignee", "me"]).ok();
    assert!(out.stdout.contains("admin"), "{}", out.stdout);
    assert_eq!(
        numbers(
            &server
                .ticket(&["list", "--assignee", "me", "--json"])
                .ok()
                .json()
        ),
        vec![mail.clone()]
    );
    let out = server.ticket(&["list", "--assignee", "me"]).ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&mail) && l.contains("admin")),
        "{}",
        out.stdout
    );

    // The workflow.
    let out = server.ticket(&["transition", &mail, "acknowledge"]).ok();
    assert!(out.stdout.contains("is now in_progress"), "{}", out.stdout);
    let out = server
        .ticket(&["transition", &mail, "hold", "--reason", "awaiting_customer"])
        .ok();
    assert!(
        out.stdout.contains("on_hold (awaiting_customer)"),
        "{}",
        out.stdout
    );
    server.ticket(&["transition", &mail, "resume"]).ok();
    let out = server
        .ticket(&[
            "transition",
            &mail,
            "resolve",
            "--resolution-code",
            "fixed",
            "--note",
            "Restarted the MTA",
            "--json",
        ])
        .ok();
    assert_eq!(out.json()["state"], "resolved");

    // An illegal step: exit 1 and the steps allowed now.
    let out = server
        .ticket(&["transition", &mail, "hold", "--reason", "awaiting_vendor"])
        .code(1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    let allowed = out
        .stderr
        .lines()
        .find(|l| l.starts_with("allowed now: "))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        allowed.contains("reopen") && allowed.contains("close"),
        "{allowed}"
    );
    let out = server
        .ticket(&["transition", &mail, "acknowledge", "--json"])
        .code(1);
    let problem = out.json();
    assert_eq!(problem["status"], 409);
    assert!(
        problem["allowed_transitions"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{problem}"
    );
    // A flag the step does not take is a usage error, caught before the server.
    let out = server
        .ticket(&["transition", &mail, "reopen", "--outcome", "failed"])
        .code(2);
    assert!(
        out.stderr.contains("does not take --outcome"),
        "{}",
        out.stderr
    );
    let out = server.ticket(&["transition", &mail, "fly"]).code(2);
    assert!(out.stderr.contains("acknowledge"), "{}", out.stderr);

    // Links, unlink, merge.
    let out = server
        .ticket(&["link", &outlook, "--kind", "related", "--target", &laptop])
        .ok();
    assert!(
        out.stdout.contains(&format!("{outlook} related {laptop}")),
        "{}",
        out.stdout
    );
    let out = server.ticket(&["show", &outlook]).ok();
    assert!(
        out.stdout.contains(&format!("{outlook} related {laptop}")),
        "{}",
        out.stdout
    );
    server
        .ticket(&["unlink", &outlook, "--target", &laptop])
        .ok();
    let shown = server.ticket(&["show", &outlook, "--json"]).ok().json();
    assert_eq!(shown["links"].as_array().map(Vec::len), Some(0), "{shown}");
    let out = server
        .ticket(&[
            "link",
            &outlook,
            "--kind",
            "duplicate_of",
            "--target",
            "INC-999999",
        ])
        .code(1);
    assert!(out.stderr.contains("target"), "{}", out.stderr);

    server
        .ticket(&["transition", &mail, "reopen", "--reason", "still broken"])
        .ok();
    let out = server.ticket(&["merge", &outlook, "--into", &mail]).ok();
    assert!(
        out.stdout.contains("Merged") && out.stdout.contains(&mail),
        "{}",
        out.stdout
    );
    let merged = server.ticket(&["show", &outlook, "--json"]).ok().json();
    assert_eq!(merged["state"], "closed");
    assert!(!merged["merged_into_id"].is_null(), "{merged}");

    // Timeline.
    let out = server.ticket(&["timeline", &mail]).ok();
    for expected in [
        "TIME",
        "EVENT",
        "created",
        "transitioned",
        "in_progress → on_hold (hold)",
        "admin",
    ] {
        assert!(
            out.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            out.stdout
        );
    }
    let events = server.ticket(&["timeline", &mail, "--json"]).ok().json();
    assert!(events.as_array().is_some_and(|e| e.len() >= 6), "{events}");

    // Not found.
    let out = server.ticket(&["show", "INC-999999"]).code(1);
    assert!(
        out.stderr.contains("error: ") && out.stderr.contains("not found"),
        "{}",
        out.stderr
    );

    // The audit log and a backup, on the same database.
    let out = server.admin(&["audit", "verify"]).ok();
    assert!(out.stdout.contains("intact"), "{}", out.stdout);
    let backup = server.dir.0.join("backup.db");
    let backup_path = backup.display().to_string();
    let out = server.admin(&["backup", &backup_path]).ok();
    assert!(out.stdout.contains("backup written"), "{}", out.stdout);
    assert!(
        std::fs::metadata(&backup).is_ok_and(|m| m.len() > 0),
        "no backup at {backup_path}"
    );
}

#[test]
fn client_failures_are_explained() {
    let server = Server::start();

    // Validation errors: one line per field; with --json the problem document.
    let out = server
        .ticket(&["create", "--kind", "incident", "--title", "", "--json"])
        .code(1);
    let problem = out.json();
    assert_eq!(problem["status"], 422, "{problem}");
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|f| f["field"] == "title")),
        "{problem}"
    );
    let out = server
        .ticket(&["create", "--kind", "incident", "--title", ""])
        .code(1);
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.contains("title"),
        "{}",
        out.stderr
    );
    let out = server.ticket(&["list", "--state", "sleeping"]).code(1);
    assert!(out.stderr.contains("state"), "{}", out.stderr);

    // Usage errors are clap's exit code 2.
    let out = server.ticket(&["create", "--kind", "incident"]).code(2);
    assert!(out.stderr.contains("--title"), "{}", out.stderr);
    let out = server
        .ticket(&["create", "--kind", "rumour", "--title", "x"])
        .code(2);
    assert!(out.stderr.contains("service_request"), "{}", out.stderr);

    // No token.
    let mut cmd = opsdesk();
    cmd.args(["ticket", "list", "--server", &server.url]);
    let out = run(cmd, None).code(1);
    assert!(
        out.stderr.contains("--token") && out.stderr.contains("OPSDESK_TOKEN"),
        "{}",
        out.stderr
    );

    // A wrong token.
    let mut cmd = opsdesk();
    cmd.args([
        "ticket",
        "list",
        "--server",
        &server.url,
        "--token",
        "not-a-token",
    ]);
    let out = run(cmd, None).code(1);
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.contains("OPSDESK_TOKEN"),
        "{}",
        out.stderr
    );

    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let url = format!("http://{closed}");
    let mut cmd = opsdesk();
    cmd.args(["ticket", "list", "--server", &url, "--token", "t"]);
    let out = run(cmd, None).code(1);
    assert!(
        out.stderr.contains(&url) && out.stderr.contains("opsdesk serve"),
        "{}",
        out.stderr
    );
}

#[test]
fn database_commands() {
    let dir = TempDir::new("db");
    let url = dir.database_url();
    let mut cmd = opsdesk();
    cmd.args(["migrate", "--database-url", &url]);
    let out = run(cmd, None).ok();
    assert!(out.stdout.contains("migrations applied"), "{}", out.stdout);
    assert!(dir.0.join("opsdesk.db").exists());

    let mut cmd = opsdesk();
    cmd.args(["audit", "verify", "--database-url", &url]);
    let out = run(cmd, None).ok();
    assert!(out.stdout.contains("intact"), "{}", out.stdout);

    let mut cmd = opsdesk();
    cmd.args(["migrate", "--database-url", "mysql://x"]);
    let out = run(cmd, None);
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("sqlite://") && out.stderr.contains("postgres://"),
        "{}",
        out.stderr
    );
}

/// POSTs JSON with the server's admin token (for setup the CLI has no
/// command for yet).
fn post_json(server: &Server, path: &str, body: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", server.url))
            .bearer_auth(&server.token)
            .json(&body)
            .send()
            .await
            .expect("POST");
        assert!(r.status().is_success(), "POST {path}: {}", r.status());
        r.json().await.expect("JSON")
    })
}

#[test]
fn sla_clocks_in_lists_show_and_reports() {
    let server = Server::start();
    let day = serde_json::json!([{"start": "00:00", "end": "24:00"}]);
    let cal = post_json(
        &server,
        "/api/v1/calendars",
        serde_json::json!({"name": "24x7", "time_zone": "UTC", "hours": {
            "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
            "friday": day, "saturday": day, "sunday": day}}),
    );
    post_json(
        &server,
        "/api/v1/sla-policies",
        serde_json::json!({"name": "Incidents", "matcher": {"kinds": ["incident"]},
            "targets": [{"metric": "resolution", "target": "PT4H", "calendar_id": cal["id"]}]}),
    );
    let from = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1)).to_string();
    let out = server
        .ticket(&["create", "--kind", "incident", "--title", "Wiki is slow"])
        .ok();
    let number = created_number(&out);

    // The projection catches up within a second or two.
    let mut listed = Value::Null;
    for _ in 0..50 {
        listed = server
            .ticket(&[
                "--json",
                "list",
                "--breaching-within",
                "5h",
                "--sort",
                "sla_due",
            ])
            .ok()
            .json();
        if listed["items"][0]["sla"]["status"] == "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(numbers(&listed), vec![number.clone()], "{listed}");
    let none = server
        .ticket(&["--json", "list", "--breaching-within", "1h"])
        .ok()
        .json();
    assert!(numbers(&none).is_empty(), "{none}");

    let table = server.ticket(&["list"]).ok().stdout;
    assert!(table.contains("SLA"), "{table}");
    assert!(
        table.contains("in 3h 59m") || table.contains("in 4h"),
        "{table}"
    );

    let shown = server.ticket(&["show", &number]).ok().stdout;
    assert!(shown.contains("SLA:"), "{shown}");
    assert!(shown.contains("resolution"), "{shown}");
    assert!(shown.contains("[Incidents]"), "{shown}");
    let shown = server.ticket(&["--json", "show", &number]).ok().json();
    assert_eq!(shown["sla_clocks"][0]["state"], "running");

    let mut cmd = opsdesk();
    cmd.args(["report", "sla", "--from", &from, "--by", "priority"])
        .env("OPSDESK_SERVER", &server.url)
        .env("OPSDESK_TOKEN", &server.token);
    let report = run(cmd, None).ok().stdout;
    assert!(report.contains("SLA compliance of 1 tickets"), "{report}");
    assert!(report.contains("COMPLIANCE"), "{report}");
    assert!(report.contains("P3"), "{report}");

    let bad = server
        .ticket(&["list", "--breaching-within", "soon"])
        .code(2);
    assert!(bad.stderr.contains("not a duration"), "{}", bad.stderr);
}
