//! The one mapping from failures to HTTP: `application/problem+json`
//! (RFC 9457) with a message a person can act on and per-field details.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opsdesk_domain::FieldError;
use opsdesk_domain::transition::{TransitionError, TransitionName};
use opsdesk_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `urn:opsdesk:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong and what to do about it.
    pub detail: String,
    /// One entry per offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// For an illegal transition: the steps that are legal now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_transitions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel through every `Result` in the handlers, and
    /// the happy path should not pay for their size.
    pub problem: Box<Problem>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            problem: Box::new(Problem {
                kind: format!("urn:opsdesk:problem:{slug}"),
                title: title.to_string(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: vec![],
                allowed_transitions: None,
            }),
            retry_after: None,
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// 422 naming one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            format!("{field}: {message}"),
        );
        e.problem.errors.push(FieldProblem { field, message });
        e
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::field(e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, id } => {
                ApiError::not_found(format!("{entity} {id} not found"))
            }
            StoreError::Conflict(msg) => ApiError::conflict(msg),
            StoreError::Invalid(f) => f.into(),
            StoreError::Transition(TransitionError::Invalid(f)) => f.into(),
            StoreError::Transition(t @ TransitionError::Illegal { .. }) => {
                let allowed: Vec<String> = match &t {
                    TransitionError::Illegal { allowed, .. } => {
                        allowed.iter().map(TransitionName::to_string).collect()
                    }
                    _ => vec![],
                };
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    "illegal-transition",
                    "Illegal transition",
                    t.to_string(),
                );
                e.problem.allowed_transitions = Some(allowed);
                e
            }
            StoreError::Transition(t @ TransitionError::ReopenWindowClosed { .. }) => {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "reopen-window-closed",
                    "Reopen window closed",
                    t.to_string(),
                )
            }
            StoreError::Database(sqlx_error) => {
                tracing::error!(error = %sqlx_error, "database error");
                match sqlx_error {
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                        let mut e = ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "unavailable",
                            "Service unavailable",
                            "the database is not answering; try again shortly",
                        );
                        e.retry_after = Some(5);
                        e
                    }
                    _ => ApiError::internal("a database error occurred; it has been logged"),
                }
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::internal("an internal error occurred; it has been logged")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
