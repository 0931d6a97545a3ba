//! Shared harness for tests that drive the real `opsdesk` binary: scratch
//! directories, command runs, and a real server on a random port.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_opsdesk");
pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
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

    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.0.join("opsdesk.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of the binary printed.
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(self) -> Out {
        assert_eq!(
            self.code,
            Some(0),
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn code(self, expected: i32) -> Out {
        assert_eq!(
            self.code,
            Some(expected),
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// The binary with no OPSDESK_* variables from the caller's environment.
pub fn opsdesk() -> Command {
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

pub fn run(mut cmd: Command, stdin: Option<&str>) -> Out {
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
pub struct Server {
    pub child: Child,
    pub url: String,
    pub token: String,
    pub dir: TempDir,
}

impl Server {
    pub fn start() -> Server {
        Server::start_in(TempDir::new("server"), &[])
    }

    /// Starts a server on the database in `dir` (a restart when it already
    /// has data), with extra `serve` arguments.
    pub fn start_in(dir: TempDir, extra: &[&str]) -> Server {
        let mut child = opsdesk()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &dir.database_url(),
            ])
            .args(extra)
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
    pub fn admin(&self, args: &[&str]) -> Out {
        let mut cmd = opsdesk();
        cmd.args(args)
            .args(["--database-url", &self.dir.database_url()]);
        run(cmd, None)
    }

    /// `opsdesk ticket ARGS` against this server with the admin token.
    pub fn ticket(&self, args: &[&str]) -> Out {
        self.ticket_with_stdin(args, None)
    }

    pub fn ticket_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Out {
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

impl Server {
    /// Kills the process with SIGKILL, as a crash would, keeping its data.
    pub fn crash(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = TempDir(std::mem::take(&mut self.dir.0));
        std::mem::forget(self);
        dir
    }
}
