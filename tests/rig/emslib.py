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
