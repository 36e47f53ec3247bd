#!/usr/bin/python3
# Hostile dock clients for the rig tests test_hostile_*.py and test_limits.py.
#
# Two halves in one file:
#  - run as a program in a camera namespace (`bwc-rig exec camN -- python3 hostilelib.py
#    CASE... --cert ... --key ... --addr ...`), it plays a hostile camera: each case opens its
#    own connection, does one bad thing and prints one JSON line {"case", "addr", "port",
#    "status", "body", "closed", ...};
#  - imported by a test, it prepares the rig (a normal camera and a hostile one), runs the
#    client, and reads what the controller logged about each connection.

import argparse
import base64
import json
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from pathlib import Path

import offload_client

HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
MIB = 1 << 20


# =========================================================================================
# The client side (runs in a camera namespace)
# =========================================================================================

class Client:
    def __init__(self, a):
        self.a = a
        self.scope = socket.if_nametoindex(a.interface)

    def tcp(self, timeout=10):
        raw = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        raw.settimeout(timeout)
        raw.connect((self.a.addr, self.a.port, 0, self.scope))
        return raw

    def tls(self, cert=None, key=None, timeout=10):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE   # the hostile side does not care who answers
        ctx.load_cert_chain(cert or self.a.cert, key or self.a.key)
        raw = self.tcp(timeout)
        return ctx.wrap_socket(raw)


def local(sock):
    """(address without scope, port) of our end: the controller logs it as the peer."""
    name = sock.getsockname()
    return name[0].split("%")[0], name[1]


def read_answer(sock, timeout=10):
    """(status, body) of one HTTP answer, or (None, why) if the connection ended first."""
    sock.settimeout(timeout)
    try:
        return offload_client.read_answer(sock)
    except (OSError, ssl.SSLError, ConnectionError) as e:
        return None, "%s: %s" % (type(e).__name__, e)


def is_closed(sock, wait=3.0):
    """True when the controller closed the connection within wait seconds."""
    sock.settimeout(wait)
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                return True
    except socket.timeout:
        return False
    except (OSError, ssl.SSLError):
        return True


def head(method, path, length, ctype="application/json", extra=""):
    return ("%s %s HTTP/1.1\r\nHost: controller\r\nDock-Protocol: 1\r\nContent-Type: %s\r\n"
            "%sContent-Length: %d\r\n\r\n" % (method, path, ctype, extra, length)).encode()


