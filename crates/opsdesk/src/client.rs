//! Client commands that talk to a running server over its REST API:
//! `opsdesk ticket create|list|show|update|comment|assign|transition|link|unlink|merge|timeline`,
//! `opsdesk report sla`, and the alert commands in [`alerts`]
//! (`alert`, `silence`, `maintenance`, `inhibition`, `integration`, `heartbeat`).
//!
//! Output is a human table or block by default; `--json` prints the server's
//! JSON as sent (re-indented) for scripts. A refusal from the server
//! (problem+json) is printed as `error: DETAIL` with one line per field and,
//! for an illegal step, the steps allowed now; the exit code is then 1.

mod api;
mod render;
mod sla;

use anyhow::Context;
use api::{Api, Reply, ServerProblem, UsageError, usage};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use opsdesk_domain::{Impact, TicketKind, TransitionName, Urgency};
use render::{
    event_summary, pretty, scalar, table, terminal_width, text, time, time_long, truncate,
};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Stdout was closed (`opsdesk ticket list | head`): stop quietly.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for StdoutClosed {}

fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}

/// `println!` that stops quietly when stdout is gone instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        emit(&format!("{}\n", format_args!($($arg)*)))?
    };
}

pub mod alerts;

#[derive(Args, Clone)]
pub struct Connection {
    /// Server base URL.
    #[arg(
        long,
        env = "OPSDESK_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// API token (see `opsdesk admin create-token`).
    #[arg(long, env = "OPSDESK_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
}

/// A clap parser for a domain enum from its names, listing them in `--help`.
fn choice<T>(names: impl IntoIterator<Item = &'static str>) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

fn kinds() -> impl TypedValueParser<Value = TicketKind> {
    choice(TicketKind::ALL.map(TicketKind::as_str))
}
fn impacts() -> impl TypedValueParser<Value = Impact> {
    choice(Impact::ALL.map(Impact::as_str))
}
fn urgencies() -> impl TypedValueParser<Value = Urgency> {
    choice(Urgency::ALL.map(Urgency::as_str))
}
fn actions() -> impl TypedValueParser<Value = TransitionName> {
    choice(TransitionName::ALL.map(TransitionName::as_str))
}

/// "P1".."P5", any case.
fn priority(s: &str) -> Result<String, String> {
    let p = s.trim().to_ascii_uppercase();
    match p.as_str() {
        "P1" | "P2" | "P3" | "P4" | "P5" => Ok(p),
        _ => Err(format!("'{s}' is not a priority; use P1 to P5")),
    }
}

/// A user or team named on the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Who {
    Id(i64),
    Me,
    Nobody,
}

fn who(s: &str) -> Result<Who, String> {
    match s.trim() {
        "me" => Ok(Who::Me),
        "none" => Ok(Who::Nobody),
        n => n
            .parse()
            .map(Who::Id)
            .map_err(|_| format!("'{s}' is not a user id, 'me' or 'none'")),
    }
}

fn id_or_none(s: &str) -> Result<Who, String> {
    match s.trim() {
        "none" => Ok(Who::Nobody),
        n => n
            .parse()
            .map(Who::Id)
            .map_err(|_| format!("'{s}' is not an id or 'none'")),
    }
}

fn user_id_or_me(s: &str) -> Result<Who, String> {
    match who(s)? {
        Who::Nobody => Err("use an id or 'me' here (leave the flag out for nobody)".into()),
        w => Ok(w),
    }
}

