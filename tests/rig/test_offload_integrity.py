#!/usr/bin/python3
# Integrity of the offload path. (1) A relay in the camera's namespace flips one bit of the
# camera->controller stream after the TLS handshake: the TLS session breaks, nothing corrupt
# is receipted, the camera retries and the staged bytes equal the camera's. (2) A client
# with a camera's LDevID commits with a wrong SHA-256: 422 hash-mismatch, staged bytes
# discarded, no receipt, "commit-refused" audited; the real camera then offloads it fine.
# (3) Pipelined chunks (PROTOCOL.md §9.1), by a client with a camera's LDevID on one
# connection: two chunks sent back to back are both stored and answered in order; a second
# chunk that does not continue the first is refused (409 offset) while the first is stored;
# a request other than a chunk sent before a chunk's answer closes the connection
# ("pipelined requests are not supported"); the real camera then offloads the clip intact.
# (4) Two connections of one camera on one clip: the first sends the whole clip and waits;
# the second commits with a wrong hash (the staged bytes are discarded) and sends other
# bytes of the same size; the first then commits with the hash of what it sent: refused
# (422), because the controller hashes the staged file, not the chunks the first
# connection sent (it keeps a running hash of those, valid only while nobody else wrote).

import argparse
import json
import re
import ssl
import sys

import offload_client as oc
import offloadlib as ol
import rigtest

RELAY_PORT = 14433
FLIP_AT = 24 * ol.MIB + 1001     # well past the handshake, inside the first clip's data
SIZE = 64 * ol.MIB


def bit_flip(t, addr):
    rid, clips = ol.record(t, 1, 2, SIZE)
    t.require("a 64 MiB recording on cam1", rid and clips.get("0001", (0,))[0] == SIZE)
    key = ("RIG00001", rid, "0001")
    sha = ol.clips_of(t, 1)[key]["sha256"]
    relay_log = t.tmp / "relay.log"
    relay = ol.spawn_in(t, "cam1", [ol.PYTHON, ol.HERE / "relay.py", "--listen-port", RELAY_PORT,
                                    "--to", addr, "--interface", "dock0", "--flip-at", FLIP_AT],
                        relay_log)
    try:
        t.require("relay listening in cam1's namespace",
                  t.wait_for(lambda: "listening" in relay_log.read_text(), 10),
                  relay_log.read_text() if relay_log.exists() else "")
        conf = t.rig.cam_dir(1) / "bwc.conf"
        ol.set_conf(conf, "dock", "controller", "::1")
        ol.set_conf(conf, "dock", "port", RELAY_PORT)
        t.require("cam1 restarted with [dock] controller = ::1, port %d (the relay)" % RELAY_PORT,
                  t.bwc_rig("restart", "cam1").returncode == 0)
        mark, ctl_mark = t.log_size("cam1"), t.log_size("controller")
        t.dock(1)
        t.check("cam1 enrols through the relay", t.wait(1, renewals_above=0, timeout=60))
        t.check("cam1 finishes its offload", ol.wait_offloaded(t, 1, mark, 180))
        rlog = relay_log.read_text()
    finally:
        ol.stop_proc(relay)
    print(rlog, flush=True)
    t.check("the relay flipped one bit of the camera->controller stream",
            len(re.findall(r"flipped bit", rlog)) == 1)
    ctl = t.log_since("controller", ctl_mark)
    broken = re.findall(r"closed: handshake=ok peer=RIG00001 app_bytes_in=\d+ reason=(TLS error[^\n]*)",
                        ctl)
    t.check("the controller closed that TLS session with a TLS error", len(broken) == 1,
            re.findall(r"reason=.*", ctl))
    print("controller: %s" % broken, flush=True)
    cam = t.log_since("cam1", mark)
    t.check("the camera saw the session break and resumed",
            re.search(r"resuming %s/0001 at byte \d+" % rid, cam) is not None, cam[-800:])
    t.check("no commit was refused, none corrupt", "commit-refused" not in
            json.dumps(ol.audit(t)) and "hash-mismatch" not in ctl)
    ready = ol.ready_files(t)
    t.check("the ready file has the camera's SHA-256 (final bytes match)",
            key in ready and ol.sha256_file(ready[key]) == sha)
    rc = ol.receipts(t, 1)
    t.check("one receipt on cam1, for the right hash",
            len(rc) == 1 and rc[0].get("sha256") == sha and rc[0].get("clip_id") == "0001", rc)
    row = ol.clip_rows(t).get(key, {})
    t.check("registry: committed with the camera's SHA-256",
            row.get("state") == "committed" and row.get("sha256") == sha, row)
    t.check("audit: one commit for the clip", ol.audit_commits(t).get(key) == 1,
            ol.audit_commits(t))


