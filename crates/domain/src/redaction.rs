//! Secret redaction for free text that users type into tickets.
//!
//! Requesters paste config files, curl commands and stack traces into ticket
//! titles, descriptions and comments, and those end up in the database, its
//! backups, notification e-mails and search indexes, all of which live far
//! longer than the secret should. Replacing the secret before the text is
//! stored is the only point where one rule covers every copy.
//!
//! Detection is by shape, not by knowledge of any particular system, so it
//! trades both ways: it aims to catch every secret of a listed shape (when
//! two detections overlap the union is redacted, so nothing leaks around an
//! edge), while staying quiet on prose that merely talks about passwords or
//! bearers, because a ticket system that mangles "bearer authentication fails"
//! is one that people learn to work around.
//!
//! Only the secret value is replaced; the key (`password=`) and the
//! surrounding text stay, so the ticket remains readable and an agent can
//! still see *that* a credential was involved.

use regex::Regex;
use std::fmt;
use std::sync::LazyLock;

/// Which shape of secret was removed. Recorded in events instead of the
/// secret itself, so an auditor can tell a leaked AWS key (rotate it now)
/// from a pasted card number (compliance incident) without seeing either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    Password,
    BearerToken,
    AwsAccessKey,
    AwsSecretKey,
    PrivateKey,
    CardNumber,
    ApiToken,
    BasicAuth,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::Password => "password",
            SecretKind::BearerToken => "bearer_token",
            SecretKind::AwsAccessKey => "aws_access_key",
            SecretKind::AwsSecretKey => "aws_secret_key",
            SecretKind::PrivateKey => "private_key",
            SecretKind::CardNumber => "card_number",
            SecretKind::ApiToken => "api_token",
            SecretKind::BasicAuth => "basic_auth",
        }
    }

    /// Spelled out as constants so building the output costs one copy per
    /// secret rather than a `format!`.
    fn placeholder(self) -> &'static str {
        match self {
            SecretKind::Password => "[REDACTED:password]",
            SecretKind::BearerToken => "[REDACTED:bearer_token]",
            SecretKind::AwsAccessKey => "[REDACTED:aws_access_key]",
            SecretKind::AwsSecretKey => "[REDACTED:aws_secret_key]",
            SecretKind::PrivateKey => "[REDACTED:private_key]",
            SecretKind::CardNumber => "[REDACTED:card_number]",
            SecretKind::ApiToken => "[REDACTED:api_token]",
            SecretKind::BasicAuth => "[REDACTED:basic_auth]",
        }
    }

    /// When detections overlap they are merged into one redaction, and the
    /// most specific shape names it: a `ghp_` token after `password=` is
    /// more usefully reported as an API token (revoke it at GitHub) than as
    /// a password, and a digit run inside a key block is not a card.
    fn specificity(self) -> u8 {
        match self {
            SecretKind::PrivateKey => 7,
            SecretKind::AwsAccessKey => 6,
            SecretKind::ApiToken => 5,
            SecretKind::AwsSecretKey => 4,
            SecretKind::BasicAuth => 3,
            SecretKind::BearerToken => 2,
            SecretKind::Password => 1,
            SecretKind::CardNumber => 0,
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text to store, plus what was taken out of it so the caller can record
/// a redaction event without ever holding the secret beyond this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    /// One entry per replaced occurrence, in order of appearance, so an
    /// event can say "2 passwords and a card number" truthfully.
    pub found: Vec<SecretKind>,
}

impl Redacted {
    pub fn is_clean(&self) -> bool {
        self.found.is_empty()
    }
}

/// A byte range of the input to replace. Offsets always fall on ASCII bytes
/// or the ends of the text, so slicing on them can never split a character.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: SecretKind,
}

// All word boundaries are ASCII (`(?-u:\b)`): a Unicode `\b` makes the regex
// engine give up its DFA on non-ASCII input and fall back to a far slower
// matcher, which would break the latency budget on a 64 KiB body in, say,
// Japanese. The secret shapes themselves are all ASCII anyway.

/// PEM and PGP armour. The label is captured so the block ends at *its own*
/// END line, not at an unrelated one further down.
static PRIVATE_KEY_BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----")
        .expect("private key pattern compiles")
});

static AWS_ACCESS_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)").expect("AWS key pattern compiles")
});

/// Vendor prefixes exist precisely so scanners like this one can find tokens
/// without false positives; no trailing boundary, so a token glued to more
/// text is still caught.
static API_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?-u:\b)(?:",
        r"gh[pousr]_[A-Za-z0-9]{36,}",
        r"|github_pat_[A-Za-z0-9_]{22,}",
        r"|xox[abprs]-[A-Za-z0-9-]{10,}",
        r"|sk_live_[A-Za-z0-9]{16,}",
        r")",
    ))
    .expect("API token pattern compiles")
});

/// The token alphabet is RFC 6750's `b64token`.
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?i-u:bearer)[ \t]+[A-Za-z0-9._~+/=-]{8,}")
        .expect("bearer pattern compiles")
});

/// HTTP Basic credentials: base64 of `user:password`, which is as good as
/// the password itself.
static BASIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?i-u:basic)[ \t]+[A-Za-z0-9+/=]{8,}").expect("basic pattern compiles")
});

