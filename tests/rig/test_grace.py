#!/usr/bin/python3
# Certificate lifetime on the rig clock: 28 days valid, 56 more days of grace, then held
# until an administrator accepts the camera again with the master passphrase.

import json
import os
import secrets
import time

import rigtest


def redock(t, days, label):
    """Undock, move the clock, dock again; return the camera status before docking."""
    t.dock(1, False)
    t.wait_for(lambda: t.camera(1).get("docked") is False, 10)
    before = t.camera(1)
    t.advance(days)
    print("-- %s: %s days after the last renewal" % (label, days), flush=True)
    t.dock(1)
    return before


def renewed_with(t, days, standing):
    before = redock(t, days, "dock")
    n = before.get("renewals") or 0
    ok = t.check("%s days after renewal cam1 renews (renewals > %d)" % (days, n),
                 t.wait(1, renewals_above=n, timeout=60))
    st = t.camera(1)
    t.check("%s days: standing at the dock was %s" % (days, standing),
            st.get("standing_at_dock") == standing, st.get("standing_at_dock"))
    t.check("%s days: standing after the renewal is valid" % days,
            st.get("standing") == "valid", st.get("standing"))
    t.check("%s days: last_result renewed" % days, st.get("last_result") == "renewed",
            st.get("last_result"))
    return ok


def camera_files(t):
    base = t.rig.cam_dir(1)
    return {str(p.relative_to(base)) for sub in ("state", "keystore")
            for p in (base / sub).rglob("*") if p.is_file() and not p.name.startswith("status")}


def write_wrong_passphrase(t):
    path = t.tmp / "wrong-passphrase"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(18) + "\n")
    return path


def held(t):
    pin = t.pin(1)
    files = camera_files(t)
    before = redock(t, 84.1, "held")
    n = before.get("renewals") or 0
    t.check("84.1 days after renewal cam1 is held", t.wait(1, standing="held", timeout=60))
    time.sleep(5)  # give a wrong renewal time to show up
    st = t.camera(1)
    t.check("held cam1 got no renewal", st.get("renewals") == n, st)
    t.check("held cam1 keeps its certificate", t.pin(1) == pin)
    gone = files - camera_files(t)
    t.check("held cam1 keeps its data (no file of its state or keystore removed)",
            files and not gone, sorted(gone))
    cams = t.camera_list()
    t.check("bwcctl camera list shows RIG00001 held",
            "held" in json.dumps(cams.get("RIG00001")), cams.get("RIG00001"))

    wrong = write_wrong_passphrase(t)
    p = t.bwcctl("camera", "accept", "RIG00001", "--passphrase-file", wrong)
    t.check("camera accept with a wrong passphrase fails", p.returncode != 0)
    audit = t.bwcctl("audit", "show", "--json", quiet=True).stdout
    t.check("the audit log records the failed accept", "accept-failed" in audit,
            audit[-400:])
    events = {e.get("event") for e in json.loads(audit)} if audit.strip() else set()
    t.check("the audit log records the grace renewals and the hold",
            {"grace", "held", "renew", "enrol"} <= events, sorted(events))
    p = t.bwcctl("camera", "accept", "RIG00001", "--passphrase-file", t.rig.passphrase_file)
    t.check("camera accept with the master passphrase succeeds", p.returncode == 0)
    t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)

    t.dock(1, False)
    t.wait_for(lambda: t.camera(1).get("docked") is False, 10)
    t.dock(1)
    t.check("after accept the re-docked camera renews",
            t.wait(1, renewals_above=n, timeout=60))
    st = t.camera(1)
    t.check("after accept: standing valid, last_result renewed",
            st.get("standing") == "valid" and st.get("last_result") == "renewed", st)


def body(t):
    t.up(1)
    t.dock(1)
    t.require("cam1 enrols (renewals >= 1, valid)", t.wait(1, renewals_above=0,
                                                          standing="valid"))
    t.require("27 days: still valid", renewed_with(t, 27, "valid"))
    t.require("29 days: grace", renewed_with(t, 29, "grace"))
    t.require("83.9 days: grace", renewed_with(t, 83.9, "grace"))
    held(t)


if __name__ == "__main__":
    rigtest.run("grace", body)
