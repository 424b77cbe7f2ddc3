//! TLS on the TCP listener, checked with tonic's own rustls client against certificates made
//! here (rcgen): plain TLS, mutual TLS (a client without a certificate is refused) and a
//! plaintext client refused by a TLS listener.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use toondb_grpc::pb;
use toondb_grpc::server::{serve, Listener, ServerConfig};
use toondb_grpc::TlsConfig;

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into()]);
    let (client_cert, client_key) = leaf(vec!["client".into()]);
    Pki {
        ca_pem: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

async fn start(tls: TlsConfig) -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = toondb::Database::open(dir.path().join("db")).unwrap();
    let l = Listener::tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = ServerConfig::default().with_tls(Some(tls));
    tokio::spawn(serve(db, vec![l], cfg, async move {
        let _ = rx.await;
    }));
    (format!("https://localhost:{}", addr.port()), tx, dir)
}

async fn channel(uri: &str, tls: Option<ClientTlsConfig>) -> Result<Channel, String> {
    let mut ep = Channel::from_shared(uri.to_string())
        .unwrap()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(10));
    if let Some(t) = tls {
        ep = ep.tls_config(t).map_err(|e| e.to_string())?;
    }
    ep.connect().await.map_err(|e| format!("{e:?}"))
}

async fn put_get(ch: Channel) -> Result<Vec<u8>, tonic::Status> {
    let mut kv = pb::kv_client::KvClient::new(ch);
    kv.put(pb::PutRequest {
        key: b"tls/k".to_vec(),
        value: b"v".to_vec(),
        ..Default::default()
    })
    .await?;
    let r = kv
        .get(pb::GetRequest {
            key: b"tls/k".to_vec(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(r.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_talks_and_plaintext_client_is_refused() {
    let p = pki();
    let tls = TlsConfig::from_pem(p.server_cert.as_bytes(), p.server_key.as_bytes(), None).unwrap();
    assert!(!tls.client_auth());
    let (uri, stop, _dir) = start(tls).await;

    let client_tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&p.ca_pem))
        .domain_name("localhost");
    let ch = channel(&uri, Some(client_tls)).await.unwrap();
    assert_eq!(put_get(ch).await.unwrap(), b"v");

    // The same port spoken to in clear gets no answer.
    let plain_uri = uri.replace("https://", "http://");
    let refused = match channel(&plain_uri, None).await {
        Err(_) => true,
        Ok(ch) => put_get(ch).await.is_err(),
    };
    assert!(refused, "a plaintext client was served by a TLS listener");

    // A client that does not trust the server's CA refuses the server.
    let other = pki();
    let wrong_ca = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&other.ca_pem))
        .domain_name("localhost");
    let refused = match channel(&uri, Some(wrong_ca)).await {
        Err(_) => true,
        Ok(ch) => put_get(ch).await.is_err(),
    };
    assert!(
        refused,
        "a client accepted a certificate from an unknown CA"
    );
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_a_client_without_certificate() {
    let p = pki();
    let tls = TlsConfig::from_pem(
        p.server_cert.as_bytes(),
        p.server_key.as_bytes(),
        Some(p.ca_pem.as_bytes()),
    )
    .unwrap();
    assert!(tls.client_auth());
    let (uri, stop, _dir) = start(tls).await;

    let base = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&p.ca_pem))
        .domain_name("localhost");
    let with_cert = base
        .clone()
        .identity(Identity::from_pem(&p.client_cert, &p.client_key));
    let ch = channel(&uri, Some(with_cert)).await.unwrap();
    assert_eq!(put_get(ch).await.unwrap(), b"v");

    let refused = match channel(&uri, Some(base)).await {
        Err(_) => true,
        Ok(ch) => put_get(ch).await.is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // A certificate from another CA is refused too.
    let other = pki();
    let foreign = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&p.ca_pem))
        .domain_name("localhost")
        .identity(Identity::from_pem(&other.client_cert, &other.client_key));
    let refused = match channel(&uri, Some(foreign)).await {
        Err(_) => true,
        Ok(ch) => put_get(ch).await.is_err(),
    };
    assert!(
        refused,
        "a client certificate from an unknown CA was accepted"
    );
    let _ = stop.send(());
}
