#!/usr/bin/python3
# Offload of 3 cameras x 3 recordings docked at once (one 1 GiB synthetic clip, the rest
# real H.264 of 2-3 s): every clip staged exactly once with the camera's SHA-256, one
# receipt per clip on the camera and a committed registry row, camera stores emptied,
# one audit "commit" per clip and an intact audit chain; the cameras pipeline their chunks.

import re
import threading
import time

import offloadlib as ol
import rigtest

CAMERAS = 3
BIG = 1 << 30


def record_all(t):
    """Records on every camera in parallel; returns {cam: [recording ids]}."""
    plan = {1: [(3, None), (2, BIG), (2, None)], 2: [(2, None), (3, None), (2, None)],
            3: [(3, None), (2, None), (3, None)]}
    got = {cam: [] for cam in plan}

    def worker(cam):
        for seconds, nbytes in plan[cam]:
            rid, _ = ol.record(t, cam, seconds, nbytes)
            got[cam].append(rid)
    threads = [threading.Thread(target=worker, args=(cam,)) for cam in plan]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return got


def body(t):
    t.up(CAMERAS, "--no-ems")   # offload into staging only: no forwarder destination empties it
    started = time.monotonic()
    got = record_all(t)
    t.require("3 recordings on each of the 3 cameras",
              all(len(v) == 3 and all(v) for v in got.values()), got)
    expected = {}
    for cam in range(1, CAMERAS + 1):
        expected.update(ol.clips_of(t, cam))
    t.require("9 clips in the camera stores, each with size and sha256 in recording.json",
              len(expected) == 9 and all(c.get("sha256") and c.get("size")
                                         for c in expected.values()), len(expected))
    t.check("one clip of 1 GiB among them", any(c["size"] == BIG for c in expected.values()))
    print("recorded in %.1f s" % (time.monotonic() - started), flush=True)

    marks = {cam: t.log_size("cam%d" % cam) for cam in range(1, CAMERAS + 1)}
    ctl_mark = t.log_size("controller")
    started = time.monotonic()
    for cam in range(1, CAMERAS + 1):
        t.dock(cam)
    for cam in range(1, CAMERAS + 1):
        t.check("cam%d finishes its offload" % cam, ol.wait_offloaded(t, cam, marks[cam], 400))
    print("offloaded %.0f MiB in %.1f s" % (sum(c["size"] for c in expected.values()) / ol.MIB,
                                           time.monotonic() - started), flush=True)

    ready = ol.ready_files(t)
    t.check("every clip staged in ready/ exactly once (9 files, the camera's clips)",
            set(ready) == set(expected) and len(ready) == 9, sorted(set(ready) ^ set(expected)))
    bad = [k for k, p in ready.items()
           if k in expected and (p.stat().st_size != expected[k]["size"]
                                 or ol.sha256_file(p) != expected[k]["sha256"])]
    t.check("SHA-256 and size of every ready file equal the camera's recording.json",
            not bad and ready, bad)
    t.check("nothing left in staging/incoming", not ol.incoming_files(t), ol.incoming_files(t))

    rows = ol.clip_rows(t)
    t.check("registry: exactly one clip row per clip", set(rows) == set(expected),
            sorted(set(rows) ^ set(expected)))
    t.check("registry: every clip committed with its size, sha256 and a receipt",
            all(rows.get(k, {}).get("state") == "committed" and rows[k]["size"] == c["size"]
                and rows[k]["offset"] == c["size"] and rows[k]["sha256"] == c["sha256"]
                and rows[k]["receipt"] for k, c in expected.items()),
            {k[1:]: rows.get(k) and (rows[k]["state"], rows[k]["offset"]) for k in expected})
    nrec = ol.db_rows(t, "SELECT COUNT(*) FROM recordings")
    t.check("registry: 9 recordings", nrec and nrec[0][0] == 9, nrec)
    log = t.log_since("controller", ctl_mark)
    twice = [k for k in expected if len(re.findall(r"committed %s/%s " % (k[1], k[2]), log)) != 1]
    t.check("controller log: one \"committed\" line per clip", not twice, twice)
    # sent in one go from byte 0: the controller hashed each chunk as it wrote it
    whole = [k for k in expected if not re.search(
        r"committed %s/%s .*SHA-256 hashed chunk by chunk" % (k[1], k[2]), log)]
    t.check("controller log: every clip's SHA-256 hashed chunk by chunk as written (no whole-file pass)",
            not whole, whole)

    for cam in range(1, CAMERAS + 1):
        mine = {k for k in expected if k[0] == "RIG%05d" % cam}
        keys = ol.receipt_keys(t, cam)
        t.check("cam%d: receipts.log has one line per clip (3)" % cam,
                len(keys) == 3 and set(keys) == mine and len(ol.receipts(t, cam)) == 3, keys)
        rc = [r for r in ol.receipts(t, cam) if isinstance(r, dict)]
        t.check("cam%d: each receipt carries the clip's sha256 and size, signed" % cam,
                rc and all(r.get("sha256") == expected[(r["serial"], r["recording_id"],
                                                        r["clip_id"])]["sha256"]
                           and r.get("size") == expected[(r["serial"], r["recording_id"],
                                                          r["clip_id"])]["size"]
                           and r.get("signature") and r.get("signer") for r in rc
                           if (r.get("serial"), r.get("recording_id"), r.get("clip_id"))
                           in expected), rc[:1])
        t.check("cam%d: store emptied (no recording directory left)" % cam,
                not ol.recording_dirs(t, cam), ol.recording_dirs(t, cam))
        t.check("cam%d: pipelines chunks (\"the controller takes 2 chunks at a time\")" % cam,
                "the controller takes 2 chunks at a time" in t.log_since("cam%d" % cam,
                                                                         marks[cam]))
        off = ol.offload_state(t, cam)
        t.check("cam%d: status offload result done, 3 clips receipted, no error" % cam,
                off.get("result") == "done" and off.get("clips_receipted") == 3
                and not off.get("last_error"), off)
        st = [c for c in t.status().get("cameras", []) if c.get("name") == "cam%d" % cam]
        t.check("cam%d: bwc-rig status --json shows the offload counters" % cam,
                st and st[0].get("offload") == off, st and st[0].get("offload"))

    p = t.bwcctl("camera", "list")
    t.check("bwcctl camera list ok", p.returncode == 0 and all(
        "RIG%05d" % cam in p.stdout for cam in range(1, CAMERAS + 1)))
    cams = t.camera_list()
    t.check("bwcctl camera list --json: every camera's last offload done (bytes_done = total)",
            len(cams) == 3 and all(c.get("offload", {}).get("bytes_total", 0) > 0 and
                                   c["offload"]["bytes_done"] == c["offload"]["bytes_total"]
                                   for c in cams.values()),
            {s: c.get("offload") for s, c in cams.items()})
    t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)
    commits = ol.audit_commits(t)
    t.check("audit: exactly one \"commit\" entry per clip",
            set(commits) == set(expected) and all(n == 1 for n in commits.values()), commits)


if __name__ == "__main__":
    rigtest.run("offload", body)
