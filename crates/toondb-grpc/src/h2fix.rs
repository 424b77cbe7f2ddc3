//! Rewrites the HTTP/2 `:authority` of requests that arrive on a Unix socket when it is not a
//! valid URI authority, before hyper/h2 see it.
//!
//! gRPC C-core clients (Python `grpcio`, Ruby, PHP, C++) send the percent-encoded socket path
//! as `:authority` for `unix:PATH` targets (e.g. `%2Ftmp%2Ftoondb.sock`). RFC 3986 allows
//! percent-encoded octets in a reg-name, but the `http` crate used by h2 rejects them, so h2
//! resets every such stream with `PROTOCOL_ERROR` before the server sees the call. The authority
//! of a Unix-socket connection names nothing (there is no virtual hosting on a socket), so this
//! filter replaces an authority that `http` cannot parse with `localhost`, which is what those
//! clients send when `grpc.default_authority=localhost` is set.
//!
//! The filter reads the client's byte stream frame by frame: frames other than HEADERS and
//! CONTINUATION pass through untouched; a header block is decoded (HPACK, with the client's
//! dynamic table tracked here) and re-encoded as literals without indexing, so the decoder in
//! h2 never needs the client's dynamic table. A malformed block ends the connection.

use std::io;

use hpack::huffman::HuffmanDecoder;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADERS: u8 = 0x1;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;
/// The frame size h2 accepts by default (the server never advertises a larger one).
const MAX_FRAME: usize = 16_384;
/// The HPACK table size h2 advertises (SETTINGS_HEADER_TABLE_SIZE default); a client may not
/// use a larger one.
const MAX_TABLE: usize = 4_096;
/// Largest header block accepted (h2's own default limit on a decoded header list is 16 MiB;
/// gRPC metadata is far smaller).
const MAX_BLOCK: usize = 1 << 20;

const STATIC_TABLE: &[(&[u8], &[u8])] = &[
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

fn bad(msg: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("HTTP/2 header block: {msg}"),
    )
}

/// HPACK integer with an `n`-bit prefix; returns (value, bytes consumed).
fn decode_int(buf: &[u8], n: u8) -> io::Result<(usize, usize)> {
    let first = *buf.first().ok_or_else(|| bad("truncated integer"))?;
    let mask = ((1u16 << n) - 1) as u8;
    let mut v = (first & mask) as usize;
    if v < mask as usize {
        return Ok((v, 1));
    }
    let mut shift = 0u32;
    for (i, b) in buf.iter().enumerate().skip(1) {
        if shift > 28 {
            return Err(bad("integer too large"));
        }
        v = v
            .checked_add(((b & 0x7f) as usize) << shift)
            .ok_or_else(|| bad("integer too large"))?;
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
        shift += 7;
    }
    Err(bad("truncated integer"))
}

fn encode_int(out: &mut Vec<u8>, first: u8, n: u8, v: usize) {
    let mask = (1usize << n) - 1;
    if v < mask {
        out.push(first | v as u8);
        return;
    }
    out.push(first | mask as u8);
    let mut rest = v - mask;
    while rest >= 128 {
        out.push((rest % 128 + 128) as u8);
        rest /= 128;
    }
    out.push(rest as u8);
}

fn decode_string(buf: &[u8]) -> io::Result<(Vec<u8>, usize)> {
    let first = *buf.first().ok_or_else(|| bad("truncated string"))?;
    let (len, used) = decode_int(buf, 7)?;
    let raw = buf
        .get(used..used.saturating_add(len))
        .ok_or_else(|| bad("truncated string"))?;
    let s = if first & 0x80 != 0 {
        // The Huffman decoder of the `hpack` crate panics on some invalid codes: contain it.
        let raw = raw.to_vec();
        std::panic::catch_unwind(move || HuffmanDecoder::new().decode(&raw))
            .map_err(|_| bad("invalid Huffman code"))?
            .map_err(|_| bad("invalid Huffman code"))?
    } else {
        raw.to_vec()
    };
    Ok((s, used + len))
}

/// The client's HPACK dynamic table.
#[derive(Default)]
struct Table {
    entries: std::collections::VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max: usize,
}

impl Table {
    fn get(&self, index: usize) -> io::Result<(Vec<u8>, Vec<u8>)> {
        if index == 0 {
            return Err(bad("index 0"));
        }
        if let Some((n, v)) = STATIC_TABLE.get(index - 1) {
            return Ok((n.to_vec(), v.to_vec()));
        }
        self.entries
            .get(index - 1 - STATIC_TABLE.len())
            .cloned()
            .ok_or_else(|| bad("index out of range"))
    }
    fn evict(&mut self) {
        while self.size > self.max {
            match self.entries.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + 32,
                None => break,
            }
        }
    }
    fn insert(&mut self, n: &[u8], v: &[u8]) {
        let sz = n.len() + v.len() + 32;
        self.size += sz;
        self.entries.push_front((n.to_vec(), v.to_vec()));
        self.evict();
    }
}

