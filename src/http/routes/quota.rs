//! The caller's quota (contract section 13): `GET /user/quota`, the operator's plan
//! (`--plan-name`) and what the caller's organization uses of its two limits,
//! `--max-workspaces-per-org` and `--max-users-per-org`. The limits themselves are enforced by
//! the store, inside the transactions that create workspaces and users.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::responses::{InternalError, Unauthorized};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::AuthUser;
use crate::http::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(quota))
}

/// The subscription's id: one plan per server, whatever its name.
const SUBSCRIPTION_ID: &str = "self-hosted";

/// The plan every organization of this server is on.
#[derive(Debug, Serialize, ToSchema)]
struct Subscription {
    /// Always `self-hosted`.
    id: &'static str,
    /// `--plan-name` (default "Self-hosted").
    name: String,
    description: &'static str,
}

/// What a capability limits.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum CapabilityCode {
    /// Live (not deleted) workspaces of the organization.
    Workspaces,
    /// Active (not deleted) users of the organization, verified or not.
    Users,
}

/// How a capability is measured: a cap on what the organization holds at once.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum CapabilityType {
    Limit,
}

/// Over which period usage is counted: what exists now, never reset.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum PeriodType {
    AllTime,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Capability {
    /// `workspaces` or `users`.
    id: &'static str,
    code: CapabilityCode,
    description: &'static str,
    #[serde(rename = "type")]
    kind: CapabilityType,
    period_type: PeriodType,
}

/// Usage of one capability.
#[derive(Debug, Serialize, ToSchema)]
struct Usage {
    current: i64,
    /// The limit; -1: unlimited.
    max: i64,
    /// round(100 x current / max); 0 when unlimited. Above 100 when a lowered limit left the
    /// organization holding more than it allows.
    percentage: i64,
}

impl Usage {
    fn new(current: i64, limit: Option<u32>) -> Usage {
        match limit {
            None => Usage {
                current,
                max: -1,
                percentage: 0,
            },
            Some(max) => {
                let max = i64::from(max);
                Usage {
                    current,
                    max,
                    percentage: percentage(current, max),
                }
            }
        }
    }
}

/// round(100 x current / max), halves up, in integers; `max` is positive.
fn percentage(current: i64, max: i64) -> i64 {
    (200 * current + max) / (2 * max)
}

#[derive(Debug, Serialize, ToSchema)]
struct QuotaUsageItem {
    capability: Capability,
    usage: Usage,
}

/// `GET /user/quota`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct QuotaResponse {
    success: SuccessTrue,
    subscription: Subscription,
    /// `WORKSPACES`, then `USERS`.
    quota_usage: Vec<QuotaUsageItem>,
}

/// The operator's plan and what the caller's organization uses of its limits: live workspaces
/// (`--max-workspaces-per-org`) and active users (`--max-users-per-org`). Any signed-in user of
/// the organization may read it.
#[utoipa::path(
    get,
    path = "/user/quota",
    tag = "identity",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The plan and the organization's usage", body = QuotaResponse),
        Unauthorized,
        InternalError,
    )
)]
async fn quota(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<QuotaResponse>, ApiError> {
    let used = state
        .store
        .quota_usage(auth.user.org_id)
        .await
        .or_500("Internal server error")?;
    let quotas = &state.quotas;
    let workspaces = QuotaUsageItem {
        capability: Capability {
            id: "workspaces",
            code: CapabilityCode::Workspaces,
            description: "Live workspaces of the organization",
            kind: CapabilityType::Limit,
            period_type: PeriodType::AllTime,
        },
        usage: Usage::new(used.workspaces, quotas.max_workspaces_per_org),
    };
    let users = QuotaUsageItem {
        capability: Capability {
            id: "users",
            code: CapabilityCode::Users,
            description: "Active users of the organization",
            kind: CapabilityType::Limit,
            period_type: PeriodType::AllTime,
        },
        usage: Usage::new(used.users, quotas.max_users_per_org),
    };
    Ok(Json(QuotaResponse {
        success: SuccessTrue,
        subscription: Subscription {
            id: SUBSCRIPTION_ID,
            name: quotas.plan_name.clone(),
            description: "The limits this server's operator sets for every organization",
        },
        quota_usage: vec![workspaces, users],
    }))
}

#[cfg(test)]
mod tests {
    use super::{percentage, Usage};

    #[test]
    fn percentages_round_to_the_nearest_integer() {
        assert_eq!(percentage(0, 3), 0);
        assert_eq!(percentage(1, 3), 33);
        assert_eq!(percentage(2, 3), 67);
        assert_eq!(percentage(3, 3), 100);
        assert_eq!(percentage(1, 8), 13);
        assert_eq!(percentage(1, 200), 1);
        assert_eq!(percentage(1, 201), 0);
        assert_eq!(percentage(5, 4), 125);
    }

    #[test]
    fn unlimited_is_minus_one_and_zero_percent() {
        let usage = Usage::new(7, None);
        assert_eq!((usage.current, usage.max, usage.percentage), (7, -1, 0));
        let usage = Usage::new(2, Some(3));
        assert_eq!((usage.current, usage.max, usage.percentage), (2, 3, 67));
    }
}
