//! Webhooks (contract section 15): `POST` and `GET /webhooks`, `GET`, `PUT` and `DELETE
//! /webhooks/{id}`, `POST /webhooks/{id}/rotate-secret`, `POST /webhooks/{id}/test`, `GET
//! /webhooks/{id}/deliveries` and `POST /webhooks/{id}/deliveries/{deliveryId}/retry`. An
//! organization's OWNER and ADMINISTRATORS manage its webhooks; the dispatcher
//! (`crate::webhooks`) delivers, never on these requests' path.
//!
//! Check order: the token (401), the role (403), a verified account for changes (400), the
//! body (400), the URL's safety (400 `WEBHOOK_URL_FORBIDDEN`), then the webhook (404).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::clock::{now_ms, rfc3339};
use crate::domain::{
    can_manage_webhooks, has_refused_chars, EventPattern, UrlRefusal, MAX_EVENT_PATTERNS,
    MAX_WEBHOOK_URL_CHARS,
};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::MessageResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, JsonBody};
use crate::http::common::fields;
use crate::http::common::throttle::AccountKey;
use crate::http::AppState;
use crate::store::{
    Delivery, DeliveryFilter, DeliveryStatus, NewWebhook, TestDelivery, Webhook, WebhookCreate,
    WebhookPatch,
};
use crate::webhooks::signing;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
}

/// The most characters of a webhook's description.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The most characters of one event pattern.
const MAX_PATTERN_CHARS: usize = 64;
/// A delivery page's size: default and largest.
const DEFAULT_TAKE: i64 = 20;
const MAX_TAKE: i64 = 100;

/// A webhook (contract section 15). Its secret is shown only when it is made.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Webhook)]
#[serde(rename_all = "camelCase")]
struct WebhookJson {
    id: Uuid,
    url: String,
    /// The events it receives: `context.event` patterns, either side may be `*`; `*` is all.
    events: Vec<String>,
    #[schema(required = true)]
    description: Option<String>,
    enabled: bool,
    #[schema(format = DateTime)]
    created_at: String,
    /// Why the server disabled it (a 410 answer, 3 days of failures); null otherwise.
    #[schema(required = true)]
    disabled_reason: Option<String>,
}

impl From<Webhook> for WebhookJson {
    fn from(webhook: Webhook) -> Self {
        WebhookJson {
            id: webhook.id,
            url: webhook.url,
            events: serde_json::from_str(&webhook.events).unwrap_or_default(),
            description: webhook.description,
            enabled: webhook.enabled,
            created_at: rfc3339(webhook.created_at),
            disabled_reason: webhook.disabled_reason,
        }
    }
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl From<DeliveryStatus> for DeliveryState {
    fn from(status: DeliveryStatus) -> Self {
        match status {
            DeliveryStatus::Pending => DeliveryState::Pending,
            DeliveryStatus::Delivered => DeliveryState::Delivered,
            DeliveryStatus::Failed => DeliveryState::Failed,
        }
    }
}

/// One delivery of an event (or a test) to a webhook, with its last attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookDelivery)]
#[serde(rename_all = "camelCase")]
struct DeliveryJson {
    id: Uuid,
    /// The event delivered (also the `webhook-id` header); null for a test delivery.
    #[schema(required = true)]
    event_id: Option<i64>,
    /// `workspace.created`, ..., or `webhook.test`.
    #[serde(rename = "type")]
    kind: String,
    status: DeliveryState,
    attempts: i64,
    #[schema(required = true, format = DateTime)]
    last_attempt_at: Option<String>,
    /// When it is tried next; null once delivered or failed.
    #[schema(required = true, format = DateTime)]
    next_attempt_at: Option<String>,
    /// The last answer's status; null before any, or when there was no answer.
    #[schema(required = true)]
    response_status: Option<i64>,
    /// The first 1 KiB of the last answer.
    #[schema(required = true)]
    response_body: Option<String>,
    #[schema(required = true)]
    duration_ms: Option<i64>,
}

impl From<Delivery> for DeliveryJson {
    fn from(d: Delivery) -> Self {
        DeliveryJson {
            id: d.id,
            event_id: d.event_id,
            kind: d.kind,
            status: d.status.into(),
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at.map(rfc3339),
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            response_status: d.response_status,
            response_body: d.response_body,
            duration_ms: d.duration_ms,
        }
    }
}

/// `POST /webhooks` (201) and `POST /webhooks/{id}/rotate-secret` (200): the webhook and its
/// new secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
struct WebhookSecretResponse {
    success: SuccessTrue,
    webhook: WebhookJson,
    /// `whsec_` + base64 of 32 random bytes: the HMAC key is the decoded bytes.
    secret: String,
}

/// `GET`, `PUT /webhooks/{id}`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct WebhookResponse {
    success: SuccessTrue,
    webhook: WebhookJson,
}

