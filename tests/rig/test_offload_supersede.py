#!/usr/bin/python3
# An older connection of a camera that comes back to life (TCP retransmissions
# after a re-dock) must not write into a clip a newer connection is sending,
# and the receipt always names the bytes on disk.

import json

import offloadlib as ol
import rigtest


def body(t):
    t.up(2, "--no-ems", "--no-tpm")   # the second writer uses cam2's LDevID key file
    t.dock(2)
    t.require("cam2 enrols", t.wait(2, renewals_above=0, timeout=60))
    t.dock(2, False)
    rid, key, sha = ol.record_for_client(t, 2, 12 * ol.MIB)
    t.dock(2)
    addr = t.rig.status()["controller"]["address"].split("%")[0]
    d = t.rig.cam_dir(2)
    p = t.exec_in("cam2", ol.PYTHON, ol.HERE / "supersede_client.py", "--cert",
                  d / "state" / "ldevid.pem", "--key", d / "keystore" / "ldevid.key",
                  "--ca", t.rig.ca_pem, "--addr", addr, "--recording",
                  ol.data_dir(t, 2) / "recordings" / rid, timeout=120)
    answers = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    late = [x for x in answers if x.get("request") == "late chunk of the old connection"]
    t.check("the old connection's late chunk is refused", late and late[0]["status"] == 409,
            late or p.stdout[-500:] + p.stderr[-500:])
    last = answers[-1] if answers else {}
    t.check("the new connection's commit gets a receipt",
            last.get("request", "").endswith("/commit") and last.get("status") == 200, last)
    ready = ol.ready_files(t)
    t.check("the ready file has the camera's SHA-256 (no garbage from the old connection)",
            key in ready and ol.sha256_file(ready[key]) == sha)
    t.check("the controller logged the superseded connection",
            "superseded" in t.log_since("controller", 0))


if __name__ == "__main__":
    rigtest.run("offload_supersede", body)
