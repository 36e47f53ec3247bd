#!/usr/bin/python3
# A dock-protocol offload client in plain Python (ssl module), for rig tests that act as a
# camera the daemon would never be: it presents a camera's LDevID, sends one recording's
# metadata and its first clip, then commits with the SHA-256 it is told (a wrong one to
# test the controller's check). Runs in a camera namespace (bwc-rig exec camN -- ...).
# Prints one JSON line per request: {"request": ..., "status": N, "body": {...}}.
# The other test clients (supersede_client.py, the pipelining client of
# test_offload_integrity.py, hostilelib.py) import its pieces.

import argparse
import json
import socket
import ssl
import sys
from pathlib import Path


def load_recording(rec_dir):
    """(document as sent to the controller, first clip, recording id, clip id, its bytes)
    of a recording directory of the camera's store."""
    rec_dir = Path(rec_dir)
    doc = json.loads((rec_dir / "recording.json").read_text())
    for c in doc.get("clips", []):
        c.pop("receipted", None)   # store bookkeeping, not part of the protocol document
    clip = doc["clips"][0]
    rid, cid = doc["recording_id"], clip["clip_id"]
    data = (rec_dir / ("clip-%s.%s" % (cid, clip["container"]))).read_bytes()
    return doc, clip, rid, cid, data


def tls_connect(cert, key, ca, addr, port=4433, interface="dock0", timeout=30):
    """A TLS 1.3 session to the controller with a camera's certificate and key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    raw = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    raw.settimeout(timeout)
    raw.connect((addr, port, 0, socket.if_nametoindex(interface)))
    return ctx.wrap_socket(raw)


def request_bytes(method, path, body=b"", ctype="application/json"):
    return ("%s %s HTTP/1.1\r\nHost: controller\r\nDock-Protocol: 1\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (method, path, ctype, len(body))).encode() + body


def read_answer(tls, buf=b"", keep=None):
    """(status, body) of the next answer; buf holds bytes already received. With keep (a
    list), the bytes after the answer are kept in keep[0] for the next one."""
    while b"\r\n\r\n" not in buf:
        b = tls.recv(65536)
        if not b:
            raise ConnectionError("connection closed before an answer")
        buf += b
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        b = tls.recv(65536)
        if not b:
            raise ConnectionError("connection closed inside an answer")
        rest += b
    if keep is not None:
        keep[0] = rest[length:]
    try:
        body = json.loads(rest[:length]) if length else None
    except ValueError:
        body = rest[:length].decode(errors="replace")
    return status, body


def request(tls, method, path, body=b"", ctype="application/json"):
    tls.sendall(request_bytes(method, path, body, ctype))
    status, answer = read_answer(tls)
    print(json.dumps({"request": "%s %s" % (method, path), "status": status, "body": answer}),
          flush=True)
    return status, answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--interface", default="dock0")
    ap.add_argument("--port", type=int, default=4433)
    ap.add_argument("--recording", required=True, help="the camera's recording directory")
    ap.add_argument("--sha256", help="declared at commit (default: recording.json's)")
    ap.add_argument("--chunk", type=int, default=4 << 20)
    a = ap.parse_args()

    doc, clip, rid, cid, data = load_recording(a.recording)
    tls = tls_connect(a.cert, a.key, a.ca, a.addr, a.port, a.interface)
    print(json.dumps({"tls": tls.version(), "cipher": tls.cipher()[0]}), flush=True)

    base = "/v1/recordings/%s/clips/%s" % (rid, cid)
    request(tls, "PUT", "/v1/recordings/%s" % rid, json.dumps(doc).encode())
    status, st = request(tls, "GET", base)
    offset = st.get("offset", 0) if isinstance(st, dict) else 0
    while offset < len(data):
        part = data[offset:offset + a.chunk]
        status, st = request(tls, "PUT", "%s?offset=%d" % (base, offset), part,
                             "application/octet-stream")
        if status != 200:
            return 1
        offset = st["offset"]
    commit = {"size": len(data), "sha256": a.sha256 or clip["sha256"],
              "complete": bool(clip.get("complete", True))}
    request(tls, "POST", base + "/commit", json.dumps(commit).encode())
    tls.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
