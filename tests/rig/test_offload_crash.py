#!/usr/bin/python3
# Crashes during the offload. The controller is killed with SIGKILL at >= 20 moments spread
# over the protocol (right after a camera's TLS session opens, i.e. before the plan; right
# after a chunk became durable; inside the next chunk; when a clip's bytes are all durable,
# i.e. at commit; right after a "committed" line, between staging and the receipt) and
# restarted; the cameras reconnect by themselves. The camera daemons are killed too (every
# few rounds, which also resets their back-off) and resume. A recorder killed mid-recording
# leaves a torn clip that is offloaded flagged complete=false with the bytes it had.
# At the end: every clip staged exactly once with the right SHA-256, one committed row per
# clip, no clip ever deleted from a camera without a receipt line, nothing in incoming/.

import json
import os
import signal
import time

import offloadlib as ol
import riglib
import rigtest

MIB = ol.MIB
# enough data that >= 20 kills happen before everything is offloaded, even
# though the cameras reconnect within a second of a restart
SIZES = {1: [192, 96, 1, 256, 128, 192], 2: [256, 128, 2, 192, 224]}
KINDS = ["before-plan", "between-chunks", "mid-chunk", "at-commit", "after-committed"]
MIN_KILLS = 20


class Watch:
    """Tracks the invariant "a clip gone from the camera has a receipt line"."""

    def __init__(self, t, expected):
        self.t, self.expected, self.violations = t, expected, set()

    def check(self):
        for cam in (1, 2):
            files = set(ol.clip_files(self.t, cam))
            receipted = set(ol.receipt_keys(self.t, cam))
            for k in self.expected:
                if k[0] != riglib.serial_of(cam):
                    continue
                gone = not any(f.startswith("%s/clip-%s." % (k[1], k[2])) for f in files)
                if gone and k not in receipted:
                    # the recorder's torn clip is renamed by store_recover: look again
                    time.sleep(0.05)
                    files = set(ol.clip_files(self.t, cam))
                    receipted = set(ol.receipt_keys(self.t, cam))
                    gone = not any(f.startswith("%s/clip-%s." % (k[1], k[2])) for f in files)
                    if gone and k not in receipted:
                        self.violations.add(k)


def torn_recording(t):
    """Starts a real recording on cam2, kills the recorder mid-clip; returns
    (key, size, sha256 of the torn bytes) or None."""
    p = t.bwc_rig("record", "2", "--seconds", "30", "--background")
    if p.returncode != 0:
        return None
    pid = int((t.rig.run_dir / "cam2-record.pid").read_text())
    def parts():
        out = []
        for q in ol.live_glob(ol.data_dir(t, 2) / "recordings", "*/clip-*.part"):
            try:
                if q.stat().st_size > 256 * 1024:
                    out.append(q)
            except FileNotFoundError:
                pass   # the clip was closed meanwhile
        return out
    found = t.wait_for(parts, 30)
    os.kill(pid, signal.SIGKILL)   # the recorder is not a rig host: signal it directly
    t.wait_for(lambda: not riglib.proc_alive(pid), 5)
    if not found:
        return None
    part = found[0]
    size, sha = part.stat().st_size, ol.sha256_file(part)
    rid = part.parent.name
    cid = part.name.split("-")[1].split(".")[0]
    print("torn clip %s/%s: %d bytes, sha256 %s" % (rid, cid, size, sha), flush=True)
    return ("RIG00002", rid, cid), size, sha


def partial_rows(t):
    return {k: r for k, r in ol.clip_rows(t).items() if r["state"] == "partial"}


