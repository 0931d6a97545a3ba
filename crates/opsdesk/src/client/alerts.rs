//! Alert commands: `opsdesk alert|silence|maintenance|inhibition|integration|heartbeat ...`.
//!
//! Each command is one or two calls of the REST API (`/api/v1/alerts`,
//! `/api/v1/silences`, ...); the server validates everything (matchers,
//! times, schedules) and its refusals are printed like every other client
//! command's. Tables by default, the server's JSON with `--json`.

use super::api::{Api, Reply, usage};
use super::render::{scalar, table, terminal_width, text, time, truncate};
use super::sla::{duration_arg, human};
use super::{emit, print_raw};
use anyhow::Context;
use clap::{Args, Subcommand};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::PathBuf;

/// `opsdesk alert ...`
#[derive(Subcommand)]
pub enum AlertCommand {
    /// List alerts, newest first.
    List(AlertListArgs),
    /// Show one alert: labels, annotations, times, suppression, incident.
    Show {
        /// The alert's id.
        id: i64,
    },
    /// Acknowledge a firing alert (someone is on it); a resolved alert
    /// cannot be, and acknowledging twice changes nothing.
    #[command(alias = "acknowledge")]
    Ack {
        /// The alert's id.
        id: i64,
    },
    /// Noise counters per service: what arrived and what became incidents.
    Noise {
        /// Only this service id.
        #[arg(long, value_name = "ID")]
        service: Option<i64>,
        /// Start of the period (RFC 3339); 7 days before --to when left out.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End of the period (RFC 3339); now when left out.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
    },
}

#[derive(Args)]
pub struct AlertListArgs {
    /// firing, acknowledged or resolved.
    #[arg(long, alias = "state", value_parser = ["firing", "acknowledged", "resolved"])]
    status: Option<String>,
    /// Service id the alert was routed to.
    #[arg(long, value_name = "ID")]
    service: Option<i64>,
    /// Integration id.
    #[arg(long, value_name = "ID")]
    integration: Option<i64>,
    /// The alerts of one incident (ticket id).
    #[arg(long, value_name = "ID")]
    incident: Option<i64>,
    /// Only suppressed alerts (silenced, in maintenance, inhibited).
    #[arg(long, conflicts_with = "unsuppressed")]
    suppressed: bool,
    /// Only alerts that are not suppressed.
    #[arg(long)]
    unsuppressed: bool,
    /// Page size (1 to 1000, default 100).
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Continue below this id (from the previous page).
    #[arg(long, value_name = "ID")]
    before_id: Option<i64>,
}

/// `opsdesk silence ...`
#[derive(Subcommand)]
pub enum SilenceCommand {
    /// Active and pending silences (--expired: all of them).
    List {
        /// Include expired silences.
        #[arg(long)]
        expired: bool,
    },
    /// Mute matching alerts for a while.
    Create(SilenceCreateArgs),
    /// Show one silence.
    Show { id: i64 },
    /// End a silence now (it stays listed with --expired).
    Expire { id: i64 },
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("end").args(["ends", "duration"]).required(true)))]
pub struct SilenceCreateArgs {
    /// A matcher in Alertmanager syntax, e.g. 'alertname="DiskFull"' or
    /// 'instance=~"db-.*"'; repeat for several (all must match).
    #[arg(long = "matcher", value_name = "MATCHER", required = true)]
    matchers: Vec<String>,
    /// When it starts (RFC 3339); now when left out.
    #[arg(long, value_name = "TIME")]
    starts: Option<String>,
    /// When it ends (RFC 3339).
    #[arg(long, value_name = "TIME", conflicts_with = "duration")]
    ends: Option<String>,
    /// How long it lasts from --starts (or now): 30m, 2h, 1d, 3600 or PT2H.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<SignedDuration>,
    /// Why (required by the server).
    #[arg(long)]
    comment: String,
}

/// `opsdesk maintenance ...`
#[derive(Subcommand)]
pub enum MaintenanceCommand {
    /// Maintenance windows, and whether each is open now.
    List,
    /// A one-off window (--starts/--ends or --duration) or a weekly one
    /// (--weekly --day sunday --start 01:00 --duration 3h --time-zone Europe/Berlin).
    Create(WindowCreateArgs),
    /// Delete a window.
    Delete { id: i64 },
}

