#!/usr/bin/python3
# Integrity of the offload path. (1) A relay in the camera's namespace flips one bit of the
# camera->controller stream after the TLS handshake: the TLS session breaks, nothing corrupt
# is receipted, the camera retries and the staged bytes equal the camera's. (2) A client
# with a camera's LDevID commits with a wrong SHA-256: 422 hash-mismatch, staged bytes
# discarded, no receipt, "commit-refused" audited; the real camera then offloads it fine.

import json
import re
import time

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
    rid, clips = ol.record(t, 2, 1, 10 * ol.MIB)
    t.require("a 10 MiB recording on cam2", rid and clips)
    key = ("RIG00002", rid, "0001")
    sha = ol.clips_of(t, 2)[key]["sha256"]
    wrong = ("0" if sha[0] != "0" else "1") + sha[1:]
    t.require("cam2's daemon stopped (the hostile client uses its identity)",
              t.bwc_rig("stop", "cam2").returncode == 0)
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


def body(t):
    # staging only (no forwarder destination empties it); --no-tpm: the hostile client
    # presents cam2's LDevID key, a file
    t.up(2, "--no-ems", "--no-tpm")
    addr = ol.controller_address(t)
    t.require("controller address known", addr, addr)
    bit_flip(t, addr)
    wrong_hash(t, addr)
    t.check("nothing left in staging/incoming", not ol.incoming_files(t), ol.incoming_files(t))


if __name__ == "__main__":
    rigtest.run("offload_integrity", body)
