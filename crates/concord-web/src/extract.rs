//! Extractors that turn outside input into typed values, or into a problem that names the field.
//!
//! axum's own `Json`, `Query` and `Path` rejections are plain text and do not say which field was
//! wrong; these read the same input through `serde_path_to_error` so the error names the path
//! (`address.zip`, `parties[1].organization_id`).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A JSON body, deserialized with field-naming errors. Requires `Content-Type: application/json`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let ct = ct.split(';').next().unwrap_or("").trim();
                ct.eq_ignore_ascii_case("application/json") || ct.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("the body is larger than {MAX_JSON_BYTES} bytes"),
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "unreadable_body",
                        "the request body could not be read",
                    )
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON bytes, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            // A well-formed number too large for a float (`1e400`): the field is known, so it is
            // a field error like any other bad value.
            Category::Syntax if inner.to_string().starts_with("number out of range") => {
                ApiError::validation(concord_domain::ValidationErrors::single(
                    if path.is_empty() || path == "." {
                        "(body)".to_string()
                    } else {
                        path
                    },
                    "out_of_range",
                    "the number is too large",
                ))
            }
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            ),
            Category::Data => data_error(&path, &inner.to_string()),
        }
    })
}

/// Classifies a serde data error into a problem naming the field.
fn data_error(path: &str, message: &str) -> ApiError {
    // serde's messages end with " at line X column Y" for JSON; drop it for readability.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    let (code, field) = if let Some(name) = between(&message, "unknown field `", "`") {
        ("unknown_field", join_path(path, name))
    } else if let Some(name) = between(&message, "missing field `", "`") {
        ("missing_field", join_path(path, name))
    } else if message.starts_with("unknown variant") {
        ("invalid_value", path.to_string())
    } else {
        ("invalid_type", path.to_string())
    };
    let field = if field.is_empty() || field == "." {
        "(body)".to_string()
    } else {
        field
    };
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        format!("{field}: {message}"),
    )
    .with_field(field)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn join_path(parent: &str, name: &str) -> String {
    // For unknown fields serde_path_to_error's path already ends with the field itself.
    if parent == name || parent.ends_with(&format!(".{name}")) {
        parent.to_string()
    } else if parent.is_empty() || parent == "." {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// Query parameters, deserialized with field-naming errors; unknown parameters are refused.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let msg = err.into_inner().to_string();
                let mut e = data_error(&path, &msg);
                e = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    &e.problem().code,
                    e.problem().detail.clone(),
                )
                .with_field(e.problem().field.clone().unwrap_or_default());
                e
            })
    }
}

/// A numeric id in the path. Anything that is not a positive integer cannot name a record, so
/// it answers 404 like any other unknown id.
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found("record"))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(IdPath)
            .ok_or_else(|| ApiError::not_found("record"))
    }
}

/// Two numeric ids in the path (`/partnerships/{id}/charter/versions/{number}`); like
/// [`IdPath`], anything but positive integers answers 404.
pub struct IdsPath(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdsPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path((a, b)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found("record"))?;
        let num = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        match (num(&a), num(&b)) {
            (Some(a), Some(b)) => Ok(IdsPath(a, b)),
            _ => Err(ApiError::not_found("record")),
        }
    }
}

/// An urlencoded HTML form, kept as ordered pairs (repeated keys such as checkboxes allowed).
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Self {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| (r.status(), "The form could not be read.").into_response())?;
        Ok(Form::parse(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_domain::partnership::PartnershipInput;

    fn field_of(body: &str) -> (String, String) {
        let e = parse_json::<PartnershipInput>(body.as_bytes()).unwrap_err();
        (
            e.problem().code.clone(),
            e.problem().field.clone().unwrap_or_default(),
        )
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field_of(r#"{"name":"x","type":"wholesale","parties":[],"colour":1}"#),
            ("unknown_field".into(), "colour".into())
        );
        assert_eq!(
            field_of(r#"{"name":"x","type":"wholesale"}"#),
            ("missing_field".into(), "parties".into())
        );
        assert_eq!(
            field_of(r#"{"name":"x","type":"retail","parties":[]}"#),
            ("invalid_value".into(), "type".into())
        );
        assert_eq!(
            field_of(
                r#"{"name":"x","type":"wholesale","parties":[{"organization_id":1,"role":"a"},{"organization_id":"two","role":"b"}]}"#
            ),
            ("invalid_type".into(), "parties[1].organization_id".into())
        );
        assert_eq!(
            field_of(
                r#"{"name":"x","type":"wholesale","parties":[{"organization_id":1,"role":"a","x":2}]}"#
            ),
            ("unknown_field".into(), "parties[0].x".into())
        );
        assert_eq!(field_of("{not json").0, "malformed_json");
    }
}