/// Byte-stream filter for one connection (client to server direction).
pub(crate) struct AuthorityFix {
    table: Table,
    /// Bytes of the preface still to check; `None` once checked (or given up: pass-through).
    preface_pos: Option<usize>,
    passthrough: bool,
    inbuf: Vec<u8>,
    /// HEADERS frame awaiting CONTINUATION: (stream id, flags, priority bytes, fragment).
    pending: Option<(u32, u8, Vec<u8>, Vec<u8>)>,
}

impl Default for AuthorityFix {
    fn default() -> Self {
        AuthorityFix {
            table: Table {
                max: MAX_TABLE,
                ..Table::default()
            },
            preface_pos: Some(0),
            passthrough: false,
            inbuf: Vec::new(),
            pending: None,
        }
    }
}

impl AuthorityFix {
    /// Feeds bytes read from the client; appends what the server should read to `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        if self.passthrough {
            out.extend_from_slice(data);
            return Ok(());
        }
        self.inbuf.extend_from_slice(data);
        if let Some(pos) = self.preface_pos {
            let n = (PREFACE.len() - pos).min(self.inbuf.len());
            if self.inbuf[..n] != PREFACE[pos..pos + n] {
                // Not HTTP/2 with prior knowledge: let the server answer as it would.
                self.passthrough = true;
                out.append(&mut self.inbuf);
                return Ok(());
            }
            out.extend(self.inbuf.drain(..n));
            if pos + n < PREFACE.len() {
                self.preface_pos = Some(pos + n);
                return Ok(());
            }
            self.preface_pos = None;
        }
        let mut at = 0;
        while self.inbuf.len() - at >= 9 {
            let h = &self.inbuf[at..at + 9];
            let len = (h[0] as usize) << 16 | (h[1] as usize) << 8 | h[2] as usize;
            if len > MAX_FRAME {
                // h2 rejects it with FRAME_SIZE_ERROR: forward and stop filtering.
                self.passthrough = true;
                out.extend_from_slice(&self.inbuf[at..]);
                self.inbuf.clear();
                return Ok(());
            }
            if self.inbuf.len() - at < 9 + len {
                break;
            }
            let (kind, flags) = (h[3], h[4]);
            let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
            let payload = &self.inbuf[at + 9..at + 9 + len];
            match (kind, self.pending.take()) {
                (FRAME_HEADERS, None) => {
                    let mut p = payload;
                    let mut pad = 0;
                    if flags & FLAG_PADDED != 0 {
                        pad = *p.first().ok_or_else(|| bad("padding"))? as usize;
                        p = &p[1..];
                    }
                    let mut prio = Vec::new();
                    if flags & FLAG_PRIORITY != 0 {
                        prio = p.get(..5).ok_or_else(|| bad("priority"))?.to_vec();
                        p = &p[5..];
                    }
                    let frag = p
                        .get(..p.len().checked_sub(pad).ok_or_else(|| bad("padding"))?)
                        .ok_or_else(|| bad("padding"))?
                        .to_vec();
                    if flags & FLAG_END_HEADERS != 0 {
                        self.rewrite(stream, flags, &prio, &frag, out)?;
                    } else {
                        self.pending = Some((stream, flags, prio, frag));
                    }
                }
                (FRAME_CONTINUATION, Some((s, f, prio, mut frag))) if s == stream => {
                    frag.extend_from_slice(payload);
                    if frag.len() > MAX_BLOCK {
                        return Err(bad("too large"));
                    }
                    if flags & FLAG_END_HEADERS != 0 {
                        self.rewrite(s, f, &prio, &frag, out)?;
                    } else {
                        self.pending = Some((s, f, prio, frag));
                    }
                }
                (_, Some(_)) | (FRAME_CONTINUATION, None) => {
                    return Err(bad("CONTINUATION expected"));
                }
                (_, None) => out.extend_from_slice(&self.inbuf[at..at + 9 + len]),
            }
            at += 9 + len;
        }
        self.inbuf.drain(..at);
        Ok(())
    }

    fn decode_block(&mut self, mut b: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut headers = Vec::new();
        let mut first = true;
        while let Some(&o) = b.first() {
            let used = if o & 0x80 != 0 {
                let (i, used) = decode_int(b, 7)?;
                headers.push(self.table.get(i)?);
                used
            } else if o & 0xe0 == 0x20 {
                let (sz, used) = decode_int(b, 5)?;
                if !first || sz > MAX_TABLE {
                    return Err(bad("table size update"));
                }
                self.table.max = sz;
                self.table.evict();
                used
            } else {
                let prefix = if o & 0x40 != 0 { 6 } else { 4 };
                let (i, mut used) = decode_int(b, prefix)?;
                let name = if i == 0 {
                    let (n, u) = decode_string(&b[used..])?;
                    used += u;
                    n
                } else {
                    self.table.get(i)?.0
                };
                let (value, u) = decode_string(&b[used..])?;
                used += u;
                if o & 0x40 != 0 {
                    self.table.insert(&name, &value);
                }
                headers.push((name, value));
                used
            };
            if o & 0xe0 != 0x20 {
                first = false;
            }
            b = &b[used..];
        }
        Ok(headers)
    }

    fn rewrite(
        &mut self,
        stream: u32,
        flags: u8,
        prio: &[u8],
        frag: &[u8],
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let headers = self.decode_block(frag)?;
        let mut block = Vec::with_capacity(frag.len() * 2);
        for (name, mut value) in headers {
            if name == b":authority" && http::uri::Authority::try_from(&value[..]).is_err() {
                value = b"localhost".to_vec();
            }
            // Literal without indexing, new name: h2's dynamic table stays empty.
            block.push(0);
            encode_int(&mut block, 0, 7, name.len());
            block.extend_from_slice(&name);
            encode_int(&mut block, 0, 7, value.len());
            block.extend_from_slice(&value);
        }
        let mut payload = prio.to_vec();
        payload.extend_from_slice(&block);
        let mut chunks = payload.chunks(MAX_FRAME).peekable();
        let mut kind = FRAME_HEADERS;
        let mut fl = flags & (FLAG_END_STREAM | FLAG_PRIORITY);
        loop {
            let chunk = chunks.next().unwrap_or(&[]);
            let last = chunks.peek().is_none();
            if last {
                fl |= FLAG_END_HEADERS;
            }
            let n = chunk.len();
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8, kind, fl]);
            out.extend_from_slice(&stream.to_be_bytes());
            out.extend_from_slice(chunk);
            if last {
                return Ok(());
            }
            kind = FRAME_CONTINUATION;
            fl = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let n = payload.len();
        let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn percent_encoded_authority_becomes_localhost_and_indexing_is_tracked() {
        let path = b"%2Ftmp%2Fs.sock";
        // Literal with incremental indexing, indexed name 1 (:authority), raw value.
        let mut b1 = vec![0x41, path.len() as u8];
        b1.extend_from_slice(path);
        b1.push(0x83); // :method POST
                       // Second request: indexed dynamic entry 62 (the authority above).
        let b2 = vec![0x80 | 62, 0x83];
        let mut input = PREFACE.to_vec();
        input.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, &b1));
        input.extend(frame(0x0, 0x1, 1, b"data"));
        input.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 3, &b2));
        let mut f = AuthorityFix::default();
        let mut out = Vec::new();
        // Byte by byte: frames split across reads must work.
        for b in &input {
            f.feed(std::slice::from_ref(b), &mut out).unwrap();
        }
        let mut check = AuthorityFix::default();
        let body = &out[PREFACE.len()..];
        let mut at = 0;
        let mut seen = Vec::new();
        while at < body.len() {
            let len =
                (body[at] as usize) << 16 | (body[at + 1] as usize) << 8 | body[at + 2] as usize;
            if body[at + 3] == FRAME_HEADERS {
                seen.push(check.decode_block(&body[at + 9..at + 9 + len]).unwrap());
            } else {
                assert_eq!(&body[at + 9..at + 9 + len], b"data");
            }
            at += 9 + len;
        }
        assert_eq!(seen.len(), 2);
        for h in seen {
            assert_eq!(h[0], (b":authority".to_vec(), b"localhost".to_vec()));
            assert_eq!(h[1], (b":method".to_vec(), b"POST".to_vec()));
        }
        assert!(check.table.entries.is_empty(), "output must not index");
    }

    #[test]
    fn valid_authority_is_kept_and_garbage_is_an_error_not_a_panic() {
        let mut b = vec![0x01, 9];
        b.extend_from_slice(b"localhost");
        let mut input = PREFACE.to_vec();
        input.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, &b));
        let mut out = Vec::new();
        AuthorityFix::default().feed(&input, &mut out).unwrap();
        assert!(out.windows(9).any(|w| w == b"localhost"));
        for junk in [
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            vec![0x41, 0x85, 0xff, 0xff, 0xff, 0xff, 0xff],
            vec![0x20 | 0x1f, 0xff, 0x7f],
        ] {
            let mut input = PREFACE.to_vec();
            input.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, &junk));
            let mut out = Vec::new();
            assert!(AuthorityFix::default().feed(&input, &mut out).is_err());
        }
    }
}
