//! opsdesk: one binary for the service desk and the operations around it.

mod client;
mod config;
mod demo;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use config::{DEFAULT_DATABASE_URL, DEFAULT_LISTEN, FileConfig, redact_url};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::Role;
use opsdesk_domain::transition::ReopenPolicy;
use opsdesk_server::passwords::{check_password_strength, ensure_admin, hash_password};
use opsdesk_server::{AppState, ServerConfig};
use opsdesk_store::events::ChainReport;
use opsdesk_store::{NewUser, SqliteSync, Store};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "opsdesk",
    version,
    about = "IT service management and IT operations in one binary"
)]
struct Cli {
    /// A TOML configuration file (flags and OPSDESK_* variables override it).
    #[arg(long, global = true, env = "OPSDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://opsdesk.db]
    #[arg(long, env = "OPSDESK_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "OPSDESK_LISTEN")]
        listen: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
        /// Load the demo data set when the database is empty.
        #[arg(long)]
        demo: bool,
        /// Log as JSON lines instead of text.
        #[arg(long, env = "OPSDESK_LOG_JSON")]
        log_json: bool,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Administration that works directly on the database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent copy of a SQLite database to PATH.
    Backup {
        path: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Work with tickets on a running server.
    Ticket {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::TicketCommand,
    },
    /// Service reports from a running server.
    Report {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::ReportCommand,
    },
    /// Alerts and their noise metrics on a running server.
    Alert {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::alerts::AlertCommand,
    },
    /// Silences: mute matching alerts for a while.
    Silence {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::alerts::SilenceCommand,
    },
    /// Maintenance windows: mute a service's alerts once or every week.
    Maintenance {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::alerts::MaintenanceCommand,
    },
    /// Inhibition rules: a firing alert mutes related ones.
    Inhibition {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::alerts::InhibitionCommand,
    },
    /// Alert integrations (intake keys) and their routes.
    Integration {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::alerts::IntegrationCommand,
    },
    /// Heartbeat monitors: an alert when a ping is missed.
    Heartbeat {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::alerts::HeartbeatCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user. The password comes from OPSDESK_NEW_USER_PASSWORD or is generated and printed.
    CreateUser {
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value = "agent")]
        role: Role,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        organization: Option<String>,
        /// Create the account without a password (API tokens only).
        #[arg(long)]
        no_password: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Create an API token for a user and print it (shown once).
    CreateToken {
        username: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<i64>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the event log; exits 1 and names the first broken event if it was tampered with.
    Verify {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn database_url(db: &DatabaseArgs, file: &FileConfig) -> String {
    db.database_url
        .clone()
        .or_else(|| file.database_url.clone())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}

async fn open_store(url: &str, file: &FileConfig) -> anyhow::Result<Store> {
    let level = std::env::var("OPSDESK_SQLITE_SYNCHRONOUS")
        .ok()
        .or_else(|| file.sqlite_synchronous.clone());
    let synchronous = match level {
        Some(l) => SqliteSync::parse(&l).map_err(anyhow::Error::msg)?,
        None => SqliteSync::default(),
    };
    Store::open_with(url, synchronous)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(url)))
}

/// mimalloc rather than glibc's malloc: under sustained alert intake glibc
/// kept the pages of freed request buffers, scattered between SQLite's
/// long-lived page-cache allocations, and the server's RSS climbed about
/// 1 MB/s (93 to 205 MB over 90 s of repeats, while heaptrack put the live
/// heap's peak at 50 MB). mimalloc returns such pages; the same run holds
/// 112-134 MB. docs/BENCHMARKS.md, "Alert intake, third pass".
///
/// With the crate's `override` feature, mimalloc is also the C `malloc`
/// of the process, so SQLite (bundled, a heavy user of `malloc` for pages,
/// statements and JSON) uses it too instead of glibc's: new-alert intake
/// gained about 4% ("Alert intake, sixth pass").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let file = FileConfig::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve {
            listen,
            db,
            demo,
            log_json,
        } => {
            init_logging(log_json || file.log_format.as_deref() == Some("json"));
            serve(listen, database_url(&db, &file), demo, &file).await?;
        }
        Command::Migrate { db } => {
            let url = database_url(&db, &file);
            open_store(&url, &file).await?;
            println!("migrations applied to {}", redact_url(&url));
        }
        Command::Admin { command } => admin(command, &file).await?,
        Command::Audit {
            command: AuditCommand::Verify { db },
        } => {
            let store = open_store(&database_url(&db, &file), &file).await?;
            match store.verify_chain().await? {
                ChainReport::Intact { events } => {
                    println!("audit log intact: {events} events verified")
                }
                ChainReport::Broken(b) => {
                    println!("audit log BROKEN at event {}: {b}", b.seq());
                    return Ok(std::process::ExitCode::from(1));
                }
            }
        }
        Command::Backup { path, db } => {
            let store = open_store(&database_url(&db, &file), &file).await?;
            store.backup(&path).await?;
            println!("backup written to {path}");
        }
        Command::Ticket { conn, command } => {
            return client::run(conn, client::ClientCommand::Ticket(command)).await;
        }
        Command::Report { conn, command } => {
            return client::run(conn, client::ClientCommand::Report(command)).await;
        }
        Command::Alert { conn, command } => {
            return alerting(conn, client::alerts::Command::Alert(command)).await;
        }
        Command::Silence { conn, command } => {
            return alerting(conn, client::alerts::Command::Silence(command)).await;
        }
        Command::Maintenance { conn, command } => {
            return alerting(conn, client::alerts::Command::Maintenance(command)).await;
        }
        Command::Inhibition { conn, command } => {
            return alerting(conn, client::alerts::Command::Inhibition(command)).await;
        }
        Command::Integration { conn, command } => {
            return alerting(conn, client::alerts::Command::Integration(command)).await;
        }
        Command::Heartbeat { conn, command } => {
            return alerting(conn, client::alerts::Command::Heartbeat(command)).await;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn alerting(
    conn: client::Connection,
    command: client::alerts::Command,
) -> anyhow::Result<std::process::ExitCode> {
    client::run(conn, client::ClientCommand::Alerts(command)).await
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(
    listen: Option<String>,
    url: String,
    demo: bool,
    file: &FileConfig,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let listen = listen
        .or_else(|| file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let store = open_store(&url, file).await?;
    let now = Timestamp::now();
    let admin_password = std::env::var("OPSDESK_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    if let Some(generated) = ensure_admin(&store, admin_password, now).await? {
        println!("Created the admin user. Sign in as 'admin' with password: {generated}");
        println!("(shown once; set OPSDESK_ADMIN_PASSWORD to choose it yourself)");
    }
    if demo {
        let admin = store
            .user_credentials_by_username("admin")
            .await?
            .context("the admin user is missing")?;
        if store
            .list_tickets(&Default::default())
            .await?
            .items
            .is_empty()
            && store.count_users().await? == 1
        {
            let hash = hash_password("demo-password")?;
            let summary = demo::load_demo(&store, admin.user.id, &hash, now).await?;
            println!(
                "Loaded demo data: {} users, {} teams, {} services, {} tickets, {} comments. Demo users sign in with password 'demo-password'.",
                summary.users, summary.teams, summary.services, summary.tickets, summary.comments
            );
        } else {
            println!("--demo: the database already has data; leaving it as it is");
        }
    }
    let config = ServerConfig {
        reopen: file
            .reopen_window_hours
            .map(|h| ReopenPolicy {
                window: SignedDuration::from_hours(h),
            })
            .unwrap_or_default(),
        session_ttl: SignedDuration::from_hours(file.session_ttl_hours.unwrap_or(12)),
        max_failed_logins: file.max_failed_logins.unwrap_or(5),
        lockout: SignedDuration::from_mins(file.lockout_minutes.unwrap_or(15)),
        worker_interval: std::time::Duration::from_secs(file.worker_interval_seconds.unwrap_or(30)),
        sla_interval: std::time::Duration::from_millis(
            file.sla_interval_ms.unwrap_or(1000).max(50),
        ),
        secure_cookies: file.secure_cookies.unwrap_or(false),
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!(
        "opsdesk listening on http://{addr} (database {} on {}; ready in {} ms)",
        redact_url(&url),
        store.backend().as_str(),
        started.elapsed().as_millis()
    );
    let state = AppState {
        store,
        config: Arc::new(config),
    };
    opsdesk_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn admin(command: AdminCommand, file: &FileConfig) -> anyhow::Result<()> {
    let now = Timestamp::now();
    match command {
        AdminCommand::CreateUser {
            username,
            display_name,
            role,
            email,
            organization,
            no_password,
            db,
        } => {
            let store = open_store(&database_url(&db, file), file).await?;
            let (password, generated) = if no_password {
                (None, false)
            } else {
                match std::env::var("OPSDESK_NEW_USER_PASSWORD")
                    .ok()
                    .filter(|p| !p.is_empty())
                {
                    Some(p) => (Some(p), false),
                    None => (Some(opsdesk_server::passwords::generate_password()), true),
                }
            };
            let password_hash = match &password {
                Some(p) => {
                    check_password_strength(p)
                        .map_err(|e| anyhow::anyhow!("OPSDESK_NEW_USER_PASSWORD {}", e.message))?;
                    Some(hash_password(p)?)
                }
                None => None,
            };
            let user = store
                .create_user(
                    NewUser {
                        display_name: display_name.unwrap_or_else(|| username.clone()),
                        username,
                        email,
                        role,
                        organization,
                        password_hash,
                    },
                    None,
                    now,
                )
                .await?;
            println!(
                "created user '{}' (id {}, role {})",
                user.username, user.id, user.role
            );
            if generated && let Some(p) = password {
                println!("password: {p}");
            }
        }
        AdminCommand::CreateToken {
            username,
            name,
            expires_in_days,
            db,
        } => {
            let store = open_store(&database_url(&db, file), file).await?;
            let Some(creds) = store.user_credentials_by_username(&username).await? else {
                bail!("no user named '{username}'");
            };
            let expires_at = match expires_in_days {
                Some(d) if d <= 0 => bail!("--expires-in-days must be positive"),
                Some(d) => Some(now.saturating_add(SignedDuration::from_hours(24 * d))?),
                None => None,
            };
            let (_, secret) = store
                .create_token(creds.user.id, &name, expires_at, None, now)
                .await?;
            println!("{secret}");
        }
    }
    Ok(())
}