#[derive(Args)]
pub struct WindowCreateArgs {
    /// The service whose alerts it mutes.
    #[arg(long, value_name = "ID")]
    service: i64,
    /// Repeat every week on --day at --start for --duration.
    #[arg(long, requires_all = ["days", "start", "duration"], conflicts_with_all = ["starts", "ends"])]
    weekly: bool,
    /// One-off: when it starts (RFC 3339); now when left out.
    #[arg(long, value_name = "TIME")]
    starts: Option<String>,
    /// One-off: when it ends (RFC 3339).
    #[arg(long, value_name = "TIME", conflicts_with = "duration")]
    ends: Option<String>,
    /// One-off: how long from --starts; weekly: how long each time (at most 7 days).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<SignedDuration>,
    /// Weekly: a weekday (monday..sunday); repeat for several.
    #[arg(long = "day", value_name = "DAY", requires = "weekly",
          value_parser = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])]
    days: Vec<String>,
    /// Weekly: the local wall time it starts, e.g. 01:00.
    #[arg(long, value_name = "HH:MM", requires = "weekly")]
    start: Option<String>,
    /// Weekly: the IANA time zone of --start.
    #[arg(long, value_name = "ZONE", default_value = "UTC", requires = "weekly")]
    time_zone: String,
    #[arg(long, default_value = "")]
    comment: String,
}

/// `opsdesk inhibition ...`
#[derive(Subcommand)]
pub enum InhibitionCommand {
    /// Inhibition rules, in the order they are tried.
    List,
    /// While an alert matching --source fires, mute alerts matching --target
    /// that have the same values for every --equal label.
    Create {
        /// Matchers of the alert that inhibits, e.g. 'alertname="NodeDown"'.
        #[arg(long)]
        source: String,
        /// Matchers of the alerts it mutes, e.g. 'severity="warning"'.
        #[arg(long)]
        target: String,
        /// A label both must share; repeat for several.
        #[arg(long = "equal", value_name = "LABEL")]
        equal: Vec<String>,
        /// Lower is tried first.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        order: i64,
    },
    /// Delete a rule.
    Delete { id: i64 },
}

/// `opsdesk integration ...`
#[derive(Subcommand)]
pub enum IntegrationCommand {
    /// Alert integrations (their keys are never shown again).
    List,
    /// Create an integration and print its key and intake paths (shown once).
    Create(IntegrationCreateArgs),
    /// Show an integration with its fallback and routes.
    Show { id: i64 },
    /// Show or replace an integration's routing rules.
    Routes {
        #[command(subcommand)]
        command: RoutesCommand,
    },
}

#[derive(Args)]
pub struct IntegrationCreateArgs {
    #[arg(long)]
    name: String,
    /// The default service: alerts no route matches go here.
    #[arg(long, value_name = "ID")]
    service: i64,
    /// For unrouted alerts.
    #[arg(long, value_parser = ["page", "ticket_only", "record_only"])]
    action: Option<String>,
    /// Impact of the incidents unrouted alerts open (default medium).
    #[arg(long, value_parser = ["high", "medium", "low"])]
    impact: Option<String>,
    /// A label whose values make a group; repeat for several (default alertname).
    #[arg(long = "group-by", value_name = "LABEL")]
    group_by: Vec<String>,
    /// How long an incident takes new alerts of its group: 30m, 1h, PT30M.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    group_window: Option<SignedDuration>,
    /// Resolve the incident when all its alerts resolved.
    #[arg(long)]
    auto_resolve: bool,
}

