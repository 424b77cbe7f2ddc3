//! Optional bearer-token authentication, checked on every call of the `toondb.v1` services.

use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Checks `authorization: Bearer <token>` when a token is configured.
#[derive(Clone, Default)]
pub struct BearerAuth {
    expected: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("enabled", &self.expected.is_some())
            .finish()
    }
}

impl BearerAuth {
    /// Requires `token` (or nothing, for `None`).
    pub fn new(token: Option<&str>) -> BearerAuth {
        BearerAuth {
            expected: token.map(|t| Arc::from(format!("Bearer {t}").into_bytes())),
        }
    }

    /// Whether a token is required.
    pub fn enabled(&self) -> bool {
        self.expected.is_some()
    }
}

/// Compares in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Interceptor for BearerAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else {
            return Ok(req);
        };
        match req.metadata().get("authorization") {
            Some(v) if constant_time_eq(v.as_bytes(), expected) => Ok(req),
            Some(_) => Err(Status::unauthenticated("invalid bearer token")),
            None => Err(Status::unauthenticated(
                "missing `authorization: Bearer <token>` metadata",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(auth: Option<&str>) -> Request<()> {
        let mut r = Request::new(());
        if let Some(a) = auth {
            r.metadata_mut().insert("authorization", a.parse().unwrap());
        }
        r
    }

    #[test]
    fn checks_token() {
        let mut a = BearerAuth::new(Some("s3cret"));
        assert!(a.call(req(Some("Bearer s3cret"))).is_ok());
        for bad in [
            None,
            Some("Bearer s3cre"),
            Some("Bearer s3cret2"),
            Some("s3cret"),
        ] {
            let e = a.call(req(bad)).unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated);
        }
        let mut open = BearerAuth::new(None);
        assert!(open.call(req(None)).is_ok());
    }
}