#[derive(Subcommand)]
pub enum TicketCommand {
    /// Open a ticket and print its number.
    Create(Box<CreateArgs>),
    /// List tickets (newest first unless --sort says otherwise).
    List(Box<ListArgs>),
    /// Show a ticket, its links and its comments.
    Show {
        /// Id or number, e.g. INC-000123.
        #[arg(value_name = "TICKET")]
        reference: String,
    },
    /// Change a ticket's fields.
    Update(Box<UpdateArgs>),
    /// Add a public reply or, with --internal, a work note only agents see.
    Comment(CommentArgs),
    /// Set or clear a ticket's team and assignee.
    Assign(AssignArgs),
    /// Move a ticket through its workflow, e.g. `transition INC-000042 hold --reason awaiting_customer`.
    Transition(TransitionArgs),
    /// Link a ticket to another one.
    Link(LinkArgs),
    /// Remove the link between two tickets.
    Unlink {
        /// Id or number.
        #[arg(value_name = "TICKET")]
        reference: String,
        /// The other ticket (id or number).
        #[arg(long)]
        target: String,
    },
    /// Merge a duplicate into the ticket that lives on (the duplicate is closed).
    Merge {
        /// The duplicate (id or number).
        #[arg(value_name = "TICKET")]
        reference: String,
        /// The ticket that lives on (id or number).
        #[arg(long)]
        into: String,
    },
    /// The audit trail of a ticket, oldest first.
    Timeline {
        /// Id or number.
        #[arg(value_name = "TICKET")]
        reference: String,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long, value_parser = kinds())]
    kind: TicketKind,
    #[arg(long)]
    title: String,
    /// The description; `-` reads it from stdin.
    #[arg(long, conflicts_with = "description_file")]
    description: Option<String>,
    /// Read the description from a file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    description_file: Option<PathBuf>,
    #[arg(long, value_parser = impacts())]
    impact: Option<Impact>,
    #[arg(long, value_parser = urgencies())]
    urgency: Option<Urgency>,
    /// Team id.
    #[arg(long, value_name = "ID")]
    team: Option<i64>,
    /// User id or `me`.
    #[arg(long, value_name = "ID|me", value_parser = user_id_or_me)]
    assignee: Option<Who>,
    /// Service id.
    #[arg(long, value_name = "ID")]
    service: Option<i64>,
    #[arg(long)]
    category: Option<String>,
    /// A tag; repeat for several.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Open the ticket on behalf of this user id (agents only).
    #[arg(long, value_name = "ID|me", value_parser = user_id_or_me)]
    requester: Option<Who>,
    /// Override the computed priority (needs --reason).
    #[arg(long, value_parser = priority, requires = "reason")]
    priority: Option<String>,
    /// Why the priority is overridden.
    #[arg(long, requires = "priority")]
    reason: Option<String>,
    /// Makes retrying this command safe: the same key never opens a second ticket.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    /// Kinds, comma-separated (incident,service_request,problem,change).
    #[arg(long)]
    kind: Option<String>,
    /// States, comma-separated (e.g. new,in_progress).
    #[arg(long)]
    state: Option<String>,
    /// Only open tickets.
    #[arg(long, conflicts_with = "closed")]
    open: bool,
    /// Only finished tickets.
    #[arg(long)]
    closed: bool,
    /// Priorities, comma-separated (e.g. P1,P2).
    #[arg(long)]
    priority: Option<String>,
    /// Team ids, comma-separated.
    #[arg(long, value_name = "ID")]
    team: Option<String>,
    /// A user id, `me` or `none` (unassigned).
    #[arg(long, value_name = "ID|me|none")]
    assignee: Option<String>,
    #[arg(long, value_name = "ID")]
    requester: Option<i64>,
    #[arg(long, value_name = "ID")]
    service: Option<i64>,
    #[arg(long)]
    tag: Option<String>,
    /// Full-text search over title and description.
    #[arg(long, value_name = "TEXT")]
    q: Option<String>,
    /// RFC 3339 time, e.g. 2026-01-31T09:00:00Z.
    #[arg(long, value_name = "TIME")]
    created_after: Option<String>,
    #[arg(long, value_name = "TIME")]
    created_before: Option<String>,
    #[arg(long, value_name = "TIME")]
    updated_after: Option<String>,
    #[arg(long, value_name = "TIME")]
    updated_before: Option<String>,
    /// Only tickets whose SLA is due within this long (overdue included),
    /// e.g. 1h, 30m, 2d, 3600 or PT1H.
    #[arg(long, value_name = "DURATION", value_parser = sla::duration_arg)]
    breaching_within: Option<String>,
    /// created_at, updated_at, priority or sla_due (time to breach);
    /// prefix `-` for descending.
    #[arg(long, allow_hyphen_values = true)]
    sort: Option<String>,
    /// Page size (1 to 200).
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Continue from a previous page.
    #[arg(long)]
    cursor: Option<String>,
    /// Follow the pages to the end.
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
pub struct UpdateArgs {
    /// Id or number.
    #[arg(value_name = "TICKET")]
    reference: String,
    #[arg(long)]
    title: Option<String>,
    /// The new description; `-` reads it from stdin.
    #[arg(long, conflicts_with = "description_file")]
    description: Option<String>,
    /// Read the new description from a file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    description_file: Option<PathBuf>,
    #[arg(long, value_parser = impacts())]
    impact: Option<Impact>,
    #[arg(long, value_parser = urgencies())]
    urgency: Option<Urgency>,
    #[arg(long, conflicts_with = "clear_category")]
    category: Option<String>,
    /// Remove the category.
    #[arg(long)]
    clear_category: bool,
    /// Replaces all tags; repeat for several.
    #[arg(long = "tag", value_name = "TAG", conflicts_with = "clear_tags")]
    tags: Vec<String>,
    /// Remove all tags.
    #[arg(long)]
    clear_tags: bool,
    /// Service id, or `none`.
    #[arg(long, value_name = "ID|none", value_parser = id_or_none)]
    service: Option<Who>,
    /// Override the computed priority (needs --reason).
    #[arg(long, value_parser = priority, requires = "reason", conflicts_with = "clear_priority_override")]
    priority: Option<String>,
    /// Why the priority is overridden.
    #[arg(long, requires = "priority")]
    reason: Option<String>,
    /// Return to the priority computed from impact and urgency.
    #[arg(long)]
    clear_priority_override: bool,
    /// The version you read; the update is refused if the ticket changed since.
    #[arg(long, value_name = "N")]
    version: Option<i64>,
}

#[derive(Args)]
pub struct CommentArgs {
    /// Id or number.
    #[arg(value_name = "TICKET")]
    reference: String,
    /// The text; `-` reads it from stdin.
    #[arg(
        long,
        required_unless_present = "body_file",
        conflicts_with = "body_file"
    )]
    body: Option<String>,
    /// Read the text from a file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// A work note only agents see.
    #[arg(long)]
    internal: bool,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("who").args(["team", "assignee"]).required(true).multiple(true)))]
pub struct AssignArgs {
    /// Id or number.
    #[arg(value_name = "TICKET")]
    reference: String,
    /// Team id, or `none`.
    #[arg(long, value_name = "ID|none", value_parser = id_or_none)]
    team: Option<Who>,
    /// User id, `me` or `none`.
    #[arg(long, value_name = "ID|me|none", value_parser = who)]
    assignee: Option<Who>,
}

#[derive(Args)]
pub struct TransitionArgs {
    /// Id or number.
    #[arg(value_name = "TICKET")]
    reference: String,
    /// The step to take.
    #[arg(value_parser = actions())]
    action: TransitionName,
    /// hold: awaiting_customer, awaiting_vendor or awaiting_change; cancel: why (required); reopen: why (optional).
    #[arg(long)]
    reason: Option<String>,
    /// resolve: the resolution code.
    #[arg(long)]
    resolution_code: Option<String>,
    /// resolve, fulfill: the resolution note; reject: why (required); approve: optional note.
    #[arg(long)]
    note: Option<String>,
    /// close (changes): how the change went.
    #[arg(long, value_parser = ["successful", "failed", "rolled_back"])]
    outcome: Option<String>,
    /// record_known_error: the workaround.
    #[arg(long)]
    workaround: Option<String>,
}