/// `GET /webhooks`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct WebhooksResponse {
    success: SuccessTrue,
    /// Oldest first.
    webhooks: Vec<WebhookJson>,
}

/// `POST /webhooks/{id}/test` and `.../retry`, 202: the queued delivery.
#[derive(Debug, Serialize, ToSchema)]
struct DeliveryResponse {
    success: SuccessTrue,
    delivery: DeliveryJson,
}

/// `GET /webhooks/{id}/deliveries`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct DeliveriesResponse {
    success: SuccessTrue,
    /// Newest first.
    deliveries: Vec<DeliveryJson>,
    /// Deliveries matching the filter in all.
    total: i64,
    skip: i64,
    take: i64,
}

fn insufficient_permissions() -> ApiError {
    ApiError::insufficient_permissions("Insufficient permissions to manage webhooks")
}

fn webhook_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::WebhookNotFound, "Webhook not found")
}

fn delivery_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::DeliveryNotFound, "Delivery not found")
}

fn url_forbidden() -> ApiError {
    ApiError::bad_request(ErrorCode::WebhookUrlForbidden, "Webhook URL is not allowed")
}

/// The caller is an OWNER or ADMINISTRATOR.
fn manager(auth: &AuthUser) -> Result<(), ApiError> {
    if can_manage_webhooks(auth.user.org_role) {
        Ok(())
    } else {
        Err(insufficient_permissions())
    }
}

/// A URL webhooks may be sent to: its form and scheme, an IP literal's address, and the
/// addresses its host resolves to now (each delivery checks again).
async fn url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let raw = raw.trim();
    let safety = state.webhooks.config.safety;
    // The URL parser drops tabs and line breaks and percent-encodes other control characters,
    // so the text stored would not be the address used (and PostgreSQL refuses a NUL).
    let checked = match raw.chars().any(char::is_control) {
        true => Err(UrlRefusal::Malformed),
        false => safety.check(raw),
    };
    let parsed = checked.map_err(|refusal| match refusal {
        UrlRefusal::Malformed => ApiError::invalid_field(format!(
            "url must be an absolute https URL of at most {MAX_WEBHOOK_URL_CHARS} characters"
        )),
        UrlRefusal::Forbidden => url_forbidden(),
    })?;
    safety
        .check_resolved(&parsed)
        .await
        .map_err(|_| url_forbidden())?;
    Ok(raw.to_owned())
}

