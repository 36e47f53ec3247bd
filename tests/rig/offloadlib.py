# Helpers of the offload rig tests: what a camera holds (recording store, receipts), what
# the controller staged (ready/incoming files, registry rows, audit entries), waiting on
# log lines, and rewriting a daemon's INI configuration.

import hashlib
import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import riglib

HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
MIB = 1 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MIB)
            if not b:
                return h.hexdigest()
            h.update(b)


# ---- the camera side ----------------------------------------------------------

def live_glob(d, pattern, recursive=False):
    """Sorted paths below d that match pattern (Path.glob, or rglob when recursive),
    listed while a daemon renames and deletes in there: a directory that vanishes in
    the middle of the listing (the camera renames a recording it deletes to .gone-ID
    first, the controller moves staged files) makes the listing start again instead of
    failing the test. Leftovers being deleted (names starting with '.') are not listed."""
    for _ in range(50):
        try:
            if not d.is_dir():
                return []
            found = d.rglob(pattern) if recursive else d.glob(pattern)
            return sorted(p for p in found
                          if not p.relative_to(d).parts[0].startswith("."))
        except FileNotFoundError:
            time.sleep(0.01)
    raise RuntimeError("%s kept changing while it was listed" % d)


def data_dir(t, cam):
    return t.rig.cam_dir(cam) / "state" / "data"


def recordings(t, cam):
    """{recording_id: recording.json} of the camera's store (what is not yet offloaded)."""
    out = {}
    for meta in live_glob(data_dir(t, cam) / "recordings", "*/recording.json"):
        doc = riglib.read_json(meta)
        if isinstance(doc, dict):
            out[doc.get("recording_id") or meta.parent.name] = doc
    return out


def recording_dirs(t, cam):
    d = data_dir(t, cam) / "recordings"
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []


def clips_of(t, cam, serial=None):
    """{(serial, rid, cid): clip entry of recording.json} of the camera."""
    serial = serial or riglib.serial_of(cam)
    return {(serial, rid, c["clip_id"]): c for rid, doc in recordings(t, cam).items()
            for c in doc.get("clips", [])}


def clip_files(t, cam):
    """Clip files still on the camera (complete, flagged or being written)."""
    d = data_dir(t, cam) / "recordings"
    return [str(p.relative_to(d)) for p in live_glob(d, "*/clip-*")]


def receipts(t, cam):
    """The camera's receipts.log as a list of JSON objects (None for a bad line)."""
    path = data_dir(t, cam) / "receipts.log"
    out = []
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        out.append(None)
    except OSError:
        pass
    return out


def receipt_keys(t, cam):
    return [(r.get("serial"), r.get("recording_id"), r.get("clip_id"))
            for r in receipts(t, cam) if isinstance(r, dict)]


def offload_state(t, cam):
    return t.camera(cam).get("offload") or {}


# ---- the controller side ---------------------------------------------------------

def ctl_state(t):
    return t.rig.dir / "controller" / "state"


def staging(t):
    return ctl_state(t) / "staging"


def ready_files(t):
    """{(serial, rid, cid): path} of staging/ready."""
    out = {}
    for p in live_glob(staging(t) / "ready", "*/*/*"):
        if p.is_file():
            out[(p.parent.parent.name, p.parent.name, p.name.split(".")[0])] = p
    return out


def incoming_files(t):
    d = staging(t) / "incoming"
    return [str(p.relative_to(d)) for p in live_glob(d, "*", recursive=True) if p.is_file()]


def db_rows(t, sql, args=()):
    """Rows of a query on the controller's registry (read-only, [] if unreadable)."""
    path = ctl_state(t) / "registry.db"
    for attempt in range(20):
        try:
            con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
            try:
                return con.execute(sql, args).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            time.sleep(0.05)
    return []


def clip_rows(t):
    """{(serial, rid, cid): {state, offset, size, sha256, complete, receipt}}."""
    rows = db_rows(t, "SELECT serial, rid, cid, state, offset, size, sha256, complete, receipt "
                      "FROM clips")
    return {(r[0], r[1], r[2]): {"state": r[3], "offset": r[4], "size": r[5], "sha256": r[6],
                                 "complete": r[7], "receipt": r[8]} for r in rows}


def clip_offset(t, key):
    rows = db_rows(t, "SELECT offset, state FROM clips WHERE serial=? AND rid=? AND cid=?", key)
    return (rows[0][0], rows[0][1]) if rows else (0, None)


