#!/usr/bin/python3
# swift-aio brings up a real OpenStack Swift (Debian packages) under one directory: tempauth,
# containers with metadata, a 20 MiB object checked by ETag, the stock swift CLI, HTTPS with
# its CA file, and stop leaves no process behind. Needs root (exit 77 = skipped otherwise).

import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import rigtest

AIO = Path(__file__).resolve().parent / "swift" / "swift-aio"
OBJECT_BYTES = 20 * 1024 * 1024
Abort = rigtest.Abort


class T:
    """Counted checks and command runs of the rig harness, without a rig."""
    check = rigtest.RigTest.check
    require = rigtest.RigTest.require
    sh = rigtest.RigTest.sh

    def __init__(self):
        self.passed = self.failed = 0


RUNNER = T()


def sh(argv, timeout=300, quiet=False):
    return RUNNER.sh(argv, timeout=timeout, quiet=quiet)


def aio(verb, d, *extra, quiet=False):
    return sh([AIO, verb, "--dir", d] + list(extra), quiet=quiet)


def status(d):
    try:
        return json.loads(aio("status", d, quiet=True).stdout)
    except ValueError:
        return {}


def request(method, url, headers=None, body=None, cafile=None):
    """(status, lower-case headers, body bytes)."""
    u = urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=60,
                                           context=ssl.create_default_context(cafile=cafile))
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body,
                     headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def processes_of(d):
    """pids whose command line names DIR/etc/ or DIR/run/ (the servers and memcached)."""
    found = []
    for mark in (str(d) + "/etc/", str(d) + "/run/"):
        p = subprocess.run(["pgrep", "-f", "--", mark], text=True, stdout=subprocess.PIPE)
        found += [int(x) for x in p.stdout.split()]
    return sorted(set(found))


def start(t, d, *extra):
    t0 = time.monotonic()
    p = aio("start", d, *extra)
    took = time.monotonic() - t0
    print("start%s took %.1f s" % (" " + " ".join(extra) if extra else "", took), flush=True)
    t.require("swift-aio start %s" % " ".join(extra), p.returncode == 0)
    st = status(d)
    t.require("status says running, with auth_url, user, key, storage_url",
              st.get("running") and all(st.get(k) for k in ("auth_url", "user", "key",
                                                             "storage_url")), st)
    creds = json.loads((d / "credentials.json").read_text())
    t.check("credentials.json has auth_url, user and key",
            all(creds.get(k) == st[k] for k in ("auth_url", "user", "key")), creds)
    return st


def auth(t, st, cafile=None):
    code, h, _ = request("GET", st["auth_url"], {"X-Auth-User": st["user"],
                                                 "X-Auth-Key": st["key"]}, cafile=cafile)
    t.require("GET /auth/v1.0 answers 200 with X-Storage-Url and X-Auth-Token",
              code == 200 and h.get("x-storage-url") and h.get("x-auth-token"), code)
    t.check("X-Storage-Url is the storage_url of status",
            h["x-storage-url"] == st["storage_url"], h["x-storage-url"])
    code, _, _ = request("GET", st["auth_url"], {"X-Auth-User": st["user"],
                                                 "X-Auth-Key": "wrong"}, cafile=cafile)
    t.check("a wrong key gets 401", code == 401, code)
    return h["x-storage-url"], h["x-auth-token"]


def swift_cli(d, *args):
    script = 'eval "$("$1" env --dir "$2")" && shift 2 && exec swift "$@"'
    return sh(["sh", "-c", script, "-", AIO, d] + list(args), timeout=120)


def stop_and_check(t, d):
    p = aio("stop", d)
    t.check("swift-aio stop", p.returncode == 0)
    left = processes_of(d)
    t.check("no process with %s in its command line is left" % d, not left, left)
    pid_files = list((d / "run").glob("*.pid"))
    t.check("no pid file is left", not pid_files, pid_files)
    t.check("status says not running", status(d).get("running") is False)
    t.check("a second stop is fine", aio("stop", d).returncode == 0)


