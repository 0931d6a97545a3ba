//! End-to-end tests of the `opsdesk` binary: a real server on a random port
//! over a temporary SQLite file, driven by the real client commands.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_opsdesk");
const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "opsdesk-cli-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn database_url(&self) -> String {
        format!("sqlite://{}", self.0.join("opsdesk.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of the binary printed.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(self) -> Out {
        assert_eq!(
            self.code,
            Some(0),
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    fn code(self, expected: i32) -> Out {
        assert_eq!(
            self.code,
            Some(expected),
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// The binary with no OPSDESK_* variables from the caller's environment.
fn opsdesk() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OPSDESK_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("COLUMNS", "200")
        .env("TZ", "UTC")
        .stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command, stdin: Option<&str>) -> Out {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn opsdesk");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    let output = child.wait_with_output().expect("wait for opsdesk");
    Out {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A running `opsdesk serve` on 127.0.0.1:0 with an admin token. Killed on drop.
struct Server {
    child: Child,
    url: String,
    token: String,
    dir: TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = TempDir::new("server");
        let mut child = opsdesk()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &dir.database_url(),
            ])
            .env("OPSDESK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("OPSDESK_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn opsdesk serve");
        let stdout = child.stdout.take().expect("stdout");
        // Read lines on a thread (the server keeps writing logs there, so
        // keep draining after the address is known).
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        let url = loop {
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let url = rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        assert!(
                            url.starts_with("http://"),
                            "unexpected listening line: {line}"
                        );
                        break url;
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the server did not report its address ({e}); output so far:\n{}",
                        seen.join("\n")
                    );
                }
            }
        };
        let mut server = Server {
            child,
            url,
            token: String::new(),
            dir,
        };
        let out = server.admin(&["admin", "create-token", "admin"]).ok();
        server.token = out.stdout.trim().to_string();
        assert!(!server.token.is_empty(), "create-token printed no token");
        server
    }

    /// A command that works on the database directly.
    fn admin(&self, args: &[&str]) -> Out {
        let mut cmd = opsdesk();
        cmd.args(args)
            .args(["--database-url", &self.dir.database_url()]);
        run(cmd, None)
    }

    /// `opsdesk ticket ARGS` against this server with the admin token.
    fn ticket(&self, args: &[&str]) -> Out {
        self.ticket_with_stdin(args, None)
    }

    fn ticket_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut cmd = opsdesk();
        cmd.arg("ticket")
            .args(args)
            .env("OPSDESK_SERVER", &self.url)
            .env("OPSDESK_TOKEN", &self.token);
        run(cmd, stdin)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