/// The event patterns as the JSON array stored: trimmed, without duplicates, at most
/// [`MAX_EVENT_PATTERNS`]; none given is `["*"]`.
fn events(raw: Option<&[String]>) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::invalid_field(format!(
            "events must be a list of at most {MAX_EVENT_PATTERNS} patterns such as \
             \"workspace.created\", \"user.*\" or \"*\""
        ))
    };
    let patterns = match raw {
        None => vec!["*".to_owned()],
        Some(list) if list.is_empty() || list.len() > MAX_EVENT_PATTERNS => return Err(invalid()),
        Some(list) => {
            let mut kept: Vec<String> = Vec::with_capacity(list.len());
            for pattern in list {
                let pattern = pattern.trim();
                if pattern.len() > MAX_PATTERN_CHARS || EventPattern::parse(pattern).is_none() {
                    return Err(invalid());
                }
                if !kept.iter().any(|k| k == pattern) {
                    kept.push(pattern.to_owned());
                }
            }
            kept
        }
    };
    serde_json::to_string(&patterns).map_err(|_| invalid())
}

/// An optional description: trimmed, empty meaning none, at most 500 characters without
/// control characters.
fn description(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_DESCRIPTION_CHARS || has_refused_chars(text) {
        return Err(ApiError::invalid_field(
            "description must be at most 500 characters without control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// A new webhook.
#[derive(Deserialize, ToSchema)]
struct CreateWebhookBody {
    /// Where deliveries are POSTed: `https` (`http` with `--webhooks-allow-http`), a public
    /// address unless `--webhooks-allow-private`; at most 2048 characters.
    #[schema(required = true, max_length = 2048)]
    url: Option<String>,
    /// Patterns of the events to receive (`"workspace.created"`, `"user.*"`, `"*.deleted"`,
    /// `"*"`); default every event. At most 50.
    events: Option<Vec<String>>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    description: Option<String>,
}

/// Subscribe a URL to the organization's audit trail (OWNER, ADMINISTRATORS). The secret that
/// signs its deliveries is in this answer only. At most 20 webhooks per organization.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    request_body = CreateWebhookBody,
    responses(
        (status = 201, description = "Created; `secret` shown this once", body = WebhookSecretResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_FIELD`, `WEBHOOK_URL_FORBIDDEN` (Webhook URL is not allowed), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 409, description = "`WEBHOOK_LIMIT_REACHED`: the organization has 20 webhooks", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to create webhook", body = ErrorResponse),
    )
)]
async fn create_webhook(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(body): JsonBody<CreateWebhookBody>,
) -> Result<(StatusCode, Json<WebhookSecretResponse>), ApiError> {
    const FAILED: &str = "Failed to create webhook";
    manager(&auth)?;
    auth.require_validated()?;
    let raw_url = fields::required(&body.url, "url")?;
    let events = events(body.events.as_deref())?;
    let description = description(body.description.as_deref())?;
    let url = url(&state, raw_url).await?;
    let id = Uuid::now_v7();
    let key = signing::new_key();
    let new = NewWebhook {
        id,
        url,
        events,
        description,
        secret: state.webhooks.seal(id, &key),
    };
    let webhook = match state
        .store
        .create_webhook(auth.actor(), new)
        .await
        .or_500(FAILED)?
    {
        WebhookCreate::Created(webhook) => webhook,
        WebhookCreate::LimitReached => {
            return Err(ApiError::conflict(
                ErrorCode::WebhookLimitReached,
                "An organization may have at most 20 webhooks",
            ))
        }
    };
    let answer = WebhookSecretResponse {
        success: SuccessTrue,
        webhook: webhook.into(),
        secret: signing::secret_text(&key),
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The organization's webhooks, oldest first (OWNER, ADMINISTRATORS).
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The organization's webhooks", body = WebhooksResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 500, description = "Failed to fetch webhooks", body = ErrorResponse),
    )
)]
async fn list_webhooks(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<WebhooksResponse>, ApiError> {
    manager(&auth)?;
    let webhooks = state
        .store
        .webhooks(auth.user.org_id)
        .await
        .or_500("Failed to fetch webhooks")?;
    Ok(Json(WebhooksResponse {
        success: SuccessTrue,
        webhooks: webhooks.into_iter().map(WebhookJson::from).collect(),
    }))
}

/// The path of `/webhooks/{id}` and the routes below it.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct WebhookPath {
    /// The webhook's id
    #[param(value_type = Uuid)]
    id: String,
}

impl WebhookPath {
    /// The id; 404 when the segment is not one.
    fn id(&self) -> Result<Uuid, ApiError> {
        Uuid::parse_str(&self.id).map_err(|_| webhook_not_found())
    }
}

/// One webhook (OWNER, ADMINISTRATORS).
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The webhook", body = WebhookResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 404, description = "Webhook not found", body = ErrorResponse),
        (status = 500, description = "Failed to fetch webhook", body = ErrorResponse),
    )
)]
async fn get_webhook(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<WebhookPath>,
) -> Result<Json<WebhookResponse>, ApiError> {
    manager(&auth)?;
    let id = path.id()?;
    let webhook = state
        .store
        .webhook(auth.user.org_id, id)
        .await
        .or_500("Failed to fetch webhook")?
        .ok_or_else(webhook_not_found)?;
    Ok(Json(WebhookResponse {
        success: SuccessTrue,
        webhook: webhook.into(),
    }))
}

/// A JSON field that may be absent (None), null or a value (`Some(None)`, `Some(Some(v))`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// What to change; at least one field.
#[derive(Deserialize, ToSchema)]
struct UpdateWebhookBody {
    #[schema(max_length = 2048)]
    url: Option<String>,
    events: Option<Vec<String>>,
    /// A new description; null or "" removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    description: Option<Option<String>>,
    /// false pauses deliveries; true resumes them (clearing `disabledReason`) from the present:
    /// events in between are not sent; deliveries queued before are.
    enabled: Option<bool>,
}

/// Change a webhook (OWNER, ADMINISTRATORS).
#[utoipa::path(
    put,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    params(WebhookPath),
    request_body = UpdateWebhookBody,
    responses(
        (status = 200, description = "The webhook as it is now", body = WebhookResponse),
        (status = 400, description = "`NO_VALID_FIELDS`, `INVALID_FIELD`, `WEBHOOK_URL_FORBIDDEN` (Webhook URL is not allowed), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 404, description = "Webhook not found", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to update webhook", body = ErrorResponse),
    )
)]
async fn update_webhook(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<WebhookPath>,
    JsonBody(body): JsonBody<UpdateWebhookBody>,
) -> Result<Json<WebhookResponse>, ApiError> {
    manager(&auth)?;
    auth.require_validated()?;
    let events = body
        .events
        .as_deref()
        .map(|e| events(Some(e)))
        .transpose()?;
    let description = match &body.description {
        Some(raw) => Some(description(raw.as_deref())?),
        None => None,
    };
    if body.url.is_none() && events.is_none() && description.is_none() && body.enabled.is_none() {
        return Err(fields::no_valid_fields());
    }
    let url = match &body.url {
        Some(raw) => Some(url(&state, raw).await?),
        None => None,
    };
    let id = path.id()?;
    let patch = WebhookPatch {
        url,
        events,
        description,
        enabled: body.enabled,
    };
    let webhook = state
        .store
        .update_webhook(auth.actor(), id, patch)
        .await
        .or_500("Failed to update webhook")?
        .ok_or_else(webhook_not_found)?;
    state.webhooks.wake();
    Ok(Json(WebhookResponse {
        success: SuccessTrue,
        webhook: webhook.into(),
    }))
}

/// Delete a webhook with its delivery log (OWNER, ADMINISTRATORS).
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "Webhook deleted successfully", body = MessageResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 404, description = "Webhook not found", body = ErrorResponse),
        (status = 500, description = "Failed to delete webhook", body = ErrorResponse),
    )
)]
async fn delete_webhook(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<WebhookPath>,
) -> Result<Json<MessageResponse>, ApiError> {
    manager(&auth)?;
    auth.require_validated()?;
    let id = path.id()?;
    let deleted = state
        .store
        .delete_webhook(auth.actor(), id)
        .await
        .or_500("Failed to delete webhook")?;
    if !deleted {
        return Err(webhook_not_found());
    }
    Ok(Json(MessageResponse::new("Webhook deleted successfully")))
}

/// A new signing secret (OWNER, ADMINISTRATORS), shown in this answer only; for 24 hours the
/// old one signs too (`webhook-signature` then holds both signatures).
#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The new secret, shown this once", body = WebhookSecretResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 404, description = "Webhook not found", body = ErrorResponse),
        (status = 500, description = "Failed to rotate webhook secret", body = ErrorResponse),
    )
)]
async fn rotate_secret(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<WebhookPath>,
) -> Result<Json<WebhookSecretResponse>, ApiError> {
    manager(&auth)?;
    auth.require_validated()?;
    let id = path.id()?;
    let key = signing::new_key();
    let webhook = state
        .store
        .rotate_webhook_secret(auth.actor(), id, state.webhooks.seal(id, &key))
        .await
        .or_500("Failed to rotate webhook secret")?
        .ok_or_else(webhook_not_found)?;
    Ok(Json(WebhookSecretResponse {
        success: SuccessTrue,
        webhook: webhook.into(),
        secret: signing::secret_text(&key),
    }))
}

/// Queue a `webhook.test` delivery at the end of the webhook's queue (OWNER, ADMINISTRATORS):
/// `{"type":"webhook.test","timestamp","data":{"webhookId","deliveryId"}}`, its `webhook-id`
/// the delivery's id. One at a time: while a test delivery is pending (queued or waiting for
/// its next retry) another is refused; `POST /webhooks/{id}/deliveries/{deliveryId}/retry`
/// tries the pending one now.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    params(WebhookPath),
    responses(
        (status = 202, description = "Queued", body = DeliveryResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 404, description = "Webhook not found", body = ErrorResponse),
        (status = 409, description = "`WEBHOOK_TEST_PENDING`: A test delivery of this webhook is still pending (nothing queued)", body = ErrorResponse),
        (status = 429, description = "`RATE_LIMITED`: test deliveries of this webhook were queued too often (`Retry-After`)", body = ErrorResponse),
        (status = 500, description = "Failed to queue test delivery", body = ErrorResponse),
    )
)]
async fn test_webhook(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<WebhookPath>,
) -> Result<(StatusCode, Json<DeliveryResponse>), ApiError> {
    manager(&auth)?;
    auth.require_validated()?;
    let id = path.id()?;
    // Each is a delivery kept and retried for days (test deliveries do not wait behind the
    // queue's cap of pending deliveries, as events do): limited per webhook, and one pending
    // at a time.
    let key = AccountKey::token("webhook-test", &id.to_string());
    state.throttle.check_account(key)?;
    let queued = state
        .store
        .queue_test_delivery(auth.user.org_id, id, Uuid::now_v7(), now_ms())
        .await
        .or_500("Failed to queue test delivery")?
        .ok_or_else(webhook_not_found)?;
    let delivery = match queued {
        TestDelivery::Queued(delivery) => delivery,
        TestDelivery::StillPending => {
            return Err(ApiError::conflict(
                ErrorCode::WebhookTestPending,
                "A test delivery of this webhook is still pending",
            ))
        }
    };
    state.webhooks.wake();
    let answer = DeliveryResponse {
        success: SuccessTrue,
        delivery: delivery.into(),
    };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// The query of `GET /webhooks/{id}/deliveries`; every field a string, checked by hand for a
/// 400 in our envelope.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed` (default: all)
    status: Option<String>,
    /// Deliveries to skip (default 0)
    #[param(value_type = Option<i64>, minimum = 0)]
    skip: Option<String>,
    /// Page size, 1 to 100 (default 20)
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    take: Option<String>,
}

fn invalid_query(message: &'static str) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, message)
}

impl DeliveriesQuery {
    fn filter(self) -> Result<DeliveryFilter, ApiError> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        let status = match given(self.status).as_deref() {
            None => None,
            Some("pending") => Some(DeliveryStatus::Pending),
            Some("delivered") => Some(DeliveryStatus::Delivered),
            Some("failed") => Some(DeliveryStatus::Failed),
            Some(_) => return Err(invalid_query("status must be pending, delivered or failed")),
        };
        let take = match given(self.take) {
            None => DEFAULT_TAKE,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_TAKE).contains(n))
                .ok_or_else(|| invalid_query("take must be an integer from 1 to 100"))?,
        };
        let skip = match given(self.skip) {
            None => 0,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid_query("skip must be an integer of at least 0"))?,
        };
        Ok(DeliveryFilter { status, skip, take })
    }
}

/// A webhook's deliveries, newest first, each with its last attempt (OWNER, ADMINISTRATORS).
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    params(WebhookPath, DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveriesResponse),
        (status = 400, description = "`INVALID_QUERY`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 404, description = "Webhook not found", body = ErrorResponse),
        (status = 500, description = "Failed to fetch deliveries", body = ErrorResponse),
    )
)]
async fn list_deliveries(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<WebhookPath>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<DeliveriesResponse>, ApiError> {
    manager(&auth)?;
    let Query(query) = query.map_err(|_| invalid_query("Invalid query string"))?;
    let filter = query.filter()?;
    let id = path.id()?;
    let (deliveries, total) = state
        .store
        .deliveries(auth.user.org_id, id, filter)
        .await
        .or_500("Failed to fetch deliveries")?
        .ok_or_else(webhook_not_found)?;
    Ok(Json(DeliveriesResponse {
        success: SuccessTrue,
        deliveries: deliveries.into_iter().map(DeliveryJson::from).collect(),
        total,
        skip: filter.skip,
        take: filter.take,
    }))
}

/// The path of `/webhooks/{id}/deliveries/{deliveryId}/retry`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct DeliveryPath {
    /// The webhook's id
    #[param(value_type = Uuid)]
    id: String,
    /// The delivery's id
    #[param(value_type = Uuid)]
    #[serde(rename = "deliveryId")]
    #[param(rename = "deliveryId")]
    delivery_id: String,
}

