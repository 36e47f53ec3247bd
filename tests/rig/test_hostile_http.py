#!/usr/bin/python3
# Hostile HTTP from a camera with a valid LDevID (hostilelib.py in cam2's namespace, Python
# ssl, TLS 1.3): oversized heads and bodies, chunked bodies, chunks beyond the clip or out of
# order, path traversal and NUL bytes in ids, unknown and duplicate JSON members, a million
# pipelined requests, bad CSRs. Each is refused or closed with its reason in the controller
# log, nothing of it is staged, and a normal camera offloading at the same time gets its
# recording through with identical bytes.
#
# Replayed receipts are not tested here: a receipt is only ever sent by the controller, and
# the camera trusts one only after verifying its signature, signer pin and every field
# (bwc/offload.c; threat model T15). There is no request through which a device on the dock
# could hand the controller or a camera a receipt.

import subprocess
import time
from pathlib import Path

import hostilelib as hl
import offloadlib as ol
import rigtest

NORMAL_SIZE = 512 * ol.MIB
HOSTILE_SERIAL = "RIG00002"

# case -> (HTTP status, error code, text in the reason, must the connection be closed?)
EXPECT = {
    "head-over-8k": (413, "too-large", "message head over 8192 bytes", True),
    "33-header-fields": (413, "too-large", "more than 32 header fields", True),
    "json-body-over-64k": (413, "too-large", "over the limit of 65536", True),
    "chunk-over-8m-declared": (413, "too-large", "over the limit of 8388608", True),
    "transfer-encoding-chunked": (400, "bad-request", "Transfer-Encoding", True),
    "chunk-beyond-clip-size": (400, "bad-request", "beyond the declared clip size", False),
    "chunk-out-of-order": (409, "offset", "offset 4096 is not the durable size 0", False),
    "path-dotdot": (404, "not-found", "no such resource", False),
    "path-dotdot-encoded": (404, "not-found", "no such resource", False),
    "path-dotdot-put": (404, "not-found", "no such resource", False),
    "path-nul-encoded": (404, "not-found", "no such resource", False),
    "json-unknown-member": (400, "bad-request", '"evil"', False),
    "json-duplicate-key": (400, "bad-request", "recordings", False),
    "csr-other-serial": (422, "bad-csr", "RIG00001", False),
    "csr-rsa-key": (422, "bad-key", "P-256", False),
    "csr-p384-key": (422, "bad-key", "P-256", False),
    "csr-same-key": (422, "bad-key", "new key", False),
}


def make_csrs(t, d):
    """The CSRs of the hostile renewals, DER, in d."""
    d.mkdir(parents=True, exist_ok=True)
    pki = t.rig.binary("certs/tool/bwc-pki")
    _, own_key = hl.identity(t, 2)
    steps = [
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d / "p256.key"],
        [pki, "csr", "--key", d / "p256.key", "--serial", "RIG00001", "--out", d / "other.pem"],
        ["openssl", "req", "-in", d / "other.pem", "-outform", "DER", "-out",
         d / "other-serial.der"],
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
         d / "rsa.key"],
        ["openssl", "req", "-new", "-key", d / "rsa.key", "-subj", "/serialNumber=%s"
         % HOSTILE_SERIAL, "-outform", "DER", "-out", d / "rsa.der"],
        ["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", d / "p384.key"],
        ["openssl", "req", "-new", "-key", d / "p384.key", "-subj", "/serialNumber=%s"
         % HOSTILE_SERIAL, "-outform", "DER", "-out", d / "p384.der"],
        [pki, "csr", "--key", own_key, "--serial", HOSTILE_SERIAL, "--out", d / "same.pem"],
        ["openssl", "req", "-in", d / "same.pem", "-outform", "DER", "-out", d / "same-key.der"],
    ]
    ok = all(t.sh(s, quiet=True).returncode == 0 for s in steps)
    t.require("CSRs made: another serial, RSA-2048, P-384, the current key", ok)


def tree(root):
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.is_dir() else set()


