#!/usr/bin/python3
# Resumable offload: a 400 MiB clip is undocked when the controller holds 10-80 % of it
# durably; the camera stops cleanly and keeps the clip; docked again it resumes at the
# durable offset and completes, re-sending at most the chunks in flight: the camera keeps up to
# PIPELINE chunks unanswered (PROTOCOL.md §9.1, the controller's plan answer says how many), so
# up to PIPELINE chunks may be received, or even made durable, after the undock without the
# camera learning it.

import json
import re
import time

import offloadlib as ol
import rigtest

SIZE = 400 * ol.MIB
CHUNK = 4 * ol.MIB   # the camera's default [dock] chunk_kib
PIPELINE = 2         # DOCK_PIPELINE: chunks a camera may have unanswered
IN_FLIGHT = PIPELINE * CHUNK


def body(t):
    t.up(1, "--no-ems")   # offload into staging only: no forwarder destination empties it
    rid, clips = ol.record(t, 1, 2, SIZE)
    t.require("a 400 MiB recording on cam1", rid and clips.get("0001", (0,))[0] == SIZE, clips)
    key = ("RIG00001", rid, "0001")
    sha = ol.clips_of(t, 1)[key]["sha256"]

    mark, ctl_mark = t.log_size("cam1"), t.log_size("controller")
    t.dock(1)
    seen = []

    def between():
        off, _ = ol.clip_offset(t, key)
        seen.append(off)
        return off if SIZE * 0.25 <= off <= SIZE * 0.80 else None   # undock at about a third
    durable = t.wait_for(between, 120, poll=0.02)
    t.require("the controller's durable offset reaches 10-80 %% of the clip (%s)"
              % (durable and "%.0f %%" % (100.0 * durable / SIZE)), durable, seen[-5:])
    t.dock(1, False)
    undocked_at = time.monotonic()
    # the transfer stops on the undock itself, while sending ("transfer to .. stopped
    # (undocked)") or while waiting for a chunk's answer ("waiting for .. stopped")
    stop = ol.wait_log(t, "cam1", r"(transfer to|waiting for) \S+ stopped \(undocked\)",
                       mark, 10)
    t.check("the camera stops the transfer (%s)" % (stop and stop.group(0)[:40]), stop,
            t.log_since("cam1", mark)[-600:])
    t.check("the camera logs \"undocked\"", ol.wait_log(t, "cam1", r"info: undocked", mark, 30))
    print("the camera noticed the undock after %.1f s" % (time.monotonic() - undocked_at),
          flush=True)
    t.wait_for(lambda: ol.offload_state(t, 1).get("result") == "undocked", 10)
    first = ol.offload_state(t, 1)
    t.check("camera status: offload result undocked, the clip still pending",
            first.get("result") == "undocked" and first.get("clips_receipted") == 0, first)
    after_undock, _ = ol.clip_offset(t, key)
    t.check("durable offset after the undock is below the clip size and not behind the "
            "one seen (%d <= %d < %d)" % (durable, after_undock, SIZE),
            durable <= after_undock < SIZE)
    files = ol.clip_files(t, 1)
    t.check("the camera keeps the clip file", files == ["%s/clip-0001.mkv" % rid], files)
    t.check("no receipt on the camera", not ol.receipts(t, 1))
    t.check("nothing in the ready queue", not ol.ready_files(t))
    time.sleep(1)
    # a chunk fully received before the undock may still become durable after it
    after_undock, _ = ol.clip_offset(t, key)

    mark2 = t.log_size("cam1")
    t.dock(1)
    t.check("re-docked, the offload finishes", ol.wait_offloaded(t, 1, mark2, 180))
    log2 = t.log_since("cam1", mark2)
    m = re.search(r"resuming %s/0001 at byte (\d+) of (\d+)" % rid, log2)
    t.check("the camera resumes (\"resuming ... at byte N of %d\")" % SIZE,
            m and int(m.group(2)) == SIZE, log2[-600:])
    at = int(m.group(1)) if m else -1
    # The chunks fully sent before the undock (up to PIPELINE of them) may become
    # durable while the camera is away: the resume point is the durable offset
    # seen then, or up to the chunks in flight beyond it.
    t.check("it resumes at the controller's durable offset (%d in [%d, %d])"
            % (at, after_undock, after_undock + IN_FLIGHT),
            after_undock <= at <= after_undock + IN_FLIGHT)
    second = ol.offload_state(t, 1)
    sent = (first.get("bytes_sent") or 0) + (second.get("bytes_sent") or 0)
    # bytes_sent counts answered chunks: the chunks in flight at the undock are
    # missing from it (durable or not); a resent one counts twice
    t.check("camera bytes_sent over both docks %d within size -/+ the chunks in flight (%d)"
            % (sent, IN_FLIGHT), SIZE - IN_FLIGHT <= sent <= SIZE + IN_FLIGHT,
            json.dumps([first, second]))
    # The connection cut by the undock is logged only when the controller gives
    # up on it (its FIN never crossed the downed link): up to the idle timeout.
    deadline = time.monotonic() + 90
    wire = ol.app_bytes_in(t, "RIG00001", ctl_mark)
    while wire < SIZE and time.monotonic() < deadline:
        time.sleep(1)
        wire = ol.app_bytes_in(t, "RIG00001", ctl_mark)
    # app_bytes_in counts HTTP heads and JSON too: allow 64 KiB of them
    t.check("controller received %d application bytes over both docks <= size + the chunks in "
            "flight (%d, +64 KiB of requests)" % (wire, IN_FLIGHT),
            SIZE <= wire <= SIZE + IN_FLIGHT + 65536)
    # a resumed clip has bytes from two connections: its whole staged file is hashed
    t.check("controller log: the resumed clip's SHA-256 is of the whole staged file",
            re.search(r"committed %s/0001 .*SHA-256 of the whole staged file" % rid,
                      t.log_since("controller", ctl_mark)))
    ready = ol.ready_files(t)
    t.check("the ready file has the camera's SHA-256",
            key in ready and ol.sha256_file(ready[key]) == sha, sorted(ready))
    t.check("one receipt on the camera, clip deleted",
            ol.receipt_keys(t, 1) == [key] and not ol.recording_dirs(t, 1),
            (ol.receipt_keys(t, 1), ol.recording_dirs(t, 1)))
    rows = ol.clip_rows(t)
    t.check("registry: the clip committed once", list(rows) == [key] and
            rows[key]["state"] == "committed" and rows[key]["sha256"] == sha, rows)
    t.check("nothing left in staging/incoming", not ol.incoming_files(t), ol.incoming_files(t))


if __name__ == "__main__":
    rigtest.run("offload_resume", body)
