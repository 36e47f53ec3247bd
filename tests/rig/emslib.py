# emslib: the rig's content destination (EMS): a real OpenStack Swift all-in-one
# (tests/rig/swift/swift-aio) inside the controller's namespace, on its loopback,
# serving HTTPS with its own CA, and the connection file the controller imports.
# Users officer-N are created and assigned to camera N.

import base64
import json
import subprocess
from pathlib import Path

from riglib import RigError, read_json, run, say

SWIFT_AIO = Path(__file__).resolve().parent / "swift" / "swift-aio"


def ems_dir(rig):
    return rig.dir / "ems"


def credentials(rig):
    return read_json(ems_dir(rig) / "credentials.json") or {}


def in_ctl(rig, argv, check=True):
    return run(["ip", "netns", "exec", rig.ns("ctl")] + [str(a) for a in argv], check=check)


def bwcctl(rig, *args, check=True):
    return in_ctl(rig, [rig.binary("controller/bwcctl"), "-c", rig.ctl_conf] + list(args),
                  check=check)


def start(rig):
    p = in_ctl(rig, [SWIFT_AIO, "start", "--dir", ems_dir(rig), "--https"], check=False)
    if p.returncode != 0:
        raise RigError("the rig's Swift (EMS) did not start:\n%s%s" % (p.stdout, p.stderr))
    st = credentials(rig)
    say("EMS: OpenStack Swift in %s at %s (user %s)" % (rig.ns("ctl"), st.get("auth_url"),
                                                         st.get("user")))


def stop(rig):
    if (ems_dir(rig) / "etc").exists():
        in_ctl(rig, [SWIFT_AIO, "stop", "--dir", ems_dir(rig)], check=False)
        say("EMS: Swift stopped")


def keypair(rig):
    d = ems_dir(rig)
    priv, pub = d / "private.pem", d / "public.pem"
    if not priv.exists():
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", priv])
        priv.chmod(0o600)
        run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub])
    return priv, pub


def connection_file(rig, encrypt):
    """The connection file an EMS team would hand over for this Swift account."""
    st = credentials(rig)
    ca = Path(st["ca_file"]).read_bytes()
    doc = {"ConnectionFileVersion": "1.0", "SiteName": "Rig EMS",
           "ApplicationName": "OpenStack Swift", "ApplicationVersion": "2.30.1",
           "ContentDestinationAsNTPServer": False,
           "AuthenticationTokenURI": [st["auth_url"]],
           "HTTPSCertificate": [base64.b64encode(ca).decode()],
           "BlobAPIKey": st["key"], "BlobAPIUserName": st["user"], "ContainerType": "mkv",
           "FullStoreAndReadSupport": True, "WantEncryption": bool(encrypt)}
    if encrypt:
        _, pub = keypair(rig)
        doc["PublicKey"] = base64.b64encode(pub.read_bytes()).decode()
        doc["PublicKeyId"] = "rig-ems-key-1"
    path = ems_dir(rig) / "connection.json"
    path.write_text(json.dumps(doc, indent=1))
    path.chmod(0o600)
    return path


def up(rig, cameras, encrypt):
    start(rig)
    path = connection_file(rig, encrypt)
    bwcctl(rig, "destination", "import", path)
    say("EMS: connection file %s imported%s" % (path, " (WantEncryption)" if encrypt else ""))
    for i in range(1, cameras + 1):
        bwcctl(rig, "user", "add", "officer-%d" % i, "--name", "Officer %d" % i)
        bwcctl(rig, "camera", "assign", "RIG%05d" % i, "officer-%d" % i, "--name", "cam%d" % i)
    say("EMS: users officer-1..%d created, camera N assigned to officer-N" % cameras)


def containers(rig):
    """The containers at the destination (a list of names), or None if unreachable."""
    st = credentials(rig)
    if not st or rig.ns("ctl") not in _netns():
        return None
    script = ("import json,ssl,sys,urllib.request as u\n"
              "st=json.load(open(sys.argv[1]));c=ssl.create_default_context(cafile=st['ca_file'])\n"
              "r=u.urlopen(u.Request(st['auth_url'],headers={'X-Auth-User':st['user'],"
              "'X-Auth-Key':st['key']}),context=c,timeout=5)\n"
              "t=r.headers['X-Auth-Token'];s=r.headers['X-Storage-Url']\n"
              "r=u.urlopen(u.Request(s+'?format=json',headers={'X-Auth-Token':t}),context=c,timeout=5)\n"
              "print(json.dumps([x['name'] for x in json.load(r)]))\n")
    p = in_ctl(rig, ["/usr/bin/python3", "-c", script, ems_dir(rig) / "credentials.json"],
               check=False)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def _netns():
    p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def status(rig):
    st = credentials(rig)
    if not st:
        return None
    names = containers(rig)
    return {"auth_url": st.get("auth_url"), "user": st.get("user"), "key": st.get("key"),
            "ca_file": st.get("ca_file"), "storage_url": st.get("storage_url"),
            "running": names is not None,
            "container_count": None if names is None else
            len([n for n in names if n not in ("System", "Users", "Devices")]),
            "namespace": rig.ns("ctl")}


