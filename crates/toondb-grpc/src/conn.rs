//! Accepted connections, wrapped so that every request knows its connection id and the
//! server learns when a connection closes (to roll back the transactions it owns).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tonic::transport::server::Connected;

/// Per-request extension identifying the connection a request arrived on.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// Process-unique connection id (never 0).
    pub id: u64,
    /// Peer address for TCP connections.
    pub peer: Option<std::net::SocketAddr>,
}

/// Called with a connection id when that connection closes.
pub type OnClose = Arc<dyn Fn(u64) + Send + Sync>;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

enum Inner {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Unix(UnixStream),
}

/// An accepted TCP or Unix-socket connection.
pub struct Conn {
    inner: Inner,
    info: ConnInfo,
    on_close: Option<OnClose>,
    /// `:authority` filter of Unix-socket connections (see [`crate::h2fix`]).
    fix: Option<Box<Fix>>,
}

#[derive(Default)]
struct Fix {
    filter: crate::h2fix::AuthorityFix,
    out: Vec<u8>,
    pos: usize,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("info", &self.info).finish()
    }
}

impl Conn {
    /// Wraps a TCP stream (and turns Nagle's algorithm off: RPCs are small and latency-bound).
    pub fn tcp(s: TcpStream, on_close: Option<OnClose>) -> Conn {
        // Best effort: a socket that refuses TCP_NODELAY still works, only slower.
        let _ = s.set_nodelay(true);
        let peer = s.peer_addr().ok();
        Conn {
            inner: Inner::Tcp(s),
            info: ConnInfo {
                id: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
                peer,
            },
            on_close,
            fix: None,
        }
    }

    /// Wraps a TCP stream whose TLS handshake has completed.
    pub fn tls(s: tokio_rustls::server::TlsStream<TcpStream>, on_close: Option<OnClose>) -> Conn {
        let peer = s.get_ref().0.peer_addr().ok();
        Conn {
            inner: Inner::Tls(Box::new(s)),
            info: ConnInfo {
                id: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
                peer,
            },
            on_close,
            fix: None,
        }
    }

    /// Wraps a Unix-socket stream.
    pub fn unix(s: UnixStream, on_close: Option<OnClose>) -> Conn {
        Conn {
            inner: Inner::Unix(s),
            info: ConnInfo {
                id: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
                peer: None,
            },
            on_close,
            fix: Some(Box::default()),
        }
    }

    /// This connection's id.
    pub fn id(&self) -> u64 {
        self.info.id
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(f) = self.on_close.take() {
            f(self.info.id);
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;
    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match (&mut this.inner, &mut this.fix) {
            (Inner::Tcp(s), _) => Pin::new(s).poll_read(cx, buf),
            (Inner::Tls(s), _) => Pin::new(s.as_mut()).poll_read(cx, buf),
            (Inner::Unix(s), None) => Pin::new(s).poll_read(cx, buf),
            (Inner::Unix(s), Some(fix)) => loop {
                if fix.pos < fix.out.len() {
                    let n = buf.remaining().min(fix.out.len() - fix.pos);
                    buf.put_slice(&fix.out[fix.pos..fix.pos + n]);
                    fix.pos += n;
                    if fix.pos == fix.out.len() {
                        fix.out.clear();
                        fix.pos = 0;
                    }
                    return Poll::Ready(Ok(()));
                }
                let mut tmp = [0u8; 16 * 1024];
                let mut rb = ReadBuf::new(&mut tmp);
                match Pin::new(&mut *s).poll_read(cx, &mut rb) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => {}
                }
                if rb.filled().is_empty() {
                    return Poll::Ready(Ok(()));
                }
                fix.filter.feed(rb.filled(), &mut fix.out)?;
            },
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Inner::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Inner::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Inner::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Inner::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Tcp(s) => s.is_write_vectored(),
            Inner::Tls(s) => s.is_write_vectored(),
            Inner::Unix(s) => s.is_write_vectored(),
        }
    }
}