def trigger(t, kind, mark, deadline):
    """Waits for the moment of this kind; returns a description or None (timeout)."""
    if kind == "before-plan":
        m = ol.wait_log(t, "controller", r"TLS 1\.3 with system certificate (\S+)", mark,
                        max(0.1, deadline - time.monotonic()), poll=0.005)
        return m and "session of %s opened" % m.group(1)
    if kind == "after-committed":
        m = ol.wait_log(t, "controller", r"committed (\S+)/(\d{4}) \((\d+) bytes\)", mark,
                        max(0.1, deadline - time.monotonic()), poll=0.005)
        return m and "just after committed %s/%s" % (m.group(1)[:8], m.group(2))
    base = {k: r["offset"] for k, r in partial_rows(t).items()}
    while time.monotonic() < deadline:
        rows = partial_rows(t)
        for k, r in rows.items():
            if kind == "at-commit" and r["size"] and r["offset"] == r["size"] \
                    and base.get(k, 0) < r["size"]:
                return "%s/%s fully durable (%d bytes), commit next" % (k[1][:8], k[2], r["size"])
            if kind in ("between-chunks", "mid-chunk") and r["offset"] > base.get(k, 0) \
                    and r["offset"] < r["size"]:
                if kind == "mid-chunk":
                    time.sleep(0.02)
                    return "%s/%s inside the chunk after byte %d" % (k[1][:8], k[2], r["offset"])
                return "%s/%s between chunks at byte %d" % (k[1][:8], k[2], r["offset"])
        for k, r in rows.items():
            base.setdefault(k, r["offset"])
        time.sleep(0.005)
    return None


def all_done(t):
    return not ol.recording_dirs(t, 1) and not ol.recording_dirs(t, 2)