# ---- helpers of the forwarding tests (read the destination from the controller's namespace) ----

# Runs in the controller's namespace: argv[1] is a JSON request {auth_url, user, key, ca_file,
# op, ...}; prints a JSON answer. Metadata values are URL-decoded.
_SWIFTQ = r'''
import hashlib, json, ssl, sys, urllib.parse as up, urllib.request as u
q = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=q["ca_file"]) if q.get("ca_file") else None
def req(url, method="GET", headers=None):
    r = u.Request(url, method=method, headers=headers or {})
    return u.urlopen(r, context=ctx, timeout=30)
r = req(q["auth_url"], headers={"X-Auth-User": q["user"], "X-Auth-Key": q["key"]})
tok, base = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
H = {"X-Auth-Token": tok}
def q_(s):
    return up.quote(s, safe="")
def hdrs(resp):
    return {k.lower(): up.unquote(v) if k.lower().startswith(("x-container-meta-",
            "x-object-meta-")) else v for k, v in resp.headers.items()}
def listing(url):
    out, marker = [], ""
    while True:
        r = req(url + "?format=json" + ("&marker=" + q_(marker) if marker else ""), headers=H)
        page = json.load(r)
        if not page:
            return out
        out += page
        marker = page[-1]["name"]
op = q["op"]
if op == "inventory":
    inv = {}
    for c in listing(base):
        name = c["name"]
        cu = base + "/" + q_(name)
        objs = {}
        for o in listing(cu):
            objs[o["name"]] = {"bytes": o["bytes"], "hash": o["hash"],
                               "headers": hdrs(req(cu + "/" + q_(o["name"]), "HEAD", H))}
        inv[name] = {"headers": hdrs(req(cu, "HEAD", H)), "objects": objs}
    print(json.dumps(inv))
elif op == "download":
    r = req(base + "/" + q_(q["container"]) + "/" + q_(q["object"]), headers=H)
    md5, sha, n = hashlib.md5(), hashlib.sha256(), 0
    with open(q["path"], "wb") as f:
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            md5.update(b); sha.update(b); f.write(b); n += len(b)
    print(json.dumps({"etag": r.headers.get("Etag", "").strip('"'), "md5": md5.hexdigest(),
                      "sha256": sha.hexdigest(), "size": n, "headers": hdrs(r)}))
'''


def swift_query(rig, op, cred=None, **args):
    """One request batch to the destination (the rig's Swift unless cred is given:
    {auth_url, user, key, ca_file}), run in the controller's namespace; JSON or None."""
    cred = cred or credentials(rig)
    if not cred:
        return None
    q = dict(auth_url=cred["auth_url"], user=cred["user"], key=cred["key"],
             ca_file=cred.get("ca_file"), op=op, **args)
    p = in_ctl(rig, ["/usr/bin/python3", "-c", _SWIFTQ, json.dumps(q)], check=False)
    if p.returncode != 0:
        say("swift_query %s failed: %s" % (op, (p.stdout or "")[-600:]))
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def inventory(rig, cred=None):
    """{container: {"headers": {...}, "objects": {name: {bytes, hash, headers}}}} or None."""
    return swift_query(rig, "inventory", cred)


def download(rig, container, obj, path, cred=None):
    """Downloads an object to path: {etag, md5, sha256, size, headers} or None."""
    return swift_query(rig, "download", cred, container=container, object=obj, path=str(path))


SIGNING_CERT_SUFFIX = "_video-signing.pem"


def clip_objects(objects):
    """The objects of a recording container without the video-signing certificate
    (stored beside the clips for destinations that declare StoreSignedVideo)."""
    return {n: o for n, o in objects.items() if not n.endswith(SIGNING_CERT_SUFFIX)}


def recording_containers(inv):
    """The containers of recordings (not System, Users, Devices)."""
    return {k: v for k, v in (inv or {}).items() if k not in ("System", "Users", "Devices")}


def proxy_requests(rig):
    """The rig Swift proxy's access log as [{method, path (decoded), status, start, end}]."""
    out = []
    try:
        lines = (ems_dir(rig) / "log" / "proxy-server.log").read_text(errors="replace").splitlines()
    except OSError:
        return out
    import urllib.parse
    for line in lines:
        f = line.split()
        # proxy-server: client remote date METHOD path proto status ... start end policy
        if len(f) < 20 or not f[0].startswith("proxy-server") or f[4] not in (
                "GET", "HEAD", "PUT", "POST", "DELETE"):
            continue
        try:
            out.append({"method": f[4], "path": urllib.parse.unquote(f[5]), "status": int(f[7]),
                        "start": float(f[-3]), "end": float(f[-2])})
        except (ValueError, IndexError):
            continue
    return out


def restart_and_reimport(rig, encrypt=False):
    """Starts the rig's Swift again (new port and key at every start) and imports the
    connection file that describes it now (the same WantEncryption and FullStoreAndReadSupport)."""
    start(rig)
    path = connection_file(rig, encrypt)
    bwcctl(rig, "destination", "import", path)
    say("EMS: connection file %s imported again" % path)


