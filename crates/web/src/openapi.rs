//! The OpenAPI document, built from the route table (the one place routes
//! are declared), so every route is listed and no other.

use serde_json::{Map, Value, json};

use crate::routes::ENDPOINTS;

/// The OpenAPI 3.0 document of the service.
pub fn document() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let params: Vec<Value> = e
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(e.query.iter().map(|(name, what)| {
                json!({"name": name, "in": "query", "required": false, "description": what, "schema": {"type": "string"}})
            }))
            .collect();
        let entry = paths
            .entry(e.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ops) = entry {
            ops.insert(
                e.method.to_ascii_lowercase(),
                json!({
                    "summary": e.summary,
                    "description": format!("Who may call it: {}.", e.auth.describe()),
                    "x-roles": e.auth.roles(),
                    "parameters": params,
                    "responses": {
                        "default": {
                            "description": "Errors are {\"error\":{\"code\",\"message\"}}",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                        }
                    }
                }),
            );
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "literacy: civic science-literacy survey service",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}
                    }}}
                }
            }
        }
    })
}

/// The (method, path) of every route, as the document lists them.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    ENDPOINTS.iter().map(|e| (e.method, e.path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document() {
        let doc = document();
        for (method, path) in routes() {
            assert!(
                doc["paths"][path][method.to_ascii_lowercase()].is_object(),
                "{method} {path}"
            );
        }
        assert_eq!(doc["paths"].as_object().map(Map::len), Some(routes().len()));
    }
}
