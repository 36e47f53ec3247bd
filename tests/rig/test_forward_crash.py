#!/usr/bin/python3
# A crash of the controller (SIGKILL of every one of its processes: the parent, bwc-ca and
# bwc-forward) in the middle of uploading a 300 MB recording to the rig's Swift, then a
# restart: every recording is Complete at the destination exactly once (one container, one
# object per clip, one Status: Complete), and the staged clip existed until the container
# said Complete (staging polled every 0.1 s against the Swift proxy's log times).

import os
import signal
import threading
import time

import emslib
import offloadlib as ol
import rigtest

BIG = 300000000


def controller_pids(t):
    """Every process in the controller's namespace running the bwc-controller binary
    (the parent and its forked bwc-ca and bwc-forward), not Swift."""
    exe = os.path.realpath(t.rig.binary("controller/bwc-controller"))
    p = t.sh(["ip", "netns", "pids", t.rig.ns("ctl")], quiet=True)
    out = []
    for pid in p.stdout.split():
        try:
            if os.path.realpath("/proc/%s/exe" % pid) == exe:
                out.append(int(pid))
        except OSError:
            continue
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def body(t):
    t.up(1)
    rid_small, _ = ol.record(t, 1, 2)
    rid_big, clips = ol.record(t, 1, 2, BIG)
    t.require("cam1 records a 2 s recording and a 300 MB one", rid_small and rid_big and clips)
    docs = ol.recordings(t, 1)
    uuid = emslib.user_uuid(t.rig, "officer-1")
    cname = {r: emslib.container_name(uuid, "RIG00001", docs[r]["trigger_on"]["time"])
             for r in (rid_small, rid_big)}
    big_prefix = "/v1/AUTH_test/" + cname[rid_big]

    # staging watcher: when was the big clip's staged file first seen gone?
    gone_at, stop = [], threading.Event()
    ready_dir = ol.staging(t) / "ready" / "RIG00001" / rid_big
    seen_staged = threading.Event()

    def watch():
        while not stop.is_set():
            files = list(ready_dir.glob("*")) if ready_dir.is_dir() else []
            if files:
                seen_staged.set()
            elif seen_staged.is_set() and not gone_at:
                gone_at.append(time.time())
            stop.wait(0.1)
    th = threading.Thread(target=watch)
    th.start()
    try:
        mark = t.log_size("cam1")
        t.dock(1)
        t.require("cam1 offloads", ol.wait_offloaded(t, 1, mark, 120))

        def uploading():
            reqs = emslib.proxy_requests(t.rig)
            return any(r["method"] == "PUT" and r["path"] == big_prefix for r in reqs)
        t.require("the forwarder created the big recording's container (upload under way)",
                  t.wait_for(uploading, 60, poll=0.05))
        time.sleep(0.5)
        done_before = [r for r in emslib.proxy_requests(t.rig)
                       if r["path"].startswith(big_prefix + "/") and r["method"] == "PUT"]
        pids = controller_pids(t)
        names = sorted(comm(p) for p in pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed_at = time.time()
        t.check("SIGKILL to every controller process (%s)" % ", ".join(names),
                len(pids) >= 3 and "bwc-forward" in names, names)
        t.check("the kill came before the big object was stored", not done_before,
                len(done_before))
        t.wait_for(lambda: not controller_pids(t), 10, poll=0.1)
        t.check("no controller process left", not controller_pids(t))
        time.sleep(1)
        inv = emslib.inventory(t.rig) or {}
        h = inv.get(cname[rid_big], {}).get("headers", {})
        t.check("after the crash: the big container is not Complete at Swift",
                h.get("x-container-meta-status") != "Complete", h.get("x-container-meta-status"))
        t.check("after the crash: the big clip is still staged", any(ready_dir.glob("*")))

        t.require("controller restarts", t.bwc_rig("restart", "controller").returncode == 0)
        states = emslib.wait_forwarded(t, [rid_small, rid_big], 180)
        t.check("after the restart: both recordings complete",
                all(states.get(r) == "complete" for r in (rid_small, rid_big)), states)
        t.wait_for(lambda: gone_at, 10, poll=0.1)
    finally:
        stop.set()
        th.join()

    inv = emslib.recording_containers(emslib.inventory(t.rig))
    t.check("exactly the 2 recording containers at Swift", set(inv) == set(cname.values()),
            sorted(inv))
    for rid in (rid_small, rid_big):
        c = inv.get(cname[rid], {})
        want = {emslib.object_name(cl["start"], rid, cl["container"]): cl
                for cl in docs[rid]["clips"]}
        t.check("%s: Status Complete, exactly one object per clip, sizes and MD5s right"
                % rid[:8], c.get("headers", {}).get("x-container-meta-status") == "Complete"
                and set(emslib.clip_objects(c.get("objects", {}))) == set(want)
                and all(c["objects"][n]["bytes"] == cl["size"] for n, cl in want.items()),
                c and sorted(c.get("objects", {})))
    reqs = emslib.proxy_requests(t.rig)
    posts = [r for r in reqs if r["method"] == "POST" and r["path"] == big_prefix
             and 200 <= r["status"] < 300]
    t.check("one Status: Complete POST for the big recording, after the restart",
            len(posts) == 1 and posts[0]["start"] > killed_at, posts)
    t.check("the big clip's staged file was deleted only after Status: Complete was answered "
            "(first seen gone %.2f s after the POST ended)"
            % ((gone_at[0] - posts[0]["end"]) if gone_at and posts else float("nan")),
            gone_at and posts and gone_at[0] >= posts[0]["end"], (gone_at, posts))
    big = inv.get(cname[rid_big], {}).get("objects", {})
    if big:
        oname = next(iter(big))
        got = emslib.download(t.rig, cname[rid_big], oname, t.tmp / "big.bin")
        t.check("the big object's SHA-256 equals the camera's",
                got and got["sha256"] == docs[rid_big]["clips"][0]["sha256"])
        (t.tmp / "big.bin").unlink(missing_ok=True)
    t.check("staging emptied", not ol.ready_files(t), ol.ready_files(t))
    entries = ol.audit(t)
    n = {r: sum(1 for e in entries if e.get("event") == "forward" and r in str(e.get("detail")))
         for r in (rid_small, rid_big)}
    t.check("audit: one \"forward\" entry per recording", all(v == 1 for v in n.values()), n)
    t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)


if __name__ == "__main__":
    rigtest.run("forward_crash", body)
