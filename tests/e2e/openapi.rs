//! The OpenAPI document: every route of the routers is described with its method, the same
//! document is served at each of its addresses, and it is OpenAPI 3 in the basic sense.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::harness::{Scratch, Server};

/// Every route the routers register (`engine/src/http/*.rs`, each `router()`), as the document
/// must describe it. Written out by hand, since axum cannot list its routes: a description that
/// goes missing or drifts from its route fails here, and a new route needs its line here.
const ROUTES: &[(&str, &str)] = &[
    // deployments
    ("get", "/v1/deployments"),
    ("post", "/v1/deployments/{id}"),
    ("put", "/v1/deployments/{id}"),
    ("get", "/v1/deployments/{id}"),
    ("post", "/v1/deployments/{id}/logs"),
    ("post", "/v1/deployments/{id}/servers"),
    ("put", "/v1/deployments/{id}/servers"),
    ("get", "/v1/deployments/{id}/servers/{hostname}"),
    ("get", "/v1/servers"),
    ("get", "/v1/servers/{hostname}"),
    // dlq
    ("get", "/v1/orgs/{org}/dlq"),
    ("post", "/v1/orgs/{org}/dlq/replay"),
    ("post", "/v1/orgs/{org}/dlq/{id}/replay"),
    // events
    ("post", "/v1/orgs/{org}/events"),
    // history
    ("get", "/v1/orgs/{org}/history/{stream}"),
    // health
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/healthcheck"),
    ("get", "/metrics"),
    // hooks: routed for every method, described as the `POST` webhooks are.
    (
        "post",
        "/v1/orgs/{org}/pipelines/{pipeline}/sources/{source}/webhook",
    ),
    // inventory
    ("get", "/v1/orgs/{org}/environments"),
    ("get", "/v1/orgs/{org}/environments/{env}/apps"),
    (
        "get",
        "/v1/orgs/{org}/environments/{env}/apps/{app}/history",
    ),
    ("get", "/v1/orgs/{org}/apps/{app}"),
    ("get", "/v1/orgs/{org}/diff"),
    // openapi (`/docs/` and the page's assets below it are not API routes)
    ("get", "/openapi.json"),
    ("get", "/swagger.json"),
    ("get", "/swagger"),
    ("get", "/docs"),
    // svt
    ("post", "/create"),
    ("get", "/list"),
    ("get", "/list/{env}"),
    // tasks
    ("post", "/api/tasks"),
    ("get", "/api/tasks"),
    ("get", "/api/tasks/{id}"),
    ("post", "/api/tasks/{id}/jobs"),
    ("post", "/api/backups"),
    ("post", "/api/reports"),
    ("get", "/healthz/ready"),
];

/// The deployment routes are also routed under `/v1/orgs/{org}/` for an org named in the path;
/// the document describes them once, under `/v1/`, and says so in the `deployments` tag.
const ORG_FORM: &str = "/v1/orgs/{org}/";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// `path` with its parameters filled in: `{org}` the open `default` org, the others `1`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{org}" => "default",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the server routes `method path` (its parameters filled in): it answers anything but
/// axum's fallback (an empty 404) or a 405, whatever the handler makes of the empty request.
async fn check_routed(server: &Server, method: &str, path: &str) -> Result<(), String> {
    let url = format!("{}{}", server.url, concrete(path));
    let response = server
        .client
        .request(method.to_uppercase().parse().expect("a method"), &url)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    if status == 405 || (status == 404 && body.is_empty()) {
        Err(format!("{method} {path}: not routed ({status})"))
    } else {
        Ok(())
    }
}

#[tokio::test]
async fn the_document_describes_every_route_and_is_valid() {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start(&scratch.pipelines(), &scratch.data());

    let (status, doc) = server.get("/openapi.json").await;
    assert_eq!(status, 200, "{doc}");
    for path in ["/swagger.json", "/swagger"] {
        let (status, other) = server.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(other == doc, "{path} serves another document");
    }
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );

    // Described: exactly the routed (method, path) pairs, no more, no fewer.
    let paths = doc["paths"].as_object().expect("paths");
    let described: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| ((*m).to_owned(), path.clone()))
        })
        .collect();
    let mut routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(ROUTES.len(), routed.len(), "a route is listed twice");
    // The deployment tracker's routes, again under `/v1/orgs/{org}/`.
    let org_forms: Vec<(String, String)> = ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/v1/deployments") || p.starts_with("/v1/servers"))
        .map(|(m, p)| ((*m).to_owned(), p.replacen("/v1/", ORG_FORM, 1)))
        .collect();
    routed.extend(org_forms);
    let missing: Vec<_> = routed.difference(&described).collect();
    assert!(missing.is_empty(), "routed but not described: {missing:?}");
    let extra: Vec<_> = described.difference(&routed).collect();
    assert!(extra.is_empty(), "described but not in ROUTES: {extra:?}");

    // ROUTES is what the server routes (a typo there would otherwise go unnoticed).
    for (method, path) in ROUTES {
        check_routed(&server, method, path).await.unwrap();
    }
    let deployments = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["name"] == "deployments")
        .expect("the deployments tag");
    assert!(
        deployments["description"]
            .as_str()
            .is_some_and(|d| d.contains(ORG_FORM)),
        "{deployments}"
    );
    for (method, path) in ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/v1/deployments") || p.starts_with("/v1/servers"))
    {
        let org_form = path.replacen("/v1/", ORG_FORM, 1);
        check_routed(&server, method, &org_form).await.unwrap();
    }

    // Every path item has an operation; every operation a response, a declared tag with a
    // description, and an id no other operation has.
    let tags: BTreeMap<&str, &Value> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| (t["name"].as_str().expect("a tag name"), &t["description"]))
        .collect();
    assert!(
        tags.values()
            .all(|d| d.as_str().is_some_and(|d| !d.is_empty())),
        "a tag without a description: {tags:?}"
    );
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        let operations: Vec<(&str, &Value)> = METHODS
            .iter()
            .filter_map(|m| item.get(*m).map(|op| (*m, op)))
            .collect();
        assert!(!operations.is_empty(), "{path} has no operation");
        for (method, op) in operations {
            let at = format!("{method} {path}");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{at}: no responses"
            );
            let op_tags = op["tags"].as_array().expect("tags");
            assert!(
                !op_tags.is_empty()
                    && op_tags
                        .iter()
                        .all(|t| t.as_str().is_some_and(|t| tags.contains_key(t))),
                "{at}: tags {op_tags:?} not declared"
            );
            let id = op["operationId"].as_str().expect("an operation id");
            assert!(
                ids.insert(id.to_owned()),
                "{at}: operation id `{id}` reused"
            );
            // Every path parameter is declared.
            for name in path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            {
                let declared = op["parameters"].as_array().is_some_and(|params| {
                    params
                        .iter()
                        .any(|p| p["in"] == "path" && p["name"] == name)
                });
                assert!(declared, "{at}: path parameter `{name}` not declared");
            }
        }
    }

    // Every `$ref` resolves into `components.schemas`.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty(), "no schema is referenced");
    for reference in all {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("`{reference}` points outside components.schemas"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "`{reference}` does not resolve"
        );
    }
}