#[derive(Subcommand)]
pub enum RoutesCommand {
    /// The routes, in the order they are tried.
    Show { id: i64 },
    /// Replace the routes with those in a JSON file: `{"routes": [...]}` or
    /// a bare array (see docs/alerts.md, Routing).
    Set {
        id: i64,
        /// The JSON file (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
}

/// `opsdesk heartbeat ...`
#[derive(Subcommand)]
pub enum HeartbeatCommand {
    /// Heartbeat monitors and when each ping is due.
    List,
    /// Expect a ping at least every --interval; a missed one raises an alert.
    Create {
        /// The integration the missed-heartbeat alert goes through.
        #[arg(long, value_name = "ID")]
        integration: i64,
        /// Letters, digits and `_`: the ping path and the alert's label.
        #[arg(long)]
        name: String,
        /// 10s to 7d: 90s, 5m, 1h, 3600 or PT1H.
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        interval: SignedDuration,
    },
    /// Delete a monitor.
    Delete { id: i64 },
}

/// Every alert command, as `client::run` dispatches them.
pub enum Command {
    Alert(AlertCommand),
    Silence(SilenceCommand),
    Maintenance(MaintenanceCommand),
    Inhibition(InhibitionCommand),
    Integration(IntegrationCommand),
    Heartbeat(HeartbeatCommand),
}

/// A duration flag: `90s`, `30m`, `2h`, `1d`, seconds, or ISO 8601 (`PT2H`).
fn duration(s: &str) -> Result<SignedDuration, String> {
    let value = duration_arg(s)?;
    let d = match value.parse::<i64>() {
        Ok(secs) => SignedDuration::from_secs(secs),
        Err(_) => value
            .parse::<SignedDuration>()
            .map_err(|e| format!("'{s}' is not a duration: {e}"))?,
    };
    if d.is_positive() {
        Ok(d)
    } else {
        Err(format!("'{s}' is not a positive duration"))
    }
}

/// Several `--matcher` flags as one list in the server's syntax.
fn matcher_list(matchers: &[String]) -> String {
    if let [one] = matchers {
        return one.clone();
    }
    let parts: Vec<&str> = matchers
        .iter()
        .map(|m| {
            let m = m.trim();
            m.strip_prefix('{')
                .and_then(|m| m.strip_suffix('}'))
                .unwrap_or(m)
                .trim()
        })
        .filter(|m| !m.is_empty())
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The end of something that starts at `starts` (RFC 3339, or now) and
/// lasts `d`. A start the client cannot read is left for the server to
/// refuse by name.
fn end_after(starts: Option<&str>, d: SignedDuration) -> anyhow::Result<String> {
    let start = match starts {
        Some(s) => match s.parse::<Timestamp>() {
            Ok(t) => t,
            Err(e) => return usage(format!("--starts '{s}' is not an RFC 3339 time: {e}")),
        },
        None => Timestamp::now(),
    };
    Ok(start
        .checked_add(d)
        .context("the end is out of range")?
        .to_string())
}

/// Names of services, looked up once each.
struct Services(HashMap<i64, String>);

impl Services {
    fn new() -> Services {
        Services(HashMap::new())
    }

    async fn name(&mut self, api: &Api, id: Option<i64>) -> String {
        let Some(id) = id else {
            return "-".into();
        };
        if let Some(n) = self.0.get(&id) {
            return n.clone();
        }
        let n = api.entity_name("services", id).await;
        self.0.insert(id, n.clone());
        n
    }
}

/// `{alertname="X", host="a"}` from a label object, sorted by name.
fn labels_text(labels: &Value) -> String {
    let Some(map) = labels.as_object() else {
        return "-".into();
    };
    let mut pairs: Vec<_> = map.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect();
    inner.join(" ")
}

/// Why an alert paged nobody, in a few words.
fn suppressed_text(s: &Value) -> String {
    match s.get("kind").and_then(Value::as_str) {
        None => "-".into(),
        Some("silence") => format!("silence #{}", text(s, "silence")),
        Some("maintenance") => format!("maintenance #{}", text(s, "window")),
        Some("inhibition") => format!("inhibited by {}", text(s, "source")),
        Some(other) => other.to_string(),
    }
}

fn schedule_text(s: &Value) -> String {
    match s.get("kind").and_then(Value::as_str) {
        Some("one_off") => format!(
            "{} → {}",
            time(s.get("starts_at").unwrap_or(&Value::Null)),
            time(s.get("ends_at").unwrap_or(&Value::Null))
        ),
        Some("weekly") => {
            let dur = text(s, "duration");
            let dur = dur
                .parse::<SignedDuration>()
                .map(human)
                .unwrap_or_else(|_| dur.clone());
            let start = text(s, "start");
            let start = start
                .strip_suffix(":00")
                .filter(|t| t.len() == 5)
                .unwrap_or(&start);
            format!(
                "weekly {} {start} {} for {dur}",
                text(s, "days"),
                text(s, "time_zone")
            )
        }
        _ => s.to_string(),
    }
}

fn percent(v: &Value) -> String {
    v.as_f64()
        .map(|f| format!("{:.0}%", f * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn list_of(reply: &Reply) -> Vec<Value> {
    reply.value.as_array().cloned().unwrap_or_default()
}

/// GETs a list for a table. `None` when nothing is left to print: with
/// `--json` the reply was printed as sent, and an empty list printed
/// `empty` instead of a table.
async fn table_items(
    api: &mut Api,
    segments: &[&str],
    query: &[(&str, String)],
    json: bool,
    empty: &str,
) -> anyhow::Result<Option<Vec<Value>>> {
    let reply = api.get(segments, query).await?;
    if json {
        print_raw(&reply)?;
        return Ok(None);
    }
    let items = list_of(&reply);
    if items.is_empty() {
        outln!("{empty}");
        return Ok(None);
    }
    Ok(Some(items))
}

pub async fn run(api: &mut Api, json: bool, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Alert(c) => alert(api, json, c).await,
        Command::Silence(c) => silence(api, json, c).await,
        Command::Maintenance(c) => maintenance(api, json, c).await,
        Command::Inhibition(c) => inhibition(api, json, c).await,
        Command::Integration(c) => integration(api, json, c).await,
        Command::Heartbeat(c) => heartbeat(api, json, c).await,
    }
}

async fn alert(api: &mut Api, json: bool, command: AlertCommand) -> anyhow::Result<()> {
    match command {
        AlertCommand::List(a) => {
            let mut query: Vec<(&str, String)> = Vec::new();
            if let Some(s) = a.status {
                query.push(("status", s));
            }
            if let Some(s) = a.service {
                query.push(("service_id", s.to_string()));
            }
            if let Some(i) = a.integration {
                query.push(("integration_id", i.to_string()));
            }
            if let Some(i) = a.incident {
                query.push(("incident_id", i.to_string()));
            }
            if a.suppressed || a.unsuppressed {
                query.push(("suppressed", a.suppressed.to_string()));
            }
            if let Some(l) = a.limit {
                query.push(("limit", l.to_string()));
            }
            if let Some(b) = a.before_id {
                query.push(("before_id", b.to_string()));
            }
            let reply = api.get(&["api", "v1", "alerts"], &query).await?;
            if json {
                return print_raw(&reply);
            }
            let alerts = reply.value["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if alerts.is_empty() {
                outln!("No alerts match.");
                return Ok(());
            }
            let mut services = Services::new();
            let mut rows = Vec::with_capacity(alerts.len());
            for al in &alerts {
                rows.push(vec![
                    text(al, "id"),
                    text(al, "status"),
                    text(al, "severity"),
                    services.name(api, al["service_id"].as_i64()).await,
                    text(al, "summary"),
                    truncate(&labels_text(&al["labels"]), 40),
                    text(al, "count"),
                    time(&al["last_seen"]),
                    suppressed_text(&al["suppressed_by"]),
                    text(al, "incident_number"),
                ]);
            }
            emit(&table(
                &[
                    "ID",
                    "STATUS",
                    "SEVERITY",
                    "SERVICE",
                    "SUMMARY",
                    "LABELS",
                    "COUNT",
                    "LAST SEEN",
                    "SUPPRESSED",
                    "INCIDENT",
                ],
                &rows,
                Some(4),
                terminal_width(),
            ))?;
            if let Some(next) = reply.value["next_before_id"].as_i64() {
                outln!("More alerts: add --before-id {next}.");
            }
            Ok(())
        }
        AlertCommand::Ack { id } => {
            let reply = api
                .send(
                    Method::POST,
                    &["api", "v1", "alerts", &id.to_string(), "acknowledge"],
                    &[],
                    None,
                    None,
                )
                .await?;
            if json {
                return print_raw(&reply);
            }
            let a = &reply.value;
            outln!(
                "Alert {} is {}: {}",
                text(a, "id"),
                text(a, "status"),
                text(a, "summary")
            );
            Ok(())
        }
        AlertCommand::Show { id } => {
            let reply = api
                .get(&["api", "v1", "alerts", &id.to_string()], &[])
                .await?;
            if json {
                return print_raw(&reply);
            }
            let a = &reply.value;
            let mut services = Services::new();
            outln!("Alert {}: {}", text(a, "id"), text(a, "summary"));
            let service = services.name(api, a["service_id"].as_i64()).await;
            for (name, value) in [
                ("Status", text(a, "status")),
                ("Severity", text(a, "severity")),
                ("Service", service),
                (
                    "Action",
                    format!(
                        "{} (integration #{})",
                        text(a, "action"),
                        text(a, "integration_id")
                    ),
                ),
                ("Fingerprint", text(a, "fingerprint")),
                ("Source", text(a, "source")),
                ("Dedup key", text(a, "dedup_key")),
                ("Started", time(&a["started_at"])),
                ("First seen", time(&a["first_seen"])),
                ("Last seen", time(&a["last_seen"])),
                ("Acknowledged", time(&a["acknowledged_at"])),
                ("Resolved", time(&a["resolved_at"])),
                (
                    "Count",
                    format!(
                        "{} ({} occurrences)",
                        text(a, "count"),
                        text(a, "occurrences")
                    ),
                ),
                ("Suppressed", suppressed_text(&a["suppressed_by"])),
                ("Flapping", text(a, "flapping")),
                ("Incident", text(a, "incident_number")),
                ("URL", text(a, "url")),
            ] {
                outln!("  {name:<13}{value}");
            }
            for (title, key) in [("Labels", "labels"), ("Annotations", "annotations")] {
                let Some(map) = a[key].as_object().filter(|m| !m.is_empty()) else {
                    continue;
                };
                outln!("{title}:");
                for (k, v) in map {
                    outln!("  {k}={}", truncate(&scalar(v), 200));
                }
            }
            Ok(())
        }
        AlertCommand::Noise { service, from, to } => {
            let mut query: Vec<(&str, String)> = Vec::new();
            if let Some(s) = service {
                query.push(("service_id", s.to_string()));
            }
            if let Some(f) = from {
                query.push(("from", f));
            }
            if let Some(t) = to {
                query.push(("to", t));
            }
            let Some(items) = table_items(
                api,
                &["api", "v1", "alert-noise"],
                &query,
                json,
                "No alerts arrived in the period.",
            )
            .await?
            else {
                return Ok(());
            };
            let mut services = Services::new();
            let mut rows = Vec::new();
            for n in &items {
                let c = &n["counters"];
                rows.push(vec![
                    services.name(api, n["service_id"].as_i64()).await,
                    text(c, "received"),
                    text(c, "deduplicated"),
                    text(c, "suppressed"),
                    text(c, "flapping"),
                    text(c, "grouped"),
                    text(c, "incidents_created"),
                    percent(&n["noise_reduction"]),
                ]);
            }
            emit(&table(
                &[
                    "SERVICE",
                    "RECEIVED",
                    "DEDUPLICATED",
                    "SUPPRESSED",
                    "FLAPPING",
                    "GROUPED",
                    "INCIDENTS",
                    "NOISE REDUCTION",
                ],
                &rows,
                Some(0),
                terminal_width(),
            ))?;
            Ok(())
        }
    }
}

fn silence_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|s| {
            vec![
                text(s, "id"),
                text(s, "state"),
                text(s, "matchers"),
                time(&s["starts_at"]),
                time(&s["ends_at"]),
                text(s, "comment"),
            ]
        })
        .collect()
}

const SILENCE_HEADER: [&str; 6] = ["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "COMMENT"];

async fn silence(api: &mut Api, json: bool, command: SilenceCommand) -> anyhow::Result<()> {
    let print_one = |verb: &str, reply: &Reply| -> anyhow::Result<()> {
        if json {
            return print_raw(reply);
        }
        let s = &reply.value;
        outln!("{verb} silence {}: {}", text(s, "id"), text(s, "matchers"));
        outln!(
            "  {} · {} → {} · {}",
            text(s, "state"),
            time(&s["starts_at"]),
            time(&s["ends_at"]),
            text(s, "comment")
        );
        Ok(())
    };
    match command {
        SilenceCommand::List { expired } => {
            let query = if expired {
                vec![("expired", "true".to_string())]
            } else {
                vec![]
            };
            let Some(items) = table_items(
                api,
                &["api", "v1", "silences"],
                &query,
                json,
                "No silences.",
            )
            .await?
            else {
                return Ok(());
            };
            emit(&table(
                &SILENCE_HEADER,
                &silence_rows(&items),
                Some(2),
                terminal_width(),
            ))
        }
        SilenceCommand::Create(a) => {
            let ends = match (a.ends, a.duration) {
                (Some(e), _) => e,
                (None, Some(d)) => end_after(a.starts.as_deref(), d)?,
                (None, None) => return usage("give --ends or --duration"),
            };
            let mut body = Map::new();
            body.insert("matchers".into(), json!(matcher_list(&a.matchers)));
            if let Some(s) = a.starts {
                body.insert("starts_at".into(), json!(s));
            }
            body.insert("ends_at".into(), json!(ends));
            body.insert("comment".into(), json!(a.comment));
            let reply = api
                .post(&["api", "v1", "silences"], &Value::Object(body))
                .await?;
            print_one("Created", &reply)
        }
        SilenceCommand::Show { id } => {
            let reply = api
                .get(&["api", "v1", "silences", &id.to_string()], &[])
                .await?;
            if json {
                return print_raw(&reply);
            }
            let s = &reply.value;
            let by = match s["created_by"].as_i64() {
                Some(id) => api.user_name(id).await,
                None => "-".into(),
            };
            outln!("Silence {}: {}", text(s, "id"), text(s, "matchers"));
            for (name, value) in [
                ("State", text(s, "state")),
                ("Starts", time(&s["starts_at"])),
                ("Ends", time(&s["ends_at"])),
                ("Comment", text(s, "comment")),
                ("Created by", by),
                ("Updated", time(&s["updated_at"])),
            ] {
                outln!("  {name:<11}{value}");
            }
            Ok(())
        }
        SilenceCommand::Expire { id } => {
            let reply = api
                .send(
                    Method::DELETE,
                    &["api", "v1", "silences", &id.to_string()],
                    &[],
                    None,
                    None,
                )
                .await?;
            print_one("Expired", &reply)
        }
    }
}

async fn maintenance(api: &mut Api, json: bool, command: MaintenanceCommand) -> anyhow::Result<()> {
    match command {
        MaintenanceCommand::List => {
            let Some(items) = table_items(
                api,
                &["api", "v1", "maintenance-windows"],
                &[],
                json,
                "No maintenance windows.",
            )
            .await?
            else {
                return Ok(());
            };
            let mut services = Services::new();
            let mut rows = Vec::new();
            for w in &items {
                rows.push(vec![
                    text(w, "id"),
                    services.name(api, w["service_id"].as_i64()).await,
                    schedule_text(&w["schedule"]),
                    if w["active"].as_bool() == Some(true) {
                        "open now".into()
                    } else {
                        "-".into()
                    },
                    text(w, "comment"),
                ]);
            }
            emit(&table(
                &["ID", "SERVICE", "SCHEDULE", "ACTIVE", "COMMENT"],
                &rows,
                Some(4),
                terminal_width(),
            ))?;
            Ok(())
        }
        MaintenanceCommand::Create(a) => {
            let schedule = if a.weekly {
                let Some(d) = a.duration else {
                    return usage("--weekly needs --duration");
                };
                json!({"kind": "weekly", "time_zone": a.time_zone, "days": a.days,
                       "start": a.start, "duration": d.to_string()})
            } else {
                let ends = match (a.ends, a.duration) {
                    (Some(e), _) => e,
                    (None, Some(d)) => end_after(a.starts.as_deref(), d)?,
                    (None, None) => {
                        return usage(
                            "a one-off window needs --ends or --duration (or use --weekly)",
                        );
                    }
                };
                let starts = a.starts.unwrap_or_else(|| Timestamp::now().to_string());
                json!({"kind": "one_off", "starts_at": starts, "ends_at": ends})
            };
            let reply = api
                .post(
                    &["api", "v1", "maintenance-windows"],
                    &json!({"service_id": a.service, "schedule": schedule, "comment": a.comment}),
                )
                .await?;
            if json {
                return print_raw(&reply);
            }
            let w = &reply.value;
            let service = api.entity_name("services", a.service).await;
            outln!(
                "Created maintenance window {} for {service}: {}",
                text(w, "id"),
                schedule_text(&w["schedule"])
            );
            Ok(())
        }
        MaintenanceCommand::Delete { id } => {
            delete(api, &["api", "v1", "maintenance-windows"], id).await?;
            if !json {
                outln!("Deleted maintenance window {id}.");
            }
            Ok(())
        }
    }
}

/// DELETE that answers 204 (nothing to print, with or without `--json`).
async fn delete(api: &Api, collection: &[&str], id: i64) -> anyhow::Result<()> {
    let id = id.to_string();
    let mut segments = collection.to_vec();
    segments.push(&id);
    api.send(Method::DELETE, &segments, &[], None, None).await?;
    Ok(())
}

async fn inhibition(api: &mut Api, json: bool, command: InhibitionCommand) -> anyhow::Result<()> {
    match command {
        InhibitionCommand::List => {
            let Some(items) = table_items(
                api,
                &["api", "v1", "inhibition-rules"],
                &[],
                json,
                "No inhibition rules.",
            )
            .await?
            else {
                return Ok(());
            };
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|r| {
                    vec![
                        text(r, "id"),
                        text(r, "order"),
                        text(r, "source"),
                        text(r, "target"),
                        text(r, "equal"),
                    ]
                })
                .collect();
            emit(&table(
                &["ID", "ORDER", "SOURCE", "TARGET", "EQUAL"],
                &rows,
                Some(3),
                terminal_width(),
            ))?;
            Ok(())
        }
        InhibitionCommand::Create {
            source,
            target,
            equal,
            order,
        } => {
            let reply = api
                .post(
                    &["api", "v1", "inhibition-rules"],
                    &json!({"order": order, "source": source, "target": target, "equal": equal}),
                )
                .await?;
            if json {
                return print_raw(&reply);
            }
            let r = &reply.value;
            outln!(
                "Created inhibition rule {}: {} mutes {}{}",
                text(r, "id"),
                text(r, "source"),
                text(r, "target"),
                match text(r, "equal").as_str() {
                    "-" => String::new(),
                    e => format!(" (equal: {e})"),
                }
            );
            Ok(())
        }
        InhibitionCommand::Delete { id } => {
            delete(api, &["api", "v1", "inhibition-rules"], id).await?;
            if !json {
                outln!("Deleted inhibition rule {id}.");
            }
            Ok(())
        }
    }
}

fn route_rows(routes: &Value) -> Vec<Vec<String>> {
    routes
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                text(r, "name"),
                match text(r, "matchers").as_str() {
                    "" | "{}" => "(every alert)".into(),
                    m => m.to_string(),
                },
                text(r, "service"),
                text(r, "action"),
                text(r, "page_min_severity"),
                text(r, "auto_resolve"),
            ]
        })
        .collect()
}

