//! Label matchers in Alertmanager's syntax.
//!
//! People already write these in `amtool`, in Alertmanager's routing tree and
//! in Grafana, so silences, routes and inhibition rules use the same text:
//!
//! ```text
//! alertname="HighLatency"          equal
//! env!="staging"                   not equal
//! instance=~"db-[0-9]+"            regex, anchored at both ends
//! job!~"node|blackbox"             negated regex
//! {severity="critical", team=~"db|infra"}   a list (braces optional)
//! ```
//!
//! The rules, matching Alertmanager's:
//!
//! * a name is a Prometheus label name, `[a-zA-Z_][a-zA-Z0-9_]*`;
//! * a value is double-quoted, or unquoted when it has no white space and
//!   none of `{ } , " = ~ !`. In a quoted value `\"` is a quote, `\\` a
//!   backslash and `\n` a newline; any other backslash is kept as it is, so
//!   `"a\.b"` is the regex `a\.b`;
//! * a regex must match the *whole* value: `=~"db"` is `^(?:db)$`, and does not
//!   match `db-1`;
//! * a label that an alert does not have has the value `""`: `team=""`
//!   matches alerts without `team`, and `team!=""` those that have one;
//! * white space around names, operators, values, commas and braces is
//!   ignored, and a trailing comma is allowed.
//!
//! Display always writes the quoted, escaped form, so parse → display →
//! parse gives back an equal matcher.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Labels;
use super::limits::{
    LABEL_NAME_MAX_BYTES, MATCHER_REGEX_SIZE_LIMIT, MATCHER_VALUE_MAX_BYTES, MAX_MATCHERS,
};

/// The four comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    pub const ALL: [MatchOp; 4] = [
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::Regex,
        MatchOp::NotRegex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }

    fn is_regex(self) -> bool {
        matches!(self, MatchOp::Regex | MatchOp::NotRegex)
    }
}

str_names!(MatchOp, "matcher operator");

/// Why a matcher text was refused, and where (a 1-based character column
/// into the text, so an editor can point at it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct MatcherError {
    pub column: usize,
    pub message: String,
}

