//! Small rules for free text shared by every entity: trimmed, bounded, no control characters.

use crate::ValidationErrors;

/// Trims `value` and checks it is between `min` and `max` characters with no control characters
/// (line breaks are allowed only when `multiline`). Records an error against `field` otherwise.
pub fn clean(
    errors: &mut ValidationErrors,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> String {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        if min == 1 {
            errors.add(field, "required", "must not be empty");
        } else {
            errors.add(
                field,
                "too_short",
                format!("must be at least {min} characters"),
            );
        }
    } else if len > max {
        errors.add(
            field,
            "too_long",
            format!("must be at most {max} characters (got {len})"),
        );
    } else if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        errors.add(
            field,
            "invalid_characters",
            "must not contain control characters",
        );
    }
    trimmed.to_string()
}

/// Cleans an optional text: blank becomes `None`.
pub fn clean_opt(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(clean(errors, field, v, 1, max, false)),
    }
}

/// Cleans a list of short texts (tags, objectives): each trimmed and bounded, blanks dropped,
/// duplicates (ignoring case) removed, at most `max_items`.
pub fn clean_list(
    errors: &mut ValidationErrors,
    field: &str,
    values: &[String],
    max_len: usize,
    max_items: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        if v.trim().is_empty() {
            continue;
        }
        let v = clean(errors, &format!("{field}[{i}]"), v, 1, max_len, false);
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
            out.push(v);
        }
    }
    if out.len() > max_items {
        errors.add(
            field,
            "too_many",
            format!("at most {max_items} entries (got {})", out.len()),
        );
    }
    out
}

/// The key used to detect duplicate names: trimmed, inner whitespace collapsed, lowercased.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_required() {
        let mut e = ValidationErrors::new();
        clean(&mut e, "name", "   ", 1, 10, false);
        assert_eq!(e.errors()[0].code, "required");
        assert_eq!(e.errors()[0].field, "name");
    }

    #[test]
    fn too_long_names_the_length() {
        let mut e = ValidationErrors::new();
        clean(&mut e, "name", "abcdef", 1, 3, false);
        assert_eq!(e.errors()[0].code, "too_long");
        assert!(e.errors()[0].message.contains("got 6"));
    }

    #[test]
    fn control_characters_refused_unless_multiline() {
        let mut e = ValidationErrors::new();
        clean(&mut e, "name", "a\u{0007}b", 1, 10, true);
        assert_eq!(e.errors()[0].code, "invalid_characters");
        let mut e = ValidationErrors::new();
        assert_eq!(clean(&mut e, "purpose", "a\nb", 1, 10, true), "a\nb");
        assert!(e.is_empty());
    }

    #[test]
    fn list_drops_blanks_and_case_duplicates() {
        let mut e = ValidationErrors::new();
        let out = clean_list(
            &mut e,
            "values",
            &[
                "Equity".into(),
                " ".into(),
                "equity".into(),
                "access".into(),
            ],
            20,
            5,
        );
        assert_eq!(out, vec!["Equity", "access"]);
        assert!(e.is_empty());
    }

    #[test]
    fn name_key_ignores_case_and_spacing() {
        assert_eq!(
            name_key("  Harbor   Valley Health "),
            "harbor valley health"
        );
    }
}