async fn print_integration(api: &mut Api, i: &Value) -> anyhow::Result<()> {
    let service = api
        .entity_name("services", i["service_id"].as_i64().unwrap_or(0))
        .await;
    outln!("Integration {}: {}", text(i, "id"), text(i, "name"));
    for (name, value) in [
        ("Enabled", text(i, "enabled")),
        ("Key", format!("{}…", text(i, "key_prefix"))),
        ("Service", service),
        ("Fallback", text(i, "action")),
        ("Impact", text(i, "impact")),
        ("Group by", text(i, "group_by")),
        ("Group window", text(i, "group_window")),
        ("Auto-resolve", text(i, "auto_resolve")),
    ] {
        outln!("  {name:<14}{value}");
    }
    let rows = route_rows(&i["routes"]);
    if rows.is_empty() {
        outln!("No routes: every alert takes the fallback.");
    } else {
        outln!("Routes (first match wins):");
        emit(&table(
            &[
                "#",
                "NAME",
                "MATCHERS",
                "SERVICE",
                "ACTION",
                "PAGE FROM",
                "AUTO-RESOLVE",
            ],
            &rows,
            Some(2),
            terminal_width(),
        ))?;
    }
    Ok(())
}

async fn integration(api: &mut Api, json: bool, command: IntegrationCommand) -> anyhow::Result<()> {
    match command {
        IntegrationCommand::List => {
            let Some(items) = table_items(
                api,
                &["api", "v1", "integrations"],
                &[],
                json,
                "No integrations.",
            )
            .await?
            else {
                return Ok(());
            };
            let mut services = Services::new();
            let mut rows = Vec::new();
            for i in &items {
                rows.push(vec![
                    text(i, "id"),
                    text(i, "name"),
                    format!("{}…", text(i, "key_prefix")),
                    services.name(api, i["service_id"].as_i64()).await,
                    text(i, "action"),
                    i["routes"]
                        .as_array()
                        .map(|r| r.len())
                        .unwrap_or(0)
                        .to_string(),
                    if i["enabled"].as_bool() == Some(false) {
                        "disabled".into()
                    } else {
                        "enabled".into()
                    },
                ]);
            }
            emit(&table(
                &[
                    "ID", "NAME", "KEY", "SERVICE", "FALLBACK", "ROUTES", "STATUS",
                ],
                &rows,
                Some(1),
                terminal_width(),
            ))?;
            Ok(())
        }
        IntegrationCommand::Create(a) => {
            let mut body = Map::new();
            body.insert("name".into(), json!(a.name));
            body.insert("service_id".into(), json!(a.service));
            if let Some(action) = a.action {
                body.insert("action".into(), json!(action));
            }
            if let Some(impact) = a.impact {
                body.insert("impact".into(), json!(impact));
            }
            if !a.group_by.is_empty() {
                body.insert("group_by".into(), json!(a.group_by));
            }
            if let Some(w) = a.group_window {
                body.insert("group_window".into(), json!(w.to_string()));
            }
            if a.auto_resolve {
                body.insert("auto_resolve".into(), json!(true));
            }
            let reply = api
                .post(&["api", "v1", "integrations"], &Value::Object(body))
                .await?;
            if json {
                return print_raw(&reply);
            }
            let i = &reply.value;
            outln!("Created integration {}: {}", text(i, "id"), text(i, "name"));
            outln!("Key (shown this once): {}", text(i, "key"));
            outln!("  Alertmanager: POST {}", text(i, "alertmanager_path"));
            outln!("  Generic JSON: POST {}", text(i, "generic_path"));
            outln!("  PagerDuty:    POST /v2/enqueue with routing_key = the key");
            Ok(())
        }
        IntegrationCommand::Show { id } => {
            let reply = api
                .get(&["api", "v1", "integrations", &id.to_string()], &[])
                .await?;
            if json {
                return print_raw(&reply);
            }
            print_integration(api, &reply.value).await
        }
        IntegrationCommand::Routes {
            command: RoutesCommand::Show { id },
        } => {
            let reply = api
                .get(&["api", "v1", "integrations", &id.to_string()], &[])
                .await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&reply.value["routes"])?);
                return Ok(());
            }
            let rows = route_rows(&reply.value["routes"]);
            if rows.is_empty() {
                outln!("No routes: every alert takes the fallback.");
                return Ok(());
            }
            emit(&table(
                &[
                    "#",
                    "NAME",
                    "MATCHERS",
                    "SERVICE",
                    "ACTION",
                    "PAGE FROM",
                    "AUTO-RESOLVE",
                ],
                &rows,
                Some(2),
                terminal_width(),
            ))?;
            Ok(())
        }
        IntegrationCommand::Routes {
            command: RoutesCommand::Set { id, file },
        } => {
            let raw = super::read_text(None, Some(file), "the routes file")?.unwrap_or_default();
            let parsed: Value = match serde_json::from_str(&raw) {
                Ok(v) => v,
                Err(e) => return usage(format!("the routes file is not JSON: {e}")),
            };
            let body = match parsed {
                Value::Array(_) => json!({ "routes": parsed }),
                Value::Object(_) => parsed,
                _ => return usage("the routes file must hold {\"routes\": [...]} or an array"),
            };
            let reply = api
                .send(
                    Method::PUT,
                    &["api", "v1", "integrations", &id.to_string(), "routes"],
                    &[],
                    Some(&body),
                    None,
                )
                .await?;
            if json {
                return print_raw(&reply);
            }
            let n = reply.value["routes"].as_array().map(Vec::len).unwrap_or(0);
            outln!("Saved {n} route(s) for integration {id}.");
            print_integration(api, &reply.value).await
        }
    }
}

