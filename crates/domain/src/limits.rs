//! Explicit limits on what a client may send. Checked at the domain level so
//! every front end (API, CLI, web) refuses the same input with the same words.

use crate::FieldError;

/// Longest title, in characters (not bytes): a title is a line, not a document.
pub const TITLE_MAX_CHARS: usize = 200;
/// Largest description or comment body, in bytes.
pub const BODY_MAX_BYTES: usize = 64 * 1024;
/// Most tags on one ticket.
pub const TAGS_MAX: usize = 20;
/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 50;
/// Longest short text (names, categories, codes, reasons), in characters.
pub const SHORT_TEXT_MAX_CHARS: usize = 200;
/// Most tickets a list page returns.
pub const PAGE_SIZE_MAX: u32 = 200;

pub fn check_title(field: &str, title: &str) -> Result<(), FieldError> {
    let trimmed = title.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    let chars = title.chars().count();
    if chars > TITLE_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("is {chars} characters long; the limit is {TITLE_MAX_CHARS}"),
        ));
    }
    if title.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "must be a single line without control characters",
        ));
    }
    Ok(())
}

pub fn check_body(field: &str, body: &str) -> Result<(), FieldError> {
    // PostgreSQL text cannot hold NUL, and no person types one: refusing it
    // here keeps both backends accepting exactly the same input.
    if body.contains('\0') {
        return Err(FieldError::new(field, "must not contain NUL characters"));
    }
    if body.len() > BODY_MAX_BYTES {
        return Err(FieldError::new(
            field,
            format!(
                "is {} bytes long; the limit is {BODY_MAX_BYTES} bytes",
                body.len()
            ),
        ));
    }
    Ok(())
}

pub fn check_required_body(field: &str, body: &str) -> Result<(), FieldError> {
    if body.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    check_body(field, body)
}

pub fn check_short_text(field: &str, text: &str) -> Result<(), FieldError> {
    if text.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > SHORT_TEXT_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("is {chars} characters long; the limit is {SHORT_TEXT_MAX_CHARS}"),
        ));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Tags are lower-case slugs so that filtering by tag is exact and cheap.
pub fn check_tags(field: &str, tags: &[String]) -> Result<(), FieldError> {
    if tags.len() > TAGS_MAX {
        return Err(FieldError::new(
            field,
            format!("has {} tags; the limit is {TAGS_MAX}", tags.len()),
        ));
    }
    for (i, tag) in tags.iter().enumerate() {
        let ok_chars = tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_:.".contains(c));
        if tag.is_empty() || tag.chars().count() > TAG_MAX_CHARS || !ok_chars {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                format!(
                    "must be 1 to {TAG_MAX_CHARS} characters of a-z, 0-9, '-', '_', ':' or '.'"
                ),
            ));
        }
    }
    Ok(())
}

/// Sorted, without duplicates: tags are a set.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tags.to_vec();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_limits_count_characters_not_bytes() {
        let accented = "é".repeat(TITLE_MAX_CHARS);
        assert!(check_title("title", &accented).is_ok());
        let too_long = "é".repeat(TITLE_MAX_CHARS + 1);
        let err = check_title("title", &too_long).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.message.contains("201"));
    }

    #[test]
    fn blank_and_multiline_titles_are_refused() {
        assert!(check_title("title", "   ").is_err());
        assert!(check_title("title", "two\nlines").is_err());
    }

    #[test]
    fn bodies_refuse_nul_on_every_backend() {
        assert!(check_body("description", "line one\nline two\ttab").is_ok());
        assert_eq!(
            check_body("description", "a\0b").unwrap_err().field,
            "description"
        );
    }

    #[test]
    fn body_limit_is_in_bytes() {
        assert!(check_body("description", &"a".repeat(BODY_MAX_BYTES)).is_ok());
        assert!(check_body("description", &"a".repeat(BODY_MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn tags_name_the_offending_index() {
        let tags = vec!["ok".to_string(), "Not OK".to_string()];
        let err = check_tags("tags", &tags).unwrap_err();
        assert_eq!(err.field, "tags[1]");
        let many: Vec<String> = (0..=TAGS_MAX).map(|i| format!("t{i}")).collect();
        assert!(check_tags("tags", &many).is_err());
    }

    #[test]
    fn normalized_tags_are_a_sorted_set() {
        let tags = vec!["b".to_string(), "a".to_string(), "b".to_string()];
        assert_eq!(normalize_tags(&tags), vec!["a", "b"]);
    }
}
