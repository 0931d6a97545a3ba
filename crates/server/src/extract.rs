//! Request extractors that fail with problem+json naming what is wrong.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use jiff::Timestamp;
use opsdesk_domain::{Actor, UserId};
use opsdesk_store::User;
use opsdesk_store::tx::IdempotencyKey;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// A JSON body decoded strictly. Syntax errors are 400; a wrong type, a
/// missing or unknown field is 422 with the field's path.
pub struct ApiJson<T> {
    pub value: T,
    /// SHA-256 of the raw body, for idempotency keys.
    pub body_hash: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if mime != "application/json"
            && !(mime.starts_with("application/") && mime.ends_with("+json"))
        {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                format!("send the body as application/json (got '{content_type}')"),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "too-large",
                        "Body too large",
                        format!(
                            "the request body is over the limit of {} bytes",
                            crate::BODY_LIMIT_BYTES
                        ),
                    )
                } else {
                    ApiError::bad_request(format!("could not read the request body: {e}"))
                }
            })?;
        let value = decode(&bytes)?;
        Ok(ApiJson {
            value,
            body_hash: hex::encode(Sha256::digest(&bytes)),
        })
    }
}

/// Decodes JSON with the path of the field that failed.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => {
            de.end()
                .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
            Ok(v)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::bad_request(format!(
                    "the body is not valid JSON: {inner}"
                )));
            }
            let message = clean_serde_message(&inner.to_string());
            let field = if path == "." || path.is_empty() {
                // serde reports unknown/missing fields at the parent level;
                // pull the name out of the message.
                field_from_message(&message).unwrap_or_else(|| "body".to_string())
            } else {
                match field_from_message(&message) {
                    Some(f)
                        if message.starts_with("unknown field")
                            || message.starts_with("missing field") =>
                    {
                        format!("{path}.{f}")
                    }
                    _ => path,
                }
            };
            Err(ApiError::field(field, message))
        }
    }
}

fn field_from_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = message[start..].find('`')? + start;
    Some(message[start..end].to_string())
}

/// serde_json appends " at line 1 column 42"; people need the field, not that.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The `Idempotency-Key` header, if present, tied to the route and body.
pub fn idempotency_key(
    parts_headers: &axum::http::HeaderMap,
    route: &str,
    body_hash: &str,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(v) = parts_headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::field(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            )
        })?;
    Ok(Some(IdempotencyKey {
        key: key.to_string(),
        route: route.to_string(),
        request_hash: body_hash.to_string(),
    }))
}

/// The signed-in principal: a bearer token, or a session cookie (then
/// unsafe methods also need the session's CSRF token in `X-CSRF-Token`).
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: User,
    pub actor: Actor,
    pub via_session: bool,
}

impl Auth {
    pub fn id(&self) -> UserId {
        self.user.id
    }
}

pub const SESSION_COOKIE: &str = "opsdesk_session";

pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let now = Timestamp::now();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let secret = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::unauthorized("the Authorization header must be 'Bearer TOKEN'")
                })?;
            let (user, _) = state
                .store
                .authenticate_token(secret, now)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized("the token is unknown, revoked or expired")
                })?;
            let actor = Actor {
                user_id: user.id,
                role: user.role,
            };
            return Ok(Auth {
                user,
                actor,
                via_session: false,
            });
        }
        if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            let session =
                state.store.session(secret, now).await?.ok_or_else(|| {
                    ApiError::unauthorized("your session has ended; sign in again")
                })?;
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe {
                let sent = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                    return Err(ApiError::forbidden(
                        "missing or wrong X-CSRF-Token for this session",
                    ));
                }
            }
            let actor = Actor {
                user_id: session.user.id,
                role: session.user.role,
            };
            return Ok(Auth {
                user: session.user,
                actor,
                via_session: true,
            });
        }
        Err(ApiError::unauthorized(
            "send 'Authorization: Bearer TOKEN' (create one with `opsdesk admin create-token`)",
        ))
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        nested: Option<Nested>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        n: u32,
    }

    fn field_of(json: &str) -> (u16, Vec<String>) {
        let e = decode::<Body>(json.as_bytes()).unwrap_err();
        (
            e.status.as_u16(),
            e.problem.errors.iter().map(|f| f.field.clone()).collect(),
        )
    }

    #[test]
    fn decoding_errors_name_the_field() {
        assert_eq!(
            field_of(r#"{"title": 5}"#),
            (422, vec!["title".to_string()])
        );
        assert_eq!(field_of(r#"{}"#), (422, vec!["title".to_string()]));
        assert_eq!(
            field_of(r#"{"title":"x","bogus":1}"#),
            (422, vec!["bogus".to_string()])
        );
        assert_eq!(
            field_of(r#"{"title":"x","nested":{"n":"a"}}"#),
            (422, vec!["nested.n".to_string()])
        );
        assert_eq!(
            field_of(r#"{"title":"x","nested":{"m":1}}"#).1,
            vec!["nested.m".to_string()]
        );
        assert_eq!(field_of(r#"{"title":"#).0, 400);
        assert_eq!(field_of(r#"{"title":"x"} trailing"#).0, 400);
    }

    #[test]
    fn cookie_lookup() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; opsdesk_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }
}
