#!/usr/bin/python3
# Forwarding when the destination misbehaves.
# (a) The rig's Swift is down during the whole offload, then comes back: the alarm
#     destination-unreachable is raised and cleared, everything arrives exactly once.
# (b) ems_fault.py (a Swift subset in the controller's namespace): a wrong ETag answer keeps
#     the recording in staging and retries; 503 bursts are retried with an alarm that clears;
#     507 keeps everything with destination-full until the store has room; 400 leaves the
#     recording not-transferred with an alarm (no StoreRejectedContent), or files it in a
#     RejectedContent_* container (FullStoreAndReadSupport).

import time

import emslib
import offloadlib as ol
import rigtest


def fast_retries(t):
    ol.set_conf(t.rig.ctl_conf, "forward", "retry_s", 1)
    ol.set_conf(t.rig.ctl_conf, "forward", "slow_retry_s", 3)
    t.require("controller restarted with retry_s = 1, slow_retry_s = 3",
              t.bwc_rig("restart", "controller").returncode == 0)


def record_and_offload(t, cam=1, seconds=2, nbytes=None):
    """Undocked: record; dock; wait for the offload; undock. Returns the recording id."""
    rid, clips = ol.record(t, cam, seconds, nbytes)
    t.require("cam%d records a recording" % cam, rid and clips)
    mark = t.log_size("cam%d" % cam)
    t.dock(cam)
    t.require("cam%d offloads it" % cam, ol.wait_offloaded(t, cam, mark, 90))
    t.dock(cam, False)
    return rid


def staged(t, rid):
    return [p for k, p in ol.ready_files(t).items() if k[1] == rid]


def watch_alarms(t, rid, name, timeout, state="complete"):
    """Polls forward status until rid has state; returns (state, alarm seen, alarms at end)."""
    seen = False
    deadline = time.monotonic() + timeout
    st, alarms = None, set()
    while time.monotonic() < deadline:
        fs = emslib.forward_status(t)
        alarms = {a.get("name") for a in fs.get("alarms", [])}
        seen = seen or name in alarms
        st = {r.get("recording"): r for r in fs.get("recordings", [])}.get(rid, {})
        if st.get("state") == state:
            break
        time.sleep(0.3)
    return st, seen, alarms


def wait_unstaged(t, rid, alarm=None, timeout=10):
    """The forwarder records Complete first, then empties staging and clears its
    alarms (crash safety): wait for those steps; returns the alarms at the end."""
    deadline = time.monotonic() + timeout
    while True:
        alarms = {a.get("name") for a in emslib.forward_status(t).get("alarms", [])}
        if time.monotonic() > deadline or not (staged(t, rid) or alarm in alarms):
            return alarms
        time.sleep(0.3)


def part_a(t):
    print("== (a) the rig's Swift down during the offload", flush=True)
    t.up(1)
    fast_retries(t)
    emslib.stop(t.rig)
    t.check("bwc-rig status: destination not running",
            t.status().get("destination", {}).get("running") is False)
    rids = [record_and_offload(t, 1, 2), record_and_offload(t, 1, 2, 5000000)]
    time.sleep(6)
    states = emslib.forward_states(t)
    t.check("while Swift is down: no recording complete", all(states.get(r) != "complete"
                                                              for r in rids), states)
    t.check("while Swift is down: alarm destination-unreachable",
            "destination-unreachable" in emslib.alarm_names(t), emslib.alarm_names(t))
    t.check("while Swift is down: the clips stay staged", all(staged(t, r) for r in rids))
    emslib.restart_and_reimport(t.rig)
    states = emslib.wait_forwarded(t, rids, 120)
    t.check("Swift back: both recordings complete", all(states.get(r) == "complete"
                                                        for r in rids), states)
    t.check("alarm destination-unreachable cleared",
            "destination-unreachable" not in emslib.alarm_names(t), emslib.alarm_names(t))
    inv = emslib.recording_containers(emslib.inventory(t.rig))
    per = {r: [c for c in inv if any(o.endswith("_%s.mkv" % r[:8]) for o in inv[c]["objects"])]
           for r in rids}
    t.check("exactly one container per recording, Status Complete, one object each",
            len(inv) == 2 and all(len(v) == 1 for v in per.values())
            and all(c["headers"].get("x-container-meta-status") == "Complete"
                    and len(emslib.clip_objects(c["objects"])) == 1 for c in inv.values()),
            {c: sorted(v["objects"]) for c, v in inv.items()})
    t.check("staging emptied", not ol.ready_files(t), ol.ready_files(t))