/// Attempt a delivery again now (OWNER, ADMINISTRATORS): a failed one is pending again, a
/// pending one does not wait for its next attempt, a delivered one is sent once more (same
/// `webhook-id`). It goes before the later deliveries of its webhook.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{deliveryId}/retry",
    tag = "webhooks",
    security(("bearerAuth" = [])),
    params(DeliveryPath),
    responses(
        (status = 202, description = "Queued for an attempt now", body = DeliveryResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage webhooks", body = ErrorResponse),
        (status = 404, description = "Webhook not found, Delivery not found", body = ErrorResponse),
        (status = 500, description = "Failed to retry delivery", body = ErrorResponse),
    )
)]
async fn retry_delivery(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<DeliveryPath>,
) -> Result<(StatusCode, Json<DeliveryResponse>), ApiError> {
    manager(&auth)?;
    auth.require_validated()?;
    let id = Uuid::parse_str(&path.id).map_err(|_| webhook_not_found())?;
    let delivery_id = Uuid::parse_str(&path.delivery_id).map_err(|_| delivery_not_found())?;
    const FAILED: &str = "Failed to retry delivery";
    if state
        .store
        .webhook(auth.user.org_id, id)
        .await
        .or_500(FAILED)?
        .is_none()
    {
        return Err(webhook_not_found());
    }
    let delivery = state
        .store
        .retry_delivery(auth.user.org_id, id, delivery_id, now_ms())
        .await
        .or_500(FAILED)?
        .ok_or_else(delivery_not_found)?;
    state.webhooks.wake();
    let answer = DeliveryResponse {
        success: SuccessTrue,
        delivery: delivery.into(),
    };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}