/// Replaces every recognised secret in `text` with `[REDACTED:<kind>]`.
///
/// Already-redacted text comes back unchanged with nothing found, so running
/// this again on edited text (or on old rows during a backfill) neither
/// double-counts nor nests placeholders.
#[must_use = "the redacted text is what must be stored, not the input"]
pub fn redact(text: &str) -> Redacted {
    // `Vec::new` does not allocate, so clean text costs the regex scans and
    // the one copy the owned result needs.
    let mut spans = Vec::new();
    find_private_keys(text, &mut spans);
    find_aws_access_keys(text, &mut spans);
    find_api_tokens(text, &mut spans);
    find_bearer_tokens(text, &mut spans);
    let mut assignments = Vec::new();
    find_assignments(text, &mut assignments);
    spans.extend_from_slice(&assignments);
    find_card_numbers(text, &mut spans);
    find_basic_credentials(text, &mut spans);
    // URL passwords are looked for last, with everything the other rules
    // found treated as opaque, because that is how the next pass will see it
    // once it is a placeholder: a key block or a spaced card number inside
    // `user:...@host` must not hide the URL now and reveal it later.
    merge_overlapping(&mut spans);
    let mut url_passwords = Vec::new();
    find_url_passwords(text, &spans, &mut url_passwords);
    spans.extend_from_slice(&url_passwords);
    if spans.is_empty() {
        return Redacted {
            text: text.to_owned(),
            found: Vec::new(),
        };
    }
    merge_overlapping(&mut spans);
    // Merging an extended span with a detection that ran past its value's
    // end leaves it ending mid-value again, so extend until nothing grows
    // (spans only grow, so this ends).
    while extend_to_value_ends(text, &mut spans, &assignments) {
        merge_overlapping(&mut spans);
    }

    let mut out = String::with_capacity(text.len() + spans.len() * 16);
    let mut found = Vec::with_capacity(spans.len());
    let mut copied = 0;
    for span in &spans {
        out.push_str(&text[copied..span.start]);
        out.push_str(span.kind.placeholder());
        found.push(span.kind);
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    Redacted { text: out, found }
}

/// A redaction that swallowed an unquoted assignment value and ran past its
/// end (say `password=` followed by a private key block) must run on to the
/// end of the value: whatever follows the placeholder up to the next
/// delimiter would otherwise read as the value, leak, and be redacted again
/// on a second pass. Returns whether any span grew.
fn extend_to_value_ends(text: &str, spans: &mut [Span], assignments: &[Span]) -> bool {
    let bytes = text.as_bytes();
    let mut grew = false;
    for span in spans.iter_mut() {
        let swallowed = assignments.iter().any(|a| {
            // A quote never closed ends its value by the unquoted rules.
            let quoted = a.start > 0
                && matches!(bytes[a.start - 1], b'"' | b'\'' | b'`')
                && bytes.get(a.end) == Some(&bytes[a.start - 1]);
            !quoted && a.start >= span.start && a.start < span.end && span.end > a.end
        });
        if swallowed {
            // Delimiters are ASCII, so the stop is always a char boundary.
            while span.end < bytes.len() && !ends_unquoted_value(bytes[span.end]) {
                span.end += 1;
                grew = true;
            }
        }
    }
    grew
}

/// Overlapping detections become one redaction covering their union, so a
/// secret is never half-revealed because two rules disagreed on its edges.
/// Merely adjacent spans stay separate: they are separate secrets.
fn merge_overlapping(spans: &mut Vec<Span>) {
    spans.sort_unstable_by_key(|s| (s.start, s.end));
    let mut kept = 0;
    for i in 1..spans.len() {
        let next = spans[i];
        let current = &mut spans[kept];
        if next.start < current.end {
            current.end = current.end.max(next.end);
            if next.kind.specificity() > current.kind.specificity() {
                current.kind = next.kind;
            }
        } else {
            kept += 1;
            spans[kept] = next;
        }
    }
    spans.truncate(kept + 1);
}

fn find_private_keys(text: &str, spans: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(caps) = PRIVATE_KEY_BEGIN.captures_at(text, from) {
        let (Some(begin), Some(label)) = (caps.get(0), caps.get(1)) else {
            break;
        };
        let block = if caps.get(2).is_some() { " BLOCK" } else { "" };
        let end_marker = format!("-----END {}PRIVATE KEY{block}-----", label.as_str());
        // A key cut off mid-paste is still a key: without its END line,
        // everything after BEGIN may be key material.
        let end = text[begin.end()..]
            .find(&end_marker)
            .map_or(text.len(), |at| begin.end() + at + end_marker.len());
        spans.push(Span {
            start: begin.start(),
            end,
            kind: SecretKind::PrivateKey,
        });
        from = end;
    }
}

fn find_aws_access_keys(text: &str, spans: &mut Vec<Span>) {
    spans.extend(AWS_ACCESS_KEY.find_iter(text).map(|m| Span {
        start: m.start(),
        end: m.end(),
        kind: SecretKind::AwsAccessKey,
    }));
}

fn find_api_tokens(text: &str, spans: &mut Vec<Span>) {
    spans.extend(API_TOKEN.find_iter(text).map(|m| Span {
        start: m.start(),
        end: m.end(),
        kind: SecretKind::ApiToken,
    }));
}

fn find_bearer_tokens(text: &str, spans: &mut Vec<Span>) {
    for m in BEARER.find_iter(text) {
        // "bearer" is six ASCII bytes, then blanks, then the token.
        let after_keyword = &m.as_str()["bearer".len()..];
        let token = after_keyword.trim_start_matches([' ', '\t']);
        let start = m.end() - token.len();
        // A full stop after the token ends the sentence, not the token.
        let token = token.trim_end_matches('.');
        if token.len() < 8 || looks_like_word(token) {
            continue;
        }
        spans.push(Span {
            start,
            end: start + token.len(),
            kind: SecretKind::BearerToken,
        });
    }
}

fn find_basic_credentials(text: &str, spans: &mut Vec<Span>) {
    for m in BASIC.find_iter(text) {
        // "basic" is five ASCII bytes, then blanks, then the token.
        let token = m.as_str()["basic".len()..].trim_start_matches([' ', '\t']);
        // "Basic authentication", "BASIC CONFIGURATION": words, not base64.
        let shouted = token.bytes().all(|b| b.is_ascii_uppercase());
        if looks_like_word(token) || shouted {
            continue;
        }
        spans.push(Span {
            start: m.end() - token.len(),
            end: m.end(),
            kind: SecretKind::BasicAuth,
        });
    }
}

/// `scheme://user:password@host`: only the password is replaced. The
/// authority ends at the first `/`, `?`, `#`, blank, quote or angle bracket
/// (quotes and brackets so a URL inside JSON or HTML does not run on into
/// the next field), the password runs from the first `:` to the *last* `@`
/// before that end (people paste unencoded `@` in passwords), and a `:` only
/// after the last `@` is a port.
///
/// `covered` (sorted, disjoint) are the other detections: each is skipped as
/// one opaque unit, exactly as its placeholder will be on a second pass, and
/// placeholders already in the text are skipped the same way.
fn find_url_passwords(text: &str, covered: &[Span], spans: &mut Vec<Span>) {
    let bytes = text.as_bytes();
    let mut next_cover = 0;
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find("://")) {
        let scheme_end = from + found;
        from = scheme_end + 3;
        while covered.get(next_cover).is_some_and(|c| c.end <= scheme_end) {
            next_cover += 1;
        }
        if covered.get(next_cover).is_some_and(|c| c.start < from) {
            continue;
        }
        let after_cover = next_cover > 0 && covered[next_cover - 1].end == scheme_end;
        let has_scheme = after_cover
            || scheme_end.checked_sub(1).is_some_and(|last| {
                let b = bytes[last];
                b.is_ascii_alphanumeric()
                    || matches!(b, b'+' | b'.' | b'-')
                    || (b == b']' && ends_with_placeholder(bytes, scheme_end))
            });
        if !has_scheme {
            continue;
        }
        let (mut colon, mut at) = (None, None);
        let mut i = from;
        while let Some(&b) = bytes.get(i) {
            while covered.get(next_cover).is_some_and(|c| c.end <= i) {
                next_cover += 1;
            }
            if let Some(cover) = covered.get(next_cover).filter(|c| c.start <= i) {
                i = cover.end;
                continue;
            }
            if let Some(len) = placeholder_len(bytes, i) {
                i += len;
                continue;
            }
            if b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\'
                )
            {
                break;
            }
            match b {
                b':' if colon.is_none() => colon = Some(i),
                b'@' => at = Some(i),
                _ => {}
            }
            i += 1;
        }
        from = from.max(i);
        if let (Some(colon), Some(at)) = (colon, at)
            && colon + 1 < at
            && !is_placeholders(&text[colon + 1..at])
        {
            spans.push(Span {
                start: colon + 1,
                end: at,
                kind: SecretKind::Password,
            });
        }
    }
}

