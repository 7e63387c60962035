//! View models for forms: the same markup for every form (label, input, hint, inline error).

use concord_domain::ValidationErrors;

/// An option of a select or a checkbox.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Self {
        Self {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }
}

/// One labelled input.
pub struct Field {
    pub name: String,
    pub label: String,
    /// `text`, `number`, `textarea` or `select`.
    pub kind: &'static str,
    pub value: String,
    pub error: String,
    pub hint: String,
    pub options: Vec<Opt>,
    pub required: bool,
    /// `full`, `half` or `third` of the row.
    pub width: &'static str,
}

impl Field {
    pub fn text(name: &str, label: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            kind: "text",
            value: value.into(),
            error: String::new(),
            hint: String::new(),
            options: Vec::new(),
            required: false,
            width: "half",
        }
    }

    pub fn number(name: &str, label: &str, value: impl Into<String>) -> Self {
        Self {
            kind: "number",
            width: "third",
            ..Self::text(name, label, value)
        }
    }

    pub fn textarea(name: &str, label: &str, value: impl Into<String>) -> Self {
        Self {
            kind: "textarea",
            width: "full",
            ..Self::text(name, label, value)
        }
    }

    pub fn select(name: &str, label: &str, options: Vec<Opt>) -> Self {
        Self {
            kind: "select",
            options,
            ..Self::text(name, label, "")
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.into();
        self
    }

    pub fn width(mut self, width: &'static str) -> Self {
        self.width = width;
        self
    }

    /// Shows the first error whose field is `path` or lies under it (`values[2]`, `address.zip`).
    pub fn error_from(mut self, errors: &ValidationErrors, paths: &[&str]) -> Self {
        if let Some(e) = errors.errors().iter().find(|e| {
            paths.iter().any(|p| {
                e.field == *p
                    || e.field.starts_with(&format!("{p}["))
                    || e.field.starts_with(&format!("{p}."))
            })
        }) {
            self.error = e.message.clone();
        }
        self
    }
}

/// A category of checkboxes.
pub struct CheckCategory {
    pub label: String,
    pub options: Vec<Opt>,
}

/// A group of checkboxes sharing a name.
pub struct CheckGroup {
    pub name: String,
    pub legend: String,
    pub error: String,
    pub groups: Vec<CheckCategory>,
}

/// A titled group of fields.
pub struct Section {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub checks: Vec<CheckGroup>,
}

impl Section {
    pub fn new(title: &str, description: &str, fields: Vec<Field>) -> Self {
        Self {
            title: title.into(),
            description: description.into(),
            fields,
            checks: Vec::new(),
        }
    }
}

/// Options for a closed set, with a leading blank option labelled `blank` when given.
pub fn enum_options<T: Copy + PartialEq>(
    all: &[T],
    wire: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    selected: &str,
    blank: Option<&str>,
) -> Vec<Opt> {
    let mut out = Vec::new();
    if let Some(b) = blank {
        out.push(Opt::new("", b, selected.is_empty()));
    }
    for v in all {
        out.push(Opt::new(wire(*v), label(*v), wire(*v) == selected));
    }
    out
}

/// A summary line per error, for the box at the top of a form.
pub fn summary(errors: &ValidationErrors, label_of: impl Fn(&str) -> String) -> Vec<String> {
    errors
        .errors()
        .iter()
        .map(|e| format!("{}: {}", label_of(&e.field), e.message))
        .collect()
}
