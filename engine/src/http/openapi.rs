//! The OpenAPI 3 document, generated from the handlers' annotations: `GET /openapi.json`, also
//! at `/swagger.json` and `/swagger` where the deployment tracker's clients looked for it, and a
//! browsable page at `/docs` (Swagger UI, its assets built into the binary). A browser that
//! opens `/swagger` is sent to the page; a client gets the JSON.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use utoipa::OpenApi as _;
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;

/// The document's skeleton; each resource module contributes its own paths.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "trackway",
    description = "Deployment tracking: events, deployments, versions per environment, scheduled-job health. Authenticate with `X-API-KEY: <key>` or `Authorization: Bearer <key>` (open orgs need none)."
))]
struct Skeleton;

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    Skeleton::openapi().merge_from(super::deployments::Api::openapi())
}

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document()))
        .route("/swagger.json", get(spec))
        .route("/swagger", get(swagger))
}

async fn spec() -> impl IntoResponse {
    axum::Json(document())
}

async fn swagger(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        Redirect::to("/docs/").into_response()
    } else {
        spec().await.into_response()
    }
}
