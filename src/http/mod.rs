//! The HTTP surface: shared state, the router, and the middleware every request passes through.
//!
//! Layout, from the bottom up (each layer imports only the ones below it):
//! - `bodies`: the JSON bodies several modules share, one type per body, from which the OpenAPI
//!   document is derived (the error envelopes and `ErrorCode`, `{"success":true}`, the issued
//!   tokens, a session, an event); the responses many routes document alike; the schemas of
//!   shared request fields.
//! - `common`: what route modules share: `ApiError`, the extractors, field validation, the
//!   checks several routes make in one order, issuing sessions and verification e-mails.
//! - `routes`: one module per URL prefix, each with its handlers, the request and response
//!   bodies only it uses, and a `router()`.
//! - here and beside: the router, the middleware (`middleware`, `limits`, `metrics`) and the
//!   document's root (`openapi`).

mod bodies;
mod common;
mod console;
mod limits;
mod metrics;
mod middleware;
mod openapi;
mod routes;

/// The export writes events as the API shows them (`crate::export`).
pub(crate) use bodies::system_events::EventFields;

use std::sync::Arc;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use common::throttle::Throttle;
pub use metrics::Metrics;

use crate::auth::providers::Providers;
use crate::auth::{JwtKeys, LinkKey, MfaConfig, PasswordHasher, RelyingParty};
use crate::config::Config;
use crate::config::{Quotas, RegistrationPolicy};
use crate::mail::Mailer;
use crate::store::SharedStore;

/// Request bodies above this size are refused with 413 before any handler runs (the settings
/// routes allow more: `routes::settings::MAX_SETTINGS_BODY_BYTES`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a handler may need, cloned into each request: one reference count, not one per
/// field (a clone and a drop of each field per request were 1.4% of `GET /workspace/{id}`'s
/// CPU, BENCHMARKS.md, issue 23).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Services {
    pub store: SharedStore,
    pub keys: JwtKeys,
    pub hasher: PasswordHasher,
    pub mailer: Arc<dyn Mailer>,
    /// Base URL of the web app, for links in e-mails.
    pub public_url: Option<Arc<str>>,
    /// `http://localhost:PORT` of the listener, set once it is bound: the public URL when none
    /// is configured (contract section 11), e.g. in identity providers' redirect URIs.
    pub listen_url: std::sync::OnceLock<String>,
    pub metrics: Arc<Metrics>,
    /// A session ends at the latest this long after its login, however often it refreshes.
    pub session_lifetime_ms: i64,
    /// Who may register a new organization.
    pub registration: RegistrationPolicy,
    /// The plan and the limits each organization is held to (`GET /user/quota`).
    pub quotas: Quotas,
    /// Signs activation links; None when no key outside the database exists (`auth::LinkKey`).
    pub link_key: Option<LinkKey>,
    /// How long a new activation link stays usable, ms.
    pub activation_link_ttl_ms: i64,
    /// How long an invitation's token stays usable, ms.
    pub invitation_ttl_ms: i64,
    /// The rate limits, checked by the middleware (per address) and by handlers (per account
    /// and per user, on the values they parse).
    pub throttle: Arc<Throttle>,
    /// The key sealing TOTP secrets and the issuer named in `otpauth://` URIs.
    pub mfa: Arc<MfaConfig>,
    /// WebAuthn's relying party, from the public URL (passkeys).
    pub relying_party: Arc<RelyingParty>,
    /// The identity providers people may sign in with, their discovery and keys cached.
    pub providers: Arc<Providers>,
    /// The webhooks' secret key, URL rules and the dispatcher's wake-up.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
}

/// The application: every route, behind the middleware stack (outermost first): request id,
/// tracing, CORS, metrics, panic and framework-error envelopes, load shedding, timeout, rate
/// limits, body limit. `GET /openapi.json` serves the OpenAPI document built with the routes.
/// `GET /metrics` is left out when it has a listener of its own ([`metrics_router`]).
/// Fails on a configured CORS origin that is not one.
pub fn router(state: AppState, config: &Config) -> anyhow::Result<Router> {
    let cors = match config.cors_origins.as_slice() {
        [] => None,
        origins => Some(middleware::cors_layer(origins)?),
    };
    let stack = ServiceBuilder::new()
        .layer(axum::middleware::map_request(
            middleware::drop_unsafe_request_id,
        ))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(middleware::request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .option_layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::map_response(
            middleware::envelope_framework_errors,
        ))
        .layer(HandleErrorLayer::new(limits::overloaded))
        .layer(LoadShedLayer::new())
        // Global: one semaphore shared by every route, unlike ConcurrencyLimitLayer.
        .layer(GlobalConcurrencyLimitLayer::new(
            config.max_concurrent_requests,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.throttle.clone(),
            limits::rate_limit,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let (routes, document) = documented_routes().split_for_parts();
    let routes = match config.metrics_listen {
        // The document stays whole (it documents the 404 answered here then); only the
        // public router goes without the route.
        Some(_) => served_routes(false).split_for_parts().0,
        None => routes,
    };
    // The one route not registered by `routes!`: it serves the document it is part of (its
    // operation comes from `openapi::ApiDoc`).
    let document = openapi::render(&openapi::finish(document));
    let document = get(openapi::openapi_json).with_state(document);
    let routes = if config.console {
        routes.merge(console::router())
    } else {
        routes
    };
    Ok(routes
        .route("/openapi.json", document)
        .layer(stack)
        .with_state(state))
}

/// `GET /metrics` alone, for its own listener (`--metrics-listen`). Other paths answer our 404
/// envelope, as on the public listener.
pub fn metrics_router(state: AppState) -> Router {
    let (routes, _) = routes::ops::metrics_router().split_for_parts();
    routes
        .layer(axum::middleware::map_response(
            middleware::envelope_framework_errors,
        ))
        .with_state(state)
}

/// Every route, each registered from the `#[utoipa::path]` annotation that documents it
/// (utoipa-axum's `routes!`), so the router and the OpenAPI document cannot drift apart.
fn documented_routes() -> OpenApiRouter<AppState> {
    served_routes(true)
}

/// Every route, `GET /metrics` only if `with_metrics`. The document lists the paths in the
/// order they are merged here.
fn served_routes(with_metrics: bool) -> OpenApiRouter<AppState> {
    let routes =
        OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).merge(routes::ops::router());
    let routes = if with_metrics {
        routes.merge(routes::ops::metrics_router())
    } else {
        routes
    };
    routes
        .merge(routes::mfa::router())
        .merge(routes::devices::router())
        .merge(routes::links::router())
        .merge(routes::organizations::router())
        .merge(routes::organization_users::router())
        .merge(routes::password_reset::router())
        .merge(routes::registration::router())
        .merge(routes::login::router())
        .merge(routes::auth::router())
        .merge(routes::auth_flow::router())
        .merge(routes::auth_passkey::router())
        .merge(routes::settings::router())
        .merge(routes::sessions::router())
        .merge(routes::system_events::router())
        .merge(routes::sessions::token_router())
        .merge(routes::users::router())
        .merge(routes::webhooks::router())
        .merge(routes::quota::router())
        .merge(routes::workspaces::router())
        .merge(routes::workspace_listing::router())
        .merge(routes::workspace_users::router())
}

/// The OpenAPI document `GET /openapi.json` serves, as JSON (for tests and tools).
pub fn openapi_document() -> serde_json::Value {
    let (_, document) = documented_routes().split_for_parts();
    serde_json::to_value(openapi::finish(document)).unwrap_or_default()
}