/// Keeps redaction idempotent: a value that is nothing but our placeholders
/// was redacted before and must not be counted again. A value that merged with a
/// neighbouring detection comes out as two placeholders side by side, and
/// that is as redacted as one.
fn is_placeholders(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut at = 0;
    while let Some(len) = placeholder_len(bytes, at) {
        at += len;
    }
    at > 0 && at == bytes.len()
}

/// The length of the placeholder starting at `at`, if one does.
fn placeholder_len(bytes: &[u8], at: usize) -> Option<usize> {
    const PREFIX: &[u8] = b"[REDACTED:";
    let rest = bytes.get(at..)?;
    if !rest.starts_with(PREFIX) {
        return None;
    }
    let kind_len = rest[PREFIX.len()..]
        .iter()
        .take(32)
        .position(|&b| !(b.is_ascii_lowercase() || b == b'_'))?;
    (kind_len > 0 && rest.get(PREFIX.len() + kind_len) == Some(&b']'))
        .then_some(PREFIX.len() + kind_len + 1)
}

/// Whether `bytes[..end]` ends with a placeholder.
fn ends_with_placeholder(bytes: &[u8], end: usize) -> bool {
    let window = end.saturating_sub(48);
    bytes[window..end]
        .iter()
        .rposition(|&b| b == b'[')
        .is_some_and(|open| placeholder_len(bytes, window + open) == Some(end - window - open))
}

/// "Bearer authentication", "bearer instrument", "token-based": real tokens
/// are random, and a random string of eight or more characters that is all
/// lower-case letters (bar a capital first) is vanishingly rare, while such
/// words are common in tickets about authentication problems.
fn looks_like_word(token: &str) -> bool {
    let bytes = token.as_bytes();
    let inner_ok = bytes
        .iter()
        .skip(1)
        .all(|&b| b.is_ascii_lowercase() || b == b'-');
    let first_ok = bytes.first().is_some_and(u8::is_ascii_alphabetic);
    let last_ok = bytes.last().is_some_and(u8::is_ascii_alphabetic);
    first_ok && inner_ok && last_ok
}

/// `key = value` style secrets: env files, YAML, JSON, query strings, CLI
/// flags. Scanned by hand from each `=` or `:` backwards rather than with a
/// regex: a case-insensitive regex on the key words finds "pa", "se" and "pw"
/// candidates all over ordinary prose and costs several times more, and the
/// value's quoting rules need code anyway.
fn find_assignments(text: &str, spans: &mut Vec<Span>) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(operator) = find_byte(bytes, at, |b| b == b'=' || b == b':') {
        // `:=` (Go, Makefiles) and `=>` (PHP, Ruby) are single operators.
        let after_operator = match (bytes.get(operator), bytes.get(operator + 1)) {
            (Some(b':'), Some(b'=')) | (Some(b'='), Some(b'>')) => operator + 2,
            _ => operator + 1,
        };
        at = after_operator;
        let Some(kind) = key_before(bytes, operator) else {
            continue;
        };
        let value_from = after_operator
            + bytes[after_operator..]
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
        if let Some((start, end)) = assignment_value(text, value_from)
            && !is_placeholders(&text[start..end])
        {
            spans.push(Span { start, end, kind });
            at = end;
        }
    }
}

