# Simulated docking station on one machine: network namespaces, a bridge, the daemons.
# Used by the bwc-rig command and imported by the rig acceptance tests.

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
DAEMON_PORT = 4433
STOP_GRACE_SECONDS = 5.0
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     # glibc's own heap checks catch the same bugs in builds without ASan
                     "munmap_chunk(): invalid pointer", "double free or corruption",
                     "free(): invalid", "malloc(): corrupted", "*** stack smashing detected")
LOG_MARKER = "=== bwc-rig:"

CONTROLLER_CONF = """\
[system]
state_dir = {state}
keystore = {keystore}
[dock]
interface = ctl0
port = {port}
auto_enrol = {auto_enrol}
ra_interval_ms = {ra_interval_ms}
[certs]
manufacturer_root = {root}
lifetime_days = 28
grace_days = 56
[limits]
# a dock link that goes down takes the camera's FIN with it: notice in 15 s
idle_timeout_ms = 15000
[staging]
# this kernel has no dm-crypt: staging in a plain directory (development only)
allow_unencrypted = true
# staging shares the host's disk here: its fill is not the rig's to judge
high_water_pct = 99
"""

CAMERA_CONF = """\
[camera]
state_dir = {state}
keystore = {keystore}
# this kernel has no dm-crypt: recordings in a plain directory (development only)
allow_unencrypted = true
model = BWC-1000
firmware = 0.1.0
[dock]
interface = dock0
port = {port}
"""


class RigError(Exception):
    """A failure the user can act on; the message says what and what to do."""


def default_build_dir():
    return Path(os.environ.get("BWC_BUILD_DIR") or REPO / "build")


def serial_of(index):
    return "RIG%05d" % index


def say(msg):
    print(msg, flush=True)


def run(argv, check=True, env=None, capture=True, stdin=None):
    """Run a command; on failure raise RigError with its output."""
    try:
        proc = subprocess.run(argv, env=env, stdin=stdin, text=True,
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.STDOUT if capture else None)
    except FileNotFoundError:
        raise RigError("command not found: %s" % argv[0])
    if check and proc.returncode != 0:
        out = (proc.stdout or "").strip()
        raise RigError("`%s` exited %d%s" % (" ".join(map(str, argv)), proc.returncode,
                                             (":\n" + out) if out else ""))
    return proc


