//! A browsable reference built from the OpenAPI document itself, so it can never drift from it.
//! Server-rendered and offline: no viewer downloaded from a CDN.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::{render, Chrome, PageError};
use crate::auth::MaybeAuth;
use crate::AppState;
use axum::extract::State;

struct Param {
    name: String,
    location: String,
    schema: String,
    description: String,
    required: bool,
}

struct ResponseRow {
    status: String,
    description: String,
    schema: String,
}

struct Operation {
    anchor: String,
    method: String,
    method_upper: String,
    path: String,
    tag: String,
    params: Vec<Param>,
    request: String,
    responses: Vec<ResponseRow>,
}

struct Property {
    name: String,
    schema: String,
    description: String,
    required: bool,
}

struct Schema {
    name: String,
    description: String,
    properties: Vec<Property>,
    values: Vec<String>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage {
    active: &'static str,
    chrome: Chrome,
    description: String,
    version: String,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// A short type description: `Organization`, `array of Party`, `string (date-time)`, `integer | null`.
fn type_of(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            return list.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => String::new(),
    };
    if ty.starts_with("array") {
        if let Some(items) = s.get("items") {
            return format!("array of {}", type_of(items));
        }
    }
    match s.get("format").and_then(Value::as_str) {
        Some(f) => format!("{ty} ({f})"),
        None if ty.is_empty() => "any".into(),
        None => ty,
    }
}

pub async fn show(
    State(s): State<AppState>,
    MaybeAuth(who): MaybeAuth,
) -> Result<Response, PageError> {
    let chrome = match &who {
        Some(p) => Chrome::load(&s, p).await?,
        None => Chrome::default(),
    };
    let doc: Value = serde_json::from_str(crate::openapi::document_json())
        .map_err(|e| PageError::Internal(Box::new(e)))?;
    let mut operations = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let params = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .map(|p| Param {
                                name: str_of(p, "name"),
                                location: str_of(p, "in"),
                                schema: p.get("schema").map(type_of).unwrap_or_default(),
                                description: str_of(p, "description"),
                                required: p
                                    .get("required")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(false),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let request = op
                    .pointer("/requestBody/content/application~1json/schema")
                    .map(type_of)
                    .unwrap_or_default();
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|rs| {
                        rs.iter()
                            .map(|(status, r)| ResponseRow {
                                status: status.clone(),
                                description: str_of(r, "description"),
                                schema: r
                                    .get("content")
                                    .and_then(Value::as_object)
                                    .and_then(|c| c.values().next())
                                    .and_then(|c| c.get("schema"))
                                    .map(type_of)
                                    .unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                operations.push(Operation {
                    anchor: format!("{method}-{}", path.replace(['/', '{', '}'], "-")),
                    method: method.into(),
                    method_upper: method.to_uppercase(),
                    path: path.clone(),
                    tag: op
                        .get("tags")
                        .and_then(Value::as_array)
                        .and_then(|t| t.first())
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    params,
                    request,
                    responses,
                });
            }
        }
    }
    let mut schemas = Vec::new();
    if let Some(map) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in map {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut properties: Vec<Property> = Vec::new();
            let mut collect = |obj: &Value| {
                if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                    for (pname, p) in props {
                        properties.push(Property {
                            name: pname.clone(),
                            schema: type_of(p),
                            description: str_of(p, "description"),
                            required: required.contains(&pname.as_str())
                                || obj
                                    .get("required")
                                    .and_then(Value::as_array)
                                    .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(pname))),
                        });
                    }
                }
            };
            collect(s);
            if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
                for part in parts {
                    collect(part);
                }
            }
            let values = s
                .get("enum")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            schemas.push(Schema {
                name: name.clone(),
                description: str_of(s, "description"),
                properties,
                values,
            });
        }
    }
    render(
        StatusCode::OK,
        &ApiDocsPage {
            active: "api",
            chrome,
            description: doc
                .pointer("/info/description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            version: doc
                .pointer("/info/version")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            operations,
            schemas,
        },
    )
}