async fn heartbeat(api: &mut Api, json: bool, command: HeartbeatCommand) -> anyhow::Result<()> {
    match command {
        HeartbeatCommand::List => {
            let Some(items) = table_items(
                api,
                &["api", "v1", "heartbeats"],
                &[],
                json,
                "No heartbeat monitors.",
            )
            .await?
            else {
                return Ok(());
            };
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|h| {
                    vec![
                        text(h, "id"),
                        text(h, "name"),
                        text(h, "integration_id"),
                        human(SignedDuration::from_secs(
                            h["interval_seconds"].as_i64().unwrap_or(0),
                        )),
                        time(&h["last_ping_at"]),
                        time(&h["due_at"]),
                        if h["missed_at"].is_null() {
                            "ok".into()
                        } else {
                            format!("missed since {}", time(&h["missed_at"]))
                        },
                    ]
                })
                .collect();
            emit(&table(
                &[
                    "ID",
                    "NAME",
                    "INTEGRATION",
                    "INTERVAL",
                    "LAST PING",
                    "DUE",
                    "STATUS",
                ],
                &rows,
                Some(1),
                terminal_width(),
            ))?;
            Ok(())
        }
        HeartbeatCommand::Create {
            integration,
            name,
            interval,
        } => {
            let reply = api
                .post(
                    &["api", "v1", "heartbeats"],
                    &json!({"integration_id": integration, "name": name,
                            "interval_seconds": interval.as_secs()}),
                )
                .await?;
            if json {
                return print_raw(&reply);
            }
            let h = &reply.value;
            outln!(
                "Created heartbeat {} '{}': ping POST /api/v1/integrations/heartbeat/KEY/{} at least every {}; due {}.",
                text(h, "id"),
                text(h, "name"),
                text(h, "name"),
                human(interval),
                time(&h["due_at"])
            );
            Ok(())
        }
        HeartbeatCommand::Delete { id } => {
            delete(api, &["api", "v1", "heartbeats"], id).await?;
            if !json {
                outln!("Deleted heartbeat monitor {id}.");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_flags_join_into_one_list() {
        assert_eq!(matcher_list(&["alertname=\"X\"".into()]), "alertname=\"X\"");
        assert_eq!(
            matcher_list(&["{a=\"1\"}".into(), " b=~\"x|y\" ".into()]),
            "{a=\"1\", b=~\"x|y\"}"
        );
    }

    #[test]
    fn durations_take_the_short_forms() {
        assert_eq!(duration("2h"), Ok(SignedDuration::from_hours(2)));
        assert_eq!(duration("90"), Ok(SignedDuration::from_secs(90)));
        assert_eq!(duration("PT30M"), Ok(SignedDuration::from_mins(30)));
        assert!(duration("0s").is_err());
        assert!(duration("soon").is_err());
    }

    #[test]
    fn suppression_reads_as_words() {
        assert_eq!(
            suppressed_text(&json!({"kind": "silence", "silence": 3, "until": "x"})),
            "silence #3"
        );
        assert_eq!(suppressed_text(&Value::Null), "-");
        assert_eq!(
            labels_text(&json!({"b": "2", "alertname": "X"})),
            "alertname=X b=2"
        );
    }
}
