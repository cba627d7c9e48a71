//! Password reset: `POST /user/request-reset-password`, `POST /user/reset-password`.

use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
