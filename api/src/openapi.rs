//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! served at `/api/openapi.json`, with Swagger UI at `/api/docs/`.

use crate::audit::routes as audit;
use crate::auth::routes as auth;
use crate::live::routes as live;
use crate::routes::*;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Argus API", description = "Multi-tenant cloud video management."),
    paths(
        auth::login, auth::refresh, auth::logout, auth::me,
        tenants::list, tenants::create, tenants::get, tenants::suspend, tenants::resume,
        tenants::create_admin, tenants::create_grant,
        access_grants::list, access_grants::get, access_grants::revoke,
        users::list, users::create, users::get, users::update, users::delete,
        roles::list, roles::create, roles::get, roles::update, roles::delete,
        bindings::list, bindings::create, bindings::delete,
        sites::list, sites::create, sites::get, sites::update, sites::delete,
        cameras::list, cameras::create, cameras::get, cameras::update, cameras::delete,
        segments::list, segments::mp4,
        live::whep, live::end, live::trickle, crate::live::stats::sessions,
        relays::list, relays::create, relays::get, relays::update, relays::delete, relays::claim_code,
        audit::list, audit::verify, audit::export,
    ),
    components(schemas(crate::error::Body, crate::error::Inner)),
    modifiers(&BearerAuth, &ErrorBodies)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every 4xx and 5xx response carries the one error body.
struct ErrorBodies;

impl Modify for ErrorBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
                &mut item.put,
            ];
            for op in ops.into_iter().flatten() {
                for (status, response) in op.responses.responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let (true, RefOr::T(r)) = (is_error, response) {
                        r.content.insert("application/json".into(), body.clone());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_covers_exactly_the_route_table() {
        let doc = ApiDoc::openapi();
        let mut documented = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                ("get", item.get.is_some()),
                ("post", item.post.is_some()),
                ("patch", item.patch.is_some()),
                ("delete", item.delete.is_some()),
                ("put", item.put.is_some()),
            ];
            for (m, present) in methods {
                if present {
                    documented.insert((m.to_string(), path.clone()));
                }
            }
        }
        let routed: BTreeSet<_> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, routed);
    }

    #[test]
    fn schemas_have_distinct_names_and_errors_their_body() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["Camera", "Tenant", "User", "AuditEvent", "ErrorBody"] {
            assert!(schemas.contains_key(name), "no schema {name}");
        }
        assert!(
            !schemas.contains_key("Model"),
            "entities share the name Model"
        );
        let not_found = &doc["paths"]["/api/v1/cameras/{id}"]["get"]["responses"]["404"];
        let schema = &not_found["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(schema, "#/components/schemas/ErrorBody");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    }
}