def read_json(path):
    """A daemon may be rewriting the file: a partial or missing file reads as None."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def tail(path, lines):
    try:
        with open(path, errors="replace") as f:
            data = f.readlines()
    except OSError:
        return "(no log at %s)\n" % path
    return "".join(data[-lines:]) if lines else "".join(data)


def proc_alive(pid, must_contain=None):
    """True while pid is a live (not zombie) process whose command line has must_contain."""
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    if state in ("Z", "X"):
        return False
    return must_contain is None or must_contain in cmdline


def netns_list():
    proc = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


class Host:
    """One daemon of the rig: where it runs, how it is started, where it logs."""

    def __init__(self, name, netns, argv, log, status, conf):
        self.name, self.netns, self.argv = name, netns, argv
        self.log, self.status, self.conf = log, status, conf


class Rig:
    def __init__(self, state_dir="rig-state", build_dir=None):
        self.dir = Path(os.path.realpath(state_dir))
        self.prefix = "bwc" + hashlib.sha1(str(self.dir).encode()).hexdigest()[:6]
        self.run_dir = self.dir / "run"
        self.meta_path = self.dir / "rig.json"
        # a rig that is up keeps the binaries it was started with unless told otherwise
        recorded = self.meta().get("build") if self.is_up() else None
        self.build = Path(build_dir or recorded or default_build_dir())

    # ---- names and paths -------------------------------------------------
    def ns(self, role):
        return "%s-%s" % (self.prefix, role)

    def binary(self, rel):
        return self.build / rel

    @property
    def ctl_conf(self):
        return self.dir / "controller" / "controller.conf"

    @property
    def passphrase_file(self):
        return self.dir / "controller" / "master-passphrase"

    @property
    def ca_pem(self):
        return self.dir / "controller" / "state" / "ca" / "ca.pem"

    def cam_dir(self, index):
        return self.dir / ("cam%d" % index)

    def keystore(self, index):
        return self.cam_dir(index) / "keystore"

    def ldevid_cert(self, index):
        """camN's LDevID certificate: certificates are public and live in the camera's state
        dir; only the key is in the keystore (keystore/ldevid.key with the file backend)."""
        return self.cam_dir(index) / "state" / "ldevid.pem"

    def meta(self):
        return read_json(self.meta_path) or {}

    def write_meta(self, meta):
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
        os.replace(tmp, self.meta_path)

    def is_up(self):
        return bool(self.meta().get("up"))

    def vm_image(self):
        """The camera image the cameras boot as VMs (`up --image`, vmlib.py), or None."""
        return self.meta().get("image")

    def is_vm(self, host):
        return bool(host.name.startswith("cam") and self.vm_image())

    def require_up(self):
        if not self.is_up():
            raise RigError("no rig is up in %s; start one with `bwc-rig up --state %s`"
                           % (self.dir, self.dir))

    def cameras(self):
        return int(self.meta().get("cameras", 0))

    def parse_cam(self, text):
        t = str(text)
        t = t[3:] if t.startswith("cam") else t
        if not t.isdigit() or not 1 <= int(t) <= self.cameras():
            raise RigError("no camera %r in this rig (it has cam1..cam%d)"
                           % (text, self.cameras()))
        return int(t)

    def host(self, name):
        """Resolve controller | ctl | rogue | N | camN to a Host."""
        if name in ("controller", "ctl"):
            d = self.dir / "controller"
            return Host("controller", self.ns("ctl"),
                        [str(self.binary("controller/bwc-controller")), "-c", str(self.ctl_conf)],
                        d / "controller.log", d / "state" / "status.json", self.ctl_conf)
        if name == "rogue":
            d = self.dir / "rogue"
            return Host("rogue", self.ns("rogue"),
                        [str(self.binary("controller/bwc-controller")), "-c",
                         str(d / "controller.conf")],
                        d / "controller.log", d / "state" / "status.json", d / "controller.conf")
        i = self.parse_cam(name)
        d = self.cam_dir(i)
        if self.vm_image():
            import vmlib
            return Host("cam%d" % i, self.ns("dock"), [shutil.which(vmlib.QEMU) or vmlib.QEMU],
                        d / "bwc.log", d / "state" / "status.json", d / "bwc.conf")
        return Host("cam%d" % i, self.ns("cam%d" % i),
                    [str(self.binary("bwc/bwc")), "-c", str(d / "bwc.conf")],
                    d / "bwc.log", d / "state" / "status.json", d / "bwc.conf")

    def host_names(self):
        names = ["controller"] + ["cam%d" % i for i in range(1, self.cameras() + 1)]
        return names + (["rogue"] if (self.run_dir / "rogue.pid").exists()
                        or self.ns("rogue") in netns_list() else [])

    # ---- clock -----------------------------------------------------------
    def clock(self):
        try:
            return int(float((self.dir / "clock").read_text().strip() or 0))
        except (OSError, ValueError):
            return 0

    def set_clock(self, seconds):
        (self.dir / "clock").write_text("%d\n" % seconds)

    def now(self):
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock())

    def env(self):
        """Environment for daemons and exec: the rig clock and sanitizer options."""
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
        offset = self.clock()
        env["FAKETIME"] = "%+d" % offset
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        env["FAKETIME_NO_CACHE"] = "1"
        if offset != 0:
            env["LD_PRELOAD"] = str(FAKETIME_LIB)
        env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=1:abort_on_error=1"
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
        return env

    # ---- locking ---------------------------------------------------------
    def lock(self):
        """Serialise verbs that change the rig; released when the process exits."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another bwc-rig command on %s" % self.dir)
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_fd = fd

    # ---- processes -------------------------------------------------------
    def pid_of(self, name):
        try:
            return int((self.run_dir / ("%s.pid" % name)).read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self, host):
        pid = self.pid_of(host.name)
        return pid if proc_alive(pid, host.argv[0]) else None

    def start(self, host):
        if host.netns not in netns_list():
            raise RigError("namespace %s does not exist; is the rig up?" % host.netns)
        if self.running(host):
            raise RigError("%s is already running (pid %d)" % (host.name, self.running(host)))
        if self.is_vm(host):
            import vmlib
            return vmlib.start(self, host)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        host.log.parent.mkdir(parents=True, exist_ok=True)
        with open(host.log, "ab") as logf:
            logf.write(("%s starting %s at rig time %s (offset %+.3f days)\n"
                        % (LOG_MARKER, host.name, self.now().isoformat(timespec="seconds"),
                           self.clock() / 86400)).encode())
            logf.flush()
            proc = subprocess.Popen(["ip", "netns", "exec", host.netns] + host.argv,
                                    env=self.env(), stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / ("%s.pid" % host.name)).write_text("%d\n" % proc.pid)
        say("started %s (pid %d) in %s, log %s" % (host.name, proc.pid, host.netns, host.log))
        return proc

    def stop(self, hosts, quiet_if_stopped=False):
        """SIGTERM every running host, SIGKILL those still there after the grace time."""
        live = {}
        for h in hosts:
            if self.is_vm(h) and self.running(h):
                import vmlib
                vmlib.poweroff(self, int(h.name[3:]))
            pid = self.running(h)
            if pid:
                os.kill(pid, signal.SIGTERM)
                live[h.name] = (h, pid)
            elif not quiet_if_stopped:
                say("%s was not running" % h.name)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while live and time.monotonic() < deadline:
            for name, (h, pid) in list(live.items()):
                if not proc_alive(pid, h.argv[0]):
                    say("stopped %s (pid %d)" % (name, pid))
                    del live[name]
            time.sleep(0.05)
        for name, (h, pid) in live.items():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            say("killed %s (pid %d): it did not exit within %.0f s of SIGTERM"
                % (name, pid, STOP_GRACE_SECONDS))
        for h in hosts:
            if self.is_vm(h):
                import vmlib
                vmlib.after_stop(self, int(h.name[3:]))
            try:
                (self.run_dir / ("%s.pid" % h.name)).unlink()
            except FileNotFoundError:
                pass

    def kill(self, name, sig=signal.SIGKILL):
        """Send sig to a running host (a crash when SIGKILL); its pid file is kept, so
        `restart` starts it again. Returns the pid signalled."""
        h = self.host(name)
        pid = self.running(h)
        if not pid:
            raise RigError("%s is not running" % h.name)
        # The daemon leads its own session: a crash takes its children with it
        # (the controller's CA and forwarder processes), as a power cut would.
        try:
            os.killpg(pid, sig) if os.getpgid(pid) == pid else os.kill(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while sig == signal.SIGKILL and proc_alive(pid, h.argv[0]) and time.monotonic() < deadline:
            time.sleep(0.01)
        say("sent signal %d to %s (pid %d)" % (sig, h.name, pid))
        return pid

    def wait_started(self, host, proc, timeout=10.0):
        """Wait until the daemon wrote its status.json; fail if it died first."""
        if self.is_vm(host):
            import vmlib
            return vmlib.wait_booted(self, host, proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = read_json(host.status)
            if isinstance(st, dict) and st.get("pid") == proc.pid:
                return st
            if proc.poll() is not None:
                raise RigError("%s exited with status %s right after starting; last log lines:\n%s"
                               % (host.name, proc.returncode, tail(host.log, 20)))
            time.sleep(0.1)
        say("warning: %s has not written %s within %.0f s" % (host.name, host.status, timeout))
        return None

    # ---- network ---------------------------------------------------------
    def ip(self, netns, *args):
        return run(["ip", "-n", netns] + list(args))

    def sysctl(self, netns, *settings):
        argv = ["ip", "netns", "exec", netns, "sysctl", "-q", "-w"] + list(settings)
        return run(argv)

    def add_netns(self, role, accept_ra=False):
        name = self.ns(role)
        run(["ip", "netns", "add", name])
        self.ip(name, "link", "set", "lo", "up")
        self.sysctl(name, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                    "net.ipv6.conf.all.forwarding=0",
                    "net.ipv6.conf.default.accept_ra=%d" % (1 if accept_ra else 0))
        say("created namespace %s" % name)
        return name

    def add_port(self, port, peer_netns, peer_name, up, accept_ra):
        """A veth from the bridge (port, in the dock namespace) to peer_name in peer_netns."""
        dock = self.ns("dock")
        self.ip(dock, "link", "add", port, "type", "veth", "peer", "name", peer_name,
                "netns", peer_netns)
        self.sysctl(dock, "net.ipv6.conf.%s.disable_ipv6=1" % port)
        self.ip(dock, "link", "set", port, "master", "br0")
        ra = ["net.ipv6.conf.%s.accept_dad=0" % peer_name,
              "net.ipv6.conf.%s.forwarding=0" % peer_name,
              "net.ipv6.conf.%s.accept_ra=%d" % (peer_name, 1 if accept_ra else 0)]
        if accept_ra:
            ra.append("net.ipv6.conf.%s.accept_ra_defrtr=1" % peer_name)
        self.sysctl(peer_netns, *ra)
        self.ip(peer_netns, "link", "set", peer_name, "up")
        if up:
            self.ip(dock, "link", "set", port, "up")
        say("linked %s:%s <-> br0 port %s (%s)" % (peer_netns, peer_name, port,
                                                   "up" if up else "down"))

    def build_network(self, cameras):
        dock = self.add_netns("dock")
        self.ip(dock, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0",
                "stp_state", "0", "forward_delay", "0")
        self.sysctl(dock, "net.ipv6.conf.br0.disable_ipv6=1")
        self.ip(dock, "link", "set", "br0", "up")
        say("created bridge br0 in %s (the docking station)" % dock)
        ctl = self.add_netns("ctl")
        self.add_port("ctl", ctl, "ctl0", up=True, accept_ra=False)
        for i in range(1, cameras + 1):
            if self.vm_image():
                import vmlib
                vmlib.add_tap(self, i)
                continue
            cam = self.add_netns("cam%d" % i, accept_ra=True)
            self.add_port("cam%d" % i, cam, "dock0", up=False, accept_ra=True)

    def docked(self, index):
        proc = run(["ip", "-n", self.ns("dock"), "-j", "link", "show", "cam%d" % index],
                   check=False)
        try:
            return "UP" in json.loads(proc.stdout)[0].get("flags", [])
        except (ValueError, IndexError, KeyError):
            return False

    def set_docked(self, index, docked):
        self.ip(self.ns("dock"), "link", "set", "cam%d" % index, "up" if docked else "down")
        if self.vm_image():
            import vmlib
            vmlib.set_link(self, index, docked)
        say("%s cam%d (%s, bridge port cam%d %s)" % ("docked" if docked else "undocked", index,
                                                      serial_of(index), index,
                                                      "up" if docked else "down"))

    # ---- PKI and configuration --------------------------------------------
    def write_secret(self, path):
        alphabet = string.ascii_letters + string.digits
        secret = "".join(secrets.choice(alphabet) for _ in range(24))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")

    # ---- TPMs ------------------------------------------------------------
    def tpm_dir(self, name):
        return self.dir / "tpm" / name

    def tpm_socket(self, name):
        # Outside the rig's state dir (0700 in the tests): the controller's CA
        # process runs as nobody and connects to its TPM at every command.
        return Path("/run/bwc-rig") / self.prefix / name / "swtpm.sock"

    def tpm_keystore(self, name, keys):
        """The keystore spec of a host whose TPM is the rig's swtpm `name`."""
        return "tpm:swtpm:path=%s;dir=%s" % (self.tpm_socket(name), keys)

    def start_tpm(self, name):
        """One swtpm (TPM 2.0 simulator) per host, on a Unix socket so that
        every network namespace reaches it."""
        if not shutil.which("swtpm"):
            raise RigError("swtpm is not installed (Debian: apt-get install swtpm swtpm-tools)")
        d = self.tpm_dir(name)
        (d / "state").mkdir(parents=True, exist_ok=True)
        sock = self.tpm_socket(name)
        for p in (sock.parent.parent.parent, sock.parent.parent, sock.parent):
            p.mkdir(mode=0o711, exist_ok=True)
            os.chmod(p, 0o711)
        pidfile = d / "swtpm.pid"
        # nobody (the CA process) and group root (daemons without capabilities) connect
        perms = "mode=0660,uid=65534,gid=0"
        run(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=%s" % (d / "state"),
             "--server", "type=unixio,path=%s,%s" % (sock, perms),
             "--ctrl", "type=unixio,path=%s.ctrl,%s" % (sock, perms),
             "--flags", "not-need-init,startup-clear", "--daemon",
             "--pid", "file=%s" % pidfile, "--log", "file=%s" % (d / "swtpm.log")])
        deadline = time.monotonic() + 10
        while not sock.exists():
            if time.monotonic() > deadline:
                raise RigError("swtpm %s did not create %s; see %s"
                               % (name, sock, d / "swtpm.log"))
            time.sleep(0.02)
        say("started swtpm for %s (%s)" % (name, sock))

    def tpm_pid(self, name):
        try:
            return int((self.tpm_dir(name) / "swtpm.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop_tpms(self):
        tpm_root = self.dir / "tpm"
        if not tpm_root.is_dir():
            return
        for d in sorted(tpm_root.iterdir()):
            pid = self.tpm_pid(d.name)
            if pid and proc_alive(pid, "swtpm"):
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    if not proc_alive(pid, "swtpm"):
                        break
                    time.sleep(0.02)
                say("stopped swtpm for %s" % d.name)
        shutil.rmtree(Path("/run/bwc-rig") / self.prefix, ignore_errors=True)

    def init_controller(self, d, auto_enrol, ra_interval_ms, system_name, keystore=None):
        """Write a controller config in d and initialise its state once."""
        (d / "state").mkdir(parents=True, exist_ok=True)
        conf = d / "controller.conf"
        conf.write_text(CONTROLLER_CONF.format(
            state=d / "state", keystore=keystore or "file:%s" % (d / "state" / "keys"),
            port=DAEMON_PORT, auto_enrol="true" if auto_enrol else "false",
            ra_interval_ms=ra_interval_ms,
            root=self.dir / "factory" / "manufacturer-root.pem"))
        say("wrote %s" % conf)
        pw = d / "master-passphrase"
        self.write_secret(pw)
        say("wrote master passphrase %s (mode 0600)" % pw)
        run([str(self.binary("controller/bwcctl")), "-c", str(conf), "init",
             "--system-name", system_name, "--passphrase-file", str(pw)], env=self.env())
        say("initialised %s" % system_name)

    def camera_keystore(self, i, tpm):
        """camN's keystore spec: its own swtpm, or files (0600 PEM) in keystore(i)."""
        if tpm:
            return self.tpm_keystore("cam%d" % i, self.keystore(i))
        return "file:%s" % self.keystore(i)

    def make_pki(self, cameras, tpm=False):
        """The factory: a manufacturer root, and per camera its IDevID key and its
        video-signing key made in the camera's keystore (its TPM when tpm) with their
        certificates beside them."""
        pki = str(self.binary("certs/tool/bwc-pki"))
        run([pki, "factory-init", "--dir", str(self.dir / "factory"),
             "--name", "Rig Manufacturer"], env=self.env())
        say("created factory CA in %s" % (self.dir / "factory"))
        for i in range(1, cameras + 1):
            d = self.cam_dir(i)
            (d / "state").mkdir(parents=True, exist_ok=True)
            spec = self.camera_keystore(i, tpm)
            if tpm:
                self.start_tpm("cam%d" % i)
            run([pki, "provision", "--factory", str(self.dir / "factory"), "--serial",
                 serial_of(i), "--keystore", spec], env=self.env())
            (d / "bwc.conf").write_text(CAMERA_CONF.format(
                state=d / "state", keystore=spec, port=DAEMON_PORT))
            say("provisioned cam%d as %s, config %s" % (i, serial_of(i), d / "bwc.conf"))

    # ---- checks ----------------------------------------------------------
    def check_prerequisites(self):
        if os.geteuid() != 0:
            raise RigError("the rig needs root (network namespaces, veths, a bridge)")
        for tool in ("ip", "sysctl"):
            if not shutil.which(tool):
                raise RigError("%s is not installed (Debian package: %s)"
                               % (tool, "iproute2" if tool == "ip" else "procps"))
        if not FAKETIME_LIB.exists():
            raise RigError("%s is missing: apt-get install libfaketime" % FAKETIME_LIB)
        missing = [str(self.binary(b)) for b in ("controller/bwc-controller",
                                                  "controller/bwcctl", "bwc/bwc",
                                                  "certs/tool/bwc-pki")
                   if not os.access(self.binary(b), os.X_OK)]
        if missing:
            raise RigError("daemons not built in %s (missing: %s); build with `meson setup "
                           "build && ninja -C build`, or pass --build DIR / set BWC_BUILD_DIR"
                           % (self.build, ", ".join(missing)))

    def prepare_dir(self):
        """An old rig's leftovers in the state dir are removed; anything else is refused."""
        if self.dir.exists() and any(p.name != ".lock" for p in self.dir.iterdir()):
            if not self.meta_path.exists():
                raise RigError("%s is not empty and holds no rig; choose another --state"
                               % self.dir)
            for p in self.dir.iterdir():
                if p.name == ".lock":
                    continue
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            say("removed the previous rig's files from %s" % self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    # ---- verbs -----------------------------------------------------------
    def up(self, cameras, manual_enrol=False, ems=True, encrypt=False, tpm=True, image=None):
        if cameras < 1 or cameras > 99:
            raise RigError("--cameras must be between 1 and 99")
        self.check_prerequisites()
        if image:
            import vmlib
            ok, why = vmlib.usable()
            if not ok:
                raise RigError("cannot run cameras as VMs: %s" % why)
            vmlib.image_files(image)
            image = os.path.realpath(image)
        ours = [n for n in netns_list() if n.startswith(self.prefix + "-")]
        if self.is_up() or ours:
            raise RigError("a rig is already up in %s (namespaces %s); run `bwc-rig down "
                           "--state %s` first" % (self.dir, ", ".join(ours) or "-", self.dir))
        self.prepare_dir()
        self.write_meta({"up": True, "cameras": cameras, "manual_enrol": manual_enrol,
                         "ems": ems, "encrypt": encrypt, "tpm": tpm, "image": image,
                         "prefix": self.prefix, "build": str(self.build),
                         "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        self.set_clock(0)
        say("rig %s in %s, %d camera(s), %s enrolment" % (self.prefix, self.dir, cameras,
                                                          "manual" if manual_enrol else "auto"))
        try:
            # process cameras get a swtpm each, like the controller; a camera VM's
            # factory step is vmlib.prepare (its keys made in the VM's own TPM)
            self.make_pki(0 if image else cameras, tpm=tpm)
            if image:
                import vmlib
                for i in range(1, cameras + 1):
                    vmlib.prepare(self, i, image)
            keystore = None
            if tpm:
                self.start_tpm("controller")
                keystore = self.tpm_keystore("controller",
                                             self.dir / "controller" / "state" / "keys")
            self.init_controller(self.dir / "controller", not manual_enrol, 1000, "Rig system",
                                 keystore)
            self.build_network(cameras)
            ctl = self.host("controller")
            self.wait_started(ctl, self.start(ctl))
            procs = [self.host("cam%d" % i) for i in range(1, cameras + 1)]
            procs = [(h, self.start(h)) for h in procs]
            for h, p in procs:
                self.wait_started(h, p, timeout=5.0)
            if ems:
                import emslib
                emslib.up(self, cameras, encrypt)
        except RigError as e:
            raise RigError("%s\nup failed halfway; clean up with `bwc-rig down --state %s`"
                           % (e, self.dir))
        say("rig is up; nothing is docked (dock a camera with `bwc-rig dock 1`)")

    def advance(self, days):
        hosts = [self.host(n) for n in self.host_names()]
        live = [h for h in hosts if self.running(h)]
        self.stop(live)
        self.set_clock(self.clock() + int(round(days * 86400)))
        procs = [(h, self.start(h)) for h in live]
        for h, p in procs:
            self.wait_started(h, p, timeout=5.0)
        say("rig time is now %s (offset %+.3f days)"
            % (self.now().isoformat(timespec="seconds"), self.clock() / 86400))

    def restart(self, name):
        h = self.host(name)
        self.stop([h], quiet_if_stopped=True)
        self.wait_started(h, self.start(h), timeout=5.0)

    def rogue_up(self):
        self.require_up()
        if self.ns("rogue") in netns_list():
            raise RigError("the rogue system is already up; `bwc-rig rogue down` first")
        d = self.dir / "rogue"
        if not (d / "controller.conf").exists():
            d.mkdir(parents=True, exist_ok=True)
            self.init_controller(d, True, 200, "Rogue system")
        rogue = self.add_netns("rogue")
        self.add_port("rogue", rogue, "ctl0", up=True, accept_ra=False)
        h = self.host("rogue")
        self.wait_started(h, self.start(h))

    def rogue_down(self):
        self.stop([self.host("rogue")], quiet_if_stopped=True)
        self.delete_netns([self.ns("rogue")])

    def delete_netns(self, names):
        present = netns_list()
        for name in names:
            if name not in present:
                continue
            pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    say("killed leftover process %s in %s" % (pid, name))
                except (ProcessLookupError, ValueError):
                    pass
            run(["ip", "netns", "del", name])
            say("deleted namespace %s" % name)

    def dead_hosts(self):
        """Hosts the rig started and nobody stopped, that are gone: they exited by themselves."""
        hosts = [self.host("controller"), self.host("rogue")]
        hosts += [self.host("cam%d" % i) for i in range(1, self.cameras() + 1)]
        return [h for h in hosts if self.pid_of(h.name) and not self.running(h)]

    def down(self, purge=False):
        """Stop everything; return the sanitizer report lines found in the logs."""
        meta = self.meta()
        if self.dir.exists():
            for h in self.dead_hosts():
                say("warning: %s (pid %d) had exited by itself; see %s"
                    % (h.name, self.pid_of(h.name), h.log))
            hosts = [self.host("controller"), self.host("rogue")]
            hosts += [self.host("cam%d" % i) for i in range(1, self.cameras() + 1)]
            self.stop(hosts, quiet_if_stopped=True)
            import emslib
            if self.ns("ctl") in netns_list():
                emslib.stop(self)
            self.stop_tpms()
        ours = [n for n in netns_list() if n.startswith(self.prefix + "-")]
        # cameras and controllers first, the bridge last
        ours.sort(key=lambda n: n.endswith("-dock"))
        self.delete_netns(ours)
        if meta.get("up"):
            meta["up"] = False
            self.write_meta(meta)
        report = self.sanitizer_report()
        if purge and self.dir.exists():
            shutil.rmtree(self.dir)
            say("removed %s" % self.dir)
        say("rig %s is down" % self.prefix)
        return report

    def logs(self):
        logs = [self.dir / "controller" / "controller.log", self.dir / "rogue" / "controller.log"]
        return logs + sorted(self.dir.glob("cam*/bwc.log"))

    def sanitizer_report(self):
        found = []
        for log in self.logs():
            try:
                with open(log, errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        if any(m in line for m in SANITIZER_MARKERS):
                            found.append("%s:%d: %s" % (log, n, line.rstrip()))
            except OSError:
                continue
        return found

    # ---- status ----------------------------------------------------------
    def status(self):
        meta = self.meta()
        ctl = self.host("controller")
        st = read_json(ctl.status) or {}
        out = {"rig": {"dir": str(self.dir), "prefix": self.prefix, "up": bool(meta.get("up")),
                       "manual_enrol": bool(meta.get("manual_enrol"))},
               "controller": self.controller_status(ctl, st),
               "cameras": [self.camera_status(i) for i in range(1, self.cameras() + 1)],
               "rogue": None,
               "clock": {"offset_days": self.clock() / 86400, "offset_seconds": self.clock(),
                         "now": self.now().isoformat(timespec="seconds")}}
        if meta.get("ems"):
            import emslib
            out["destination"] = emslib.status(self)
        rogue = self.host("rogue")
        if self.ns("rogue") in netns_list() or self.pid_of("rogue"):
            out["rogue"] = self.controller_status(rogue, read_json(rogue.status) or {})
        return out

    def controller_status(self, host, st):
        pid = self.running(host)
        return {"pid": pid or self.pid_of(host.name), "address": st.get("address"),
                "port": st.get("port"), "system_id": st.get("system_id"),
                "running": bool(pid)}

    def camera_status(self, i):
        h = self.host("cam%d" % i)
        st = self.camera_state(i) or {}
        pid = self.running(h)
        return {"name": h.name, "serial": serial_of(i), "pid": pid or self.pid_of(h.name),
                "docked": self.docked(i) if self.is_up() else False,
                "standing": st.get("standing"), "not_after": st.get("not_after"),
                "renewals": st.get("renewals"), "last_result": st.get("last_result"),
                "running": bool(pid), "cert_serial": st.get("cert_serial"),
                "last_renewal": st.get("last_renewal"), "controller": st.get("controller"),
                "camera_docked": st.get("docked"), "offload": st.get("offload")}

    def camera_state(self, index):
        """The camera's own status.json (or None)."""
        if self.vm_image():
            import vmlib
            return vmlib.status_json(self, index)
        return read_json(self.host("cam%d" % index).status)


def format_status(s):
    """The human form of Rig.status()."""
    lines = ["rig %s in %s: %s, clock %+.3f days, rig time %s"
             % (s["rig"]["prefix"], s["rig"]["dir"], "up" if s["rig"]["up"] else "down",
                s["clock"]["offset_days"], s["clock"]["now"])]

    def ctl_line(label, c):
        return "%-10s %-8s pid %-7s %s port %s system %s" % (
            label, "running" if c["running"] else "stopped", c["pid"] or "-",
            c["address"] or "-", c["port"] or "-", c["system_id"] or "-")
    lines.append(ctl_line("controller", s["controller"]))
    if s.get("rogue"):
        lines.append(ctl_line("rogue", s["rogue"]))
    for c in s["cameras"]:
        lines.append("%-10s %-8s pid %-7s %s %-8s standing %-12s renewals %-3s last %-13s "
                     "not_after %s" % (c["name"], "running" if c["running"] else "stopped",
                                       c["pid"] or "-", c["serial"],
                                       "docked" if c["docked"] else "undocked",
                                       c["standing"] or "-",
                                       "-" if c["renewals"] is None else c["renewals"],
                                       c["last_result"] or "-", c["not_after"] or "-"))
    return "\n".join(lines)


def wait_camera(rig, index, renewals_above=None, standing=None, timeout=60.0, poll=0.2):
    """Poll cam index's status.json; return (ok, last status)."""
    host = rig.host("cam%d" % index)
    deadline = time.monotonic() + timeout
    st = None
    while True:
        st = rig.camera_state(index) or st
        if isinstance(st, dict):
            ok = True
            if renewals_above is not None:
                ok = ok and isinstance(st.get("renewals"), int) and st["renewals"] > renewals_above
            if standing is not None:
                ok = ok and st.get("standing") == standing
            if ok:
                return True, st
        if time.monotonic() >= deadline:
            return False, st
        if not rig.running(host):
            return False, st
        time.sleep(poll)


def main_error(msg, code=2):
    print("bwc-rig: error: %s" % msg, file=sys.stderr, flush=True)
    return code


# ---- recorder (bwc-record) ------------------------------------------------
def record_argv(rig, index, seconds, nbytes=None, container=None, marker=None,
                clip_seconds=None):
    """bwc-record of camera index with the camera's own bwc.conf."""
    argv = [str(rig.binary("bwc/bwc-record")), "-c", str(rig.cam_dir(index) / "bwc.conf"),
            "--seconds", str(seconds)]
    for flag, value in (("--bytes", nbytes), ("--container", container), ("--marker", marker),
                        ("--clip-seconds", clip_seconds)):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def record_background(rig, index, argv):
    """Starts bwc-record in camera index's namespace under the rig clock; its
    output goes to camN/record.log and its pid to run/camN-record.pid."""
    host = rig.host("cam%d" % index)
    if host.netns not in netns_list():
        raise RigError("namespace %s does not exist; is the rig up?" % host.netns)
    rig.run_dir.mkdir(parents=True, exist_ok=True)
    log = rig.cam_dir(index) / "record.log"
    with open(log, "ab") as logf:
        proc = subprocess.Popen(["ip", "netns", "exec", host.netns] + argv, env=rig.env(),
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    pid_file = rig.run_dir / ("cam%d-record.pid" % index)
    pid_file.write_text("%d\n" % proc.pid)
    return proc.pid, log, pid_file
