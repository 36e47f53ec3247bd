#!/usr/bin/python3
# Two connections of one camera writing the same clip, the older one late: A
# starts a chunk and stalls; B (the camera after a re-dock) sends the whole
# clip; then A's stalled chunk goes on with garbage, as TCP retransmissions of
# a dead connection might. Prints JSON lines of what each connection got.

import argparse
import json
import socket
import ssl
import sys
from pathlib import Path

from offload_client import read_answer, request


def connect(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.load_verify_locations(a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    raw = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    raw.settimeout(60)
    raw.connect((a.addr, 4433, 0, socket.if_nametoindex("dock0")))
    return ctx.wrap_socket(raw)


def main():
    ap = argparse.ArgumentParser()
    for k in ("--cert", "--key", "--ca", "--addr", "--recording"):
        ap.add_argument(k, required=True)
    a = ap.parse_args()
    rec = Path(a.recording)
    doc = json.loads((rec / "recording.json").read_text())
    for c in doc["clips"]:
        c.pop("receipted", None)
    clip = doc["clips"][0]
    rid, cid = doc["recording_id"], clip["clip_id"]
    data = (rec / ("clip-%s.%s" % (cid, clip["container"]))).read_bytes()
    base = "/v1/recordings/%s/clips/%s" % (rid, cid)
    chunk = 4 << 20

    old = connect(a)
    request(old, "PUT", "/v1/recordings/%s" % rid, json.dumps(doc).encode())
    head = ("PUT %s?offset=0 HTTP/1.1\r\nHost: controller\r\nDock-Protocol: 1\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
            % (base, chunk)).encode()
    old.sendall(head + data[:chunk // 2])          # stalls half-way

    new = connect(a)
    status, st = request(new, "GET", base)
    offset = st.get("offset", 0)
    while offset < len(data):
        status, st = request(new, "PUT", "%s?offset=%d" % (base, offset),
                             data[offset:offset + chunk], "application/octet-stream")
        if status != 200:
            return 1
        offset = st["offset"]

    old.sendall(b"\xee" * (chunk - chunk // 2))     # the late rest: garbage
    status, body = read_answer(old)
    print(json.dumps({"request": "late chunk of the old connection", "status": status,
                      "body": body}), flush=True)
    commit = {"size": len(data), "sha256": clip["sha256"], "complete": True}
    request(new, "POST", base + "/commit", json.dumps(commit).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
