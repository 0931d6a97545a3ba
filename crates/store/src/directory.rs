//! Teams (assignment groups) and services.

use crate::rows::ts;
use crate::tx::WriteTx;
use crate::{Service, Store, StoreError, Team};
use jiff::Timestamp;
use opsdesk_domain::limits::{check_body, check_short_text};
use opsdesk_domain::{Permission, Role, ServiceId, TeamId, UserId};
use serde_json::json;
use sqlx::Row;

#[derive(Debug, Clone, Default)]
pub struct TeamInput {
    pub name: String,
    pub description: String,
    pub round_robin: bool,
}

#[derive(Debug, Clone)]
pub struct ServiceInput {
    pub name: String,
    pub description: String,
    pub owner_team_id: Option<TeamId>,
    pub tier: i64,
}

fn check_team(input: &TeamInput) -> Result<(), StoreError> {
    check_short_text("name", &input.name)?;
    check_body("description", &input.description)?;
    Ok(())
}

fn check_service(input: &ServiceInput) -> Result<(), StoreError> {
    check_short_text("name", &input.name)?;
    check_body("description", &input.description)?;
    if !(1..=4).contains(&input.tier) {
        return Err(StoreError::invalid(
            "tier",
            "must be 1 (most critical) to 4",
        ));
    }
    Ok(())
}

fn unique(e: sqlx::Error, what: &str, name: &str) -> StoreError {
    let e = StoreError::from(e);
    if e.is_unique_violation() {
        StoreError::Conflict(format!("a {what} named '{name}' already exists"))
    } else {
        e
    }
}

impl Store {
    pub async fn create_team(
        &self,
        input: TeamInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        check_team(&input)?;
        let mut tx = self.write(Some(actor), now).await?;
        let row = sqlx::query("INSERT INTO teams (name, description, round_robin, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(&input.name)
            .bind(&input.description)
            .bind(i64::from(input.round_robin))
            .bind(now.as_microsecond())
            .fetch_one(tx.conn().await?)
            .await
            .map_err(|e| unique(e, "team", &input.name))?;
        let id: i64 = row.try_get("id")?;
        tx.event("team", id, "team.created", json!({"name": input.name, "description": input.description, "round_robin": input.round_robin}))
            .await?;
        tx.commit().await?;
        self.get_team(TeamId(id)).await
    }

    pub async fn update_team(
        &self,
        id: TeamId,
        input: TeamInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        check_team(&input)?;
        let before = self.get_team(id).await?;
        let mut tx = self.write(Some(actor), now).await?;
        sqlx::query("UPDATE teams SET name = $1, description = $2, round_robin = $3 WHERE id = $4")
            .bind(&input.name)
            .bind(&input.description)
            .bind(i64::from(input.round_robin))
            .bind(id.0)
            .execute(tx.conn().await?)
            .await
            .map_err(|e| unique(e, "team", &input.name))?;
        tx.event(
            "team",
            id,
            "team.updated",
            json!({"before": {"name": before.name, "description": before.description, "round_robin": before.round_robin},
                   "after": {"name": input.name, "description": input.description, "round_robin": input.round_robin}}),
        )
        .await?;
        tx.commit().await?;
        self.get_team(id).await
    }

    pub async fn get_team(&self, id: TeamId) -> Result<Team, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, description, round_robin, created_at FROM teams WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("team", id))?;
        let members =
            sqlx::query("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get("user_id").map(UserId))
                .collect::<Result<_, _>>()?;
        team_from(&row, members)
    }

