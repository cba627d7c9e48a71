//! The caller's organization: `GET /organization/{orgId}`, `PUT /organization/{orgId}`.

use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
