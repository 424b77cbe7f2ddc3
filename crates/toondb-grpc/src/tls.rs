//! TLS for TCP listeners, with rustls (ring provider): the server certificate and key, and
//! optionally a CA whose certificates clients must present (mutual TLS).
//!
//! The handshake happens in [`crate::server`] before a connection reaches tonic, one task per
//! connection with a deadline, so a client that stalls its handshake holds nothing but its
//! own socket. Unix-socket listeners never use TLS (the socket's file mode guards them).

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// A server TLS configuration, ready to accept connections. Cheap to clone.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
    client_auth: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads PEM files: the certificate chain (leaf first), its private key (PKCS#8, PKCS#1 or
    /// SEC1) and, for mutual TLS, the CA certificates that sign accepted client certificates.
    pub fn from_pem_files(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<TlsConfig> {
        let read = |what: &str, p: &Path| {
            std::fs::read(p).map_err(|e| Error::io(format!("reading {what} {}", p.display()), e))
        };
        let cert_pem = read("TLS certificate", cert)?;
        let key_pem = read("TLS key", key)?;
        let ca_pem = client_ca.map(|p| read("client CA", p)).transpose()?;
        TlsConfig::from_pem(&cert_pem, &key_pem, ca_pem.as_deref())
    }

    /// [`TlsConfig::from_pem_files`] from PEM text in memory.
    pub fn from_pem(cert: &[u8], key: &[u8], client_ca: Option<&[u8]>) -> Result<TlsConfig> {
        let certs = CertificateDer::pem_slice_iter(cert)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("TLS certificate: not valid PEM ({e})")))?;
        if certs.is_empty() {
            return Err(Error::Config(
                "TLS certificate: no CERTIFICATE block in the PEM file".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| Error::Config(format!("TLS key: no usable private key ({e})")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_slice_iter(ca) {
                    let c =
                        c.map_err(|e| Error::Config(format!("client CA: not valid PEM ({e})")))?;
                    roots
                        .add(c)
                        .map_err(|e| Error::Config(format!("client CA: {e}")))?;
                }
                if roots.is_empty() {
                    return Err(Error::Config(
                        "client CA: no CERTIFICATE block in the PEM file".into(),
                    ));
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|e| Error::Config(format!("client CA: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut cfg = builder
            .with_single_cert(certs, key)
            .map_err(|e| Error::Config(format!("TLS certificate and key: {e}")))?;
        // gRPC is HTTP/2 only; C-core clients insist on ALPN "h2".
        cfg.alpn_protocols = vec![b"h2".to_vec()];
        Ok(TlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(cfg)),
            client_auth: client_ca.is_some(),
        })
    }

    /// Whether clients must present a certificate signed by the configured CA.
    pub fn client_auth(&self) -> bool {
        self.client_auth
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_config_error_not_a_panic() {
        let e = TlsConfig::from_pem(b"nope", b"nope", None).unwrap_err();
        assert!(e.to_string().contains("TLS certificate"), "{e}");
        let e = TlsConfig::from_pem(b"", b"", None).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
    }

    #[test]
    fn missing_file_names_the_file() {
        let e = TlsConfig::from_pem_files(
            Path::new("/nonexistent/cert.pem"),
            Path::new("/nonexistent/key.pem"),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/cert.pem"), "{e}");
    }
}