def part_b(t):
    print("== (b) ems_fault.py", flush=True)
    t.new_rig("fault")
    t.up(1, "--no-ems")
    fast_retries(t)
    t.require("user officer-1, camera assigned",
              t.bwcctl("user", "add", "officer-1", "--name", "Officer 1").returncode == 0 and
              t.bwcctl("camera", "assign", "RIG00001", "officer-1", "--name", "cam1")
              .returncode == 0)
    d = t.tmp / "fault"
    flag = d / "full.flag"
    proc = None
    try:
        proc, ready = emslib.fault_start(t.rig, d, "wrong-etag")
        conn = emslib.fault_connection_file(t.rig, d, full_store=False)
        t.require("bwcctl destination import (ems_fault.py, FullStoreAndReadSupport false)",
                  t.bwcctl("destination", "import", conn).returncode == 0)

        # wrong ETag in a 201
        r1 = record_and_offload(t)
        time.sleep(8)
        st = {r["recording"]: r for r in emslib.forward_status(t).get("recordings", [])}.get(r1, {})
        puts = [e for e in emslib.fault_requests(d) if e.get("method") == "PUT"
                and e.get("object", "").endswith("_%s.mkv" % r1[:8])]
        t.check("wrong ETag: not complete, retried (attempts >= 2, several PUTs)",
                st.get("state") != "complete" and st.get("attempts", 0) >= 2 and len(puts) >= 2,
                {"state": st.get("state"), "attempts": st.get("attempts"), "puts": len(puts)})
        t.check("wrong ETag: last_error names the ETag", "etag" in st.get("last_error", "").lower(),
                st.get("last_error"))
        t.check("wrong ETag: the clip stays in staging", staged(t, r1))
        t.check("wrong ETag: no Status Complete was posted",
                not any(e.get("method") == "POST" and
                        e.get("meta", {}).get("x-container-meta-status") == "Complete"
                        for e in emslib.fault_requests(d)))
        emslib.fault_stop(proc)
        proc, _ = emslib.fault_start(t.rig, d, "ok")
        st, _, _ = watch_alarms(t, r1, "-", 60)
        wait_unstaged(t, r1)
        t.check("destination fixed: the recording completes, staging emptied",
                st.get("state") == "complete" and not staged(t, r1), st)

        # 503 bursts
        emslib.fault_stop(proc)
        proc, _ = emslib.fault_start(t.rig, d, "busy", "--busy", 3)
        mark = len(emslib.fault_requests(d))
        r2 = record_and_offload(t)
        st, seen, alarms = watch_alarms(t, r2, "destination-unreachable", 90)
        n503 = sum(1 for e in emslib.fault_requests(d)[mark:] if e.get("status") == 503)
        t.check("503 x3: retried, then complete", st.get("state") == "complete"
                and n503 == 3 and st.get("attempts", 0) >= 0, {"st": st, "503s": n503})
        t.check("503: alarm destination-unreachable raised, then cleared",
                seen and "destination-unreachable" not in alarms, {"seen": seen, "now": alarms})

        # 507 until the flag file is removed
        emslib.fault_stop(proc)
        flag.write_text("full\n")
        proc, _ = emslib.fault_start(t.rig, d, "full", "--flag", flag)
        r3 = record_and_offload(t)
        st, seen, alarms = watch_alarms(t, r3, "destination-full", 12, state="never")
        t.check("507: alarm destination-full, not complete, clip kept in staging",
                seen and st.get("state") != "complete" and staged(t, r3),
                {"st": st, "alarms": alarms})
        flag.unlink()
        st, _, alarms = watch_alarms(t, r3, "-", 60)
        alarms = wait_unstaged(t, r3, "destination-full")
        t.check("507 over (flag removed): complete, staging emptied, alarm cleared",
                st.get("state") == "complete" and not staged(t, r3)
                and "destination-full" not in alarms, {"st": st, "alarms": alarms})

        # 400 without StoreRejectedContent
        emslib.fault_stop(proc)
        proc, _ = emslib.fault_start(t.rig, d, "reject")
        r4 = record_and_offload(t)
        st, seen, alarms = watch_alarms(t, r4, "recording-rejected", 30, state="not-transferred")
        t.check("400: not-transferred, alarm recording-rejected, clip kept in staging",
                st.get("state") == "not-transferred" and seen and staged(t, r4),
                {"st": st, "alarms": alarms})
        time.sleep(4)
        st2 = {r["recording"]: r for r in emslib.forward_status(t).get("recordings", [])}.get(r4)
        t.check("400: not retried afterwards", st2 and st2.get("attempts") == st.get("attempts"),
                st2)

        # 400 with FullStoreAndReadSupport (StoreRejectedContent)
        conn = emslib.fault_connection_file(t.rig, d, full_store=True)
        t.require("bwcctl destination import (FullStoreAndReadSupport false -> true)",
                  t.bwcctl("destination", "import", conn).returncode == 0)
        time.sleep(11)   # the forwarder reloads the destination every 10 s
        r5 = record_and_offload(t)
        st, _, _ = watch_alarms(t, r5, "-", 60)
        store = emslib.fault_store(d)
        rej = [c for c in store if c.startswith("RejectedContent_")
               and any(o.endswith("_%s.mkv" % r5[:8]) for o in store[c]["objects"])]
        t.check("400 with StoreRejectedContent: filed in a RejectedContent_* container",
                st.get("state") == "complete" and st.get("container", "").startswith(
                    "RejectedContent_") and len(rej) == 1, {"st": st, "rej": rej})
        if rej:
            meta = store[rej[0]]["meta"]
            t.check("RejectedContent container has the original name and reason",
                    "_RIG00001_" in meta.get("x-container-meta-rejectedcontentoriginal"
                                             "container", "")
                    and meta.get("x-container-meta-rejectedcontentreason"), meta)
        t.check("400 with StoreRejectedContent: staging emptied", not staged(t, r5))
        t.check("the earlier not-transferred recording is still in staging", staged(t, r4))
        t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)
    finally:
        emslib.fault_stop(proc)


def body(t):
    part_a(t)
    part_b(t)


if __name__ == "__main__":
    rigtest.run("forward_faults", body)