def audit(t):
    """The audit trail as a list of entries (bwcctl audit show --json)."""
    p = t.bwcctl("audit", "show", "--json", quiet=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return []


def audit_commits(t, event="commit"):
    """{(serial, rid, cid): count} of audit entries of this event."""
    out = {}
    for e in audit(t):
        if e.get("event") != event:
            continue
        m = re.search(r"recording (\S+) clip (\d{4})", json.dumps(e.get("detail")))
        if m:
            k = (e.get("serial"), m.group(1), m.group(2))
            out[k] = out.get(k, 0) + 1
    return out


def controller_address(t):
    """The controller's link-local address (without %interface)."""
    st = riglib.read_json(t.rig.host("controller").status) or {}
    return (st.get("address") or "").split("%")[0] or None


# ---- logs and waiting ----------------------------------------------------------------

def wait_log(t, host, pattern, since=0, timeout=60, poll=0.1):
    """Waits for a regex in host's log after byte offset since; returns the match or None."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        m = rx.search(t.log_since(host, since))
        if m or time.monotonic() >= deadline:
            return m
        time.sleep(poll)


def wait_offloaded(t, cam, since, timeout):
    """Waits for "offload finished" in camN's log after since."""
    return wait_log(t, "cam%d" % cam, r"offload finished", since, timeout, poll=0.2) is not None


def app_bytes_in(t, serial, since=0):
    """Sum of app_bytes_in of the controller's closed connections from serial after since."""
    text = t.log_since("controller", since)
    return sum(int(n) for n in re.findall(r"closed: handshake=ok peer=%s app_bytes_in=(\d+)"
                                          % re.escape(serial), text))


# ---- configuration ---------------------------------------------------------------------

def set_conf(path, section, key, value):
    """Sets (or with value None removes) key in [section] of an INI file."""
    lines = Path(path).read_text().splitlines()
    out, cur, done = [], None, False
    for line in lines:
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            if cur == section and not done and value is not None:
                out.append("%s = %s" % (key, value))
                done = True
            cur = s[1:-1]
        elif cur == section and s.split("=")[0].strip() == key:
            if value is not None and not done:
                out.append("%s = %s" % (key, value))
            done = True
            continue
        out.append(line)
    if not done and value is not None:
        if cur != section:
            out.append("[%s]" % section)
        out.append("%s = %s" % (key, value))
    Path(path).write_text("\n".join(out) + "\n")


# ---- recording -------------------------------------------------------------------------

def record(t, cam, seconds=2, nbytes=None, timeout=300):
    """bwc-record on camN; returns (recording id, {clip_id: (size, sha256)}) or (None, {})."""
    args = ["record", str(cam), "--seconds", str(seconds)]
    if nbytes is not None:
        args += ["--bytes", str(nbytes)]
    p = t.bwc_rig(*args, timeout=timeout, quiet=True)
    rid = re.search(r"^recording (\S+)", p.stdout, re.M)
    clips = {m.group(1): (int(m.group(2)), m.group(3)) for m in
             re.finditer(r"^clip (\d{4}) \S+ size (\d+) sha256 ([0-9a-f]{64})", p.stdout, re.M)}
    print("$ bwc-rig record %s -> %s, %s" % (" ".join(args[1:]), rid and rid.group(1),
                                              {k: v[0] for k, v in clips.items()}), flush=True)
    return (rid.group(1) if rid and p.returncode == 0 else None), clips


def record_for_client(t, cam, nbytes):
    """Records nbytes on camN, then stops its daemon so that a test client can present
    its identity: (recording id, (serial, rid, "0001"), the clip's SHA-256)."""
    rid, clips = record(t, cam, 1, nbytes)
    t.require("a %d MiB recording on cam%d" % (nbytes // MIB, cam), rid and clips)
    key = (riglib.serial_of(cam), rid, "0001")
    sha = clips_of(t, cam)[key]["sha256"]
    t.require("cam%d's daemon stopped (the test client uses its identity)" % cam,
              t.bwc_rig("stop", "cam%d" % cam).returncode == 0)
    return rid, key, sha


def spawn_in(t, host, argv, log):
    """Starts argv in host's namespace (not under the rig clock), output to log; Popen."""
    ns = t.rig.ns("dock") if host == "dock" else t.rig.host(host).netns
    logf = open(log, "ab")
    try:
        return subprocess.Popen(["ip", "netns", "exec", ns] + [str(a) for a in argv],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        logf.close()


def stop_proc(proc, timeout=5):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