def send_case(c, name, data, close_wait=1.5, answer=True, **info):
    """One connection: send data, read one answer, see whether the controller closed it."""
    out = {"case": name}
    out.update(info)
    try:
        s = c.tls()
        out["addr"], out["port"] = local(s)
        s.sendall(data)
        if answer:
            out["status"], out["body"] = read_answer(s)
        out["closed"] = is_closed(s, close_wait)
        s.close()
    except (OSError, ssl.SSLError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    return out


def post_json(path, body):
    return head("POST", path, len(body)) + body


def load_doc(rec_dir):
    doc = json.loads((Path(rec_dir) / "recording.json").read_text())
    for clip in doc.get("clips", []):
        clip.pop("receipted", None)   # store bookkeeping, not part of the protocol document
    return doc


def csr_body(path):
    der = Path(path).read_bytes()
    return json.dumps({"csr": base64.b64encode(der).decode(), "model": "BWC-1000",
                       "firmware": "0.1.0"}).encode()


def case_list(c, a):
    """Every hostile HTTP case of test_hostile_http.py, in order."""
    doc = load_doc(a.recording) if a.recording else None
    rid = doc["recording_id"] if doc else str(uuid.uuid4())
    size = doc["clips"][0]["size"] if doc else 0
    clip = "/v1/recordings/%s/clips/0001" % rid
    plan = b'{"recordings":1,"clips":1,"bytes":1}'
    cases = [
        ("announce", head("PUT", "/v1/recordings/%s" % rid, len(json.dumps(doc).encode()))
         + json.dumps(doc).encode() if doc else b"", {}),
        ("head-over-8k", head("POST", "/v1/offload/plan", len(plan),
                              extra="X-Pad: %s\r\n" % ("a" * 9000)) + plan, {}),
        ("33-header-fields", head("POST", "/v1/offload/plan", len(plan),
                                  extra="".join("X-F%d: v\r\n" % i for i in range(33))) + plan, {}),
        ("json-body-over-64k", head("POST", "/v1/offload/plan", 70000) + b"{" + b" " * 4000, {}),
        ("chunk-over-8m-declared", head("PUT", clip + "?offset=0", 9 * MIB,
                                        "application/octet-stream") + b"\0" * 4096, {}),
        ("transfer-encoding-chunked",
         ("POST /v1/offload/plan HTTP/1.1\r\nHost: controller\r\nDock-Protocol: 1\r\n"
          "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
          "%x\r\n" % len(plan)).encode() + plan + b"\r\n0\r\n\r\n", {}),
        ("chunk-beyond-clip-size", head("PUT", clip + "?offset=0", size + 1,
                                        "application/octet-stream") + b"\x55" * (size + 1), {}),
        ("chunk-out-of-order", head("PUT", clip + "?offset=4096", 4096,
                                    "application/octet-stream") + b"\x66" * 4096, {}),
        ("path-dotdot", head("GET", "/v1/recordings/../../etc/clips/0001", 0), {}),
        ("path-dotdot-encoded", head("GET", "/v1/recordings/%2e%2e/%2e%2e/etc/clips/0001", 0), {}),
        ("path-dotdot-put", head("PUT", "/v1/recordings/%2e%2e%2f%2e%2e%2fetc/clips/0001?offset=0",
                                 16, "application/octet-stream") + b"x" * 16, {}),
        ("path-nul-raw", head("GET", "/v1/recordings/%s\0/clips/0001" % rid, 0), {}),
        ("path-nul-encoded", head("PUT", "/v1/recordings/%s%%00/clips/0001?offset=0" % rid, 16,
                                  "application/octet-stream") + b"x" * 16, {}),
        ("json-unknown-member", post_json("/v1/offload/plan",
                                          b'{"recordings":1,"clips":1,"bytes":1,"evil":true}'), {}),
        ("json-duplicate-key", post_json("/v1/offload/plan",
                                         b'{"recordings":1,"clips":1,"bytes":1,"recordings":9}'),
         {}),
    ]
    for name, fname in (("csr-other-serial", "other-serial.der"), ("csr-rsa-key", "rsa.der"),
                        ("csr-p384-key", "p384.der"), ("csr-same-key", "same-key.der")):
        body = csr_body(Path(a.csr_dir) / fname)
        cases.append((name, head("POST", "/v1/renew", len(body)) + body, {}))
    return cases


def run_pipeline(c, total=1000000):
    """Up to a million tiny pipelined requests in one stream; stops when the controller closes."""
    out = {"case": "pipelined-million"}
    one = head("GET", "/v1/recordings/%s/clips/0001" % uuid.uuid4(), 0)
    batch = one * 200
    sent = 0
    try:
        s = c.tls()
        out["addr"], out["port"] = local(s)
        s.settimeout(10)
        t0 = time.monotonic()
        try:
            while sent < total:
                s.sendall(batch)
                sent += 200
        except (OSError, ssl.SSLError) as e:
            out["send_error"] = "%s: %s" % (type(e).__name__, e)
        out["requests_sent"] = sent
        answers = 0
        s.settimeout(5)
        data = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        except (OSError, ssl.SSLError):
            pass
        answers = data.count(b"HTTP/1.1 ")
        out["answers"] = answers
        out["closed"] = True
        out["seconds"] = round(time.monotonic() - t0, 2)
    except (OSError, ssl.SSLError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    return out


def cmd_http(c, a):
    for name, data, info in case_list(c, a):
        if name == "announce" and not data:
            continue
        emit(send_case(c, name, data, **info))
    emit(run_pipeline(c))


def cmd_foreign(c, a):
    """A TLS 1.3 session with the given certificate; then one request."""
    out = {"case": a.label}
    try:
        s = c.tls(a.cert, a.key)
        out["addr"], out["port"] = local(s)
        out["handshake_client"] = "done"
        body = b'{"recordings":0,"clips":0,"bytes":0}'
        try:
            s.sendall(head("POST", "/v1/offload/plan", len(body)) + body)
        except (OSError, ssl.SSLError) as e:
            out["send_error"] = str(e)
        out["status"], out["body"] = read_answer(s, 5)
        out["closed"] = is_closed(s, 3)
    except (OSError, ssl.SSLError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    emit(out)


def cmd_halfopen(c, a):
    """N TCP connections that never send a byte; when does the controller close each?"""
    socks = []
    t0 = time.monotonic()
    for _ in range(a.count):
        s = c.tcp()
        socks.append((s, local(s)))
    emit({"case": "halfopen-opened", "count": len(socks)})
    sys.stdout.flush()
    lock = threading.Lock()
    results = []

    def watch(s, who):
        closed = is_closed(s, a.wait)
        with lock:
            results.append({"addr": who[0], "port": who[1], "closed": closed,
                            "seconds": round(time.monotonic() - t0, 2)})
        s.close()
    threads = [threading.Thread(target=watch, args=x) for x in socks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    emit({"case": "halfopen", "conns": results})


def cmd_slowloris(c, a):
    """TLS done, then a request head one byte per second until the controller closes."""
    out = {"case": "slowloris"}
    data = head("POST", "/v1/offload/plan", 36) + b'{"recordings":0,"clips":0,"bytes":0}'
    try:
        s = c.tls()
        out["addr"], out["port"] = local(s)
        t0 = time.monotonic()
        sent = 0
        s.settimeout(1.0)
        closed = False
        while sent < len(data) and time.monotonic() - t0 < a.wait:
            try:
                s.sendall(data[sent:sent + 1])
                sent += 1
            except (OSError, ssl.SSLError):
                closed = True
                break
            try:
                b = s.recv(4096)
                if not b:
                    closed = True
                    break
                out.setdefault("got", "")
                out["got"] += b.decode(errors="replace")[:200]
            except socket.timeout:
                pass
            except (OSError, ssl.SSLError):
                closed = True
                break
        out["closed"] = closed
        out["bytes_sent"] = sent
        out["seconds"] = round(time.monotonic() - t0, 2)
    except (OSError, ssl.SSLError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    emit(out)


def cmd_limit(c, a):
    """max_connections: open a.count TLS sessions, then one more, then use the first ones."""
    held = []
    for i in range(a.count):
        s = c.tls()
        held.append(s)
    extra = {"case": "over-limit"}
    t0 = time.monotonic()
    try:
        s = c.tcp()
        extra["addr"], extra["port"] = local(s)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(a.cert, a.key)
        try:
            t = ctx.wrap_socket(s)
            extra["handshake_client"] = "done"
            extra["closed"] = is_closed(t, 5)
        except (OSError, ssl.SSLError) as e:
            extra["handshake_client"] = "%s: %s" % (type(e).__name__, e)
            extra["closed"] = True
    except (OSError, ssl.SSLError) as e:
        extra["error"] = "%s: %s" % (type(e).__name__, e)
    extra["seconds"] = round(time.monotonic() - t0, 2)
    emit(extra)
    body = b'{"recordings":0,"clips":0,"bytes":0}'
    for i, s in enumerate(held):
        out = {"case": "held-%d" % (i + 1)}
        out["addr"], out["port"] = local(s)
        try:
            s.sendall(head("POST", "/v1/offload/plan", len(body)) + body)
            out["status"], out["body"] = read_answer(s)
        except (OSError, ssl.SSLError) as e:
            out["error"] = str(e)
        emit(out)
    for s in held:
        try:
            s.close()
        except OSError:
            pass


def cmd_slowchunk(c, a):
    """a.count connections, each PUTs an a.size chunk of its own clip at a.rate bytes/s."""
    doc = load_doc(a.recording)
    rid = str(uuid.uuid4())
    base = doc["clips"][0]
    doc["recording_id"] = rid
    doc["clips"] = [dict(base, clip_id="%04d" % (i + 1), size=a.size, sha256="ab" * 32)
                    for i in range(a.count)]
    s = c.tls()
    body = json.dumps(doc).encode()
    s.sendall(head("PUT", "/v1/recordings/%s" % rid, len(body)) + body)
    st, ans = read_answer(s)
    emit({"case": "announce", "status": st, "body": ans})
    s.close()
    results = []
    lock = threading.Lock()

    def one(i):
        out = {"case": "slowchunk-%d" % (i + 1)}
        try:
            t = c.tls(timeout=60)
            out["addr"], out["port"] = local(t)
            t.sendall(head("PUT", "/v1/recordings/%s/clips/%04d?offset=0" % (rid, i + 1), a.size,
                           "application/octet-stream"))
            piece = bytes([i + 1]) * 16384
            sent, t0 = 0, time.monotonic()
            while sent < a.size:
                n = min(len(piece), a.size - sent)
                t.sendall(piece[:n])
                sent += n
                ahead = sent / a.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            out["status"], out["body"] = read_answer(t, 30)
            out["seconds"] = round(time.monotonic() - t0, 2)
            t.close()
        except (OSError, ssl.SSLError) as e:
            out["error"] = "%s: %s" % (type(e).__name__, e)
        with lock:
            results.append(out)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(a.count)]
    for th in threads:
        th.start()
    emit({"case": "slowchunk-started", "count": a.count, "rid": rid})
    for th in threads:
        th.join()
    for r in sorted(results, key=lambda r: r["case"]):
        emit(r)


def emit(obj):
    print(json.dumps(obj), flush=True)


def client_main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["http", "foreign", "halfopen", "slowloris", "limit",
                                        "slowchunk"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--addr", required=True)
    ap.add_argument("--interface", default="dock0")
    ap.add_argument("--port", type=int, default=4433)
    ap.add_argument("--recording", help="a recording directory of the hostile camera's store")
    ap.add_argument("--csr-dir")
    ap.add_argument("--label", default="foreign")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--wait", type=float, default=15.0)
    ap.add_argument("--size", type=int, default=8 * MIB)
    ap.add_argument("--rate", type=float, default=1 * MIB)
    a = ap.parse_args(argv)
    c = Client(a)
    {"http": cmd_http, "foreign": cmd_foreign, "halfopen": cmd_halfopen,
     "slowloris": cmd_slowloris, "limit": cmd_limit, "slowchunk": cmd_slowchunk}[a.command](c, a)
    return 0


# =========================================================================================
# The test side (imported by the rig tests; runs in the root namespace)
# =========================================================================================

CLOSE_RX = re.compile(r"connection from \[([^\]%]*)(?:%[^\]]*)?\]:(\d+) closed: handshake=(\S+) "
                      r"peer=(\S+) app_bytes_in=(\d+) reason=(.*)")
REFUSE_RX = re.compile(r"\[([^\]%]*)(?:%[^\]]*)?\]:(\d+) \((\S+)\): refused with (\S+): (.*)")


def closes(t, since=0):
    """{(addr, port): {handshake, peer, bytes, reason}} of the controller's closed connections."""
    out = {}
    for m in CLOSE_RX.finditer(t.log_since("controller", since)):
        out[(m.group(1), int(m.group(2)))] = {"handshake": m.group(3), "peer": m.group(4),
                                              "bytes": int(m.group(5)),
                                              "reason": m.group(6).strip()}
    return out


def refusals(t, since=0):
    """{(addr, port): [(code, message)]} of the controller's "refused with" lines."""
    out = {}
    for m in REFUSE_RX.finditer(t.log_since("controller", since)):
        out.setdefault((m.group(1), int(m.group(2))), []).append((m.group(4), m.group(5).strip()))
    return out


def who(result):
    return (result.get("addr"), result.get("port"))


def wait_closed(t, result, since, timeout=15):
    """The controller's close line for the connection of a client result (or None)."""
    key = who(result)
    return t.wait_for(lambda: closes(t, since).get(key), timeout, poll=0.2)


def client_argv(cmd, addr, cert=None, key=None, **opts):
    argv = [PYTHON, HERE / "hostilelib.py", cmd, "--addr", addr]
    if cert:
        argv += ["--cert", cert, "--key", key]
    for k, v in opts.items():
        if v is not None:
            argv += ["--" + k.replace("_", "-"), v]
    return argv


def run_client(t, cam, cmd, addr, cert=None, key=None, timeout=170, **opts):
    """Runs the hostile client in camN's namespace and returns its JSON lines as a list."""
    p = t.exec_in("cam%d" % cam, *client_argv(cmd, addr, cert, key, **opts), timeout=timeout,
                  quiet=True)
    out = []
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    if p.returncode != 0:
        print("hostile client exit %d: %s" % (p.returncode, p.stderr[-1500:]), flush=True)
    return out


def identity(t, cam):
    """(certificate, key) of camN's current LDevID."""
    d = t.rig.cam_dir(cam)
    return d / "state" / "ldevid.pem", d / "keystore" / "ldevid.key"


def prepare(t, normal=1, hostile=2):
    """Rig with two cameras, both enrolled; the hostile camera's daemon stopped (the hostile
    client uses its identity), the normal camera undocked. Returns the controller address."""
    import offloadlib as ol
    # --no-tpm: the hostile client presents the camera's LDevID key, so it is a file
    t.up(2, "--no-ems", "--no-tpm")
    for cam in (normal, hostile):
        t.dock(cam)
    for cam in (normal, hostile):
        t.require("cam%d enrols" % cam, t.wait(cam, renewals_above=0, timeout=60))
    t.require("cam%d's daemon stopped (its LDevID is the hostile client's)" % hostile,
              t.bwc_rig("stop", "cam%d" % hostile).returncode == 0)
    t.dock(normal, False)
    addr = ol.controller_address(t)
    t.require("controller address known", addr, addr)
    return addr


def record_normal(t, cam, size):
    """A recording on the (undocked) normal camera: returns (key, sha256 of recording.json)."""
    import offloadlib as ol
    rid, clips = ol.record(t, cam, 2, size)
    t.require("a %d MiB recording on cam%d" % (size // MIB, cam),
              rid and clips.get("0001", (0,))[0] == size)
    key = (ol.riglib.serial_of(cam), rid, "0001")
    return key, ol.clips_of(t, cam)[key]["sha256"]


def check_normal(t, cam, key, sha, mark, timeout=150):
    """The normal camera finished its offload, and the ready file has its SHA-256."""
    import offloadlib as ol
    t.check("normal camera cam%d finished its offload meanwhile" % cam,
            ol.wait_offloaded(t, cam, mark, timeout))
    ready = ol.ready_files(t)
    t.check("cam%d's ready file has the SHA-256 of its recording.json" % cam,
            key in ready and ol.sha256_file(ready[key]) == sha,
            ready.get(key) and ol.sha256_file(ready[key]))
    t.check("cam%d holds the controller's receipt" % cam, key in ol.receipt_keys(t, cam),
            ol.receipt_keys(t, cam))


def staged_bytes(t, serial):
    """Files with bytes for serial in staging/incoming and staging/ready."""
    import offloadlib as ol
    out = []
    for area in ("incoming", "ready"):
        d = ol.staging(t) / area / serial
        if d.is_dir():
            out += [str(p) for p in d.rglob("*") if p.is_file() and p.stat().st_size > 0]
    return out


def registry_rows(t, serial):
    """The registry's rows of serial (cameras, clips), to compare before and after."""
    import offloadlib as ol
    return (ol.db_rows(t, "SELECT * FROM cameras WHERE serial=?", (serial,)),
            ol.db_rows(t, "SELECT serial, rid, cid, state, offset, size, sha256, receipt "
                          "FROM clips WHERE serial=? ORDER BY rid, cid", (serial,)))


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, TypeError):
        pass
    return None


def asan_build(t):
    """True when the rig's daemons are an ASan build (memory figures differ)."""
    try:
        return b"__asan_init" in Path(t.rig.binary("controller/bwc-controller")).read_bytes()
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(client_main(sys.argv[1:]))
