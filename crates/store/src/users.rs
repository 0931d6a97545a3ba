//! Users and sign-in bookkeeping.

use crate::rows::{USER_COLUMNS, user_credentials};
use crate::tx::WriteTx;
use crate::{NewUser, Store, StoreError, User, UserCredentials};
use jiff::Timestamp;
use opsdesk_domain::limits::check_short_text;
use opsdesk_domain::{FieldError, Role, UserId};
use serde_json::json;

/// Usernames are what people type to sign in: short, lower-case, no spaces.
pub fn check_username(username: &str) -> Result<(), FieldError> {
    let ok = (2..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "username",
            "must be 2 to 64 characters of a-z, 0-9, '.', '_', '-' or '@'",
        ))
    }
}

fn check_email(email: &str) -> Result<(), FieldError> {
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
        });
    if valid {
        Ok(())
    } else {
        Err(FieldError::new("email", "is not an e-mail address"))
    }
}

/// What an admin may change on an account.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    pub organization: Option<Option<String>>,
    pub active: Option<bool>,
}

impl Store {
    pub async fn create_user(
        &self,
        new: NewUser,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        check_username(&new.username)?;
        check_short_text("display_name", &new.display_name)?;
        if let Some(email) = &new.email {
            check_email(email)?;
        }
        if let Some(org) = &new.organization {
            check_short_text("organization", org)?;
        }
        let mut tx = self.write(actor, now).await?;
        let id = insert_user(&mut tx, &new).await?;
        tx.event(
            "user",
            id,
            "user.created",
            json!({"username": new.username, "display_name": new.display_name, "role": new.role, "email": new.email, "organization": new.organization}),
        )
        .await?;
        tx.commit().await?;
        self.get_user(UserId(id)).await
    }

    pub async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        Ok(self.user_credentials_by_id(id).await?.user)
    }

    pub async fn user_credentials_by_id(&self, id: UserId) -> Result<UserCredentials, StoreError> {
        let row =
            crate::rows::dynamic_query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::not_found("user", id))?;
        user_credentials(&row)
    }

    pub async fn user_credentials_by_username(
        &self,
        username: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_credentials).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| user_credentials(r).map(|c| c.user))
            .collect()
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        actor: UserId,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        if let Some(name) = &patch.display_name {
            check_short_text("display_name", name)?;
        }
        if let Some(Some(email)) = &patch.email {
            check_email(email)?;
        }
        if let Some(Some(org)) = &patch.organization {
            check_short_text("organization", org)?;
        }
        let before = self.get_user(id).await?;
        if actor == id
            && (patch.active == Some(false) || patch.role.is_some_and(|r| r != before.role))
        {
            return Err(StoreError::Conflict(
                "you cannot deactivate your own account or change your own role; ask another admin"
                    .into(),
            ));
        }
        let mut tx = self.write(Some(actor), now).await?;
        let after = User {
            display_name: patch
                .display_name
                .clone()
                .unwrap_or_else(|| before.display_name.clone()),
            email: patch.email.clone().unwrap_or_else(|| before.email.clone()),
            role: patch.role.unwrap_or(before.role),
            organization: patch
                .organization
                .clone()
                .unwrap_or_else(|| before.organization.clone()),
            active: patch.active.unwrap_or(before.active),
            ..before.clone()
        };
        sqlx::query("UPDATE users SET display_name = $1, email = $2, role = $3, organization = $4, active = $5 WHERE id = $6")
            .bind(&after.display_name)
            .bind(&after.email)
            .bind(after.role.as_str())
            .bind(&after.organization)
            .bind(i64::from(after.active))
            .bind(id.0)
            .execute(tx.conn().await?)
            .await?;
        if !after.active {
            // A deactivated account loses its sessions and tokens at once.
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.0)
                .execute(tx.conn().await?)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(tx.now_micros())
            .bind(id.0)
            .execute(tx.conn().await?)
            .await?;
        }
        tx.event(
            "user",
            id,
            "user.updated",
            json!({
                "before": {"display_name": before.display_name, "email": before.email, "role": before.role, "organization": before.organization, "active": before.active},
                "after": {"display_name": after.display_name, "email": after.email, "role": after.role, "organization": after.organization, "active": after.active},
            }),
        )
        .await?;
        tx.commit().await?;
        // Role and active state travel with cached credentials.
        self.credentials.clear();
        Ok(after)
    }

    pub async fn set_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
        actor: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write(Some(actor), now).await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(tx.conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("user", id));
        }
        tx.event("user", id, "user.password_changed", json!({}))
            .await?;
        tx.commit().await
    }

    /// Records a failed sign-in; after `max_failures` in a row the account is
    /// locked for `lock_for`. Returns the lock end if it is now locked.
    pub async fn record_failed_login(
        &self,
        id: UserId,
        max_failures: i64,
        lock_for: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let mut tx = self.write(None, now).await?;
        use sqlx::Row;
        let row = sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
            .bind(id.0)
            .fetch_one(tx.conn().await?)
            .await?;
        let failures: i64 = row.try_get("failed_logins")?;
        let mut locked = None;
        if failures >= max_failures {
            let until = now.saturating_add(lock_for).unwrap_or(Timestamp::MAX);
            sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2")
                .bind(until.as_microsecond())
                .bind(id.0)
                .execute(tx.conn().await?)
                .await?;
            tx.event(
                "user",
                id,
                "user.locked",
                json!({"until": until, "failures": failures}),
            )
            .await?;
            locked = Some(until);
        }
        tx.commit().await?;
        Ok(locked)
    }

    pub async fn record_successful_login(&self, id: UserId) -> Result<(), StoreError> {
        let mut tx = self.write(None, Timestamp::now()).await?;
        sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0")
            .bind(id.0)
            .execute(tx.conn().await?)
            .await?;
        tx.commit().await
    }
}

async fn insert_user(tx: &mut WriteTx, new: &NewUser) -> Result<i64, StoreError> {
    use sqlx::Row;
    let now = tx.now_micros();
    let row = sqlx::query(
        "INSERT INTO users (username, display_name, email, role, organization, password_hash, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING id",
    )
    .bind(&new.username)
    .bind(&new.display_name)
    .bind(&new.email)
    .bind(new.role.as_str())
    .bind(&new.organization)
    .bind(&new.password_hash)
    .bind(now)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(StoreError::from)
    .map_err(|e| {
        if e.is_unique_violation() {
            StoreError::Conflict(format!("a user named '{}' already exists", new.username))
        } else {
            e
        }
    })?;
    Ok(row.try_get("id")?)
}
