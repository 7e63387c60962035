//! Concord's web surface: the JSON API under `/api/v1` (with its OpenAPI document) and the
//! server-rendered pages people use. Both call the same store methods, which apply the domain rules.

use std::future::Future;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use concord_storage::Store;

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod pages;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Mark the session cookie `Secure` (set when Concord is served over HTTPS).
    pub secure_cookies: bool,
    /// The portfolio dashboard's assembled rows per organization (`api/portfolio.rs`).
    pub portfolio: std::sync::Arc<api::portfolio::PortfolioMemo>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// How long a request may take before it is answered 503 (`request_timeout_secs`).
    pub request_timeout: Duration,
}

/// The default of [`AppState::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            secure_cookies: false,
            portfolio: Default::default(),
            metrics: Default::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Every route of the application with its method and scope: the API under `/api/v1` and the
/// pages. The router is built from these tables; the isolation tests walk them.
pub fn routes() -> Vec<(axum::http::Method, String, api::Access)> {
    let api = api::routes()
        .into_iter()
        .map(|d| (d.method, format!("/api/v1{}", d.path), d.access));
    let pages = pages::routes()
        .into_iter()
        .map(|d| (d.method, d.path.to_string(), d.access));
    api.chain(pages).collect()
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: API, pages, static files, health probes, metrics, and the layers every
/// request passes through (metrics, request id, tracing with latency, body limit, cross-site
/// form defence, the request timeout).
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let timeout = state.request_timeout;
    Router::new()
        .nest("/api/v1", api::router())
        .merge(pages::router())
        .route("/healthz", get(api::system::healthz))
        .route("/readyz", get(api::system::readyz))
        .route("/metrics", get(metrics::handler))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state)
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BYTES))
        .layer(middleware::from_fn(refuse_cross_site_forms))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(
                    |res: &Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            latency_ms = latency.as_secs_f64() * 1000.0,
                            "response"
                        );
                    },
                ),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
}

/// Answers 503 with `Retry-After` (a problem on the API, an HTML page elsewhere) when a request
/// has not produced its response within `limit`; its work is dropped, which rolls back an open
/// transaction. A streamed body (a CSV export) is not limited once it has started.
async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(timeout = ?limit, "request timed out");
            if api {
                error::ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    format!(
                        "the request did not finish within {limit:?} (request_timeout_secs); retry in a moment"
                    ),
                )
                .into_response()
            } else {
                pages::PageError::Unavailable(format!(
                    "This request did not finish within {limit:?}. Please try again in a moment."
                ))
                .into_response()
            }
        }
    }
}

/// Browser forms can be posted from any site; refuse unsafe requests whose `Origin` (or, without
/// one, `Sec-Fetch-Site`) says they come from another site. API clients that send neither header
/// are unaffected. (Per-session CSRF tokens arrive with sign-in.)
async fn refuse_cross_site_forms(req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        {
            let origin_host = origin.split("://").nth(1).unwrap_or("");
            if origin != "null" && origin_host != host {
                return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
            }
        } else if req
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            == Some("cross-site")
        {
            return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
        }
    }
    next.run(req).await
}

/// Serves the application on `listener` until `shutdown` completes, then lets in-flight requests
/// finish. Tests bind `127.0.0.1:0` and pass the listener in.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