/// One `name op value` condition on an alert's labels.
#[derive(Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    /// Compiled once, anchored; `Some` exactly for the regex operators.
    regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher, checking the name, the value's length and (for the
    /// regex operators) that the value compiles.
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Matcher, MatcherError> {
        let name = name.into();
        let value = value.into();
        if !super::limits::is_label_name(&name) {
            return Err(MatcherError {
                column: 1,
                message: format!("{name:?} is not a valid label name"),
            });
        }
        Self::build(name, op, value, 1, 1)
    }

    /// `name_column` and `value_column` only place errors.
    fn build(
        name: String,
        op: MatchOp,
        value: String,
        name_column: usize,
        value_column: usize,
    ) -> Result<Matcher, MatcherError> {
        if name.len() > LABEL_NAME_MAX_BYTES {
            return Err(MatcherError {
                column: name_column,
                message: format!(
                    "label name is {} bytes long; the limit is {LABEL_NAME_MAX_BYTES}",
                    name.len()
                ),
            });
        }
        if value.len() > MATCHER_VALUE_MAX_BYTES {
            return Err(MatcherError {
                column: value_column,
                message: format!(
                    "value is {} bytes long; the limit is {MATCHER_VALUE_MAX_BYTES}",
                    value.len()
                ),
            });
        }
        let regex = if op.is_regex() {
            let anchored = format!("^(?:{value})$");
            match RegexBuilder::new(&anchored)
                .size_limit(MATCHER_REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(re) => Some(re),
                Err(e) => {
                    return Err(MatcherError {
                        column: value_column,
                        message: format!("invalid regular expression for {name:?}: {e}"),
                    });
                }
            }
        } else {
            None
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value as written (for regexes: without the anchors).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value satisfies the matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // Unreachable by construction; refusing to match is the safe
            // answer for a silence or an inhibition.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// Whether the alert's labels satisfy the matcher; a missing label reads
    /// as `""`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }

    /// Whether the matcher accepts the empty value, i.e. also matches alerts
    /// that lack the label. A silence made only of such matchers would
    /// silence everything, so it is refused (as Alertmanager does).
    pub fn matches_empty(&self) -> bool {
        self.matches_value("")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Hash for Matcher {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.op.hash(state);
        self.value.hash(state);
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Matcher({self})")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        f.write_str(self.op.as_str())?;
        write_quoted(f, &self.value)
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in value.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\n' => f.write_str("\\n")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

impl FromStr for Matcher {
    type Err = MatcherError;

    /// Exactly one matcher (braces are not allowed here; use [`Matchers`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = Parser::new(s);
        p.skip_ws();
        let m = p.matcher()?;
        p.skip_ws();
        if !p.at_end() {
            return Err(p.error("unexpected text after the matcher"));
        }
        Ok(m)
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A list of matchers that must all hold. The empty list matches every
/// alert (a catch-all route); silences and inhibition rules refuse it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Matchers(Vec<Matcher>);

impl Matchers {
    /// A list from matchers already built; fails past [`MAX_MATCHERS`].
    pub fn new(matchers: Vec<Matcher>) -> Result<Matchers, MatcherError> {
        if matchers.len() > MAX_MATCHERS {
            return Err(MatcherError {
                column: 1,
                message: format!("{} matchers; the limit is {MAX_MATCHERS}", matchers.len()),
            });
        }
        Ok(Matchers(matchers))
    }

    /// Whether every matcher holds (true for the empty list).
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|m| m.matches(labels))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Matcher> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the list also matches an alert with no labels at all, i.e.
    /// every matcher accepts `""`. Such a list would match everything.
    pub fn matches_empty_alert(&self) -> bool {
        self.0.iter().all(Matcher::matches_empty)
    }
}

impl<'a> IntoIterator for &'a Matchers {
    type Item = &'a Matcher;
    type IntoIter = std::slice::Iter<'a, Matcher>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Matchers {
    /// `{a="b", c=~"d.*"}`; the empty list is `{}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

impl FromStr for Matchers {
    type Err = MatcherError;

    /// A comma-separated list, in braces or not; `""` and `{}` are the empty
    /// list.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = Parser::new(s);
        p.skip_ws();
        let braced = p.eat('{');
        let mut list = Vec::new();
        loop {
            p.skip_ws();
            if p.at_end() || (braced && p.peek() == Some('}')) {
                break;
            }
            if list.len() == MAX_MATCHERS {
                return Err(p.error(&format!("more than {MAX_MATCHERS} matchers")));
            }
            list.push(p.matcher()?);
            p.skip_ws();
            if !p.eat(',') {
                break;
            }
        }
        p.skip_ws();
        if braced && !p.eat('}') {
            return Err(p.error(if p.at_end() {
                "missing closing '}'"
            } else {
                "expected ',' or '}' after a matcher"
            }));
        }
        p.skip_ws();
        if !p.at_end() {
            return Err(p.error(if braced {
                "unexpected text after '}'"
            } else {
                "expected ',' after a matcher"
            }));
        }
        Ok(Matchers(list))
    }
}

impl Serialize for Matchers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matchers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A cursor over the text; positions are byte offsets, reported as
/// character columns.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn column_at(&self, pos: usize) -> usize {
        self.text[..pos].chars().count() + 1
    }

    fn error(&self, message: &str) -> MatcherError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, pos: usize, message: &str) -> MatcherError {
        MatcherError {
            column: self.column_at(pos),
            message: message.to_string(),
        }
    }

    fn matcher(&mut self) -> Result<Matcher, MatcherError> {
        let name_pos = self.pos;
        let name = self.name()?;
        self.skip_ws();
        let op = self.op()?;
        self.skip_ws();
        let value_pos = self.pos;
        let value = self.value()?;
        Matcher::build(
            name,
            op,
            value,
            self.column_at(name_pos),
            self.column_at(value_pos),
        )
    }

    fn name(&mut self) -> Result<String, MatcherError> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return Err(match self.peek() {
                None => self.error("expected a label name, found the end"),
                Some(c) if c.is_ascii_digit() => {
                    self.error("a label name must not start with a digit")
                }
                Some(c) => self.error(&format!(
                    "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*), found {c:?}"
                )),
            });
        }
        self.pos += len;
        Ok(rest[..len].to_string())
    }

    fn op(&mut self) -> Result<MatchOp, MatcherError> {
        let rest = self.rest();
        // Two-character operators first, so `=~` is not read as `=` `~...`.
        let op = if rest.starts_with("=~") {
            MatchOp::Regex
        } else if rest.starts_with("!~") {
            MatchOp::NotRegex
        } else if rest.starts_with("!=") {
            MatchOp::NotEqual
        } else if rest.starts_with('=') {
            MatchOp::Equal
        } else {
            return Err(self.error("expected an operator: =, !=, =~ or !~"));
        };
        self.pos += op.as_str().len();
        Ok(op)
    }

    fn value(&mut self) -> Result<String, MatcherError> {
        if self.eat('"') {
            return self.quoted();
        }
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(_, c)| c.is_whitespace() || "{},\"=~!".contains(c))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return Err(match self.peek() {
                None | Some(',') | Some('}') => {
                    self.error("expected a value (write \"\" for the empty value)")
                }
                Some(c) => self.error(&format!(
                    "{c:?} cannot start an unquoted value; put the value in double quotes"
                )),
            });
        }
        self.pos += len;
        Ok(rest[..len].to_string())
    }

    /// After the opening quote: up to the closing one, unescaping.
    fn quoted(&mut self) -> Result<String, MatcherError> {
        let start = self.pos - 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    // Other escapes stay as written, so regexes like
                    // "a\.b" mean what they look like.
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(self.error_at(start, "unterminated quoted value (missing closing '\"')"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored() {
        let m: Matcher = r#"instance=~"db""#.parse().expect("valid");
        assert!(m.matches_value("db"));
        assert!(!m.matches_value("db-1"));
        assert!(!m.matches_value("a-db"));
        let alt: Matcher = r#"job=~"a|b""#.parse().expect("valid");
        // Without the group `^a|b$` would match "ax".
        assert!(!alt.matches_value("ax"));
        assert!(alt.matches_value("b"));
    }

    #[test]
    fn missing_label_reads_as_empty() {
        let labels = Labels::new();
        assert!(
            "team=\"\""
                .parse::<Matcher>()
                .expect("valid")
                .matches(&labels)
        );
        assert!(
            !"team!=\"\""
                .parse::<Matcher>()
                .expect("valid")
                .matches(&labels)
        );
        assert!(
            "team!~\"db\""
                .parse::<Matcher>()
                .expect("valid")
                .matches(&labels)
        );
    }
}