#[derive(Args)]
pub struct LinkArgs {
    /// Id or number; the link reads "TICKET KIND TARGET".
    #[arg(value_name = "TICKET")]
    reference: String,
    #[arg(long, value_parser = ["duplicate_of", "caused_by", "related", "parent_of"])]
    kind: String,
    /// The other ticket (id or number).
    #[arg(long)]
    target: String,
}

/// Service reports.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// SLA compliance of the tickets opened in a period: clocks met,
    /// breached and in progress per policy, team, service or priority.
    Sla {
        /// Start of the period (RFC 3339), e.g. 2026-11-01T00:00:00Z.
        #[arg(long, value_name = "TIME")]
        from: String,
        /// End of the period (RFC 3339); now when left out.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// What to group by.
        #[arg(long, default_value = "policy", value_parser = ["policy", "team", "service", "priority"])]
        by: String,
    },
}

/// What a client command works on.
pub enum ClientCommand {
    Ticket(TicketCommand),
    Report(ReportCommand),
    Alerts(alerts::Command),
}

pub async fn run(conn: Connection, command: ClientCommand) -> anyhow::Result<ExitCode> {
    let json = conn.json;
    let result = async {
        let mut api = Api::new(&conn.server, conn.token.as_deref())?;
        match command {
            ClientCommand::Ticket(command) => execute(&mut api, json, command).await,
            ClientCommand::Report(command) => report(&mut api, json, command).await,
            ClientCommand::Alerts(command) => alerts::run(&mut api, json, command).await,
        }
    }
    .await;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            if let Some(problem) = e.downcast_ref::<ServerProblem>() {
                report_problem(problem, json);
                Ok(ExitCode::from(1))
            } else if e.downcast_ref::<StdoutClosed>().is_some() {
                Ok(ExitCode::SUCCESS)
            } else if let Some(UsageError(message)) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {message}");
                Ok(ExitCode::from(2))
            } else {
                Err(e)
            }
        }
    }
}

/// Prints the server's refusal: the problem JSON on stdout with --json,
/// otherwise `error: DETAIL`, the field errors and the steps allowed now.
fn report_problem(problem: &ServerProblem, json: bool) {
    if json && let Some((raw, _)) = &problem.json {
        let _ = emit(&format!("{}\n", pretty(raw)));
        return;
    }
    let mut err = std::io::stderr().lock();
    let Some((_, body)) = &problem.json else {
        let snippet = truncate(problem.text.trim(), 300);
        let _ = writeln!(err, "error: the server answered {}", problem.status);
        if !snippet.is_empty() {
            let _ = writeln!(err, "  {snippet}");
        }
        return;
    };
    let detail = body
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| body.get("title").and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| format!("the server answered {}", problem.status));
    let _ = writeln!(err, "error: {detail}");
    for e in body
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let line = format!("{}: {}", text(e, "field"), text(e, "message"));
        if line != detail {
            let _ = writeln!(err, "  {line}");
        }
    }
    if let Some(allowed) = body.get("allowed_transitions").and_then(Value::as_array) {
        let names: Vec<String> = allowed.iter().map(scalar).collect();
        if names.is_empty() {
            let _ = writeln!(err, "allowed now: nothing (the ticket is finished)");
        } else {
            let _ = writeln!(err, "allowed now: {}", names.join(", "));
        }
    }
    if problem.status == reqwest::StatusCode::UNAUTHORIZED {
        let _ = writeln!(
            err,
            "hint: check --token / OPSDESK_TOKEN (create one with `opsdesk admin create-token USERNAME`)"
        );
    }
}

async fn report(api: &mut Api, json: bool, command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Sla { from, to, by } => {
            let mut query = vec![("from", from), ("group_by", by)];
            if let Some(to) = to {
                query.push(("to", to));
            }
            let reply = api.get(&["api", "v1", "reports", "sla"], &query).await?;
            if json {
                outln!("{}", pretty(&reply.raw));
            } else {
                emit(&sla::report_table(&reply.value))?;
            }
            Ok(())
        }
    }
}

async fn execute(api: &mut Api, json: bool, command: TicketCommand) -> anyhow::Result<()> {
    match command {
        TicketCommand::Create(args) => create(api, json, *args).await,
        TicketCommand::List(args) => list(api, json, *args).await,
        TicketCommand::Show { reference } => show(api, json, &reference).await,
        TicketCommand::Update(args) => update(api, json, *args).await,
        TicketCommand::Comment(args) => comment(api, json, args).await,
        TicketCommand::Assign(args) => assign(api, json, args).await,
        TicketCommand::Transition(args) => transition(api, json, args).await,
        TicketCommand::Link(args) => link(api, json, args).await,
        TicketCommand::Unlink { reference, target } => {
            api.send(
                Method::DELETE,
                &["api", "v1", "tickets", &reference, "links", &target],
                &[],
                None,
                None,
            )
            .await?;
            if !json {
                outln!("Unlinked {reference} and {target}.");
            }
            Ok(())
        }
        TicketCommand::Merge { reference, into } => {
            let reply = api
                .post(
                    &["api", "v1", "tickets", &reference, "merge"],
                    &json!({ "survivor": into }),
                )
                .await?;
            if json {
                print_raw(&reply)?;
            } else {
                outln!(
                    "Merged {reference} into {} (the duplicate is now closed).",
                    text(&reply.value, "number")
                );
                outln!("{}", summary_line(&reply.value));
            }
            Ok(())
        }
        TicketCommand::Timeline { reference } => timeline(api, json, &reference).await,
    }
}

