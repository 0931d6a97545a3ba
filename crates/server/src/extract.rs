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
            if let Some(field) = nul_field(bytes) {
                return Err(ApiError::field(
                    field,
                    "must not contain NUL (\\u0000) characters",
                ));
            }
            Ok(v)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            // serde_json reports a value of the wrong JSON type for an enum
            // (`"impact": 1`) as a syntax error; the body is valid JSON.
            let well_formed = || serde_json::from_slice::<serde_json::Value>(bytes).is_ok();
            if inner.is_syntax() && path != "." && !path.is_empty() && well_formed() {
                return Err(ApiError::field(
                    path,
                    "has the wrong type; see the API description for what it takes",
                ));
            }
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::bad_request(format!(
                    "the body is not valid JSON: {inner}"
                )));
            }
            let message = clean_serde_message(&inner.to_string());
            let names_a_field =
                message.starts_with("unknown field") || message.starts_with("missing field");
            let field = if path == "." || path.is_empty() {
                // serde reports unknown/missing fields at the parent level;
                // pull the name out of the message. Internally tagged enums
                // (transitions) lose the path of every error: find the member
                // whose value the message quotes, never name the value itself.
                names_a_field
                    .then(|| field_from_message(&message))
                    .flatten()
                    .or_else(|| member_quoted_by(bytes, &message))
                    .unwrap_or_else(|| "body".to_string())
            } else {
                match field_from_message(&message) {
                    // A missing field's path is its parent; an unknown
                    // field's path already ends at its key.
                    Some(f)
                        if message.starts_with("missing field")
                            || (message.starts_with("unknown field")
                                && path != f
                                && !path.ends_with(&format!(".{f}"))) =>
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

/// The path of the first string holding U+0000, which PostgreSQL text cannot
/// store: refused for every backend alike, before anything is written.
fn nul_field(bytes: &[u8]) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &str) -> Option<String> {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(if path.is_empty() {
                "body".to_string()
            } else {
                path.to_string()
            }),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{path}[{i}]"))),
            serde_json::Value::Object(members) => members.iter().find_map(|(k, x)| {
                if k.contains('\0') {
                    Some(join(&k.replace('\0', "\\u0000")))
                } else {
                    walk(x, &join(k))
                }
            }),
            _ => None,
        }
    }
    // Cheap test first: in JSON a NUL can only arrive escaped.
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    walk(&serde_json::from_slice(bytes).ok()?, "")
}

/// The one top-level member of a JSON object whose value serde's message
/// quotes ("unknown variant `lunch`", "invalid type: integer `5`, ...").
fn member_quoted_by(bytes: &[u8], message: &str) -> Option<String> {
    let serde_json::Value::Object(members) = serde_json::from_slice(bytes).ok()? else {
        return None;
    };
    // Only what was found, not what was expected.
    let found = message.split(", expected").next().unwrap_or(message);
    let quoted = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => {
            found.contains(&format!("`{s}`")) || found.contains(&format!("string {s:?}"))
        }
        serde_json::Value::Number(n) if n.is_f64() => {
            found.contains(&format!("floating point `{n}`"))
        }
        serde_json::Value::Number(n) => found.contains(&format!("integer `{n}`")),
        serde_json::Value::Bool(b) => found.contains(&format!("boolean `{b}`")),
        serde_json::Value::Null => found.contains("unit value") || found.contains("null"),
        serde_json::Value::Array(_) => found.contains("sequence"),
        serde_json::Value::Object(_) => found.contains("map"),
    };
    let mut hits = members.iter().filter(|(_, v)| quoted(v)).map(|(k, _)| k);
    match (hits.next(), hits.next()) {
        (Some(k), None) => Some(k.clone()),
        _ => None,
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

    /// 403 naming the caller's role unless it grants `permission`.
    pub fn require(
        &self,
        permission: opsdesk_domain::Permission,
        what: &str,
    ) -> Result<(), ApiError> {
        if self.actor.can(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your role ({}) may not {what}",
                self.actor.role
            )))
        }
    }
}

/// For optional fields that may also be cleared: absent is `None`, an
/// explicit `null` is `Some(None)`. Use with `#[serde(default)]`.
pub fn nullable<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
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

    #[derive(serde::Deserialize, Debug)]
    #[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Step {
        Hold { reason: Reason },
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "snake_case")]
    enum Reason {
        Later,
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
        assert_eq!(
            field_of(r#"{"title":"a\u0000b"}"#),
            (422, vec!["title".to_string()])
        );
        let e = decode::<serde_json::Value>(br#"{"a":{"tags":["x","\u0000"]}}"#).unwrap_err();
        assert_eq!(e.problem.errors[0].field, "a.tags[1]");
        assert!(
            decode::<serde_json::Value>(br#"{"title":"a\\u0000b"}"#).is_ok(),
            "an escaped backslash is no NUL"
        );
        assert_eq!(field_of("{\"title\":\"\\ud800\"}").0, 400);
        assert_eq!(
            decode::<Step>(br#"{"action":"hold","reason":5}"#)
                .unwrap_err()
                .status
                .as_u16(),
            422
        );
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct WithEnum {
            reason: Reason,
        }
        let e = decode::<WithEnum>(br#"{"reason": 1}"#).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.problem.errors[0].field.as_str()),
            (422, "reason")
        );
        // Internally tagged enums lose serde's path; the member is still named.
        let step = |json: &str| {
            let e = decode::<Step>(json.as_bytes()).unwrap_err();
            e.problem
                .errors
                .iter()
                .map(|f| f.field.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(step(r#"{"action":"hold","reason":"lunch"}"#), ["reason"]);
        assert_eq!(step(r#"{"action":"explode"}"#), ["action"]);
        assert_eq!(step(r#"{"action":"hold","reason":5}"#), ["reason"]);
        assert_eq!(step(r#"{"action":"hold"}"#), ["reason"]);
        assert_eq!(step(r#"{"action":"hold","reason":"later","x":1}"#), ["x"]);
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
