//! Business calendars, SLA policies, and a ticket's SLA status.
//!
//! The rules live in the domain (`opsdesk_domain::calendar`,
//! `opsdesk_domain::sla`); this module stores their configuration as JSON
//! text, validates it with the domain before every write, and replays a
//! ticket's event log into the domain's SLA clock. Nothing about the clock is
//! stored: [`Store::ticket_sla`] recomputes it from the events each time, so
//! it can never drift from the history.

use crate::rows::ts;
use crate::sla_clocks::load_clock_inputs;
use crate::{Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::{BusinessCalendar, CalendarConfig, Holiday, WeeklyHours};
use opsdesk_domain::limits::check_short_text;
use opsdesk_domain::sla::{
    ClockState, PolicyMatcher, SlaMetric, SlaPolicy, SlaPolicyId, SlaTarget, validate_policy,
};
use opsdesk_domain::{FieldError, TicketId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use utoipa::ToSchema;

/// A named business calendar as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Calendar {
    pub id: i64,
    pub name: String,
    /// IANA time zone, e.g. `Europe/Berlin`, or `UTC`.
    pub time_zone: String,
    /// Working intervals per weekday, e.g. `{"monday": [{"start": "09:00", "end": "17:00"}]}`.
    #[schema(value_type = Object)]
    pub hours: WeeklyHours,
    /// `{"date": "2026-12-25"}`, `{"range": {"start": .., "end": ..}}` or `{"yearly": {"month": 1, "day": 1}}`.
    #[schema(value_type = Vec<Object>)]
    pub holidays: Vec<Holiday>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Calendar {
    pub fn config(&self) -> CalendarConfig {
        CalendarConfig {
            time_zone: self.time_zone.clone(),
            hours: self.hours.clone(),
            holidays: self.holidays.clone(),
        }
    }
}

/// What a caller sends to create or replace a calendar.
#[derive(Debug, Clone)]
pub struct CalendarInput {
    pub name: String,
    pub config: CalendarConfig,
}

/// An SLA policy as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SlaPolicyRecord {
    pub id: i64,
    pub name: String,
    /// Lower is tried first; ties go to the lower id.
    pub order: i64,
    /// Which tickets it covers: `kinds`, `priorities`, `services`, `organizations` (empty = any).
    #[schema(value_type = Object)]
    pub matcher: PolicyMatcher,
    /// `[{"metric": "resolution", "target": "PT4H", "calendar_id": 1, "pause_states": ["on_hold"], "warn_at_percent": 75}]`.
    #[schema(value_type = Vec<Object>)]
    pub targets: Vec<SlaTarget>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl SlaPolicyRecord {
    /// The domain's view, for [`select_policy`] and the clock.
    pub fn to_domain(&self) -> SlaPolicy {
        SlaPolicy {
            id: SlaPolicyId(self.id),
            name: self.name.clone(),
            order: self.order,
            matcher: self.matcher.clone(),
            targets: self.targets.clone(),
        }
    }
}

/// What a caller sends to create or replace an SLA policy.
#[derive(Debug, Clone)]
pub struct SlaPolicyInput {
    pub name: String,
    pub order: i64,
    pub matcher: PolicyMatcher,
    pub targets: Vec<SlaTarget>,
}

/// The `config` column of `sla_policies`.
#[derive(Serialize, Deserialize)]
struct PolicyConfig {
    matcher: PolicyMatcher,
    targets: Vec<SlaTarget>,
}

/// One SLA clock of a ticket at `now`: the domain's `ClockStatus` with
/// durations in whole seconds and instants in RFC 3339.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TicketSlaStatus {
    #[schema(value_type = String, example = "resolution")]
    pub metric: SlaMetric,
    pub policy_id: i64,
    pub policy_name: String,
    /// `not_started`, `running`, `paused`, `met` or `breached`.
    #[schema(value_type = String, example = "running")]
    pub state: ClockState,
    pub calendar_id: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    /// Business seconds the clock has run, pauses excluded.
    pub elapsed_seconds: i64,
    pub paused: bool,
    pub paused_seconds: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub stopped_at: Option<Timestamp>,
    pub target_seconds: i64,
    /// Negative when overdue.
    pub remaining_seconds: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub warning_at: Option<Timestamp>,
    pub breached: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub breached_at: Option<Timestamp>,
}

/// The domain reports every problem; the API answers with the first, which
/// names its field (`time_zone`, `hours.monday[1]`, `targets[0].target`).
fn first_error(errors: Vec<FieldError>) -> Result<(), StoreError> {
    errors
        .into_iter()
        .next()
        .map_or(Ok(()), |e| Err(StoreError::Invalid(e)))
}

/// Validates a calendar and returns its normalised configuration (days
/// sorted), which is what gets stored.
fn check_calendar(input: &CalendarInput) -> Result<CalendarConfig, StoreError> {
    check_short_text("name", &input.name)?;
    match input.config.clone().build() {
        Ok(calendar) => Ok(calendar.to_config()),
        Err(errors) => {
            first_error(errors)?;
            Err(StoreError::invalid("config", "is not a valid calendar"))
        }
    }
}

fn unique(e: sqlx::Error, what: &str, name: &str) -> StoreError {
    let e = StoreError::from(e);
    if e.is_unique_violation() {
        StoreError::Conflict(format!("a {what} named '{name}' already exists"))
    } else {
        e
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("config: {e}")))
}

