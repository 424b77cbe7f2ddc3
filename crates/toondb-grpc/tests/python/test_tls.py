"""TLS and mutual TLS of toondb-server seen from grpcio (C-core, an independent TLS stack).
The certificates are made here with `openssl` (a CA, a server certificate for localhost and
127.0.0.1, a client certificate); each test class starts its own server from TOONDB_BIN.
Skipped (loudly) when `openssl` is not on PATH."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import grpc

from toondb.v1 import toondb_pb2 as pb
from toondb.v1 import toondb_pb2_grpc as rpc

BIN = os.environ.get("TOONDB_BIN", "")
OPENSSL = shutil.which("openssl")


def _run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_pki(d):
    """CA, server (localhost, 127.0.0.1) and client certificates, P-256 keys, in directory d."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(OPENSSL, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=toondb test CA", cwd=d)
    for name, ext in [
        ("server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                   "basicConstraints=CA:FALSE\n"),
        ("client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"),
    ]:
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        _run(OPENSSL, "req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
             "-subj", "/CN=" + name, cwd=d)
        _run(OPENSSL, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=d)
    def read(n):
        with open(os.path.join(d, n), "rb") as f:
            return f.read()
    return {n: read(n) for n in ["ca.pem", "server.pem", "server.key", "client.pem", "client.key"]}


def start_server(d, extra):
    out = open(os.path.join(d, "server.out"), "w+")
    err = open(os.path.join(d, "server.err"), "w+")
    proc = subprocess.Popen([BIN, "--data", os.path.join(d, "db"), "--listen", "127.0.0.1:0",
                             "--tls-cert", os.path.join(d, "server.pem"),
                             "--tls-key", os.path.join(d, "server.key"), *extra],
                            stdout=out, stderr=err, env={k: v for k, v in os.environ.items()
                                                         if k != "TOONDB_TOKEN"})
    deadline = time.time() + 60
    while time.time() < deadline:
        out.seek(0)
        for line in out.read().splitlines():
            if line.startswith("listening on "):
                return proc, line[len("listening on "):]
        if proc.poll() is not None:
            err.seek(0)
            raise RuntimeError("server exited: " + err.read())
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not print 'listening on'")


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def put_get(channel):
    kv = rpc.KvStub(channel)
    kv.Put(pb.PutRequest(key=b"tls/k", value=b"v"), timeout=10)
    return kv.Get(pb.GetRequest(key=b"tls/k"), timeout=10).value


@unittest.skipIf(not BIN, "TOONDB_BIN not set (run through run.sh)")
@unittest.skipIf(OPENSSL is None, "openssl not on PATH: TLS test skipped")
class TlsTest(unittest.TestCase):
    extra = []

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.pki = make_pki(cls.dir)
        cls.proc, cls.addr = start_server(cls.dir, [a.replace("{dir}", cls.dir) for a in cls.extra])
        cls.port = cls.addr.rsplit(":", 1)[1]

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.proc)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def creds(self, client_cert=False):
        if client_cert:
            return grpc.ssl_channel_credentials(self.pki["ca.pem"], self.pki["client.key"],
                                                self.pki["client.pem"])
        return grpc.ssl_channel_credentials(self.pki["ca.pem"])

    def test_tls_put_get(self):
        with grpc.secure_channel("localhost:" + self.port, self.creds(client_cert=True)) as ch:
            self.assertEqual(put_get(ch), b"v")

    def test_plaintext_client_is_refused(self):
        with grpc.insecure_channel(self.addr) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                put_get(ch)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_wrong_ca_is_refused_by_the_client(self):
        other = tempfile.mkdtemp()
        try:
            pki = make_pki(other)
            creds = grpc.ssl_channel_credentials(pki["ca.pem"])
            with grpc.secure_channel("localhost:" + self.port, creds) as ch:
                with self.assertRaises(grpc.RpcError) as cm:
                    put_get(ch)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            shutil.rmtree(other, ignore_errors=True)


class MutualTlsTest(TlsTest):
    extra = ["--tls-ca", "{dir}/ca.pem"]

    def test_client_without_certificate_is_refused(self):
        with grpc.secure_channel("localhost:" + self.port, self.creds(client_cert=False)) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                put_get(ch)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_client_certificate_from_another_ca_is_refused(self):
        other = tempfile.mkdtemp()
        try:
            pki = make_pki(other)
            creds = grpc.ssl_channel_credentials(self.pki["ca.pem"], pki["client.key"],
                                                 pki["client.pem"])
            with grpc.secure_channel("localhost:" + self.port, creds) as ch:
                with self.assertRaises(grpc.RpcError) as cm:
                    put_get(ch)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            shutil.rmtree(other, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
