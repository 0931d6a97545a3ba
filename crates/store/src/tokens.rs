//! API tokens and web sessions. Only SHA-256 digests of secrets are stored:
//! a leaked database does not hand out working credentials. (A fast hash is
//! right here, unlike for passwords: the secrets are 256 random bits.)

use crate::credential_cache::Verified;
use crate::rows::{USER_COLUMNS, opt_ts, ts, user_credentials};
use crate::{ApiToken, Store, StoreError, User};
use jiff::Timestamp;
use opsdesk_domain::limits::check_short_text;
use opsdesk_domain::{TokenId, UserId};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Every API token starts with this, so secret scanners and the redactor can
/// recognise one.
pub const TOKEN_PREFIX: &str = "odt_";

pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// A signed-in browser session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

const TOKEN_COLUMNS: &str =
    "id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at";

fn token(row: &sqlx::any::AnyRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: TokenId(row.try_get("id")?),
        user_id: UserId(row.try_get("user_id")?),
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: ts(row.try_get("created_at")?)?,
        expires_at: opt_ts(row.try_get("expires_at")?)?,
        last_used_at: opt_ts(row.try_get("last_used_at")?)?,
        revoked_at: opt_ts(row.try_get("revoked_at")?)?,
    })
}

impl Store {
    /// Creates a token and returns it with its secret, which is shown once.
    pub async fn create_token(
        &self,
        user: UserId,
        name: &str,
        expires_at: Option<Timestamp>,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<(ApiToken, String), StoreError> {
        check_short_text("name", name)?;
        if expires_at.is_some_and(|e| e <= now) {
            return Err(StoreError::invalid("expires_at", "must be in the future"));
        }
        let target = self.get_user(user).await?;
        if !target.active {
            return Err(StoreError::Conflict(format!(
                "user '{}' is deactivated",
                target.username
            )));
        }
        let secret = random_secret(TOKEN_PREFIX);
        let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let mut tx = self.write(actor, now).await?;
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .bind(digest(&secret))
        .bind(&prefix)
        .bind(now.as_microsecond())
        .bind(expires_at.map(|e| e.as_microsecond()))
        .fetch_one(tx.conn().await?)
        .await?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "api_token",
            id,
            "token.created",
            json!({"user_id": user, "name": name, "prefix": prefix, "expires_at": expires_at}),
        )
        .await?;
        tx.commit().await?;
        let token = self.get_token(TokenId(id)).await?;
        Ok((token, secret))
    }

    pub async fn get_token(&self, id: TokenId) -> Result<ApiToken, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("token", id))?;
        token(&row)
    }

    pub async fn list_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
        let rows = match user {
            Some(u) => {
                crate::rows::dynamic_query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"
                ))
                .bind(u.0)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                crate::rows::dynamic_query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(token).collect()
    }

    pub async fn revoke_token(
        &self,
        id: TokenId,
        actor: UserId,
        now: Timestamp,
    ) -> Result<ApiToken, StoreError> {
        let mut tx = self.write(Some(actor), now).await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now.as_microsecond())
        .bind(id.0)
        .execute(tx.conn().await?)
        .await?;
        if done.rows_affected() == 1 {
            tx.event("api_token", id, "token.revoked", json!({}))
                .await?;
        }
        tx.commit().await?;
        self.credentials.clear();
        self.get_token(id).await
    }

    /// The active user behind a bearer secret, if the token is live.
    /// Answered from [`crate::credential_cache`] when verified moments ago.
    pub async fn authenticate_token(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<Option<(User, TokenId)>, StoreError> {
        let digest = digest(secret);
        if let Some(Verified::Token { user, id, .. }) = self.credentials.get(&digest, now) {
            return Ok(Some((user, id)));
        }
        let read_at = self.credentials.generation();
        let row = crate::rows::dynamic_query(&format!(
            "SELECT t.id AS token_id, t.expires_at AS token_expires_at, t.revoked_at AS token_revoked_at, t.last_used_at AS token_last_used_at, {} \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
            USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(&digest)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let revoked: Option<i64> = row.try_get("token_revoked_at")?;
        let expires_at = opt_ts(row.try_get("token_expires_at")?)?;
        let creds = user_credentials(&row)?;
        if revoked.is_some() || expires_at.is_some_and(|e| e <= now) || !creds.user.active {
            return Ok(None);
        }
        let id = TokenId(row.try_get("token_id")?);
        // Last use is advisory; writing it at most once a minute keeps
        // authentication a read on the hot path.
        let last_used: Option<i64> = row.try_get("token_last_used_at")?;
        if last_used.is_none_or(|l| now.as_microsecond() - l > 60_000_000) {
            let mut tx = self.write(None, now).await?;
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now.as_microsecond())
                .bind(id.0)
                .execute(tx.conn().await?)
                .await?;
            tx.commit().await?;
        }
        self.credentials.put(
            read_at,
            digest,
            Verified::Token {
                user: creds.user.clone(),
                id,
                expires_at,
            },
        );
        Ok(Some((creds.user, id)))
    }

    /// Starts a browser session; returns its secret (for the cookie).
    pub async fn create_session(
        &self,
        user: UserId,
        ttl: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<(String, Session), StoreError> {
        let secret = random_secret("");
        let csrf = random_secret("");
        let expires_at = now.saturating_add(ttl).unwrap_or(Timestamp::MAX);
        let mut tx = self.write(Some(user), now).await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(digest(&secret))
            .bind(user.0)
            .bind(&csrf)
            .bind(now.as_microsecond())
            .bind(expires_at.as_microsecond())
            .execute(tx.conn().await?)
            .await?;
        tx.event("user", user, "user.signed_in", json!({})).await?;
        tx.commit().await?;
        let user = self.get_user(user).await?;
        Ok((
            secret,
            Session {
                user,
                csrf_token: csrf,
                expires_at,
            },
        ))
    }

    /// The live session behind a cookie secret. Answered from
    /// [`crate::credential_cache`] when verified moments ago.
    pub async fn session(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let digest = digest(secret);
        if let Some(Verified::Session(session)) = self.credentials.get(&digest, now) {
            return Ok(Some(session));
        }
        let read_at = self.credentials.generation();
        let row = crate::rows::dynamic_query(&format!(
            "SELECT s.csrf_token AS csrf_token, s.expires_at AS session_expires_at, {} \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(&digest)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at = ts(row.try_get("session_expires_at")?)?;
        let creds = user_credentials(&row)?;
        if expires_at <= now || !creds.user.active {
            return Ok(None);
        }
        let session = Session {
            user: creds.user,
            csrf_token: row.try_get("csrf_token")?,
            expires_at,
        };
        self.credentials
            .put(read_at, digest, Verified::Session(session.clone()));
        Ok(Some(session))
    }

    pub async fn delete_session(&self, secret: &str) -> Result<(), StoreError> {
        let mut tx = self.write(None, Timestamp::now()).await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(digest(secret))
            .execute(tx.conn().await?)
            .await?;
        tx.commit().await?;
        self.credentials.clear();
        Ok(())
    }
}
