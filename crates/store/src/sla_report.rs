//! SLA compliance over a period, from the event log.
//!
//! The report takes the tickets opened in `[from, to)`, replays each one's
//! history into its SLA clocks as of `now` (the same evaluation as
//! `GET /tickets/{t}/sla`), and counts per group and metric how many clocks
//! were met, breached, or are still in progress. Nothing is read from the
//! projection or from mutable columns other than the grouping fields.

use crate::sla_clocks::load_clock_inputs;
use crate::{Store, StoreError};
use jiff::Timestamp;
use opsdesk_domain::sla::{ClockState, SlaMetric};
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// Tickets evaluated per read.
const TICKETS_PER_READ: i64 = 1000;

/// What a compliance report is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceGrouping {
    Policy,
    Team,
    Service,
    Priority,
}

impl ComplianceGrouping {
    pub const ALL: [ComplianceGrouping; 4] = [
        ComplianceGrouping::Policy,
        ComplianceGrouping::Team,
        ComplianceGrouping::Service,
        ComplianceGrouping::Priority,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceGrouping::Policy => "policy",
            ComplianceGrouping::Team => "team",
            ComplianceGrouping::Service => "service",
            ComplianceGrouping::Priority => "priority",
        }
    }

    pub fn parse(s: &str) -> Option<ComplianceGrouping> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// One group and metric of a compliance report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ComplianceRow {
    /// The group's key: policy, team or service id, or priority (`P1`);
    /// `none` for tickets without a team or service.
    pub key: String,
    /// A readable name for the key.
    pub label: String,
    #[schema(value_type = String, example = "resolution")]
    pub metric: SlaMetric,
    /// Clocks stopped within their target.
    pub met: u64,
    /// Clocks that exceeded their target (stopped or not).
    pub breached: u64,
    /// Clocks still running or paused within their target.
    pub in_progress: u64,
    /// `met / (met + breached)` in percent; `null` when nothing finished.
    pub compliance_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ComplianceReport {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// The instant the clocks were evaluated at.
    #[schema(value_type = String, format = DateTime)]
    pub evaluated_at: Timestamp,
    pub group_by: ComplianceGrouping,
    /// Tickets opened in the period that an SLA policy covers.
    pub tickets: u64,
    pub rows: Vec<ComplianceRow>,
}

#[derive(Default)]
struct Tally {
    met: u64,
    breached: u64,
    in_progress: u64,
}

impl Store {
    /// SLA compliance of the tickets opened in `[from, to)`, per `group_by`
    /// and metric, with each clock as of `now`.
    pub async fn sla_compliance(
        &self,
        from: Timestamp,
        to: Timestamp,
        group_by: ComplianceGrouping,
        now: Timestamp,
    ) -> Result<ComplianceReport, StoreError> {
        if to <= from {
            return Err(StoreError::invalid("to", "must be after from"));
        }
        let rules = self.sla_rules().await?;
        let labels = self.group_labels(group_by).await?;
        let mut tallies: BTreeMap<(String, &'static str), Tally> = BTreeMap::new();
        let mut tickets = 0;
        let mut after = 0i64;
        let mut conn = self.pool.acquire().await?;
        loop {
            let ids: Vec<i64> = sqlx::query(
                "SELECT id FROM tickets WHERE created_at >= $1 AND created_at < $2 AND id > $3 \
                 ORDER BY id LIMIT $4",
            )
            .bind(from.as_microsecond())
            .bind(to.as_microsecond())
            .bind(after)
            .bind(TICKETS_PER_READ)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
            let Some(&last) = ids.last() else { break };
            after = last;
            let inputs = load_clock_inputs(&mut conn, self.backend, &ids).await?;
            for input in inputs.values() {
                let Some(evaluated) = rules.evaluate(input, now)? else {
                    continue;
                };
                tickets += 1;
                let key = match group_by {
                    ComplianceGrouping::Policy => evaluated.policy.id.0.to_string(),
                    ComplianceGrouping::Team => input
                        .team_id
                        .map_or_else(|| "none".to_string(), |t| t.0.to_string()),
                    ComplianceGrouping::Service => input
                        .service_id
                        .map_or_else(|| "none".to_string(), |s| s.0.to_string()),
                    ComplianceGrouping::Priority => input.priority.to_string(),
                };
                for (metric, status) in &evaluated.clocks {
                    let tally = tallies.entry((key.clone(), metric.as_str())).or_default();
                    match status.state {
                        ClockState::Breached => tally.breached += 1,
                        ClockState::Met => tally.met += 1,
                        ClockState::Running | ClockState::Paused | ClockState::NotStarted => {
                            tally.in_progress += 1
                        }
                    }
                }
            }
            if ids.len() < TICKETS_PER_READ as usize {
                break;
            }
        }
        let rows = tallies
            .into_iter()
            .filter_map(|((key, metric), t)| {
                let metric = SlaMetric::parse(metric)?;
                let finished = t.met + t.breached;
                Some(ComplianceRow {
                    label: labels.get(&key).cloned().unwrap_or_else(|| key.clone()),
                    key,
                    metric,
                    met: t.met,
                    breached: t.breached,
                    in_progress: t.in_progress,
                    compliance_percent: (finished > 0)
                        .then(|| (t.met as f64 * 1000.0 / finished as f64).round() / 10.0),
                })
            })
            .collect();
        Ok(ComplianceReport {
            from,
            to,
            evaluated_at: now,
            group_by,
            tickets,
            rows,
        })
    }

    async fn group_labels(
        &self,
        group_by: ComplianceGrouping,
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut labels: HashMap<String, String> = match group_by {
            ComplianceGrouping::Policy => self
                .list_sla_policies()
                .await?
                .into_iter()
                .map(|p| (p.id.to_string(), p.name))
                .collect(),
            ComplianceGrouping::Team => self
                .list_teams()
                .await?
                .into_iter()
                .map(|t| (t.id.0.to_string(), t.name))
                .collect(),
            ComplianceGrouping::Service => self
                .list_services()
                .await?
                .into_iter()
                .map(|s| (s.id.0.to_string(), s.name))
                .collect(),
            ComplianceGrouping::Priority => HashMap::new(),
        };
        let none = match group_by {
            ComplianceGrouping::Team => "no team",
            ComplianceGrouping::Service => "no service",
            _ => "none",
        };
        labels.insert("none".to_string(), none.to_string());
        Ok(labels)
    }
}