def body(t):
    t.up(2, "--no-ems")   # offload into staging only: no forwarder destination empties it
    for cam in (1, 2):
        t.dock(cam)
        t.require("cam%d enrols" % cam, t.wait(cam, renewals_above=0, timeout=60))
        t.dock(cam, False)
    for cam, sizes in SIZES.items():
        for mib in sizes:
            ol.record(t, cam, 1, mib * MIB)
    ol.record(t, 1, 2)
    torn = torn_recording(t)
    t.require("a recorder killed mid-recording left a torn clip on cam2", torn)
    expected = {}
    for cam in (1, 2):
        expected.update({k: (c["size"], c["sha256"]) for k, c in ol.clips_of(t, cam).items()
                         if c.get("sha256")})
    expected[torn[0]] = (torn[1], torn[2])
    t.require("%d clips to offload" % len(expected), len(expected) == 13, len(expected))
    watch = Watch(t, expected)

    mark = t.log_size("controller")
    for cam in (1, 2):
        t.dock(cam)
    kills, cam_kills, cam_resumed, cam_partial, rounds, misses = [], 0, 0, 0, 0, 0
    while len(kills) < MIN_KILLS + 2 and not all_done(t):
        kind = KINDS[rounds % len(KINDS)]
        rounds += 1
        what = trigger(t, kind, mark, time.monotonic() + 20)
        if what is None:
            misses += 1
            if all_done(t) or misses >= 5:
                break
            print("-- no %s moment within 20 s" % kind, flush=True)
            continue
        misses = 0
        mark = t.log_size("controller")
        t.rig.kill("controller")
        kills.append((kind, what))
        print("-- kill %d of the controller: %s (%s)" % (len(kills), kind, what), flush=True)
        watch.check()
        t.require("controller restarted after kill %d" % len(kills),
                  t.bwc_rig("restart", "controller", quiet=True).returncode == 0)
        watch.check()
        if len(kills) % 3 == 0:
            # camera crashes too, mid-offload (this also resets their back-off)
            for cam in (1, 2):
                if not ol.recording_dirs(t, cam):
                    continue
                serial = riglib.serial_of(cam)
                before = {k: r["offset"] for k, r in partial_rows(t).items() if k[0] == serial}
                t.wait_for(lambda: any(r["offset"] > before.get(k, 0) for k, r in
                                       partial_rows(t).items() if k[0] == serial), 8, poll=0.01)
                rows = {k: (r["offset"], r["size"]) for k, r in partial_rows(t).items()
                        if k[0] == serial}
                cmark = t.log_size("cam%d" % cam)
                t.rig.kill("cam%d" % cam)
                cam_kills += 1
                print("-- kill -9 of cam%d (durable offsets: %s)" % (
                    cam, {k[1][:8] + "/" + k[2]: o for k, (o, _) in rows.items()}), flush=True)
                watch.check()
                t.require("cam%d restarted" % cam, t.bwc_rig("restart", "cam%d" % cam,
                                                             quiet=True).returncode == 0)
                if any(0 < o < size for o, size in rows.values()):
                    cam_partial += 1
                    cam_resumed += 1 if ol.wait_log(t, "cam%d" % cam, r"resuming \S+ at byte "
                                                    r"[1-9]", cmark, 30) else 0
        watch.check()

    print("-- %d controller kills: %s" % (len(kills), json.dumps(kills, indent=0)), flush=True)
    t.check(">= %d kill -9 of the controller during the offload (%d)" % (MIN_KILLS, len(kills)),
            len(kills) >= MIN_KILLS)
    t.check("kills at every kind of moment (%s)" % ", ".join(KINDS),
            {k for k, _ in kills} == set(KINDS), sorted({k for k, _ in kills}))
    t.check("kill -9 of the camera daemons mid-offload (%d); each killed with a partial clip "
            "resumed it after its restart (%d of %d)" % (cam_kills, cam_resumed, cam_partial),
            cam_kills >= 2 and cam_partial >= 1 and cam_resumed == cam_partial)
    done = t.wait_for(lambda: all_done(t), 240, poll=0.5)
    watch.check()
    t.check("both cameras finish: every recording offloaded and deleted", done,
            (ol.recording_dirs(t, 1), ol.recording_dirs(t, 2)))
    t.check("no clip deleted from a camera without a receipt line in its receipts.log",
            not watch.violations, sorted(watch.violations))

    ready = ol.ready_files(t)
    t.check("every clip staged in ready/ exactly once", set(ready) == set(expected),
            sorted(set(ready) ^ set(expected)))
    bad = [k for k, p in ready.items() if k in expected and
           (p.stat().st_size, ol.sha256_file(p)) != expected[k]]
    t.check("every ready file has the right size and SHA-256", not bad, bad)
    rows = ol.clip_rows(t)
    t.check("one committed registry row per clip", set(rows) == set(expected) and
            all(r["state"] == "committed" and r["sha256"] == expected[k][1]
                for k, r in rows.items()), {k[1][:8]: r["state"] for k, r in rows.items()})
    t.check("nothing left in staging/incoming", not ol.incoming_files(t), ol.incoming_files(t))
    for cam in (1, 2):
        keys = ol.receipt_keys(t, cam)
        mine = {k for k in expected if k[0] == riglib.serial_of(cam)}
        t.check("cam%d: a receipt line for each of its %d clips" % (cam, len(mine)),
                set(keys) == mine, sorted(mine - set(keys)))
        dup = len(keys) - len(set(keys))
        t.check("cam%d: no clip receipted twice in receipts.log (%d duplicate lines)"
                % (cam, dup), dup == 0)

    key, size, sha = torn
    row = rows.get(key, {})
    t.check("torn clip: registry complete = 0", row.get("complete") == 0, row.get("complete"))
    meta = ol.db_rows(t, "SELECT meta FROM recordings WHERE serial=? AND rid=?", key[:2])
    t.check("torn clip: the recording metadata says \"complete\":false",
            meta and '"complete":false' in meta[0][0].replace(" ", ""), meta)
    t.check("torn clip: staged bytes equal what was on the camera (%d bytes)" % size,
            key in ready and ready[key].stat().st_size == size and
            ol.sha256_file(ready[key]) == sha)
    t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)
    commits = ol.audit_commits(t)
    t.check("audit: exactly one \"commit\" entry per clip",
            all(commits.get(k) == 1 for k in expected),
            {k[1][:8] + "/" + k[2]: commits.get(k) for k in expected if commits.get(k) != 1})


if __name__ == "__main__":
    rigtest.run("offload_crash", body)
