//! The caller's own account: `GET /user/profile`.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::extract::AuthUser;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/user/profile", get(profile))
}

async fn profile(auth: AuthUser) -> Json<Value> {
    let user = &auth.user;
    Json(json!({
        "success": true,
        "data": {
            "id": user.id,
            "name": user.first_name,
            "lastName": user.last_name,
            "email": user.email,
            "orgId": user.org_id,
            "orgRole": user.org_role,
            "orgRoleDescription": auth.role.description(),
            "orgRoles": auth.role.inherited_values(),
            "validated": user.validated,
            "mfaRequired": false,
            "isBusiness": user.is_business,
        }
    }))
}
