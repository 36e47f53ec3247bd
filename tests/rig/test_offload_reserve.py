#!/usr/bin/python3
# The staging reserve, on a real small filesystem: the staging dir is a 96 MiB tmpfs with
# reserve_mb = 32 and the camera holds 120 MiB. The controller refuses chunks (no-space),
# the camera keeps what is not receipted, ready/ holds only committed clips; once the
# filesystem is bigger the offload completes.

import subprocess

import offloadlib as ol
import rigtest

CLIP = 40 * ol.MIB


def mount(t, opts):
    p = t.sh(["mount", "-t", "tmpfs", "-o", opts, "bwc-staging", ol.staging(t)])
    return p.returncode == 0


def umount(t):
    if subprocess.run(["mountpoint", "-q", str(ol.staging(t))]).returncode != 0:
        return
    t.bwc_rig("stop", "controller")
    if t.sh(["umount", ol.staging(t)]).returncode != 0:
        t.sh(["umount", "-l", ol.staging(t)])


def scenario(t):
    t.require("controller stopped to move its staging area",
              t.bwc_rig("stop", "controller").returncode == 0)
    ol.set_conf(t.rig.ctl_conf, "staging", "reserve_mb", 32)
    ol.staging(t).mkdir(parents=True, exist_ok=True)
    t.require("a 96 MiB tmpfs on the staging dir", mount(t, "size=96m,mode=0700"))
    t.require("controller started with [staging] reserve_mb = 32",
              t.bwc_rig("restart", "controller").returncode == 0)
    p = t.exec_in("controller", t.rig.binary("controller/bwc-controller"), "-n", "-c",
                  t.rig.ctl_conf, quiet=True)
    t.check("the controller's configuration shows the reserve (32)",
            p.returncode == 0 and "reserve_mb" in p.stdout and "32" in p.stdout, p.stdout)

    rids = [ol.record(t, 1, 1, CLIP)[0] for _ in range(3)]
    t.require("3 recordings of 40 MiB on cam1 (120 MiB > 96 - 32)", all(rids))
    expected = ol.clips_of(t, 1)
    mark, ctl_mark = t.log_size("cam1"), t.log_size("controller")
    t.dock(1)
    st = t.wait_for(lambda: ol.offload_state(t, 1).get("last_error") == "no-space" and
                    ol.offload_state(t, 1), 90)
    t.check("camera status: last_error no-space", st, ol.offload_state(t, 1))
    ctl = t.log_since("controller", ctl_mark)
    t.check("the controller logs the reserve being reached",
            "below its reserve" in ctl and "refused with no-space" in ctl and
            "reserve of 32 MiB" in ctl, ctl[-800:])
    receipted = set(ol.receipt_keys(t, 1))
    kept = {k for k in expected if ("%s/clip-%s.mkv" % (k[1], k[2])) in ol.clip_files(t, 1)}
    t.check("the camera keeps every clip without a receipt (files still there)",
            kept == set(expected) - receipted and kept, (sorted(kept), sorted(receipted)))
    t.check("not everything was receipted", len(receipted) < 3, receipted)
    rows = ol.clip_rows(t)
    ready = ol.ready_files(t)
    t.check("ready/ holds only committed clips with the camera's SHA-256 (nothing partial)",
            all(rows.get(k, {}).get("state") == "committed" and k in expected and
                ol.sha256_file(p) == expected[k]["sha256"] for k, p in ready.items()),
            {k[1:]: rows.get(k, {}).get("state") for k in ready})
    t.check("ready/ has exactly the receipted clips", set(ready) == receipted,
            (sorted(ready), sorted(receipted)))
    partial = {k: r for k, r in rows.items() if r["state"] == "partial"}
    t.check("the refused clip is partial in incoming/ at its durable offset",
            all((ol.staging(t) / "incoming" / k[0] / k[1] / (k[2] + ".part")).stat().st_size
                == r["offset"] for k, r in partial.items()), partial)

    t.require("the staging tmpfs grown to 512 MiB", t.sh(
        ["mount", "-o", "remount,size=512m", ol.staging(t)]).returncode == 0)
    t.check("the camera then finishes its offload by itself",
            ol.wait_offloaded(t, 1, mark, 120))
    ready = ol.ready_files(t)
    t.check("every clip in ready/ with the camera's SHA-256",
            set(ready) == set(expected) and all(ol.sha256_file(p) == expected[k]["sha256"]
                                                for k, p in ready.items()), sorted(ready))
    t.check("cam1: 3 receipts, store emptied",
            sorted(ol.receipt_keys(t, 1)) == sorted(expected) and not ol.recording_dirs(t, 1))
    t.check("registry: all committed", all(r["state"] == "committed"
                                           for r in ol.clip_rows(t).values()))
    t.check("nothing left in staging/incoming", not ol.incoming_files(t), ol.incoming_files(t))
    t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)


def body(t):
    t.up(1, "--no-ems")   # offload into staging only: no forwarder destination empties it
    try:
        scenario(t)
    finally:
        umount(t)


if __name__ == "__main__":
    rigtest.run("offload_reserve", body)
