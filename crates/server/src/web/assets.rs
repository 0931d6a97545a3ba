//! The stylesheet and script, embedded in the binary. Pages link them with
//! a content hash in the URL, so browsers may keep them for a year and still
//! fetch the new ones after an upgrade.

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

pub const CSS: &str = include_str!("../../static/app.css");
pub const JS: &str = include_str!("../../static/app.js");

/// The versioned URLs of the assets, for the page head.
#[derive(Debug, Clone)]
pub struct Links {
    pub css: String,
    pub js: String,
}

fn version(content: &str) -> String {
    hex::encode(&Sha256::digest(content.as_bytes())[..6])
}

impl Links {
    pub fn get() -> &'static Links {
        static LINKS: OnceLock<Links> = OnceLock::new();
        LINKS.get_or_init(|| Links {
            css: format!("/static/app.css?v={}", version(CSS)),
            js: format!("/static/app.js?v={}", version(JS)),
        })
    }
}

pub async fn serve(Path(name): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (content, mime) = match name.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    // A URL with the current hash never changes; anything else is revalidated soon.
    let cache = if q.get("v").is_some_and(|v| *v == version(content)) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut response = content.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
