//! One blocking HTTP request for tests of a running service: every status
//! is an answer (a 4xx or 5xx is a [`Reply`] too), only a failure to get
//! one is an error.

use serde_json::Value;

/// A request's body.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// None.
    None,
    /// JSON.
    Json(&'a Value),
    /// Text with its content type (`text/csv`, say).
    Text(&'a str, &'a str),
}

/// What the service answered.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `X-Request-Id` header (empty when absent).
    pub request_id: String,
    /// The body.
    pub text: String,
}

impl Reply {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// Sends `req` with `body`.
pub fn send(req: ureq::Request, body: Body<'_>) -> Result<Reply, String> {
    let result = match body {
        Body::None => req.call(),
        Body::Json(v) => req
            .set("Content-Type", "application/json")
            .send_string(&v.to_string()),
        Body::Text(content_type, text) => req.set("Content-Type", content_type).send_string(text),
    };
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    let request_id = response
        .header("x-request-id")
        .unwrap_or_default()
        .to_owned();
    let text = response.into_string().map_err(|e| e.to_string())?;
    Ok(Reply {
        status,
        request_id,
        text,
    })
}