def body(t):
    addr = hl.prepare(t)
    rid2, clips2 = ol.record(t, 2, 1, ol.MIB)
    t.require("a 1 MiB recording on the hostile camera cam2", rid2 and clips2)
    key, sha = hl.record_normal(t, 1, NORMAL_SIZE)
    make_csrs(t, t.tmp / "csr")
    cert, ckey = hl.identity(t, 2)

    ctl_dir = t.rig.dir / "controller"
    before_tree = tree(ctl_dir)
    before_rows = hl.registry_rows(t, HOSTILE_SERIAL)
    etc_clips_before = Path("/etc/clips").exists()
    ctl_mark, cam_mark = t.log_size("controller"), t.log_size("cam1")
    log = t.tmp / "hostile-http.log"
    argv = hl.client_argv("http", addr, cert, ckey,
                          recording=ol.data_dir(t, 2) / "recordings" / rid2,
                          csr_dir=t.tmp / "csr")
    t0 = time.monotonic()
    proc = ol.spawn_in(t, "cam2", argv, log)
    t.dock(1)                       # the normal camera offloads while the hostile one works
    try:
        proc.wait(170)
    except subprocess.TimeoutExpired:
        ol.stop_proc(proc)
    print("hostile client ran %.1f s, exit %s" % (time.monotonic() - t0, proc.returncode))
    results = {}
    for line in log.read_text().splitlines():
        print("  " + line[:400])
        if line.startswith("{"):
            try:
                r = hl.json.loads(line)
                results[r.get("case")] = r
            except ValueError:
                pass
    t.require("the hostile client ran every case",
              proc.returncode == 0 and all(c in results for c in EXPECT) and
              "pipelined-million" in results, sorted(results))
    t.check("hostile camera announced its recording (200)",
            results.get("announce", {}).get("status") == 200, results.get("announce"))

    hl.check_normal(t, 1, key, sha, cam_mark)

    for case, (status, code, text, must_close) in EXPECT.items():
        r = results[case]
        body_ = r.get("body") if isinstance(r.get("body"), dict) else {}
        closed_line = hl.wait_closed(t, r, ctl_mark, 10) or {}
        refused = hl.refusals(t, ctl_mark).get(hl.who(r), [])
        reason_ok = any(c == code and text in m for c, m in refused)
        if must_close:
            reason_ok = reason_ok and r.get("closed") and text in closed_line.get("reason", "")
        t.check("%s: %d %s%s, log says why (\"%s\")"
                % (case, status, code, " and closed" if must_close else "", text),
                r.get("status") == status and body_.get("error") == code and reason_ok,
                {"answer": (r.get("status"), body_), "closed": r.get("closed"),
                 "refused": refused, "close": closed_line.get("reason")})

    r = results["path-nul-raw"]
    closed_line = hl.wait_closed(t, r, ctl_mark, 10) or {}
    refused = hl.refusals(t, ctl_mark).get(hl.who(r), [])
    t.check("path-nul-raw: a raw NUL in the path is refused (400 or 404) with a logged reason",
            r.get("status") in (400, 404) and refused, (r.get("status"), refused,
                                                         closed_line.get("reason")))

    r = results["pipelined-million"]
    closed_line = hl.wait_closed(t, r, ctl_mark, 10) or {}
    t.check("pipelined requests: the connection is closed (\"pipelined requests are not "
            "supported\") after at most one answer",
            r.get("closed") and (r.get("answers") or 0) <= 1 and
            "pipelined requests are not supported" in closed_line.get("reason", ""),
            {"sent": r.get("requests_sent"), "answers": r.get("answers"),
             "close": closed_line.get("reason")})
    t.check("pipelined requests: refused long before a million were sent",
            (r.get("requests_sent") or 0) < 1000000, r.get("requests_sent"))

    # nothing staged for the hostile camera, the registry unchanged
    t.check("no bytes staged for %s (incoming and ready)" % HOSTILE_SERIAL,
            not hl.staged_bytes(t, HOSTILE_SERIAL), hl.staged_bytes(t, HOSTILE_SERIAL))
    after_rows = hl.registry_rows(t, HOSTILE_SERIAL)
    t.check("registry: %s's camera row unchanged" % HOSTILE_SERIAL,
            after_rows[0] == before_rows[0], (before_rows[0], after_rows[0]))
    clips = after_rows[1]
    t.check("registry: %s's only clip row is its announced clip, offset 0, no receipt"
            % HOSTILE_SERIAL,
            [(c[1], c[2], c[3], c[4], c[7]) for c in clips] == [(rid2, "0001", "partial", 0, None)],
            clips)
    new = sorted(p for p in tree(ctl_dir) - before_tree
                 if not p.startswith(("state/staging/incoming/RIG00001",
                                  "state/staging/ready/RIG00001")))
    allowed = {"state/staging/incoming/%s" % HOSTILE_SERIAL,
               "state/staging/incoming/%s/%s" % (HOSTILE_SERIAL, rid2)}
    t.check("nothing created outside staging (no ../etc, no odd names)",
            set(new) <= allowed | {p for p in new if p.startswith("state/registry.db")
                                   or p.endswith((".log", ".head"))}, new)
    t.check("/etc/clips not created", Path("/etc/clips").exists() == etc_clips_before)


if __name__ == "__main__":
    rigtest.run("hostile_http", body)
