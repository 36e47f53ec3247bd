#!/usr/bin/python3
# ems_fault.py: a small, deliberately misbehaving content destination for the forwarding
# tests. It speaks the subset of the Swift API the controller uses (tempauth-style
# GET /auth/v1.0, PUT/POST/HEAD containers, PUT/GET/HEAD objects, container listings) over
# HTTPS with its own self-signed certificate, stores what it accepts under DIR/store, and
# logs every request as one JSON line in DIR/requests.jsonl.
#
# Usage: ems_fault.py --dir DIR [--port P] [--mode MODE] [--busy N] [--flag FILE]
#                     [--capabilities FILE]
# Modes (faults apply to object PUTs in recording containers, not System/Users/Devices):
#   ok          behaves like Swift
#   wrong-etag  stores the object but answers 201 with a wrong ETag
#   busy        the first N object PUTs get 503
#   full        507 while the flag file exists
#   reject      400 (RejectedContent_* containers are accepted)
#   record      like ok (the request log is the point)
# DIR/ready.json is written once it listens: {port, cert, user, key, auth_url, pid}.

import argparse
import hashlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

USER, KEY, TOKEN, ACCOUNT = "ems:fault", "fault-key", "AUTH_tkfault0001", "AUTH_fault"
SPECIAL = ("System", "Users", "Devices")


class State:
    def __init__(self, args):
        self.dir = Path(args.dir)
        self.store = self.dir / "store"
        self.mode, self.busy_left, self.flag = args.mode, args.busy, args.flag
        self.lock = threading.Lock()
        self.log = open(self.dir / "requests.jsonl", "a", buffering=1)
        self.port = 0

    def record(self, entry):
        entry["t"] = time.time()
        with self.lock:
            self.log.write(json.dumps(entry) + "\n")