fn print_raw(reply: &Reply) -> anyhow::Result<()> {
    outln!("{}", pretty(&reply.raw));
    Ok(())
}

/// A text argument that may be given inline, from a file, or as `-` for stdin.
fn read_text(
    inline: Option<String>,
    file: Option<PathBuf>,
    flag: &str,
) -> anyhow::Result<Option<String>> {
    let from_stdin = || -> anyhow::Result<String> {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .with_context(|| format!("cannot read {flag} from stdin"))?;
        Ok(s.trim_end().to_string())
    };
    match (inline, file) {
        (Some(s), _) if s == "-" => from_stdin().map(Some),
        (Some(s), _) => Ok(Some(s)),
        (None, Some(path)) if path.as_os_str() == "-" => from_stdin().map(Some),
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map(|s| Some(s.trim_end().to_string()))
            .with_context(|| format!("cannot read {flag} from {}", path.display())),
        (None, None) => Ok(None),
    }
}

async fn resolve_user(api: &mut Api, who: &Who) -> anyhow::Result<Value> {
    Ok(match who {
        Who::Id(id) => json!(id),
        Who::Me => json!(api.me().await?),
        Who::Nobody => Value::Null,
    })
}

async fn create(api: &mut Api, json: bool, a: CreateArgs) -> anyhow::Result<()> {
    let mut body = Map::new();
    body.insert("kind".into(), json!(a.kind.as_str()));
    body.insert("title".into(), json!(a.title));
    if let Some(d) = read_text(a.description, a.description_file, "the description")? {
        body.insert("description".into(), json!(d));
    }
    if let Some(i) = a.impact {
        body.insert("impact".into(), json!(i.as_str()));
    }
    if let Some(u) = a.urgency {
        body.insert("urgency".into(), json!(u.as_str()));
    }
    if let Some(t) = a.team {
        body.insert("team_id".into(), json!(t));
    }
    if let Some(w) = &a.assignee {
        body.insert("assignee_id".into(), resolve_user(api, w).await?);
    }
    if let Some(w) = &a.requester {
        body.insert("requester_id".into(), resolve_user(api, w).await?);
    }
    if let Some(s) = a.service {
        body.insert("service_id".into(), json!(s));
    }
    if let Some(c) = a.category {
        body.insert("category".into(), json!(c));
    }
    if !a.tags.is_empty() {
        body.insert("tags".into(), json!(a.tags));
    }
    if let (Some(p), Some(r)) = (a.priority, a.reason) {
        body.insert(
            "priority_override".into(),
            json!({ "priority": p, "reason": r }),
        );
    }
    let reply = api
        .send(
            Method::POST,
            &["api", "v1", "tickets"],
            &[],
            Some(&Value::Object(body)),
            a.idempotency_key.as_deref(),
        )
        .await?;
    if json {
        print_raw(&reply)?;
    } else {
        let t = &reply.value;
        outln!("Created {}: {}", text(t, "number"), text(t, "title"));
        outln!("{}", summary_line(t));
    }
    Ok(())
}

/// "incident · new · P3 (impact medium, urgency medium) · next: acknowledge, resolve"
fn summary_line(t: &Value) -> String {
    let mut line = format!("  {} · {}", text(t, "kind"), state_text(t));
    line.push_str(&format!(" · {}", priority_text(t)));
    let next = text(t, "allowed_transitions");
    if next != "-" {
        line.push_str(&format!(" · next: {next}"));
    }
    line
}

fn state_text(t: &Value) -> String {
    let state = text(t, "state");
    match t.get("on_hold_reason").and_then(Value::as_str) {
        Some(reason) if state == "on_hold" => format!("{state} ({reason})"),
        _ => state,
    }
}

fn priority_text(t: &Value) -> String {
    let mut p = format!(
        "{} (impact {}, urgency {})",
        text(t, "priority"),
        text(t, "impact"),
        text(t, "urgency")
    );
    if let Some(reason) = t.get("priority_override_reason").and_then(Value::as_str) {
        p.push_str(&format!(", overridden: {reason}"));
    }
    p
}