def wrong_hash(t, addr):
    mark = t.log_size("cam2")
    t.dock(2)
    t.require("cam2 enrols", t.wait(2, renewals_above=0, timeout=60))
    t.require("cam2 has nothing to offload yet", ol.wait_offloaded(t, 2, mark, 60))
    t.dock(2, False)
    rid, key, sha = ol.record_for_client(t, 2, 10 * ol.MIB)
    wrong = ("0" if sha[0] != "0" else "1") + sha[1:]
    t.dock(2)
    ctl_mark = t.log_size("controller")
    d = t.rig.cam_dir(2)
    p = t.exec_in("cam2", ol.PYTHON, ol.HERE / "offload_client.py", "--cert",
                  d / "state" / "ldevid.pem", "--key", d / "keystore" / "ldevid.key",
                  "--ca", t.rig.ca_pem, "--addr", addr, "--recording",
                  ol.data_dir(t, 2) / "recordings" / rid, "--sha256", wrong, timeout=120)
    answers = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    t.check("hostile client: TLS 1.3 with the camera's LDevID",
            answers and answers[0].get("tls") == "TLSv1.3", answers[:1])
    puts = [a for a in answers if a.get("request", "").startswith("PUT /v1/recordings/%s/" % rid)]
    t.check("hostile client: metadata and every chunk accepted (10 MiB in 3 chunks)",
            len(puts) == 3 and all(a["status"] == 200 for a in puts) and
            any(a.get("request") == "PUT /v1/recordings/%s" % rid and a["status"] == 200
                for a in answers), [(a.get("request"), a.get("status")) for a in answers])
    last = answers[-1] if answers else {}
    t.check("commit with a wrong SHA-256 answered 422 hash-mismatch",
            last.get("request", "").endswith("/commit") and last.get("status") == 422 and
            (last.get("body") or {}).get("error") == "hash-mismatch", last)
    off, state = ol.clip_offset(t, key)
    t.check("registry: staged bytes discarded (offset 0, not committed)",
            off == 0 and state == "partial", (off, state))
    part = ol.staging(t) / "incoming" / "RIG00002" / rid / "0001.part"
    t.check("the staged file is emptied", not part.exists() or part.stat().st_size == 0)
    t.check("no receipt: nothing in ready/, no receipt in the registry",
            key not in ol.ready_files(t) and not ol.clip_rows(t).get(key, {}).get("receipt"))
    t.check("the controller logged no commit", "committed %s" % rid not in
            t.log_since("controller", ctl_mark))
    refused = [e for e in ol.audit(t) if e.get("event") == "commit-refused"]
    t.check("audit: \"commit-refused\" for RIG00002's recording",
            len(refused) == 1 and refused[0].get("serial") == "RIG00002" and
            rid in json.dumps(refused[0]), refused)
    t.check("cam2 keeps its clip", ol.clip_files(t, 2) == ["%s/clip-0001.mkv" % rid])

    mark = t.log_size("cam2")
    t.require("cam2's daemon started again", t.bwc_rig("restart", "cam2").returncode == 0)
    t.check("the real camera then offloads the recording", ol.wait_offloaded(t, 2, mark, 120))
    ready = ol.ready_files(t)
    t.check("ready file with the camera's SHA-256",
            key in ready and ol.sha256_file(ready[key]) == sha)
    t.check("cam2: one receipt, clip deleted",
            ol.receipt_keys(t, 2) == [key] and not ol.recording_dirs(t, 2))
    t.check("audit: one commit for the clip; audit verify passes",
            ol.audit_commits(t).get(key) == 1 and t.bwcctl("audit", "verify").returncode == 0)