fn from_json<T: for<'de> Deserialize<'de>>(table: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{table}.config: {e}")))
}

fn calendar_from(row: &AnyRow) -> Result<Calendar, StoreError> {
    let config: CalendarConfig = from_json("calendars", &row.try_get::<String, _>("config")?)?;
    Ok(Calendar {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        time_zone: config.time_zone,
        hours: config.hours,
        holidays: config.holidays,
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    })
}

fn policy_from(row: &AnyRow) -> Result<SlaPolicyRecord, StoreError> {
    let config: PolicyConfig = from_json("sla_policies", &row.try_get::<String, _>("config")?)?;
    Ok(SlaPolicyRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        order: row.try_get("ord")?,
        matcher: config.matcher,
        targets: config.targets,
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    })
}

const CALENDAR_COLUMNS: &str = "id, name, config, created_at, updated_at";
const POLICY_COLUMNS: &str = "id, name, ord, config, created_at, updated_at";

impl Store {
    pub async fn create_calendar(
        &self,
        input: CalendarInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Calendar, StoreError> {
        let config = check_calendar(&input)?;
        let mut tx = self.write(Some(actor), now).await?;
        let row = sqlx::query("INSERT INTO calendars (name, config, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id")
            .bind(&input.name)
            .bind(to_json(&config)?)
            .bind(now.as_microsecond())
            .fetch_one(tx.conn().await?)
            .await
            .map_err(|e| unique(e, "calendar", &input.name))?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "calendar",
            id,
            "calendar.created",
            json!({"name": input.name, "config": config}),
        )
        .await?;
        tx.commit().await?;
        self.get_calendar(id).await
    }

