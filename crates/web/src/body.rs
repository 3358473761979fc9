//! Request bodies read whole, up to a limit: the batch API's file and the
//! upload pages' forms.

use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

/// Why a body was not read.
pub(crate) enum BodyError {
    /// Larger than the limit, as declared or as sent.
    TooLarge,
    /// The stream broke off.
    Broken(PayloadError),
}

/// The body of `req`, refused as soon as it is known to be larger than
/// `limit` bytes: by its declared `Content-Length`, or while it streams.
pub(crate) async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(BodyError::Broken)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