# ---- pipelining: the client (run in cam2's namespace) and the checks ----------------------

def pipeline_client(argv):
    """Speaks the dock protocol over one TLS session; prints one JSON line per answer."""
    ap = argparse.ArgumentParser()
    for opt in ("--cert", "--key", "--ca", "--addr", "--recording"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--two-connections", action="store_true")
    a = ap.parse_args(argv)
    doc, clip, rid, cid, data = oc.load_recording(a.recording)

    def connect():
        return oc.tls_connect(a.cert, a.key, a.ca, a.addr)
    tls = connect()
    pending = [b""]
    base = "/v1/recordings/%s/clips/%s" % (rid, cid)
    req = oc.request_bytes

    def send(method, path, body=b"", ctype="application/json"):
        tls.sendall(req(method, path, body, ctype))

    def chunk(off, length=ol.MIB, then=b""):
        # what follows goes in the same write: Nagle must not hold it back
        tls.sendall(req("PUT", "%s?offset=%d" % (base, off), data[off:off + length],
                        "application/octet-stream") + then)

    def answer(label):
        try:
            status, body = oc.read_answer(tls, pending[0], pending)
            out = {"case": label, "status": status, "body": body}
        except (OSError, ssl.SSLError, ConnectionError) as e:
            out = {"case": label, "closed": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)
        return out

    send("PUT", "/v1/recordings/%s" % rid, json.dumps(doc).encode())
    answer("document")
    if a.two_connections:
        def commit(sha, label):
            send("POST", base + "/commit", json.dumps({
                "size": len(data), "sha256": sha,
                "complete": bool(clip.get("complete", True))}).encode())
            return answer(label)
        first = tls
        for off in range(0, len(data), ol.MIB):
            chunk(off, min(ol.MIB, len(data) - off))
            answer("first connection: chunk at %d" % off)
        tls = connect()
        pending[0] = b""
        commit("f" * 64, "second connection: commit with a wrong hash")
        data = bytes(b ^ 0x5a for b in data)   # other bytes, same size
        for off in range(0, len(data), ol.MIB):
            chunk(off, min(ol.MIB, len(data) - off))
            answer("second connection: other bytes at %d" % off)
        tls.close()
        tls = first
        pending[0] = b""
        commit(clip["sha256"], "first connection: commit of what it sent")
        return 0
    chunk(0)
    chunk(ol.MIB)
    answer("first of two")
    answer("second of two")
    chunk(2 * ol.MIB)
    chunk(5 * ol.MIB)
    answer("continuing chunk")
    answer("chunk not continuing the unanswered one")
    chunk(3 * ol.MIB, then=req("GET", base))
    answer("chunk followed by a GET before its answer")
    answer("the GET")
    return 0


def run_pipeline_client(t, addr, rid, *extra):
    """Runs pipeline_client in cam2's namespace with cam2's LDevID; {case: its answer}."""
    d = t.rig.cam_dir(2)
    p = t.exec_in("cam2", ol.PYTHON, ol.HERE / "test_offload_integrity.py", "--pipeline-client",
                  *extra, "--cert", d / "state" / "ldevid.pem", "--key",
                  d / "keystore" / "ldevid.key", "--ca", t.rig.ca_pem, "--addr", addr,
                  "--recording", ol.data_dir(t, 2) / "recordings" / rid, timeout=120)
    print(p.stdout[-3000:], p.stderr[-2000:], flush=True)
    res = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            o = json.loads(line)
            res[o["case"]] = o
    return res


def pipelining(t, addr):
    rid, key, sha = ol.record_for_client(t, 2, 8 * ol.MIB)
    ctl_mark = t.log_size("controller")
    res = run_pipeline_client(t, addr, rid)
    def st(case):
        r = res.get(case, {})
        return r.get("status"), (r.get("body") or {}).get("offset"), (r.get("body") or {}).get("error")
    t.check("two chunks sent back to back: both stored, answered in order (offsets 1 and 2 MiB)",
            st("first of two") == (200, ol.MIB, None) and
            st("second of two") == (200, 2 * ol.MIB, None), res)
    t.check("a chunk continuing an unanswered one is stored (offset 3 MiB)",
            st("continuing chunk") == (200, 3 * ol.MIB, None), res.get("continuing chunk"))
    msg = (res.get("chunk not continuing the unanswered one", {}).get("body") or {}).get("message", "")
    # "does not continue" while the chunk before is unanswered; "is not the durable size"
    # if the controller had already answered it when this head arrived
    t.check("a pipelined chunk at the wrong offset: 409 offset",
            st("chunk not continuing the unanswered one")[::2] == (409, "offset") and
            ("does not continue" in msg or "is not the durable size" in msg),
            res.get("chunk not continuing the unanswered one"))
    t.check("a GET sent before a chunk's answer: no answer to it, the connection is closed",
            "closed" in res.get("the GET", {}), res.get("the GET"))
    closed = ol.wait_log(t, "controller", r"peer=RIG00002 app_bytes_in=\d+ reason=(pipelined "
                         r"requests are not supported[^\n]*)", ctl_mark, 10)
    t.check("the controller says why (\"pipelined requests are not supported: only chunks ...\")",
            closed and "only chunks" in closed.group(1), t.log_since("controller", ctl_mark)[-800:])
    off, state = ol.clip_offset(t, key)
    t.check("registry: durable offset 3 or 4 MiB (the last chunk may be stored after the close)",
            off in (3 * ol.MIB, 4 * ol.MIB) and state == "partial", (off, state))
    mark = t.log_size("cam2")
    t.require("cam2's daemon started again", t.bwc_rig("restart", "cam2").returncode == 0)
    t.check("the real camera then offloads the recording", ol.wait_offloaded(t, 2, mark, 120))
    t.check("it resumed at the durable offset (3 or 4 MiB)",
            re.search(r"resuming %s/0001 at byte (%d|%d) of" % (rid, 3 * ol.MIB, 4 * ol.MIB),
                      t.log_since("cam2", mark)), t.log_since("cam2", mark)[-600:])
    ready = ol.ready_files(t)
    t.check("ready file with the camera's SHA-256",
            key in ready and ol.sha256_file(ready[key]) == sha)


def two_connections(t, addr):
    rid, key, sha = ol.record_for_client(t, 2, 3 * ol.MIB)
    ctl_mark = t.log_size("controller")
    res = run_pipeline_client(t, addr, rid, "--two-connections")
    chunks = [r for c, r in res.items() if " at " in c]
    t.check("two connections: every chunk of both stored (6 x 200)",
            len(chunks) == 6 and all(r.get("status") == 200 for r in chunks),
            sorted((c, r.get("status")) for c, r in res.items()))
    wrong = res.get("second connection: commit with a wrong hash", {})
    t.check("the second connection's wrong hash: 422, staged bytes discarded",
            wrong.get("status") == 422, wrong)
    last = res.get("first connection: commit of what it sent", {})
    t.check("the first connection's commit of the hash of what it sent is refused: 422 "
            "hash-mismatch (the file holds the second connection's bytes)",
            last.get("status") == 422 and (last.get("body") or {}).get("error") ==
            "hash-mismatch", last)
    t.check("nothing receipted, nothing in ready/ for the clip",
            key not in ol.ready_files(t) and "committed %s" % rid not in
            t.log_since("controller", ctl_mark))
    mark = t.log_size("cam2")
    t.require("cam2's daemon started again", t.bwc_rig("restart", "cam2").returncode == 0)
    t.check("the real camera then offloads the recording", ol.wait_offloaded(t, 2, mark, 120))
    ready = ol.ready_files(t)
    t.check("ready file with the camera's SHA-256",
            key in ready and ol.sha256_file(ready[key]) == sha)


def body(t):
    # staging only (no forwarder destination empties it); --no-tpm: the hostile client
    # presents cam2's LDevID key, a file
    t.up(2, "--no-ems", "--no-tpm")
    addr = ol.controller_address(t)
    t.require("controller address known", addr, addr)
    bit_flip(t, addr)
    wrong_hash(t, addr)
    pipelining(t, addr)
    two_connections(t, addr)
    t.check("nothing left in staging/incoming", not ol.incoming_files(t), ol.incoming_files(t))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--pipeline-client":
        sys.exit(pipeline_client(sys.argv[2:]))
    rigtest.run("offload_integrity", body)