/// Whether a secret-bearing key ends just before the operator at
/// `operator`, allowing for a closing quote (JSON, YAML) and blanks between.
/// The key may carry a separated prefix (`DB_PASSWORD`,
/// `spring.datasource.password`, `client_secret`, `--password`) but must not
/// be the tail of a longer word (`bypass:`, `compass=`).
fn key_before(bytes: &[u8], operator: usize) -> Option<SecretKind> {
    let mut end = operator;
    while end > 0 && matches!(bytes[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    if end > 0 && matches!(bytes[end - 1], b'"' | b'\'' | b'`') {
        end -= 1;
    }
    // Every key word ends in one of these; most `=` and `:` in logs, URLs
    // and prose are rejected here without comparing any key.
    if !end
        .checked_sub(1)
        .is_some_and(|last| matches!(bytes[last].to_ascii_lowercase(), b'y' | b'd' | b's' | b't'))
    {
        return None;
    }
    let (start, kind) = match aws_secret_key_start(bytes, end) {
        Some(start) => (start, SecretKind::AwsSecretKey),
        None => {
            let start = [&b"password"[..], b"passwd", b"pwd", b"pass", b"secret"]
                .iter()
                .find_map(|key| strip_key_suffix(bytes, end, key))?;
            (start, SecretKind::Password)
        }
    };
    let starts_word = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
    starts_word.then_some(kind)
}

/// Matches `aws_?secret_?(access_?)?key` or `secret_?access_?key` ending at
/// `end`, backwards. A bare `secret_key` is some other system's key.
fn aws_secret_key_start(bytes: &[u8], end: usize) -> Option<usize> {
    let at = skip_underscore(bytes, strip_key_suffix(bytes, end, b"key")?);
    let (at, has_access) = match strip_key_suffix(bytes, at, b"access") {
        Some(start) => (skip_underscore(bytes, start), true),
        None => (at, false),
    };
    let secret = strip_key_suffix(bytes, at, b"secret")?;
    match strip_key_suffix(bytes, skip_underscore(bytes, secret), b"aws") {
        Some(aws) => Some(aws),
        None => has_access.then_some(secret),
    }
}

/// Where `key` starts if `bytes[..end]` ends with it, ignoring ASCII case.
fn strip_key_suffix(bytes: &[u8], end: usize, key: &[u8]) -> Option<usize> {
    let start = end.checked_sub(key.len())?;
    bytes
        .get(start..end)?
        .eq_ignore_ascii_case(key)
        .then_some(start)
}

fn skip_underscore(bytes: &[u8], at: usize) -> usize {
    if at > 0 && bytes[at - 1] == b'_' {
        at - 1
    } else {
        at
    }
}

/// Finds the value that starts at `from`. A quoted value runs to its closing
/// quote (honouring backslash escapes, as in JSON), so a passphrase with
/// spaces is removed whole; an unquoted one, or a quote never closed on its
/// line, stops at the first character that ends a value in env files, query
/// strings and CSV. Returns `None` for an empty value: `password=` alone
/// reveals nothing.
fn assignment_value(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut start = from;
    if let Some(&quote) = bytes.get(from)
        && matches!(quote, b'"' | b'\'' | b'`')
    {
        start = from + 1;
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' => i += 2,
                b'\n' | b'\r' => break,
                _ if b == quote => return (i > start).then_some((start, i)),
                _ => i += 1,
            }
        }
    }
    let end = bytes
        .get(start..)
        .and_then(|rest| rest.iter().position(|&b| ends_unquoted_value(b)))
        .map_or(bytes.len(), |at| start + at);
    (end > start).then_some((start, end))
}

fn ends_unquoted_value(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'&' | b',' | b';')
}

/// The first position at or after `from` whose byte satisfies `wanted`.
/// Most of a body matches nothing, so bytes are tested sixteen at a time
/// without early exit, which the compiler turns into vector compares; only
/// a block with a hit is searched byte by byte.
#[inline(always)]
fn find_byte(bytes: &[u8], from: usize, wanted: impl Fn(u8) -> bool) -> Option<usize> {
    const BLOCK: usize = 16;
    let rest = bytes.get(from..)?;
    let mut blocks = rest.chunks_exact(BLOCK);
    let mut base = from;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | wanted(b)) {
            return block.iter().position(|&b| wanted(b)).map(|i| base + i);
        }
        base += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| wanted(b))
        .map(|i| base + i)
}

/// Longest card number printed on any scheme's card.
const CARD_MAX_DIGITS: usize = 19;
/// Shortest card number still issued (old Visa).
const CARD_MIN_DIGITS: usize = 13;
/// Cards are printed in groups of four to six digits (only the last may be
/// shorter); demanding that keeps ISBNs, dates and lists of small numbers,
/// 10% of which pass Luhn by chance, from being taken for cards.
const CARD_MIN_INNER_GROUP: usize = 3;

/// Most groups a card window can span: every group but the last has at
/// least [`CARD_MIN_INNER_GROUP`] digits.
const CARD_MAX_GROUPS: usize = 1 + (CARD_MAX_DIGITS - 1) / CARD_MIN_INNER_GROUP;
/// Recent groups kept while scanning a run: more than a window needs, and a
/// power of two so indexing the ring is a mask rather than a division.
const CARD_RING: usize = (CARD_MAX_GROUPS + 1).next_power_of_two();

/// One group of digits in a run, with what the window search needs to know
/// about it without rereading its digits.
#[derive(Debug, Clone, Copy, Default)]
struct DigitGroup {
    start: usize,
    end: usize,
    /// The space or dash before the group (`0` for the first of a run).
    separator: u8,
    /// Digits of the run before this group.
    digits_before: usize,
    /// Luhn prefix sums of the run before this group and through its end:
    /// `[p]` doubles the digits whose position in the run has parity `p`.
    /// Which parity a check wants depends on where the number ends, so both
    /// are kept, and any window's Luhn sum is then one subtraction.
    luhn_before: [u32; 2],
    luhn_through: [u32; 2],
    /// Runs straight into a word character, so cannot end a card.
    glued_after: bool,
}

impl DigitGroup {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn digits_through(&self) -> usize {
        self.digits_before + self.len()
    }
}

/// Scanned by hand rather than with a regex: digit-heavy bodies (log
/// excerpts, CSV exports) are exactly where a regex restarts on every digit.
/// A run (digit groups joined by single spaces or dashes) is read once,
/// group by group, into a small ring; a card is some consecutive groups of
/// it, and since a card spans at most [`CARD_MAX_GROUPS`] groups, each
/// candidate start can be decided as soon as that many groups after it are
/// known. Nothing is allocated and the work is linear in the text.
fn find_card_numbers(text: &str, spans: &mut Vec<Span>) {
    let bytes = text.as_bytes();
    let mut ring = [DigitGroup::default(); CARD_RING];
    let mut at = 0;
    while let Some(run_start) = find_byte(bytes, at, |b| b.is_ascii_digit()) {
        // Most digits in tickets are years, times, ticket and phone numbers:
        // runs too short to hold a card are skipped after one cheap pass.
        let (run_end, run_digits) = digit_run(bytes, run_start);
        if run_digits < CARD_MIN_DIGITS {
            at = run_end;
            continue;
        }
        // Digits glued to letters belong to an identifier (a hash, a SKU),
        // not to a card number.
        let glued_before = text[..run_start]
            .chars()
            .next_back()
            .is_some_and(is_word_char);
        let mut next_start = usize::from(glued_before);
        let mut pushed = 0;
        let mut group = DigitGroup {
            start: run_start,
            ..DigitGroup::default()
        };
        loop {
            // Plain locals rather than the array, so the sums stay in
            // registers instead of round-tripping through the stack.
            let [mut even, mut odd] = group.luhn_before;
            let mut position = group.digits_before;
            group.end = group.start;
            while let Some(&b) = bytes.get(group.end).filter(|b| b.is_ascii_digit()) {
                let d = u32::from(b - b'0');
                let doubled = if d > 4 { 2 * d - 9 } else { 2 * d };
                let (to_even, to_odd) = if position & 1 == 0 {
                    (doubled, d)
                } else {
                    (d, doubled)
                };
                even = even.wrapping_add(to_even);
                odd = odd.wrapping_add(to_odd);
                position += 1;
                group.end += 1;
            }
            group.luhn_through = [even, odd];
            let separator = run_continues(bytes, group.end);
            group.glued_after =
                separator.is_none() && text[group.end..].chars().next().is_some_and(is_word_char);
            ring[pushed % CARD_RING] = group;
            pushed += 1;

            let decidable = if separator.is_some() {
                (pushed + 1).saturating_sub(CARD_MAX_GROUPS)
            } else {
                pushed
            };
            while next_start < decidable {
                // No card starts with a short group: a lone group would have
                // to hold all 13 digits.
                if ring[next_start % CARD_RING].len() < CARD_MIN_INNER_GROUP {
                    next_start += 1;
                    continue;
                }
                match longest_card_window(&ring, next_start, pushed) {
                    Some(last) => {
                        spans.push(Span {
                            start: ring[next_start % CARD_RING].start,
                            end: ring[last % CARD_RING].end,
                            kind: SecretKind::CardNumber,
                        });
                        next_start = last + 1;
                    }
                    None => next_start += 1,
                }
            }

            let Some(separator) = separator else {
                at = group.end;
                break;
            };
            group = DigitGroup {
                start: group.end + 1,
                end: group.end + 1,
                separator,
                digits_before: group.digits_through(),
                luhn_before: group.luhn_through,
                luhn_through: group.luhn_through,
                glued_after: false,
            };
        }
    }
}