def q(name):
    return urllib.parse.quote(name, safe="")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ems-fault/1"

    def log_message(self, fmt, *a):
        pass

    @property
    def st(self):
        return self.server.state

    # ---- plumbing --------------------------------------------------------------
    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        chunks, left = [], n
        while left > 0:
            b = self.rfile.read(min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)

    def answer(self, code, headers=None, body=b"", entry=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        e = {"method": self.command, "path": urllib.parse.unquote(self.path.split("?")[0]),
             "status": code}
        e.update(entry or {})
        self.st.record(e)

    def split(self):
        """(container, object) of /v1/ACCOUNT/container[/object], or None."""
        path = self.path.split("?")[0]
        parts = path.split("/", 4)
        if len(parts) < 3 or parts[1] != "v1" or parts[2] != ACCOUNT:
            return None
        c = urllib.parse.unquote(parts[3]) if len(parts) > 3 and parts[3] else None
        o = urllib.parse.unquote(parts[4]) if len(parts) > 4 and parts[4] else None
        return c, o

    def authed(self):
        if self.headers.get("X-Auth-Token") != TOKEN:
            self.body()
            self.answer(401)
            return False
        return True

    def meta(self, kind):
        pre = "x-%s-meta-" % kind
        return {k.lower(): v for k, v in self.headers.items() if k.lower().startswith(pre)}

    def cdir(self, c):
        return self.st.store / q(c)

    def cmeta_path(self, c):
        return self.st.store / (q(c) + ".container.json")

    def ometa_path(self, c, o):
        return self.cdir(c) / ".meta" / (q(o) + ".json")

    # ---- verbs ---------------------------------------------------------------
    def do_GET(self):
        if self.path.split("?")[0] == "/auth/v1.0":
            ok = (self.headers.get("X-Auth-User") == USER and
                  self.headers.get("X-Auth-Key") == KEY)
            return self.answer(200 if ok else 401, {
                "X-Auth-Token": TOKEN, "X-Storage-Token": TOKEN,
                "X-Storage-Url": "https://127.0.0.1:%d/v1/%s" % (self.st.port, ACCOUNT)}
                if ok else {})
        self.get_or_head()

    def do_HEAD(self):
        self.get_or_head()

    def get_or_head(self):
        if not self.authed():
            return
        where = self.split()
        if where is None:
            return self.answer(404)
        c, o = where
        if c is None:
            names = sorted(urllib.parse.unquote(p.name) for p in self.st.store.iterdir()
                           if p.is_dir())
            return self.answer(200, {"Content-Type": "application/json"},
                               json.dumps([{"name": n} for n in names]).encode())
        if not self.cdir(c).is_dir():
            return self.answer(404)
        if o is None:
            meta = json.loads(self.cmeta_path(c).read_text() or "{}")
            objs = sorted(urllib.parse.unquote(p.name) for p in self.cdir(c).iterdir()
                          if p.is_file())
            return self.answer(200 if objs else 204, meta, json.dumps(
                [{"name": n} for n in objs]).encode() if objs else b"")
        p = self.cdir(c) / q(o)
        if not p.is_file():
            return self.answer(404)
        meta = json.loads(self.ometa_path(c, o).read_text())
        data = p.read_bytes()
        self.answer(200, meta, data)

    def do_PUT(self):
        if not self.authed():
            return
        where = self.split()
        if where is None or where[0] is None:
            self.body()
            return self.answer(400)
        c, o = where
        if o is None:
            self.body()
            self.cdir(c).mkdir(parents=True, exist_ok=True)
            (self.cdir(c) / ".meta").mkdir(exist_ok=True)
            old = {}
            if self.cmeta_path(c).exists():
                old = json.loads(self.cmeta_path(c).read_text())
            old.update(self.meta("container"))
            self.cmeta_path(c).write_text(json.dumps(old))
            return self.answer(201, entry={"meta": self.meta("container")})
        data = self.body()
        md5 = hashlib.md5(data).hexdigest()
        sent = (self.headers.get("ETag") or "").strip('"').lower()
        entry = {"etag_sent": sent, "md5": md5, "size": len(data), "container": c, "object": o}
        if not self.cdir(c).is_dir():
            return self.answer(404, entry=entry)
        fault = c not in SPECIAL and self.fault(c, entry)
        if fault:
            return
        if sent and sent != md5:
            return self.answer(422, entry=entry)
        (self.cdir(c) / q(o)).write_bytes(data)
        meta = self.meta("object")
        meta.update({"Etag": md5, "Content-Type": self.headers.get(
            "Content-Type", "application/octet-stream")})
        self.ometa_path(c, o).write_text(json.dumps(meta))
        etag = md5
        if self.st.mode == "wrong-etag" and c not in SPECIAL:
            etag = hashlib.md5(data + b"wrong").hexdigest()
        entry["etag_answered"] = etag
        self.answer(201, {"Etag": etag}, entry=entry)

    def fault(self, c, entry):
        """Answers a fault of the mode; True when it did."""
        st = self.st
        if st.mode == "busy":
            with st.lock:
                hit = st.busy_left > 0
                st.busy_left -= 1 if hit else 0
            if hit:
                self.answer(503, entry=entry)
                return True
        if st.mode == "full" and st.flag and os.path.exists(st.flag):
            self.answer(507, entry=entry)
            return True
        if st.mode == "reject" and not c.startswith("RejectedContent_"):
            self.answer(400, {"Content-Type": "text/plain"}, b"content refused", entry=entry)
            return True
        return False

    def do_POST(self):
        if not self.authed():
            return
        self.body()
        where = self.split()
        if where is None or where[0] is None or where[1] is not None:
            return self.answer(400)
        c = where[0]
        if not self.cdir(c).is_dir():
            return self.answer(404)
        meta = json.loads(self.cmeta_path(c).read_text())
        meta.update(self.meta("container"))
        self.cmeta_path(c).write_text(json.dumps(meta))
        self.answer(204, entry={"meta": self.meta("container")})


def make_cert(d):
    cert, key = d / "cert.pem", d / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj",
                        "/CN=ems-fault", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def main():
    ap = argparse.ArgumentParser(description="a misbehaving Swift subset for the tests")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok",
                    choices=["ok", "record", "wrong-etag", "busy", "full", "reject"])
    ap.add_argument("--busy", type=int, default=3)
    ap.add_argument("--flag")
    ap.add_argument("--capabilities", help="published as System/Capabilities.json")
    args = ap.parse_args()
    d = Path(args.dir)
    (d / "store").mkdir(parents=True, exist_ok=True)
    cert, key = make_cert(d)
    st = State(args)
    if args.capabilities:
        sysd = d / "store" / "System"
        (sysd / ".meta").mkdir(parents=True, exist_ok=True)
        (d / "store" / "System.container.json").write_text("{}")
        data = Path(args.capabilities).read_bytes()
        (sysd / "Capabilities.json").write_bytes(data)
        (sysd / ".meta" / "Capabilities.json.json").write_text(json.dumps(
            {"Etag": hashlib.md5(data).hexdigest(), "Content-Type": "application/json"}))
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    st.port = srv.server_address[1]
    srv.state = st
    ready = {"port": st.port, "cert": str(cert), "user": USER, "key": KEY, "pid": os.getpid(),
             "auth_url": "https://127.0.0.1:%d/auth/v1.0" % st.port, "mode": args.mode}
    tmp = d / "ready.json.tmp"
    tmp.write_text(json.dumps(ready))
    os.replace(tmp, d / "ready.json")
    print("ems_fault: mode %s on port %d" % (args.mode, st.port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
