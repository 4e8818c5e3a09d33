//! The OpenAPI 3 document, generated from the handlers' annotations: `GET /openapi.json`, also
//! at `/swagger.json` and `/swagger` where the deployment tracker's clients looked for it, and a
//! browsable page at `/docs` (Swagger UI, its assets built into the binary). A browser that
//! opens `/swagger` is sent to the page; a client gets the JSON.
//!
//! Every resource module describes its own routes (an `Api` deriving `utoipa::OpenApi`, a
//! `#[utoipa::path]` on each handler); [`document`] merges them. Operation ids are the handlers'
//! names, qualified where two modules share one (`list`, `show`, `create`), since clients
//! generated from the document need them unique; `tests/e2e/openapi.rs` checks that, and that
//! every route of the routers is described.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use utoipa::OpenApi as _;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;

/// The document's skeleton; each resource module contributes its own paths.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "trackway",
    description = "Deployment tracking: events, deployments, versions per environment, scheduled-job health. Authenticate with `X-API-KEY: <key>` or `Authorization: Bearer <key>` (open orgs need none). A missing or invalid key is a `401`, a key whose scope (`read`, `write`, `admin`) is too small a `403`, a key of another org the `404` of an unknown org. Errors answer `{\"error\": {\"code\", \"message\"}}` (with `line` and `column` for invalid JSON), except the few of axum's own rejections, which answer plain text where an operation says so."
))]
struct Skeleton;

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(spec, swagger),
    modifiers(&SwaggerUiRoutes),
    tags((name = "docs", description = "This document, and the page that browses it."))
)]
pub struct Api;

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = Skeleton::openapi()
        .merge_from(super::deployments::Api::openapi())
        .merge_from(super::events::Api::openapi())
        .merge_from(super::history::Api::openapi())
        .merge_from(super::inventory::Api::openapi())
        .merge_from(super::svt::Api::openapi())
        .merge_from(super::tasks::Api::openapi())
        .merge_from(super::dlq::Api::openapi())
        .merge_from(super::hooks::Api::openapi())
        .merge_from(super::health::Api::openapi())
        .merge_from(Api::openapi());
    add_org_forms(&mut document);
    document
}

/// The deployment tracker's routes exist twice, under `/v1/...` (the key's org) and under
/// `/v1/orgs/{org}/...` (`http::deployments::router`); the handlers are described once, so the
/// second form is added here: the same operations, with the `org` path parameter and ids of
/// their own (generated clients need them unique).
fn add_org_forms(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{Object, Required, Type};
    let org = ParameterBuilder::new()
        .name("org")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("The org (a key of another org gets a 404)"))
        .schema(Some(Object::with_type(Type::String)))
        .build();
    let forms: Vec<_> = document
        .paths
        .paths
        .iter()
        .filter(|(path, _)| path.starts_with("/v1/deployments") || path.starts_with("/v1/servers"))
        .map(|(path, item)| {
            let mut item = item.clone();
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                operation.operation_id = operation
                    .operation_id
                    .take()
                    .map(|id| format!("{id}_of_org"));
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .insert(0, org.clone().into());
            }
            (path.replacen("/v1/", "/v1/orgs/{org}/", 1), item)
        })
        .collect();
    document.paths.paths.extend(forms);
}

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document()))
        .route("/swagger.json", get(spec))
        .route("/swagger", get(swagger))
}

/// `/openapi.json` and `/docs` are served by [`SwaggerUi`], which has no handler here to
/// annotate: they are described by hand.
struct SwaggerUiRoutes;

impl utoipa::Modify for SwaggerUiRoutes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let json = ContentBuilder::new().build();
        let document = OperationBuilder::new()
            .tag("docs")
            .operation_id(Some("openapi_json"))
            .summary(Some("This OpenAPI document."))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The document")
                    .content("application/json", json),
            );
        openapi
            .paths
            .add_path_operation("/openapi.json", vec![HttpMethod::Get], document);
        let page = OperationBuilder::new()
            .tag("docs")
            .operation_id(Some("docs"))
            .summary(Some("The browsable docs page (Swagger UI)."))
            .description(Some(
                "The page is at `/docs/`, its assets below it; it reads `/openapi.json`.",
            ))
            .response(
                "303",
                ResponseBuilder::new().description("Redirect to `/docs/`, the page"),
            );
        openapi
            .paths
            .add_path_operation("/docs", vec![HttpMethod::Get], page);
    }
}

/// This OpenAPI document, where the deployment tracker's clients looked for it.
#[utoipa::path(
    get, path = "/swagger.json", tag = "docs",
    responses((status = 200, description = "The document, as at `/openapi.json`", content_type = "application/json"))
)]
async fn spec() -> impl IntoResponse {
    axum::Json(document())
}

/// This OpenAPI document for clients; browsers are sent to the docs page.
#[utoipa::path(
    get, path = "/swagger", tag = "docs",
    params(("Accept" = Option<String>, Header, description = "Containing `text/html` (a browser): redirected to the page")),
    responses(
        (status = 200, description = "The document, as at `/openapi.json`", content_type = "application/json"),
        (status = 303, description = "Redirect to `/docs/`, when `Accept` contains `text/html`"),
    )
)]
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