def forward_status(t):
    """`bwcctl forward status --json` of the test t's rig: {"recordings": [...], "alarms": [...]}."""
    p = t.bwcctl("forward", "status", "--json", quiet=True)
    try:
        doc = json.loads(p.stdout)
        return doc if isinstance(doc, dict) else {}
    except ValueError:
        return {}


def forward_states(t):
    """{recording id: forward state}."""
    return {r.get("recording"): r.get("state") for r in forward_status(t).get("recordings", [])}


def alarm_names(t):
    return {a.get("name") for a in forward_status(t).get("alarms", [])}


def wait_forwarded(t, rids, timeout, state="complete"):
    """Waits until every recording of rids has the forward state; returns the last states."""
    last = {}

    def done():
        last.clear()
        last.update(forward_states(t))
        return all(last.get(r) == state for r in rids)
    t.wait_for(done, timeout, poll=0.5)
    return last


def user_uuid(rig, user_id):
    """The UUID the controller gave a user (from its registry), or None."""
    import sqlite3
    db = rig.dir / "controller" / "state" / "registry.db"
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        try:
            row = con.execute("SELECT uuid FROM users WHERE user_id = ?", (user_id,)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def compact_time(iso, fmt):
    """'2026-11-23T16:40:37Z' in the API's name formats ('%Y%m%dT%H%M%SZ', '%Y%m%d_%H%M%S')."""
    from datetime import datetime
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").strftime(fmt)


def container_name(uuid, serial, trigger_on_iso):
    return "%s_%s_%s" % (uuid, serial, compact_time(trigger_on_iso, "%Y%m%dT%H%M%SZ"))


def object_name(start_iso, rid, ext):
    return "%s_%s.%s" % (compact_time(start_iso, "%Y%m%d_%H%M%S"), rid[:8], ext)


# ---- ems_fault.py: a misbehaving destination in the controller's namespace ----

EMS_FAULT = Path(__file__).resolve().parent / "ems_fault.py"
FAULT_PORT = 9443


def fault_start(rig, d, mode, *extra, port=FAULT_PORT, timeout=20):
    """Starts ems_fault.py (mode, extra args) in the controller's namespace with state in d;
    returns (Popen, ready.json) once it listens. A restart on the same d keeps its
    certificate, store and token, so the imported connection file stays valid."""
    import time
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    try:
        (d / "ready.json").unlink()
    except FileNotFoundError:
        pass
    log = open(d / "server.log", "ab")
    try:
        proc = subprocess.Popen(["ip", "netns", "exec", rig.ns("ctl"), "/usr/bin/python3",
                                 str(EMS_FAULT), "--dir", str(d), "--port", str(port),
                                 "--mode", mode] + [str(a) for a in extra],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = read_json(d / "ready.json")
        if ready and ready.get("pid") == proc.pid:
            say("EMS: ems_fault.py mode %s on port %d (pid %d)" % (mode, ready["port"], proc.pid))
            return proc, ready
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RigError("ems_fault.py did not start:\n%s" % (d / "server.log").read_text())


def fault_stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fault_connection_file(rig, d, full_store=False, encrypt=False, path=None):
    """A connection file for the ems_fault.py server of d (its certificate pinned)."""
    ready = read_json(Path(d) / "ready.json")
    doc = {"ConnectionFileVersion": "1.0", "SiteName": "Fault EMS",
           "ApplicationName": "ems_fault.py", "ApplicationVersion": "1",
           "ContentDestinationAsNTPServer": False,
           "AuthenticationTokenURI": [ready["auth_url"]],
           "HTTPSCertificate": [base64.b64encode(Path(ready["cert"]).read_bytes()).decode()],
           "BlobAPIKey": ready["key"], "BlobAPIUserName": ready["user"], "ContainerType": "mkv",
           "FullStoreAndReadSupport": bool(full_store), "WantEncryption": bool(encrypt)}
    if encrypt:
        _, pub = keypair(rig)
        doc["PublicKey"] = base64.b64encode(pub.read_bytes()).decode()
        doc["PublicKeyId"] = "rig-ems-key-1"
    path = Path(path or Path(d) / "connection.json")
    path.write_text(json.dumps(doc, indent=1))
    path.chmod(0o600)
    return path


def fault_requests(d):
    """ems_fault.py's request log: a list of dicts."""
    out = []
    try:
        with open(Path(d) / "requests.jsonl") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def fault_store(d):
    """{container: {"meta": {...}, "objects": {name: bytes}}} of what ems_fault.py stored."""
    import urllib.parse
    out = {}
    store = Path(d) / "store"
    if not store.is_dir():
        return out
    for cd in store.iterdir():
        if not cd.is_dir():
            continue
        name = urllib.parse.unquote(cd.name)
        meta = read_json(store / (cd.name + ".container.json")) or {}
        objs = {urllib.parse.unquote(p.name): p.stat().st_size for p in cd.iterdir()
                if p.is_file()}
        out[name] = {"meta": meta, "objects": objs}
    return out
