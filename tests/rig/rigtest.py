# Harness for the rig acceptance tests: a private rig per test, checks counted and printed,
# the rig always taken down, logs shown when something failed.

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import riglib

BWC_RIG = Path(__file__).resolve().parent / "bwc-rig"
SKIP = 77  # meson's "skipped" exit code


class Abort(Exception):
    """A precondition failed: the remaining checks of the test cannot mean anything."""


class RigTest:
    def __init__(self, name):
        self.name = name
        self.tmp = Path(tempfile.mkdtemp(prefix="bwc-%s-" % name))
        self.state = self.tmp / "state"
        self.rig = riglib.Rig(self.state)
        self.passed = 0
        self.failed = 0
        self.down_done = False

    # ---- running things -----------------------------------------------------
    def sh(self, argv, timeout=120, quiet=False, stdin=None):
        """Run argv; unless quiet print it and its output; return CompletedProcess."""
        if not quiet:
            print("$ %s" % " ".join(shlex.quote(str(a)) for a in argv), flush=True)
        try:
            p = subprocess.run([str(a) for a in argv], text=True, timeout=timeout, stdin=stdin,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired as e:
            print("  (killed after %d s)" % timeout, flush=True)
            return subprocess.CompletedProcess(e.cmd, 124, e.stdout or "", e.stderr or "")
        if not quiet:
            for line in (p.stdout + p.stderr).splitlines():
                print("  " + line)
        if p.returncode and not quiet:
            print("  (exit %d)" % p.returncode, flush=True)
        return p

    def bwc_rig(self, *args, timeout=120, quiet=False):
        return self.sh([BWC_RIG, "--state", self.state] + list(args), timeout, quiet)

    def exec_in(self, host, *argv, timeout=60, quiet=False):
        return self.bwc_rig("exec", host, "--", *argv, timeout=timeout, quiet=quiet)

    def bwcctl(self, *args, conf=None, quiet=False):
        """bwcctl of the rig's controller, run in its namespace with the rig clock."""
        conf = conf or self.rig.ctl_conf
        return self.exec_in("controller", self.rig.binary("controller/bwcctl"), "-c", conf,
                            *args, quiet=quiet)

    def pki(self, *args):
        return self.sh([self.rig.binary("certs/tool/bwc-pki")] + list(args))

    def status(self):
        p = self.bwc_rig("status", "--json", quiet=True)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {}

    def camera(self, index):
        """The camera's own status.json, or {}."""
        return self.rig.camera_state(index) or {}

    def wait(self, cam, renewals_above=None, standing=None, timeout=60):
        args = ["wait", str(cam), "--timeout", str(timeout)]
        if renewals_above is not None:
            args += ["--renewals-above", str(renewals_above)]
        if standing is not None:
            args += ["--standing", standing]
        return self.bwc_rig(*args, timeout=timeout + 30).returncode == 0

    def new_rig(self, label):
        """Take the current rig down and continue with a fresh one in another state dir."""
        if not self.down_done:
            self.down()
        self.state = self.tmp / label
        self.rig = riglib.Rig(self.state)
        self.down_done = False
        print("== %s: new rig (state %s)" % (self.name, self.state), flush=True)

    def pin(self, index):
        """`bwc-pki pin` of camN's LDevID certificate, or None."""
        p = self.pki("pin", self.rig.ldevid_cert(index))
        return p.stdout.strip() or None if p.returncode == 0 else None

    def spki_sha256(self, index):
        """The same key fingerprint computed by openssl, independent of bwc-pki."""
        cert = self.rig.ldevid_cert(index)
        p = self.sh(["sh", "-c", "openssl x509 -in \"$1\" -noout -pubkey | openssl pkey "
                     "-pubin -outform DER | openssl dgst -sha256 -r", "-", cert], quiet=True)
        return p.stdout.split()[0] if p.returncode == 0 and p.stdout.strip() else None

    def renewals(self, index):
        return self.camera(index).get("renewals")

    def dock(self, cam, docked=True):
        verb = "dock" if docked else "undock"
        self.require("%s cam%s" % (verb, cam), self.bwc_rig(verb, str(cam)).returncode == 0)

    def advance(self, days):
        self.require("advance %s days" % days,
                     self.bwc_rig("advance", str(days), timeout=180).returncode == 0)

    def camera_list(self):
        """bwcctl camera list --json as {serial: entry}."""
        p = self.bwcctl("camera", "list", "--json")
        try:
            return {c.get("serial"): c for c in json.loads(p.stdout)}
        except (ValueError, TypeError, AttributeError):
            return {}

    def log_size(self, host):
        try:
            return self.rig.host(host).log.stat().st_size
        except OSError:
            return 0

    def log_since(self, host, offset):
        """What host's log gained after byte offset (see log_size)."""
        try:
            with open(self.rig.host(host).log, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_for(self, predicate, timeout, poll=0.25):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(poll)

    # ---- checks -------------------------------------------------------------
    def check(self, label, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok: %s" % label, flush=True)
        else:
            self.failed += 1
            print("FAIL: %s%s" % (label, (" (%s)" % (detail,)) if detail else ""), flush=True)
        return bool(ok)

    def require(self, label, ok, detail=""):
        if not self.check(label, ok, detail):
            raise Abort(label)

    def up(self, cameras, *extra):
        p = self.bwc_rig("up", "--cameras", str(cameras), *extra, timeout=180)
        self.require("rig up with %d camera(s)%s" % (cameras, " " + " ".join(extra)
                                                      if extra else ""), p.returncode == 0)

    def down(self):
        self.down_done = True
        if self.rig.meta_path.exists():
            dead = [h.name for h in self.rig.dead_hosts()]
            self.check("no daemon exited by itself during the test", not dead, dead)
        p = self.bwc_rig("down", timeout=120)
        self.check("rig down (no sanitizer or heap-check report in the logs)", p.returncode == 0,
                   "exit %d" % p.returncode)
        return p

    # ---- driver -------------------------------------------------------------
    def show_logs(self):
        for log in self.rig.logs() if self.state.exists() else []:
            if log.exists():
                print("--- last lines of %s ---" % log)
                sys.stdout.write(riglib.tail(log, 40))

    def main(self, body):
        if os.geteuid() != 0:
            print("skipped: the rig tests need root (network namespaces)")
            return SKIP
        print("== %s (state %s)" % (self.name, self.state), flush=True)
        try:
            body(self)
        except Abort as e:
            print("aborted: %s failed; the remaining checks were not run" % e, flush=True)
        except Exception as e:  # a bug in the test must still take the rig down
            self.failed += 1
            print("FAIL: the test raised %s: %s" % (type(e).__name__, e), flush=True)
        finally:
            if self.failed:
                self.show_logs()
            if not self.down_done:
                self.down()
            if self.failed:
                print("state and logs kept in %s" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0


def run(name, body):
    sys.exit(RigTest(name).main(body))