/// The last group (as a run index) of the longest card number that starts
/// at group `first` of the run, given groups up to `pushed` are in `ring`.
/// Longest rather than shortest because a 19-digit card whose first 16
/// digits happen to pass Luhn must not keep its last three digits visible.
fn longest_card_window(
    ring: &[DigitGroup; CARD_RING],
    first: usize,
    pushed: usize,
) -> Option<usize> {
    let start = ring[first % CARD_RING];
    let mut best = None;
    for j in first..pushed.min(first + CARD_MAX_GROUPS) {
        let group = ring[j % CARD_RING];
        if j > first {
            if ring[(j - 1) % CARD_RING].len() < CARD_MIN_INNER_GROUP {
                break;
            }
            // Mixed separators mean two different numbers side by side.
            if j > first + 1 && group.separator != ring[(first + 1) % CARD_RING].separator {
                break;
            }
        }
        let digits = group.digits_through() - start.digits_before;
        if digits > CARD_MAX_DIGITS {
            break;
        }
        // The check digit (the last) is never doubled, so the doubled digits
        // are those whose position has the parity of the end.
        let parity = group.digits_through() & 1;
        let sum = group.luhn_through[parity].wrapping_sub(start.luhn_before[parity]);
        if digits >= CARD_MIN_DIGITS && !group.glued_after && sum.is_multiple_of(10) {
            best = Some(j);
        }
    }
    best
}

/// Where the run of digit groups starting at `start` ends, and how many
/// digits it holds.
fn digit_run(bytes: &[u8], start: usize) -> (usize, usize) {
    let mut at = start;
    let mut digits = 0;
    loop {
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
            digits += 1;
        }
        if run_continues(bytes, at).is_none() {
            return (at, digits);
        }
        at += 1;
    }
}