def plain(t, d):
    st = start(t, d)
    url, token = auth(t, st)
    tok = {"X-Auth-Token": token}
    cont = url + "/evidence-test"

    code, _, _ = request("PUT", cont, dict(tok, **{"X-Container-Meta-Status": "Transferring"}))
    t.check("PUT container with X-Container-Meta-Status: Transferring answers 201", code == 201,
            code)
    code, h, _ = request("HEAD", cont, tok)
    t.check("HEAD container shows the status Transferring",
            code == 204 and h.get("x-container-meta-status") == "Transferring", (code, h))

    data = os.urandom(OBJECT_BYTES)
    md5 = hashlib.md5(data).hexdigest()
    sha = hashlib.sha256(data).hexdigest()
    t0 = time.monotonic()
    code, h, _ = request("PUT", cont + "/clip-0001.mkv",
                         dict(tok, **{"ETag": md5, "Content-Type": "video/x-matroska",
                                      "X-Object-Meta-Sha256": sha}), data)
    print("PUT of %d MiB took %.2f s" % (OBJECT_BYTES >> 20, time.monotonic() - t0), flush=True)
    t.check("PUT of a 20 MiB object with its MD5 as ETag answers 201", code == 201, code)
    t.check("... with the same ETag", h.get("etag", "").strip('"') == md5, h.get("etag"))
    code, h, body = request("GET", cont + "/clip-0001.mkv", tok)
    t.check("GET returns the same bytes and the X-Object-Meta-Sha256 metadata",
            code == 200 and hashlib.md5(body).hexdigest() == md5 and
            h.get("x-object-meta-sha256") == sha, (code, len(body)))

    code, _, _ = request("PUT", cont + "/clip-0002.mkv",
                         dict(tok, ETag="0" * 32), b"not what the ETag says")
    t.check("PUT with a wrong ETag answers 422", code == 422, code)
    code, _, _ = request("HEAD", cont + "/clip-0002.mkv", tok)
    t.check("... and stores nothing", code == 404, code)

    code, _, _ = request("POST", cont, dict(tok, **{"X-Container-Meta-Status": "Complete",
                                                    "X-Container-Meta-Clips": "1"}))
    t.check("POST container metadata answers 204", code == 204, code)
    code, h, _ = request("HEAD", cont, tok)
    t.check("HEAD container shows Status Complete and Clips 1",
            h.get("x-container-meta-status") == "Complete" and
            h.get("x-container-meta-clips") == "1", h)

    p = swift_cli(d, "stat")
    t.check("`swift stat` with the printed env works", p.returncode == 0 and
            "Account: AUTH_test" in p.stdout)
    p = swift_cli(d, "list")
    t.check("`swift list` shows the container", p.returncode == 0 and
            "evidence-test" in p.stdout.split())
    p = swift_cli(d, "list", "evidence-test")
    t.check("`swift list evidence-test` shows exactly the good object",
            p.returncode == 0 and p.stdout.split() == ["clip-0001.mkv"], p.stdout)
    stop_and_check(t, d)


def https(t, d):
    st = start(t, d, "--https")
    ca = st.get("ca_file")
    t.require("status has https true and a CA file", st.get("https") is True and ca and
              Path(ca).is_file(), st)
    t.check("auth_url is https", st["auth_url"].startswith("https://"), st["auth_url"])
    p = sh(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca,
            "-H", "X-Auth-User: " + st["user"], "-H", "X-Auth-Key: " + st["key"],
            st["auth_url"]], timeout=60)
    t.check("curl --cacert CA authenticates over TLS (200)", p.stdout.strip() == "200",
            p.stdout)
    p = sh(["curl", "-sS", "-o", "/dev/null", st["auth_url"]], timeout=60)
    t.check("curl without the CA file refuses the certificate (exit 60)", p.returncode == 60,
            p.returncode)
    url, token = auth(t, st, cafile=ca)
    code, _, _ = request("PUT", url + "/tls-test", {"X-Auth-Token": token}, cafile=ca)
    t.check("PUT container over TLS answers 201", code == 201, code)
    p = swift_cli(d, "list")
    t.check("`swift list` over TLS (OS_CACERT from env) shows the container",
            p.returncode == 0 and "tls-test" in p.stdout.split())
    stop_and_check(t, d)


def show_logs(d):
    for log in sorted((d / "log").glob("*.log")) if (d / "log").is_dir() else []:
        print("---- %s (last 30 lines)" % log)
        print("".join(log.read_text(errors="replace").splitlines(True)[-30:]), end="")


def main():
    if os.geteuid() != 0:
        print("test_swift_aio: needs root (installs packages, runs servers as root): skipped")
        return rigtest.SKIP
    t = RUNNER
    tmp = Path(tempfile.mkdtemp(prefix="bwc-swift-aio-"))
    dirs = [tmp / "http", tmp / "https"]
    try:
        plain(t, dirs[0])
        https(t, dirs[1])
    except Abort as e:
        print("aborted after: %s" % e, flush=True)
    except Exception as e:   # count a crash of the test itself as a failure, still clean up
        t.check("the test ran to its end", False, repr(e))
    finally:
        for d in dirs:
            if d.exists():
                aio("stop", d, quiet=True)
    if t.failed:
        for d in dirs:
            show_logs(d)
        print("kept %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (t.passed, t.failed), flush=True)
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