    /// Replaces a calendar. Running SLA clocks use it from the next
    /// evaluation on, for their whole history (the clock is recomputed).
    pub async fn update_calendar(
        &self,
        id: i64,
        input: CalendarInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Calendar, StoreError> {
        let config = check_calendar(&input)?;
        let before = self.get_calendar(id).await?;
        let mut tx = self.write(Some(actor), now).await?;
        sqlx::query("UPDATE calendars SET name = $1, config = $2, updated_at = $3 WHERE id = $4")
            .bind(&input.name)
            .bind(to_json(&config)?)
            .bind(now.as_microsecond())
            .bind(id)
            .execute(tx.conn().await?)
            .await
            .map_err(|e| unique(e, "calendar", &input.name))?;
        tx.event(
            "calendar",
            id,
            "calendar.updated",
            json!({"before": {"name": before.name, "config": before.config()},
                   "after": {"name": input.name, "config": config}}),
        )
        .await?;
        tx.commit().await?;
        self.get_calendar(id).await
    }

    pub async fn get_calendar(&self, id: i64) -> Result<Calendar, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {CALENDAR_COLUMNS} FROM calendars WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("calendar", id))?;
        calendar_from(&row)
    }

    pub async fn list_calendars(&self) -> Result<Vec<Calendar>, StoreError> {
        crate::rows::dynamic_query(&format!(
            "SELECT {CALENDAR_COLUMNS} FROM calendars ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(calendar_from)
        .collect()
    }

    pub async fn create_sla_policy(
        &self,
        input: SlaPolicyInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<SlaPolicyRecord, StoreError> {
        let config = self.check_policy(&input).await?;
        let mut tx = self.write(Some(actor), now).await?;
        let row = sqlx::query("INSERT INTO sla_policies (name, ord, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id")
            .bind(&input.name)
            .bind(input.order)
            .bind(to_json(&config)?)
            .bind(now.as_microsecond())
            .fetch_one(tx.conn().await?)
            .await
            .map_err(|e| unique(e, "SLA policy", &input.name))?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "sla_policy",
            id,
            "sla_policy.created",
            json!({"name": input.name, "order": input.order, "config": config}),
        )
        .await?;
        tx.commit().await?;
        self.get_sla_policy(id).await
    }

    /// Replaces a policy. Tickets it covers are evaluated with the new
    /// targets from the next evaluation on (see `docs/sla.md`).
    pub async fn update_sla_policy(
        &self,
        id: i64,
        input: SlaPolicyInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<SlaPolicyRecord, StoreError> {
        let config = self.check_policy(&input).await?;
        let before = self.get_sla_policy(id).await?;
        let mut tx = self.write(Some(actor), now).await?;
        sqlx::query(
            "UPDATE sla_policies SET name = $1, ord = $2, config = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&input.name)
        .bind(input.order)
        .bind(to_json(&config)?)
        .bind(now.as_microsecond())
        .bind(id)
        .execute(tx.conn().await?)
        .await
        .map_err(|e| unique(e, "SLA policy", &input.name))?;
        tx.event(
            "sla_policy",
            id,
            "sla_policy.updated",
            json!({"before": {"name": before.name, "order": before.order,
                              "config": PolicyConfig { matcher: before.matcher, targets: before.targets }},
                   "after": {"name": input.name, "order": input.order, "config": config}}),
        )
        .await?;
        tx.commit().await?;
        self.get_sla_policy(id).await
    }

    pub async fn get_sla_policy(&self, id: i64) -> Result<SlaPolicyRecord, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {POLICY_COLUMNS} FROM sla_policies WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("SLA policy", id))?;
        policy_from(&row)
    }

    /// Every policy in matching order (ascending order, then id).
    pub async fn list_sla_policies(&self) -> Result<Vec<SlaPolicyRecord>, StoreError> {
        crate::rows::dynamic_query(&format!(
            "SELECT {POLICY_COLUMNS} FROM sla_policies ORDER BY ord, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(policy_from)
        .collect()
    }

    /// The domain's checks, then the one the domain cannot make: every
    /// target's calendar must exist.
    async fn check_policy(&self, input: &SlaPolicyInput) -> Result<PolicyConfig, StoreError> {
        check_short_text("name", &input.name)?;
        let policy = SlaPolicy {
            id: SlaPolicyId(0),
            name: input.name.clone(),
            order: input.order,
            matcher: input.matcher.clone(),
            targets: input.targets.clone(),
        };
        first_error(validate_policy(&policy))?;
        for (i, target) in input.targets.iter().enumerate() {
            if let Err(StoreError::NotFound { .. }) = self.get_calendar(target.calendar_id).await {
                return Err(StoreError::invalid(
                    format!("targets[{i}].calendar_id"),
                    format!("calendar {} does not exist", target.calendar_id),
                ));
            }
        }
        Ok(PolicyConfig {
            matcher: input.matcher.clone(),
            targets: input.targets.clone(),
        })
    }

    /// The SLA clocks of a ticket at `now`, one per target of the policy in
    /// force; empty when no policy covers the ticket. Computed from the
    /// event log on every call (see [`crate::sla_clocks`] for the
    /// projection queues use).
    ///
    /// The policy is chosen on the ticket's *current* kind, priority, service
    /// and requester organisation, and applies to the business time already
    /// elapsed (documented in `docs/sla.md`): a ticket raised to P1 is held to
    /// the P1 target from its creation.
    pub async fn ticket_sla(
        &self,
        ticket_id: TicketId,
        now: Timestamp,
    ) -> Result<Vec<TicketSlaStatus>, StoreError> {
        self.get_ticket(ticket_id).await?;
        let rules = self.sla_rules().await?;
        let mut conn = self.pool.acquire().await?;
        let inputs = load_clock_inputs(&mut conn, self.backend, &[ticket_id.0]).await?;
        drop(conn);
        let Some(input) = inputs.get(&ticket_id.0) else {
            return Err(StoreError::NotFound {
                entity: "ticket",
                id: ticket_id.to_string(),
            });
        };
        let Some(evaluated) = rules.evaluate(input, now)? else {
            return Ok(vec![]);
        };
        let policy = evaluated.policy;
        Ok(evaluated
            .clocks
            .into_iter()
            .map(|(metric, status)| TicketSlaStatus {
                metric,
                policy_id: policy.id.0,
                policy_name: policy.name.clone(),
                state: status.state,
                calendar_id: status.calendar_id,
                started_at: status.started_at,
                elapsed_seconds: seconds(status.elapsed),
                paused: status.paused,
                paused_seconds: seconds(status.paused_total),
                stopped_at: status.stopped_at,
                target_seconds: seconds(status.target),
                remaining_seconds: seconds(status.remaining),
                due_at: status.due_at,
                warning_at: status.warning_at,
                breached: status.breached,
                breached_at: status.breached_at,
            })
            .collect())
    }

    /// Every stored calendar, built, by id.
    pub(crate) async fn business_calendars(
        &self,
    ) -> Result<HashMap<i64, BusinessCalendar>, StoreError> {
        let mut built = HashMap::new();
        for calendar in self.list_calendars().await? {
            let business = calendar.config().build().map_err(|errors| {
                StoreError::Corrupt(format!(
                    "calendar {} no longer validates: {errors:?}",
                    calendar.id
                ))
            })?;
            built.insert(calendar.id, business);
        }
        Ok(built)
    }
}

fn seconds(d: SignedDuration) -> i64 {
    d.as_secs()
}