/// The separator at `at` if another digit group follows it.
fn run_continues(bytes: &[u8], at: usize) -> Option<u8> {
    match (bytes.get(at), bytes.get(at + 1)) {
        (Some(&sep @ (b' ' | b'-')), Some(next)) if next.is_ascii_digit() => Some(sep),
        _ => None,
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;
    use SecretKind::*;
    use proptest::prelude::*;

    /// The textbook Luhn check, as a reference for the incremental one.
    fn passes_luhn(number: &[u8]) -> bool {
        let mut sum = 0u32;
        let mut double = false;
        for &b in number.iter().rev().filter(|b| b.is_ascii_digit()) {
            let mut d = u32::from(b - b'0');
            if double {
                d *= 2;
                if d > 9 {
                    d -= 9;
                }
            }
            sum += d;
            double = !double;
        }
        sum.is_multiple_of(10)
    }

    /// The card rule written the slow, obvious way, as a model for the
    /// streaming scanner: every run split into a list of groups, every
    /// window of it tried, the longest valid one taken from each start.
    fn card_spans_by_brute_force(text: &str) -> Vec<(usize, usize)> {
        let bytes = text.as_bytes();
        let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let mut spans = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            // (start, end, separator before)
            let mut groups: Vec<(usize, usize, u8)> = Vec::new();
            let (mut j, mut separator) = (i, 0);
            loop {
                let start = j;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                groups.push((start, j, separator));
                if j + 1 < bytes.len()
                    && matches!(bytes[j], b' ' | b'-')
                    && bytes[j + 1].is_ascii_digit()
                {
                    separator = bytes[j];
                    j += 1;
                } else {
                    break;
                }
            }
            let lo = usize::from(glued(text[..i].chars().next_back()));
            let hi = groups.len() - usize::from(glued(text[j..].chars().next()));
            let mut g = lo;
            while g < hi {
                let valid = |e: usize| {
                    let window = &groups[g..=e];
                    let digits: usize = window.iter().map(|w| w.1 - w.0).sum();
                    let inner = window[..window.len() - 1].iter().all(|w| w.1 - w.0 >= 3);
                    let separators = window[1..].iter().all(|w| w.2 == window[1].2);
                    (13..=19).contains(&digits)
                        && inner
                        && separators
                        && passes_luhn(&bytes[window[0].0..window[window.len() - 1].1])
                };
                match (g..hi).rev().find(|&e| valid(e)) {
                    Some(e) => {
                        spans.push((groups[g].0, groups[e].1));
                        g = e + 1;
                    }
                    None => g += 1,
                }
            }
            i = j;
        }
        spans
    }

    const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\n\
                       MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n\
                       aFDrBz9vFqU4yYqBqJcCxMzXqZ7x6nS2d8y1uQ==\n\
                       -----END RSA PRIVATE KEY-----";

    #[test]
    fn a_value_extended_into_a_later_secret_is_redacted_to_its_end() {
        // The value's first card extends the redaction to the next space,
        // inside the second card, which then ends it before the `-`.
        let once = redact("password=4111 1111 1111 1111[REDACTED:password]4111 1111 1111 1111-");
        assert_eq!(once.text, "password=[REDACTED:password]");
        assert_eq!(redact(&once.text).text, once.text);
    }

    #[test]
    fn a_value_that_runs_past_another_secret_is_redacted_to_its_end() {
        let text = "password=-----BEGIN PRIVATE KEY----------END PRIVATE KEY-----A next";
        let once = redact(text);
        assert_eq!(once.text, "password=[REDACTED:private_key] next");
        assert!(redact(&once.text).is_clean());
    }

    #[test]
    fn detects_each_kind() {
        let ghp = format!("ghp_{}", "a1B2c3D4e5".repeat(4));
        let cases: Vec<(String, String, Vec<SecretKind>)> = vec![
            // Passwords, in the forms they get pasted in.
            (
                "password=hunter2".into(),
                "password=[REDACTED:password]".into(),
                vec![Password],
            ),
            (
                "PASSWORD: hunter2".into(),
                "PASSWORD: [REDACTED:password]".into(),
                vec![Password],
            ),
            (
                "passwd = 's3cr3t'".into(),
                "passwd = '[REDACTED:password]'".into(),
                vec![Password],
            ),
            (
                "pwd:abc&next=1".into(),
                "pwd:[REDACTED:password]&next=1".into(),
                vec![Password],
            ),
            (
                "?user=bob&pass=xyz;".into(),
                "?user=bob&pass=[REDACTED:password];".into(),
                vec![Password],
            ),
            (
                "Secret=abc, then".into(),
                "Secret=[REDACTED:password], then".into(),
                vec![Password],
            ),
            (
                "client_secret: \"q9Xz\"".into(),
                "client_secret: \"[REDACTED:password]\"".into(),
                vec![Password],
            ),
            (
                r#"{"password": "correct horse battery staple", "user": "bob"}"#.into(),
                r#"{"password": "[REDACTED:password]", "user": "bob"}"#.into(),
                vec![Password],
            ),
            (
                r#"{"password":"a\"b c"}"#.into(),
                r#"{"password":"[REDACTED:password]"}"#.into(),
                vec![Password],
            ),
            (
                "DB_PASSWORD=pg-pass-1".into(),
                "DB_PASSWORD=[REDACTED:password]".into(),
                vec![Password],
            ),
            (
                "spring.datasource.password=x".into(),
                "spring.datasource.password=[REDACTED:password]".into(),
                vec![Password],
            ),
            (
                "mysql --password=x1 db".into(),
                "mysql --password=[REDACTED:password] db".into(),
                vec![Password],
            ),
            (
                "password: \"unterminated".into(),
                "password: \"[REDACTED:password]".into(),
                vec![Password],
            ),
            (
                "pass=naïve-ünïcode end".into(),
                "pass=[REDACTED:password] end".into(),
                vec![Password],
            ),
            (
                "$db = ['password' => 'x y'];".into(),
                "$db = ['password' => '[REDACTED:password]'];".into(),
                vec![Password],
            ),
            (
                "pass := `go`".into(),
                "pass := `[REDACTED:password]`".into(),
                vec![Password],
            ),
            (
                "PWD=abc\r\nnext".into(),
                "PWD=[REDACTED:password]\r\nnext".into(),
                vec![Password],
            ),
            // Bearer tokens.
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x".into(),
                "Authorization: Bearer [REDACTED:bearer_token]".into(),
                vec![BearerToken],
            ),
            (
                "bearer abc123def456.".into(),
                "bearer [REDACTED:bearer_token].".into(),
                vec![BearerToken],
            ),
            (
                "BEARER\tAbCdEfGhIj".into(),
                "BEARER\t[REDACTED:bearer_token]".into(),
                vec![BearerToken],
            ),
            // AWS.
            (
                "key AKIAIOSFODNN7EXAMPLE in use".into(),
                "key [REDACTED:aws_access_key] in use".into(),
                vec![AwsAccessKey],
            ),
            (
                "ASIAY34FZKBOKMUTVV7A".into(),
                "[REDACTED:aws_access_key]".into(),
                vec![AwsAccessKey],
            ),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                "aws_secret_access_key = [REDACTED:aws_secret_key]".into(),
                vec![AwsSecretKey],
            ),
            (
                "export AWS_SECRET_ACCESS_KEY=abc/def+ghi".into(),
                "export AWS_SECRET_ACCESS_KEY=[REDACTED:aws_secret_key]".into(),
                vec![AwsSecretKey],
            ),
            (
                r#""SecretAccessKey": "abc/def+ghi","#.into(),
                r#""SecretAccessKey": "[REDACTED:aws_secret_key]","#.into(),
                vec![AwsSecretKey],
            ),
            // Private keys.
            (
                format!("key:\n{PEM}\nthanks"),
                "key:\n[REDACTED:private_key]\nthanks".into(),
                vec![PrivateKey],
            ),
            (
                "a -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- b".into(),
                "a [REDACTED:private_key] b".into(),
                vec![PrivateKey],
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"
                    .into(),
                "[REDACTED:private_key]".into(),
                vec![PrivateKey],
            ),
            (
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n-----END PGP PRIVATE KEY BLOCK-----!"
                    .into(),
                "[REDACTED:private_key]!".into(),
                vec![PrivateKey],
            ),
            (
                "see: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE password=x\n(truncated)".into(),
                "see: [REDACTED:private_key]".into(),
                vec![PrivateKey],
            ),
            // Card numbers.
            (
                "card 4111111111111111 exp 12/29".into(),
                "card [REDACTED:card_number] exp 12/29".into(),
                vec![CardNumber],
            ),
            (
                "5500 0000 0000 0004".into(),
                "[REDACTED:card_number]".into(),
                vec![CardNumber],
            ),
            (
                "amex 3782-822463-10005.".into(),
                "amex [REDACTED:card_number].".into(),
                vec![CardNumber],
            ),
            (
                "(378282246310005)".into(),
                "([REDACTED:card_number])".into(),
                vec![CardNumber],
            ),
            (
                "4111-1111-1111-1111 1234".into(),
                "[REDACTED:card_number] 1234".into(),
                vec![CardNumber],
            ),
            // API tokens.
            (
                format!("token {ghp} here"),
                "token [REDACTED:api_token] here".into(),
                vec![ApiToken],
            ),
            (
                format!("gho_{}", "Z".repeat(36)),
                "[REDACTED:api_token]".into(),
                vec![ApiToken],
            ),
            (
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnop".into(),
                "[REDACTED:api_token]".into(),
                vec![ApiToken],
            ),
            (
                "xoxb-1234567890-abcdef".into(),
                "[REDACTED:api_token]".into(),
                vec![ApiToken],
            ),
            (
                "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc".into(),
                "stripe [REDACTED:api_token]".into(),
                vec![ApiToken],
            ),
            // Overlaps merge into one redaction named by the specific shape.
            (
                format!("password={ghp}"),
                "password=[REDACTED:api_token]".into(),
                vec![ApiToken],
            ),
            (
                format!("Bearer abc.{ghp}"),
                "Bearer [REDACTED:api_token]".into(),
                vec![ApiToken],
            ),
        ];
        for (input, expected, kinds) in cases {
            let got = redact(&input);
            assert_eq!(got.text, expected, "input: {input:?}");
            assert_eq!(got.found, kinds, "input: {input:?}");
            assert!(!got.is_clean());
        }
    }

    #[test]
    fn detects_url_and_basic_credentials() {
        let cases: &[(&str, &str, &[SecretKind])] = &[
            // Passwords in URLs: only the password goes.
            (
                "postgres://app:s3cret@db:5432/x",
                "postgres://app:[REDACTED:password]@db:5432/x",
                &[Password],
            ),
            (
                "redis://:hunter2@cache:6379/0",
                "redis://:[REDACTED:password]@cache:6379/0",
                &[Password],
            ),
            (
                "git+ssh://deploy:pa:ss@w0rd@git.example.com/repo.git",
                "git+ssh://deploy:[REDACTED:password]@git.example.com/repo.git",
                &[Password],
            ),
            (
                "see https://bob:x@example.com?q=1 and ftp://u:y@h#frag",
                "see https://bob:[REDACTED:password]@example.com?q=1 and ftp://u:[REDACTED:password]@h#frag",
                &[Password, Password],
            ),
            (
                r#"{"url":"amqp://guest:guest@mq","email":"bob@example.com"}"#,
                r#"{"url":"amqp://guest:[REDACTED:password]@mq","email":"bob@example.com"}"#,
                &[Password],
            ),
            (
                "mongodb+srv://u:pässwörd@cluster0.mongodb.net",
                "mongodb+srv://u:[REDACTED:password]@cluster0.mongodb.net",
                &[Password],
            ),
            (
                "DATABASE_URL=postgres://app:pw@db/x",
                "DATABASE_URL=postgres://app:[REDACTED:password]@db/x",
                &[Password],
            ),
            (
                "https://AKIAIOSFODNN7EXAMPLE:key@s3.example.com/",
                "https://[REDACTED:aws_access_key]:[REDACTED:password]@s3.example.com/",
                &[AwsAccessKey, Password],
            ),
            // A spaced card inside the password is still one redaction.
            (
                "x://u:p-4111 1111 1111 1111@h",
                "x://u:[REDACTED:password]@h",
                &[Password],
            ),
            // HTTP Basic.
            (
                "Authorization: Basic dXNlcjpwYXNz",
                "Authorization: Basic [REDACTED:basic_auth]",
                &[BasicAuth],
            ),
            (
                "curl -H 'authorization: BASIC YWxhZGRpbjpvcGVuc2VzYW1l==' x",
                "curl -H 'authorization: BASIC [REDACTED:basic_auth]' x",
                &[BasicAuth],
            ),
            (
                "basic\tQWxhZGRpbjpvcGVuIHNlc2FtZQ==.",
                "basic\t[REDACTED:basic_auth].",
                &[BasicAuth],
            ),
        ];
        for &(input, expected, kinds) in cases {
            let got = redact(input);
            assert_eq!(got.text, expected, "input: {input:?}");
            assert_eq!(got.found, kinds, "input: {input:?}");
            let again = redact(&got.text);
            assert_eq!(again.text, got.text, "input: {input:?}");
            assert!(again.is_clean(), "input: {input:?} found {:?}", again.found);
        }
    }

    #[test]
    fn leaves_url_and_basic_lookalikes_alone() {
        let cases = [
            "https://example.com:8443/path",
            "https://example.com:8443/path?user=a:b@c",
            "https://example.com/users/bob:x@y",
            "mailto:bob@example.com",
            "ssh://git@github.com:22/org/repo",
            "git@github.com:org/repo.git",
            "postgres://app:@db/x",
            "postgres://app:[REDACTED:password]@db:5432/x",
            "https://example.com:443 contact bob@example.com",
            r#"{"a":"https://example.com","b":"bob@example.com"}"#,
            " ://u:p@h",
            "http://",
            "://",
            "basic auth is disabled",
            "Basic setup",
            "Basic authentication is off",
            "BASIC CONFIGURATION",
            "basic [REDACTED:basic_auth]",
            "Authorization: Basic [REDACTED:basic_auth]",
            "basically dXNlcjpwYXNz",
        ];
        for input in cases {
            let got = redact(input);
            assert_eq!(got.text, input);
            assert!(got.is_clean(), "input: {input:?} found {:?}", got.found);
        }
    }

    #[test]
    fn url_and_basic_scans_stay_linear() {
        let bodies = [
            "a://b:c".repeat(10_000),
            "x://:".repeat(13_000) + "@",
            "@:".repeat(30_000),
            "Basic ".repeat(10_000),
            "[REDACTED:".repeat(6_000),
        ];
        for body in bodies {
            let started = std::time::Instant::now();
            let once = redact(&body);
            assert!(redact(&once.text).text == once.text);
            // Generous even for a debug build; quadratic would take seconds.
            assert!(started.elapsed() < std::time::Duration::from_millis(500));
        }
    }

    #[test]
    fn leaves_lookalikes_alone() {
        let cases = [
            "the password policy requires 12 characters",
            "Please reset my password",
            "password:",
            "password= ",
            "password=\"\"",
            "bypass: the proxy",
            "passage: chapter 3",
            "compass=north",
            "the secret sauce",
            "the bearer of bad news",
            "Bearer authentication fails since Monday.",
            "bearer token-based login",
            "order 1234567890123",
            "order 1234 5678 9012 3456",
            "call +1 555-123-4567 or +44 20 7946 0958",
            "ISBN 978-0-306-40615-7",
            "ISBN 978-3-16-148410-0",
            "ISBN 9780306406157",
            "commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            "build deadbeef4111111111111111",
            "sku 4111111111111111x",
            "id_4111111111111111",
            "12345678901234567890123",
            "AKIAIOSFODNN7EXAMPLEX",
            "xAKIAIOSFODNN7EXAMPLE",
            "ghp_tooshort",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "",
            "日本語のテキスト、パスワードなし",
        ];
        for input in cases {
            let got = redact(input);
            assert_eq!(got.text, input);
            assert!(got.is_clean(), "input: {input:?} found {:?}", got.found);
        }
    }

    #[test]
    fn counts_multiple_secrets_in_order() {
        let input = format!(
            "card 4111111111111111, password=hunter2 and AKIAIOSFODNN7EXAMPLE\n{PEM}\n\
             pwd: again; Bearer abcdef123456 and 378282246310005"
        );
        let got = redact(&input);
        assert_eq!(
            got.text,
            "card [REDACTED:card_number], password=[REDACTED:password] and [REDACTED:aws_access_key]\n\
             [REDACTED:private_key]\npwd: [REDACTED:password]; Bearer [REDACTED:bearer_token] and \
             [REDACTED:card_number]"
        );
        assert_eq!(
            got.found,
            [
                CardNumber,
                Password,
                AwsAccessKey,
                PrivateKey,
                Password,
                BearerToken,
                CardNumber
            ]
        );
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let inputs = [
            "password=hunter2 pass='a b' secret: \"x\"",
            "Bearer abcdefgh12345678 and Bearer [REDACTED:bearer_token]",
            "AKIAIOSFODNN7EXAMPLE 4111 1111 1111 1111 5500-0000-0000-0004",
            "aws_secret_access_key=abc password=[REDACTED:api_token]",
            PEM,
            "-----BEGIN PRIVATE KEY-----\nunterminated",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc_password=x",
        ];
        for input in inputs {
            let once = redact(input);
            assert!(!once.is_clean(), "input: {input:?}");
            let twice = redact(&once.text);
            assert_eq!(twice.text, once.text, "input: {input:?}");
            assert!(twice.is_clean(), "input: {input:?} found {:?}", twice.found);
        }
    }

    #[test]
    fn clean_text_is_returned_verbatim() {
        let body = "Printer on floor 3 jams on every second page. ".repeat(1500);
        let got = redact(&body);
        assert_eq!(got.text, body);
        assert!(got.is_clean());
    }

    #[test]
    fn kind_names_match_serde() {
        for kind in [
            Password,
            BearerToken,
            AwsAccessKey,
            AwsSecretKey,
            PrivateKey,
            CardNumber,
            ApiToken,
            BasicAuth,
        ] {
            let json = serde_json::to_string(&kind).expect("serialises");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.placeholder(), format!("[REDACTED:{kind}]"));
        }
    }

    /// A card number of 13 to 19 digits with a valid Luhn check digit.
    fn card_number() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!['3', '4', '5', '6']),
            prop::collection::vec(0u8..10, 11..=17),
        )
            .prop_map(|(first, rest)| {
                let mut digits: Vec<u8> = std::iter::once(first as u8 - b'0').chain(rest).collect();
                // Find the check digit by trying all ten: simple and obviously right.
                let check = (0..10u8)
                    .find(|&c| {
                        let mut s: Vec<u8> = digits.iter().map(|d| d + b'0').collect();
                        s.push(c + b'0');
                        passes_luhn(&s)
                    })
                    .expect("some check digit works");
                digits.push(check);
                digits.iter().map(|d| char::from(d + b'0')).collect()
            })
    }

    /// Prints a card the way people type them: bare, or in groups of four.
    fn formatted(card: &str, separator: Option<char>) -> String {
        let Some(sep) = separator else {
            return card.to_owned();
        };
        let mut out = String::new();
        for (i, c) in card.chars().enumerate() {
            if i > 0 && i.is_multiple_of(4) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    fn noise() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[a-zA-Z0-9 =:._&-]{0,30}", "[0-9 -]{0,12}"]
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(text in any::<String>()) {
            let once = redact(&text);
            let twice = redact(&once.text);
            prop_assert_eq!(&twice.text, &once.text);
            prop_assert!(twice.is_clean());
        }

        #[test]
        fn never_panics_and_is_idempotent_on_secretish_text(
            text in r#"([a-zA-Z0-9 =:'"\\\n._&;,/+-]|password|Bearer |AKIA|ghp_|-----BEGIN |PRIVATE KEY-----|-----END |é|日){0,40}"#
        ) {
            let once = redact(&text);
            let twice = redact(&once.text);
            prop_assert_eq!(&twice.text, &once.text);
            prop_assert!(twice.is_clean(), "found {:?} in {:?}", twice.found, once.text);
        }

        #[test]
        fn never_panics_and_is_idempotent_on_urlish_text(
            text in r#"([a-z0-9 :@/?#'"\n.+-]|://|postgres://|\[REDACTED:password\]|password=|Basic |dXNlcjpwYXNz|4111 1111 1111 1111|AKIAIOSFODNN7EXAMPLE|-----BEGIN PRIVATE KEY-----|é){0,40}"#
        ) {
            let once = redact(&text);
            let twice = redact(&once.text);
            prop_assert_eq!(&twice.text, &once.text);
            prop_assert!(twice.is_clean(), "found {:?} in {:?}", twice.found, once.text);
        }

        #[test]
        fn card_scanner_matches_brute_force(
            text in prop_oneof!["[0-9 x-]{0,200}", "([0-9]{1,7}[ -]){0,24}[0-9]{0,7}"]
        ) {
            let mut spans = Vec::new();
            find_card_numbers(&text, &mut spans);
            let got: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.end)).collect();
            prop_assert_eq!(got, card_spans_by_brute_force(&text), "{:?}", text);
        }

        #[test]
        fn digit_runs_are_cards_exactly_when_luhn_passes(digits in "[0-9]{13,19}") {
            let got = redact(&format!("ref {digits}."));
            let expected = passes_luhn(digits.as_bytes());
            prop_assert_eq!(got.found == [CardNumber], expected, "{}", digits);
        }

        #[test]
        fn valid_cards_never_survive(
            left in noise(),
            right in noise(),
            card in card_number(),
            separator in prop::option::of(prop::sample::select(vec![' ', '-'])),
        ) {
            let printed = formatted(&card, separator);
            let text = format!("{left} {printed} {right}");
            let got = redact(&text);
            prop_assert!(!got.text.contains(&printed), "{:?} -> {:?}", text, got.text);
            prop_assert!(!got.is_clean());
        }
    }
}