    pub async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, description, round_robin, created_at FROM teams ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        let members = sqlx::query("SELECT team_id, user_id FROM team_members ORDER BY user_id")
            .fetch_all(&self.pool)
            .await?;
        let mut by_team: std::collections::HashMap<i64, Vec<UserId>> =
            std::collections::HashMap::new();
        for m in &members {
            by_team
                .entry(m.try_get("team_id")?)
                .or_default()
                .push(UserId(m.try_get("user_id")?));
        }
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                team_from(r, by_team.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// Only agents and above can be members: members get tickets assigned.
    pub async fn add_team_member(
        &self,
        team: TeamId,
        user: UserId,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        self.get_team(team).await?;
        let member = self.get_user(user).await?;
        if member.role < Role::Agent {
            return Err(StoreError::invalid(
                "user_id",
                format!(
                    "'{}' is a requester; only agents, managers and admins can be team members",
                    member.username
                ),
            ));
        }
        let mut tx = self.write(Some(actor), now).await?;
        let exists =
            sqlx::query("SELECT 1 AS one FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(team.0)
                .bind(user.0)
                .fetch_optional(tx.conn().await?)
                .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                .bind(team.0)
                .bind(user.0)
                .execute(tx.conn().await?)
                .await?;
            tx.event("team", team, "team.member_added", json!({"user_id": user}))
                .await?;
        }
        tx.commit().await?;
        self.get_team(team).await
    }

    pub async fn remove_team_member(
        &self,
        team: TeamId,
        user: UserId,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        let mut tx = self.write(Some(actor), now).await?;
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team.0)
            .bind(user.0)
            .execute(tx.conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(
                "team member",
                format!("{user} in team {team}"),
            ));
        }
        tx.event(
            "team",
            team,
            "team.member_removed",
            json!({"user_id": user}),
        )
        .await?;
        tx.commit().await?;
        self.get_team(team).await
    }

    pub async fn create_service(
        &self,
        input: ServiceInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Service, StoreError> {
        check_service(&input)?;
        if let Some(team) = input.owner_team_id {
            self.get_team(team).await.map_err(|_| {
                StoreError::invalid("owner_team_id", format!("team {team} does not exist"))
            })?;
        }
        let mut tx = self.write(Some(actor), now).await?;
        let row = sqlx::query("INSERT INTO services (name, description, owner_team_id, tier, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(&input.name)
            .bind(&input.description)
            .bind(input.owner_team_id.map(|t| t.0))
            .bind(input.tier)
            .bind(now.as_microsecond())
            .fetch_one(tx.conn().await?)
            .await
            .map_err(|e| unique(e, "service", &input.name))?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "service",
            id,
            "service.created",
            json!({"name": input.name, "owner_team_id": input.owner_team_id, "tier": input.tier}),
        )
        .await?;
        tx.commit().await?;
        self.get_service(ServiceId(id)).await
    }

    pub async fn update_service(
        &self,
        id: ServiceId,
        input: ServiceInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Service, StoreError> {
        check_service(&input)?;
        if let Some(team) = input.owner_team_id {
            self.get_team(team).await.map_err(|_| {
                StoreError::invalid("owner_team_id", format!("team {team} does not exist"))
            })?;
        }
        let before = self.get_service(id).await?;
        let mut tx = self.write(Some(actor), now).await?;
        sqlx::query("UPDATE services SET name = $1, description = $2, owner_team_id = $3, tier = $4 WHERE id = $5")
            .bind(&input.name)
            .bind(&input.description)
            .bind(input.owner_team_id.map(|t| t.0))
            .bind(input.tier)
            .bind(id.0)
            .execute(tx.conn().await?)
            .await
            .map_err(|e| unique(e, "service", &input.name))?;
        tx.event(
            "service",
            id,
            "service.updated",
            json!({"before": {"name": before.name, "owner_team_id": before.owner_team_id, "tier": before.tier},
                   "after": {"name": input.name, "owner_team_id": input.owner_team_id, "tier": input.tier}}),
        )
        .await?;
        tx.commit().await?;
        self.get_service(id).await
    }

    pub async fn get_service(&self, id: ServiceId) -> Result<Service, StoreError> {
        let row = sqlx::query("SELECT id, name, description, owner_team_id, tier, created_at FROM services WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("service", id))?;
        service_from(&row)
    }

    pub async fn list_services(&self) -> Result<Vec<Service>, StoreError> {
        let rows = sqlx::query("SELECT id, name, description, owner_team_id, tier, created_at FROM services ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(service_from).collect()
    }
}

fn team_from(row: &sqlx::any::AnyRow, members: Vec<UserId>) -> Result<Team, StoreError> {
    Ok(Team {
        id: TeamId(row.try_get("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        round_robin: row.try_get::<i64, _>("round_robin")? != 0,
        members,
        created_at: ts(row.try_get("created_at")?)?,
    })
}

fn service_from(row: &sqlx::any::AnyRow) -> Result<Service, StoreError> {
    Ok(Service {
        id: ServiceId(row.try_get("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        owner_team_id: row.try_get::<Option<i64>, _>("owner_team_id")?.map(TeamId),
        tier: row.try_get("tier")?,
        created_at: ts(row.try_get("created_at")?)?,
    })
}

/// Checks that `user` may be assigned tickets of `team` (an active agent or
/// above and, when a team is set, one of its members).
pub(crate) async fn check_assignable(
    tx: &mut WriteTx,
    user: UserId,
    team: Option<TeamId>,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT role, active, username FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_optional(tx.conn().await?)
        .await?
        .ok_or_else(|| StoreError::invalid("assignee_id", format!("user {user} does not exist")))?;
    let role: String = row.try_get("role")?;
    let username: String = row.try_get("username")?;
    let role: Role = crate::rows::parse("role", &role)?;
    let actor = opsdesk_domain::Actor {
        user_id: user,
        role,
    };
    if !actor.can(Permission::WorkAllTickets) || row.try_get::<i64, _>("active")? == 0 {
        return Err(StoreError::invalid(
            "assignee_id",
            format!("'{username}' is not an active agent and cannot be assigned tickets"),
        ));
    }
    if let Some(team) = team {
        let member =
            sqlx::query("SELECT 1 AS one FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(team.0)
                .bind(user.0)
                .fetch_optional(tx.conn().await?)
                .await?;
        if member.is_none() {
            return Err(StoreError::invalid(
                "assignee_id",
                format!("'{username}' is not a member of team {team}"),
            ));
        }
    }
    Ok(())
}

/// The next member of a round-robin team after the last one assigned, in
/// user-id order; records the choice. `None` when the team has no members.
pub(crate) async fn next_round_robin(
    tx: &mut WriteTx,
    team: TeamId,
) -> Result<Option<UserId>, StoreError> {
    let row = sqlx::query("SELECT round_robin, last_assignee_id FROM teams WHERE id = $1")
        .bind(team.0)
        .fetch_optional(tx.conn().await?)
        .await?
        .ok_or_else(|| StoreError::invalid("team_id", format!("team {team} does not exist")))?;
    if row.try_get::<i64, _>("round_robin")? == 0 {
        return Ok(None);
    }
    let last: Option<i64> = row.try_get("last_assignee_id")?;
    let members: Vec<i64> = sqlx::query(
        "SELECT m.user_id AS user_id FROM team_members m JOIN users u ON u.id = m.user_id \
         WHERE m.team_id = $1 AND u.active = 1 ORDER BY m.user_id",
    )
    .bind(team.0)
    .fetch_all(tx.conn().await?)
    .await?
    .iter()
    .map(|r| r.try_get("user_id"))
    .collect::<Result<_, _>>()?;
    let Some(next) = opsdesk_domain::assignment::next_in_rotation(&members, last) else {
        return Ok(None);
    };
    sqlx::query("UPDATE teams SET last_assignee_id = $1 WHERE id = $2")
        .bind(next)
        .bind(team.0)
        .execute(tx.conn().await?)
        .await?;
    Ok(Some(UserId(next)))
}
