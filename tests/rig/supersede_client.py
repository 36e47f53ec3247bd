#!/usr/bin/python3
# Two connections of one camera writing the same clip, the older one late: A
# starts a chunk and stalls; B (the camera after a re-dock) sends the whole
# clip; then A's stalled chunk goes on with garbage, as TCP retransmissions of
# a dead connection might. Prints JSON lines of what each connection got.

import argparse
import json
import sys

from offload_client import load_recording, read_answer, request, request_bytes, tls_connect


def connect(a):
    return tls_connect(a.cert, a.key, a.ca, a.addr, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    for k in ("--cert", "--key", "--ca", "--addr", "--recording"):
        ap.add_argument(k, required=True)
    a = ap.parse_args()
    doc, clip, rid, cid, data = load_recording(a.recording)
    base = "/v1/recordings/%s/clips/%s" % (rid, cid)
    chunk = 4 << 20

    old = connect(a)
    request(old, "PUT", "/v1/recordings/%s" % rid, json.dumps(doc).encode())
    # the head announces a whole chunk; half of it is sent, then the connection stalls
    head = request_bytes("PUT", "%s?offset=0" % base, b"\0" * chunk, "application/octet-stream")
    old.sendall(head[:len(head) - chunk] + data[:chunk // 2])

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
