#!/usr/bin/python3
# Forwarding end to end to the rig's real OpenStack Swift: 2 cameras record real H.264 and a
# 50 MB synthetic clip, dock; every recording arrives as a container named and described as
# the integration API says, one object per clip, byte-identical to what the camera recorded
# (ETag = MD5, SHA-256 = the camera's), Users/ and Devices/ objects, staging emptied, audit
# "forward" + "delete" entries, Status: Complete set after every object was stored.

import time

import emslib
import offloadlib as ol
import rigtest

SYNTH = 50000000


def body(t):
    t.up(2)
    plan = [(1, 3, None), (2, 2, None), (1, 2, SYNTH)]
    rids = []
    for cam, seconds, nbytes in plan:
        rid, clips = ol.record(t, cam, seconds, nbytes)
        t.require("cam%d records %d s%s" % (cam, seconds, " (%d bytes)" % nbytes if nbytes else ""),
                  rid and clips, rid)
        rids.append(rid)
    docs = {}
    for cam in (1, 2):
        for rid, doc in ol.recordings(t, cam).items():
            docs[rid] = doc
    t.require("recording.json of the 3 recordings read before docking",
              set(docs) == set(rids), sorted(docs))

    started = time.monotonic()
    marks = {cam: t.log_size("cam%d" % cam) for cam in (1, 2)}
    for cam in (1, 2):
        t.dock(cam)
    for cam in (1, 2):
        t.check("cam%d finishes its offload" % cam, ol.wait_offloaded(t, cam, marks[cam], 120))
    states = emslib.wait_forwarded(t, rids, 120)
    t.check("forward status: the 3 recordings complete", all(states.get(r) == "complete"
                                                             for r in rids), states)
    print("docked to all complete at the destination in %.1f s" % (time.monotonic() - started),
          flush=True)

    inv = emslib.inventory(t.rig)
    t.require("destination inventory readable", inv is not None)
    recs = emslib.recording_containers(inv)
    uuids = {cam: emslib.user_uuid(t.rig, "officer-%d" % cam) for cam in (1, 2)}
    expect = {}
    for rid, doc in docs.items():
        cam = int(doc["serial"][3:])
        expect[rid] = emslib.container_name(uuids[cam], doc["serial"], doc["trigger_on"]["time"])
    t.check("one container per recording, named <UserUUID>_<Serial>_<TriggerOnTime>, no other",
            set(recs) == set(expect.values()) and len(recs) == 3,
            sorted(set(recs) ^ set(expect.values())))

    for rid, doc in docs.items():
        name = expect[rid]
        c = recs.get(name)
        if not c:
            t.check("container of %s present" % rid[:8], False, name)
            continue
        h = c["headers"]
        t.check("%s: container metadata BWCSerialNumber, UserID, TriggerOnTimeISO, Status Complete"
                % rid[:8],
                h.get("x-container-meta-bwcserialnumber") == doc["serial"]
                and h.get("x-container-meta-userid") == uuids[int(doc["serial"][3:])]
                and h.get("x-container-meta-triggerontimeiso") == doc["trigger_on"]["time"]
                and h.get("x-container-meta-status") == "Complete",
                {k: v for k, v in h.items() if k.startswith("x-container-meta-")})
        want = {emslib.object_name(cl["start"], rid, cl["container"]): cl for cl in doc["clips"]}
        certs = sorted(o for o in c["objects"] if o.endswith("_%s_video-signing.pem" % doc["serial"]))
        t.check("%s: one object per clip, named <StartTime>_<RecordingID>.<ext>, and the "
                "video-signing certificate, nothing else" % rid[:8],
                set(c["objects"]) == set(want) | set(certs)
                and len(certs) == (1 if doc.get("signing_cert") else 0), sorted(c["objects"]))
        if certs and not doc["clips"][0].get("synthetic") and doc["clips"][0]["size"] < SYNTH:
            # an EMS checks the clip it received against the manufacturer root with the
            # certificate that came with it
            oname = emslib.object_name(doc["clips"][0]["start"], rid, doc["clips"][0]["container"])
            clip, pem = t.tmp / ("%s.%s" % (rid, doc["clips"][0]["container"])), t.tmp / "v.pem"
            emslib.download(t.rig, name, oname, clip)
            emslib.download(t.rig, name, certs[0], pem)
            p = t.sh([t.rig.binary("signed-video/bwc-verify"), clip, "--cert", pem, "--trust",
                      t.rig.dir / "factory" / "manufacturer-root.pem"])
            t.check("%s: the clip at the destination verifies valid and trusted with the "
                    "certificate that came with it (bwc-verify exit 0)" % rid[:8],
                    p.returncode == 0, p.stdout[-300:])
            clip.unlink(missing_ok=True)
        for oname, clip in want.items():
            o = c["objects"].get(oname)
            if not o:
                continue
            got = emslib.download(t.rig, name, oname, t.tmp / "dl.bin")
            t.check("%s/%s: downloaded MD5 = ETag = listing hash, SHA-256 and size = the camera's"
                    % (rid[:8], clip["clip_id"]),
                    got and got["md5"] == got["etag"] == o["hash"]
                    and got["sha256"] == clip["sha256"] and got["size"] == clip["size"],
                    got and {k: got[k] for k in ("md5", "etag", "sha256", "size")})
            oh = o["headers"]
            t.check("%s/%s: object metadata Sha256, Complete, ClipId, RecordingUuid, StartTimeISO"
                    % (rid[:8], clip["clip_id"]),
                    oh.get("x-object-meta-sha256") == clip["sha256"]
                    and oh.get("x-object-meta-complete") == "true"
                    and oh.get("x-object-meta-clipid") == clip["clip_id"]
                    and oh.get("x-object-meta-recordinguuid") == rid
                    and oh.get("x-object-meta-starttimeiso") == clip["start"],
                    {k: v for k, v in oh.items() if k.startswith("x-object-meta-")})
            (t.tmp / "dl.bin").unlink(missing_ok=True)

    users = inv.get("Users", {}).get("objects", {})
    devs = inv.get("Devices", {}).get("objects", {})
    t.check("Users/<uuid> of officer-1 and officer-2 with Name metadata",
            all(users.get(uuids[c], {}).get("headers", {}).get("x-object-meta-name")
                == "Officer %d" % c for c in (1, 2)), sorted(users))
    t.check("Devices/RIG00001 and RIG00002 with Name metadata",
            all(devs.get("RIG%05d" % c, {}).get("headers", {}).get("x-object-meta-name")
                == "cam%d" % c for c in (1, 2)), sorted(devs))

    ready = ol.staging(t) / "ready"
    left = sorted(str(p.relative_to(ready)) for p in ready.rglob("*")
                  if p.is_file() or (p.is_dir() and p.parent != ready)) if ready.is_dir() else []
    t.check("staging ready/ is empty (no clip file, no recording directory)", not left, left)

    # Status: Complete after every object PUT of the container (Swift's proxy log times)
    reqs = emslib.proxy_requests(t.rig)
    for rid, name in expect.items():
        prefix = "/v1/AUTH_test/" + name
        puts = [r for r in reqs if r["method"] == "PUT" and r["path"].startswith(prefix + "/")
                and 200 <= r["status"] < 300]
        posts = [r for r in reqs if r["method"] == "POST" and r["path"] == prefix
                 and 200 <= r["status"] < 300]
        t.check("%s: POST Status: Complete started after every object PUT of the container ended"
                % rid[:8], puts and posts and min(p["start"] for p in posts)
                >= max(p["end"] for p in puts) and len(posts) == 1,
                {"puts": len(puts), "posts": len(posts)})

    t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)
    entries = ol.audit(t)
    for ev in ("forward", "delete"):
        n = {rid: sum(1 for e in entries if e.get("event") == ev and rid in str(e.get("detail")))
             for rid in rids}
        t.check("audit: one \"%s\" entry per recording" % ev, all(v == 1 for v in n.values()), n)
    fs = emslib.forward_status(t)
    t.check("forward status: every recording complete, no alarm",
            fs.get("recordings") and all(r.get("state") == "complete" for r in fs["recordings"])
            and not fs.get("alarms"), fs)


if __name__ == "__main__":
    rigtest.run("forward", body)