async fn list(api: &mut Api, json: bool, a: ListArgs) -> anyhow::Result<()> {
    let mut query: Vec<(&str, String)> = Vec::new();
    let mut add = |key: &'static str, value: Option<String>| {
        if let Some(v) = value {
            query.push((key, v));
        }
    };
    add("kind", a.kind);
    add("state", a.state);
    add(
        "open",
        if a.open {
            Some("true".into())
        } else if a.closed {
            Some("false".into())
        } else {
            None
        },
    );
    add("priority", a.priority.map(|p| p.to_ascii_uppercase()));
    add("team_id", a.team);
    add("assignee", a.assignee);
    add("requester_id", a.requester.map(|r| r.to_string()));
    add("service_id", a.service.map(|s| s.to_string()));
    add("tag", a.tag);
    add("q", a.q);
    add("created_after", a.created_after);
    add("created_before", a.created_before);
    add("updated_after", a.updated_after);
    add("updated_before", a.updated_before);
    add("breaching_within", a.breaching_within);
    add("sort", a.sort);
    add("limit", a.limit.map(|l| l.to_string()));

    let mut cursor = a.cursor;
    let mut raw_items: Vec<Box<serde_json::value::RawValue>> = Vec::new();
    let mut items: Vec<Value> = Vec::new();
    let mut first_raw = None;
    let mut seen_cursors = std::collections::HashSet::new();
    let next_cursor = loop {
        let mut q = query.clone();
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let reply = api.get(&["api", "v1", "tickets"], &q).await?;
        let page: RawPage = serde_json::from_str(&reply.raw)
            .context("the server's ticket list has an unexpected shape")?;
        items.extend(
            reply
                .value
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .cloned(),
        );
        raw_items.extend(page.items);
        if first_raw.is_none() {
            first_raw = Some(reply.raw);
        }
        match page.next_cursor {
            Some(next) if a.all && seen_cursors.insert(next.clone()) => cursor = Some(next),
            next => break next.filter(|_| !a.all),
        }
    };

    if json {
        if a.all {
            let joined: Vec<&str> = raw_items.iter().map(|r| r.get()).collect();
            outln!(
                "{}",
                pretty(&format!(
                    "{{\"items\":[{}],\"next_cursor\":null}}",
                    joined.join(",")
                ))
            );
        } else if let Some(raw) = first_raw {
            outln!("{}", pretty(&raw));
        }
        return Ok(());
    }
    if items.is_empty() {
        outln!("No tickets match.");
    } else {
        let mut rows = Vec::with_capacity(items.len());
        let now = jiff::Timestamp::now();
        for t in &items {
            let assignee = match t.get("assignee_id").and_then(Value::as_i64) {
                Some(id) => api.user_name(id).await,
                None => "-".to_string(),
            };
            rows.push(vec![
                text(t, "number"),
                text(t, "kind"),
                text(t, "state"),
                text(t, "priority"),
                text(t, "title"),
                assignee,
                sla::summary_cell(t, now),
                time(t.get("updated_at").unwrap_or(&Value::Null)),
            ]);
        }
        emit(&table(
            &[
                "NUMBER", "KIND", "STATE", "PRI", "TITLE", "ASSIGNEE", "SLA", "UPDATED",
            ],
            &rows,
            Some(4),
            terminal_width(),
        ))?;
    }
    if let Some(next) = next_cursor {
        outln!("More tickets: add --cursor {next} (or --all for every page).");
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct RawPage {
    items: Vec<Box<serde_json::value::RawValue>>,
    next_cursor: Option<String>,
}

async fn show(api: &mut Api, json: bool, reference: &str) -> anyhow::Result<()> {
    let ticket = api.get(&["api", "v1", "tickets", reference], &[]).await?;
    // Ask for the rest by id, exactly the ticket just shown.
    let id = ticket
        .value
        .get("id")
        .and_then(Value::as_i64)
        .map(|i| i.to_string())
        .unwrap_or_else(|| reference.to_string());
    let comments = api
        .get(&["api", "v1", "tickets", &id, "comments"], &[])
        .await?;
    let links = api
        .get(&["api", "v1", "tickets", &id, "links"], &[])
        .await?;
    let clocks = api.get(&["api", "v1", "tickets", &id, "sla"], &[]).await?;
    if json {
        // The ticket as the API returns it, plus its comments, links and
        // SLA clocks.
        let raw = ticket.raw.trim_end();
        let combined = match raw.strip_suffix('}') {
            Some(head) if ticket.value.is_object() => {
                let sep = if ticket.value.as_object().is_some_and(|o| o.is_empty()) {
                    ""
                } else {
                    ","
                };
                format!(
                    "{head}{sep}\"comments\":{},\"links\":{},\"sla_clocks\":{}}}",
                    comments.raw.trim(),
                    links.raw.trim(),
                    clocks.raw.trim()
                )
            }
            _ => raw.to_string(),
        };
        outln!("{}", pretty(&combined));
        return Ok(());
    }
    let t = &ticket.value;
    let mut out = String::new();
    out.push_str(&format!("{}  {}\n", text(t, "number"), text(t, "title")));
    let mut field = |label: &str, value: String| {
        if value != "-" {
            out.push_str(&format!("  {:<14}{}\n", format!("{label}:"), value));
        }
    };
    field("Kind", text(t, "kind"));
    field("State", state_text(t));
    field("Priority", priority_text(t));
    let team = match t.get("team_id").and_then(Value::as_i64) {
        Some(id) => api.entity_name("teams", id).await,
        None => "-".into(),
    };
    field("Team", if team == "-" { "(none)".into() } else { team });
    let assignee = match t.get("assignee_id").and_then(Value::as_i64) {
        Some(id) => format!("{} (#{id})", api.user_name(id).await),
        None => "(unassigned)".into(),
    };
    field("Assignee", assignee);
    if let Some(id) = t.get("requester_id").and_then(Value::as_i64) {
        field("Requester", format!("{} (#{id})", api.user_name(id).await));
    }
    if let Some(id) = t.get("service_id").and_then(Value::as_i64) {
        field("Service", api.entity_name("services", id).await);
    }
    field("Category", text(t, "category"));
    field("Tags", text(t, "tags"));
    let mut watchers = Vec::new();
    for w in t
        .get("watchers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
    {
        watchers.push(api.user_name(w).await);
    }
    field(
        "Watchers",
        if watchers.is_empty() {
            "-".into()
        } else {
            watchers.join(", ")
        },
    );
    for (label, key) in [
        ("Created", "created_at"),
        ("Updated", "updated_at"),
        ("Acknowledged", "acknowledged_at"),
        ("Responded", "first_response_at"),
        ("Resolved", "resolved_at"),
        ("Reopened", "reopened_at"),
        ("Closed", "closed_at"),
    ] {
        field(label, time_long(t.get(key).unwrap_or(&Value::Null)));
    }
    if t.get("reopen_count")
        .and_then(Value::as_i64)
        .is_some_and(|n| n > 0)
    {
        field("Reopens", text(t, "reopen_count"));
    }
    field("Resolution", text(t, "resolution_code"));
    field("Note", text(t, "resolution_note"));
    field("Workaround", text(t, "workaround"));
    field("Outcome", text(t, "change_outcome"));
    if let Some(m) = t.get("merged_into_id").and_then(Value::as_i64) {
        let survivor = match api
            .get(&["api", "v1", "tickets", &m.to_string()], &[])
            .await
        {
            Ok(reply) => text(&reply.value, "number"),
            Err(_) => format!("ticket #{m}"),
        };
        field("Merged into", survivor);
    }
    field("Version", text(t, "version"));
    let next = text(t, "allowed_transitions");
    field(
        "Next steps",
        if next == "-" { "(none)".into() } else { next },
    );
    let description = text(t, "description");
    if !description.trim().is_empty() && description != "-" {
        out.push_str("\nDescription:\n");
        for line in description.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    let clock_lines = sla::clock_lines(&clocks.value, jiff::Timestamp::now());
    if !clock_lines.is_empty() {
        out.push_str("\nSLA:\n");
        for line in clock_lines {
            out.push_str(&format!("  {line}\n"));
        }
    }
    let links = links.value.as_array().cloned().unwrap_or_default();
    if !links.is_empty() {
        out.push_str("\nLinks:\n");
        for l in &links {
            out.push_str(&format!(
                "  {} {} {}\n",
                text(l, "source_number"),
                text(l, "kind"),
                text(l, "target_number")
            ));
        }
    }
    let mut comments = comments.value.as_array().cloned().unwrap_or_default();
    comments.sort_by_key(|c| {
        (
            c.get("created_at")
                .and_then(Value::as_str)
                .map(str::to_string),
            c.get("id").and_then(Value::as_i64),
        )
    });
    if comments.is_empty() {
        out.push_str("\nNo comments.\n");
    } else {
        out.push_str(&format!("\nComments ({}):\n", comments.len()));
        for c in &comments {
            let author = match c.get("author_id").and_then(Value::as_i64) {
                Some(id) => api.user_name(id).await,
                None => "-".into(),
            };
            let marker = if text(c, "visibility") == "internal" {
                " [INTERNAL NOTE]"
            } else {
                ""
            };
            let moved = match c.get("moved_from_ticket_id").and_then(Value::as_i64) {
                Some(id) => format!(" (from merged ticket #{id})"),
                None => String::new(),
            };
            out.push_str(&format!(
                "\n  {} {author}{marker}{moved}:\n",
                time(c.get("created_at").unwrap_or(&Value::Null))
            ));
            for line in text(c, "body").lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    emit(&out)?;
    Ok(())
}

async fn update(api: &mut Api, json: bool, a: UpdateArgs) -> anyhow::Result<()> {
    let mut body = Map::new();
    if let Some(t) = a.title {
        body.insert("title".into(), json!(t));
    }
    if let Some(d) = read_text(a.description, a.description_file, "the description")? {
        body.insert("description".into(), json!(d));
    }
    if let Some(i) = a.impact {
        body.insert("impact".into(), json!(i.as_str()));
    }
    if let Some(u) = a.urgency {
        body.insert("urgency".into(), json!(u.as_str()));
    }
    if let Some(c) = a.category {
        body.insert("category".into(), json!(c));
    } else if a.clear_category {
        body.insert("category".into(), Value::Null);
    }
    if !a.tags.is_empty() || a.clear_tags {
        body.insert("tags".into(), json!(a.tags));
    }
    if let Some(s) = &a.service {
        body.insert("service_id".into(), resolve_user(api, s).await?);
    }
    if let (Some(p), Some(r)) = (a.priority, a.reason) {
        body.insert(
            "priority_override".into(),
            json!({ "priority": p, "reason": r }),
        );
    } else if a.clear_priority_override {
        body.insert("priority_override".into(), Value::Null);
    }
    if body.is_empty() {
        return usage(
            "nothing to update; pass at least one of --title, --description, --impact, --urgency, --category, --tag, --service, --priority, --clear-priority-override",
        );
    }
    if let Some(v) = a.version {
        body.insert("version".into(), json!(v));
    }
    let reply = api
        .send(
            Method::PATCH,
            &["api", "v1", "tickets", &a.reference],
            &[],
            Some(&Value::Object(body)),
            None,
        )
        .await?;
    if json {
        print_raw(&reply)?;
    } else {
        outln!(
            "Updated {} (version {}): {}",
            text(&reply.value, "number"),
            text(&reply.value, "version"),
            text(&reply.value, "title")
        );
        outln!("{}", summary_line(&reply.value));
    }
    Ok(())
}

async fn comment(api: &mut Api, json: bool, a: CommentArgs) -> anyhow::Result<()> {
    let Some(text_body) = read_text(a.body, a.body_file, "the comment")? else {
        return usage("pass --body TEXT or --body-file FILE");
    };
    let visibility = if a.internal { "internal" } else { "public" };
    let reply = api
        .post(
            &["api", "v1", "tickets", &a.reference, "comments"],
            &json!({ "body": text_body, "visibility": visibility }),
        )
        .await?;
    if json {
        print_raw(&reply)?;
    } else {
        let what = if a.internal {
            "internal note"
        } else {
            "public comment"
        };
        outln!(
            "Added {what} #{} to {}.",
            text(&reply.value, "id"),
            a.reference
        );
    }
    Ok(())
}

async fn assign(api: &mut Api, json: bool, a: AssignArgs) -> anyhow::Result<()> {
    let mut body = Map::new();
    if let Some(t) = &a.team {
        body.insert("team_id".into(), resolve_user(api, t).await?);
    }
    if let Some(w) = &a.assignee {
        body.insert("assignee_id".into(), resolve_user(api, w).await?);
    }
    let reply = api
        .post(
            &["api", "v1", "tickets", &a.reference, "assign"],
            &Value::Object(body),
        )
        .await?;
    if json {
        print_raw(&reply)?;
    } else {
        let t = &reply.value;
        let team = match t.get("team_id").and_then(Value::as_i64) {
            Some(id) => api.entity_name("teams", id).await,
            None => "(none)".into(),
        };
        let assignee = match t.get("assignee_id").and_then(Value::as_i64) {
            Some(id) => format!("{} (#{id})", api.user_name(id).await),
            None => "(unassigned)".into(),
        };
        outln!("{}: team {team}, assignee {assignee}", text(t, "number"));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Flag {
    Reason,
    ResolutionCode,
    Note,
    Outcome,
    Workaround,
}

impl Flag {
    fn name(self) -> &'static str {
        match self {
            Flag::Reason => "--reason",
            Flag::ResolutionCode => "--resolution-code",
            Flag::Note => "--note",
            Flag::Outcome => "--outcome",
            Flag::Workaround => "--workaround",
        }
    }
}

/// The flags an action takes: (flag, JSON field, required).
fn action_fields(action: TransitionName) -> &'static [(Flag, &'static str, bool)] {
    use TransitionName as T;
    match action {
        T::Hold => &[(Flag::Reason, "reason", true)],
        T::Resolve => &[
            (Flag::ResolutionCode, "resolution_code", true),
            (Flag::Note, "resolution_note", true),
        ],
        T::Fulfill => &[(Flag::Note, "resolution_note", true)],
        T::Reject => &[(Flag::Note, "note", true)],
        T::Approve => &[(Flag::Note, "note", false)],
        T::Cancel => &[(Flag::Reason, "reason", true)],
        T::Reopen => &[(Flag::Reason, "reason", false)],
        T::RecordKnownError => &[(Flag::Workaround, "workaround", true)],
        T::Close => &[(Flag::Outcome, "outcome", false)],
        T::Acknowledge
        | T::Start
        | T::Resume
        | T::SubmitForApproval
        | T::Investigate
        | T::SubmitForAssessment
        | T::RequestApproval
        | T::Implement
        | T::CompleteImplementation => &[],
    }
}

const HOLD_REASONS: [&str; 3] = ["awaiting_customer", "awaiting_vendor", "awaiting_change"];

/// The JSON body of a step, e.g. `{"action":"hold","reason":"awaiting_customer"}`,
/// with only the fields that step takes.
fn transition_body(a: &TransitionArgs) -> anyhow::Result<Value> {
    let given: [(Flag, Option<&String>); 5] = [
        (Flag::Reason, a.reason.as_ref()),
        (Flag::ResolutionCode, a.resolution_code.as_ref()),
        (Flag::Note, a.note.as_ref()),
        (Flag::Outcome, a.outcome.as_ref()),
        (Flag::Workaround, a.workaround.as_ref()),
    ];
    let fields = action_fields(a.action);
    let takes = if fields.is_empty() {
        "no options".to_string()
    } else {
        fields
            .iter()
            .map(|(f, _, req)| format!("{}{}", f.name(), if *req { "" } else { " (optional)" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut body = Map::new();
    body.insert("action".into(), json!(a.action.as_str()));
    for (flag, value) in given {
        match (fields.iter().find(|(f, _, _)| *f == flag), value) {
            (None, Some(_)) => {
                return usage(format!(
                    "'{}' does not take {}; it takes {takes}",
                    a.action,
                    flag.name()
                ));
            }
            (Some((_, _, true)), None) => return usage(format!("'{}' needs {takes}", a.action)),
            (Some((_, key, _)), Some(v)) => {
                body.insert((*key).into(), json!(v));
            }
            _ => {}
        }
    }
    if a.action == TransitionName::Hold
        && !a
            .reason
            .as_deref()
            .is_some_and(|r| HOLD_REASONS.contains(&r))
    {
        return usage(format!(
            "'hold' needs --reason with one of: {}",
            HOLD_REASONS.join(", ")
        ));
    }
    Ok(Value::Object(body))
}

async fn transition(api: &mut Api, json: bool, a: TransitionArgs) -> anyhow::Result<()> {
    let body = transition_body(&a)?;
    let reply = api
        .post(
            &["api", "v1", "tickets", &a.reference, "transitions"],
            &body,
        )
        .await?;
    if json {
        print_raw(&reply)?;
    } else {
        let t = &reply.value;
        let next = text(t, "allowed_transitions");
        outln!("{} is now {}.", text(t, "number"), state_text(t));
        outln!(
            "  next: {}",
            if next == "-" {
                "(none)".to_string()
            } else {
                next
            }
        );
    }
    Ok(())
}

async fn link(api: &mut Api, json: bool, a: LinkArgs) -> anyhow::Result<()> {
    let reply = api
        .post(
            &["api", "v1", "tickets", &a.reference, "links"],
            &json!({ "kind": a.kind, "target": a.target }),
        )
        .await?;
    if json {
        print_raw(&reply)?;
    } else {
        let l = &reply.value;
        outln!(
            "Linked: {} {} {}",
            text(l, "source_number"),
            text(l, "kind"),
            text(l, "target_number")
        );
    }
    Ok(())
}

async fn timeline(api: &mut Api, json: bool, reference: &str) -> anyhow::Result<()> {
    let reply = api
        .get(&["api", "v1", "tickets", reference, "timeline"], &[])
        .await?;
    if json {
        print_raw(&reply)?;
        return Ok(());
    }
    let events = reply.value.as_array().cloned().unwrap_or_default();
    if events.is_empty() {
        outln!("No events.");
        return Ok(());
    }
    let mut rows = Vec::with_capacity(events.len());
    for e in &events {
        let actor = match e.get("actor_id").and_then(Value::as_i64) {
            Some(id) => api.user_name(id).await,
            None => "system".into(),
        };
        let kind = text(e, "kind");
        let details = event_summary(&kind, e.get("data").unwrap_or(&Value::Null));
        rows.push(vec![
            time(e.get("at").unwrap_or(&Value::Null)),
            actor,
            kind.strip_prefix("ticket.").unwrap_or(&kind).to_string(),
            details,
        ]);
    }
    emit(&table(
        &["TIME", "ACTOR", "EVENT", "DETAILS"],
        &rows,
        Some(3),
        terminal_width(),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: TicketCommand,
    }

    fn transition_args(args: &[&str]) -> TransitionArgs {
        let mut argv = vec!["opsdesk", "transition", "INC-000001"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(TicketCommand::Transition(t)) => t,
            Ok(_) => panic!("not a transition"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn transitions_send_only_the_fields_of_their_action() {
        let body = transition_body(&transition_args(&["hold", "--reason", "awaiting_customer"]))
            .expect("body");
        assert_eq!(
            body,
            json!({"action": "hold", "reason": "awaiting_customer"})
        );
        let body = transition_body(&transition_args(&[
            "resolve",
            "--resolution-code",
            "fixed",
            "--note",
            "n",
        ]))
        .expect("body");
        assert_eq!(
            body,
            json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "n"})
        );
        let body = transition_body(&transition_args(&["fulfill", "--note", "done"])).expect("body");
        assert_eq!(
            body,
            json!({"action": "fulfill", "resolution_note": "done"})
        );
        let body = transition_body(&transition_args(&["reject", "--note", "no"])).expect("body");
        assert_eq!(body, json!({"action": "reject", "note": "no"}));
        let body = transition_body(&transition_args(&["approve"])).expect("body");
        assert_eq!(body, json!({"action": "approve"}));
        let body = transition_body(&transition_args(&["close", "--outcome", "rolled_back"]))
            .expect("body");
        assert_eq!(body, json!({"action": "close", "outcome": "rolled_back"}));
        let body = transition_body(&transition_args(&[
            "record_known_error",
            "--workaround",
            "w",
        ]))
        .expect("body");
        assert_eq!(
            body,
            json!({"action": "record_known_error", "workaround": "w"})
        );
        let body = transition_body(&transition_args(&["complete_implementation"])).expect("body");
        assert_eq!(body, json!({"action": "complete_implementation"}));
    }

    #[test]
    fn transitions_refuse_missing_and_foreign_flags() {
        let e = transition_body(&transition_args(&["hold"]))
            .expect_err("missing reason")
            .to_string();
        assert!(e.contains("--reason"), "{e}");
        let e = transition_body(&transition_args(&["hold", "--reason", "lunch"]))
            .expect_err("bad reason")
            .to_string();
        assert!(e.contains("awaiting_customer"), "{e}");
        let e = transition_body(&transition_args(&["acknowledge", "--note", "x"]))
            .expect_err("foreign")
            .to_string();
        assert!(e.contains("does not take --note"), "{e}");
        let e = transition_body(&transition_args(&["resolve", "--note", "x"]))
            .expect_err("missing code")
            .to_string();
        assert!(e.contains("--resolution-code"), "{e}");
        assert!(Cli::try_parse_from(["opsdesk", "transition", "INC-1", "fly"]).is_err());
    }

    #[test]
    fn every_action_is_mapped() {
        for action in TransitionName::ALL {
            let required: Vec<&str> = action_fields(action)
                .iter()
                .filter(|(_, _, req)| *req)
                .map(|(_, key, _)| *key)
                .collect();
            let domain: Vec<&str> = action.required_fields(TicketKind::Incident).to_vec();
            assert_eq!(required, domain, "{action}");
        }
    }

    #[test]
    fn argument_shapes() {
        let cli = Cli::try_parse_from([
            "opsdesk",
            "create",
            "--kind",
            "service_request",
            "--title",
            "t",
            "--priority",
            "p1",
            "--reason",
            "r",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        match cli.command {
            TicketCommand::Create(c) => {
                assert_eq!(c.kind, TicketKind::ServiceRequest);
                assert_eq!(c.priority.as_deref(), Some("P1"));
            }
            _ => panic!("not create"),
        }
        assert!(
            Cli::try_parse_from([
                "opsdesk",
                "create",
                "--kind",
                "incident",
                "--title",
                "t",
                "--priority",
                "P1"
            ])
            .is_err()
        );
        assert!(Cli::try_parse_from(["opsdesk", "assign", "INC-1"]).is_err());
        assert!(Cli::try_parse_from(["opsdesk", "list", "--open", "--closed"]).is_err());
        assert!(Cli::try_parse_from(["opsdesk", "list", "--sort", "-created_at"]).is_ok());
        assert!(Cli::try_parse_from(["opsdesk", "comment", "INC-1"]).is_err());
        let cli = Cli::try_parse_from([
            "opsdesk",
            "assign",
            "INC-1",
            "--assignee",
            "me",
            "--team",
            "none",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        match cli.command {
            TicketCommand::Assign(a) => {
                assert_eq!(a.assignee, Some(Who::Me));
                assert_eq!(a.team, Some(Who::Nobody));
            }
            _ => panic!("not assign"),
        }
    }
}
