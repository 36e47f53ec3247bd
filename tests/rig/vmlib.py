# Cameras as virtual machines in the rig: the camera image (image/build) booted by
# QEMU with a swtpm as its TPM, two virtio disks (keys, LUKS2 data) and one virtio-net
# on a tap that is a port of the rig's bridge. Used by riglib when `up --image` is given.

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from riglib import LOG_MARKER, RigError, run, say, serial_of

# BWC_QEMU: another QEMU binary (or a missing one, to see the test skipped)
QEMU = os.environ.get("BWC_QEMU", "qemu-system-x86_64")
KEYS_DISK_BYTES = 16 << 20
DATA_DISK_BYTES = 96 << 20
VM_MEMORY_MIB = 768
BOOT_TIMEOUT = 120.0
READY = "bwc-init: camera daemon started"
FAILED = "bwc-init: FAILED:"
CAMERA_CONF_IN_VM = "/etc/bwc.conf"
STATUS_IN_VM = "/data/state/status.json"
# The keys disk as the factory writes it: the daemon's keystore directory (the
# image's /etc/bwc.conf: tpm:device:/dev/tpmrm0;dir=/keys/bwc), owned by the
# camera's user, holding what `bwc-pki provision` wrote into it: TPM-wrapped key
# blobs and certificates, nothing secret. init adds ks/ (its sealed data key).
KEYS_DISK_DAEMON_DIR = "bwc"
FACTORY_FILES = ("idevid.tpmkey", "idevid.pem", "video.tpmkey", "video.pem",
                 "manufacturer-root.pem")
CAMERA_UID = 1000
# TPM2_Shutdown(TPM_SU_CLEAR): tag NO_SESSIONS, size 12, command code 0x145
TPM2_SHUTDOWN_CLEAR = bytes.fromhex("80010000000c000001450000")


def usable():
    """(True, "") when QEMU and swtpm can run cameras here, else (False, why)."""
    for tool, pkg in ((QEMU, "qemu-system-x86"), ("swtpm", "swtpm"), ("mke2fs", "e2fsprogs")):
        if not shutil.which(tool):
            return False, "%s is not installed (Debian package %s)" % (tool, pkg)
    if not os.path.exists("/dev/net/tun"):
        return False, "/dev/net/tun is missing: no tap devices for the VMs' network"
    p = subprocess.run([QEMU, "-accel", "help"], text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if p.returncode != 0 or "tcg" not in p.stdout:
        return False, "%s cannot emulate (no TCG): %s" % (QEMU, p.stdout.strip()[:200])
    return True, ""


def image_files(image):
    d = Path(image).resolve()
    files = (d / "vmlinuz", d / "initrd.img")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise RigError("%s is not a camera image (missing %s); build one with `image/build "
                       "--out %s`" % (d, ", ".join(missing), d))
    return files


# ---- paths of one VM camera -------------------------------------------------------
class Vm:
    def __init__(self, rig, index):
        self.rig, self.index = rig, index
        d = rig.cam_dir(index)
        self.dir = d
        self.keys_disk, self.data_disk = d / "disk-keys.img", d / "disk-data.img"
        self.tpm_dir = d / "tpm"
        # what the factory wrote on the keys disk, kept on the host (public: blobs of
        # this TPM and certificates); the camera's live keystore is on its keys disk
        self.factory_keys = d / "factory-keys"
        # sockets under /run: a unix socket path has at most 107 bytes, a --state may be long
        self.sock_dir = Path("/run/bwc-rig") / rig.prefix / ("cam%d" % index)
        self.swtpm_sock = self.sock_dir / "swtpm.sock"
        self.qmp_sock, self.chan_sock = self.sock_dir / "qmp.sock", self.sock_dir / "chan.sock"
        self.chan_lock = d / "chan.lock"
        self.log = d / "bwc.log"
        self.tap = "cam%d" % index
        self.swtpm_pid_file = rig.run_dir / ("cam%d-swtpm.pid" % index)


def vm(rig, index):
    return Vm(rig, index)


def prepare(rig, index, image):
    """The factory's work for camera index: an empty data disk, its TPM with the IDevID
    and video-signing keys made inside (factory_provision), and its keys disk holding
    their blobs and certificates. Every camera boots the image's initrd as it is."""
    v = Vm(rig, index)
    image_files(image)
    v.dir.mkdir(parents=True, exist_ok=True)
    with open(v.data_disk, "wb") as f:
        f.truncate(DATA_DISK_BYTES)
    factory_provision(rig, index)
    say("cam%d: VM disks %s (identity of %s), %s; TPM state %s"
        % (index, v.keys_disk.name, serial_of(index), v.data_disk.name, v.tpm_dir))


def factory_provision(rig, index):
    """A new TPM for camera index (its state directory emptied), the factory identity
    made in it, and a new keys disk: what a factory does to a camera's TPM and flash.
    The private keys never exist outside the TPM."""
    v = Vm(rig, index)
    if rig.is_up() and rig.running(rig.host("cam%d" % index)):
        raise RigError("cam%d is running: stop it (`bwc-rig stop cam%d`) before the factory "
                       "provisions its TPM again" % (index, index))
    stop_swtpm(v)
    shutil.rmtree(v.tpm_dir, ignore_errors=True)
    v.tpm_dir.mkdir(mode=0o700, parents=True)
    shutil.rmtree(v.factory_keys, ignore_errors=True)
    v.factory_keys.mkdir(mode=0o700)
    with FactoryTpm(v) as sock:
        spec = "tpm:swtpm:path=%s;dir=%s" % (sock, v.factory_keys)
        run([str(rig.binary("certs/tool/bwc-pki")), "provision", "--factory",
             str(rig.dir / "factory"), "--serial", serial_of(index), "--keystore", spec],
            env=rig.env())
    write_keys_disk(v)


class FactoryTpm:
    """The VM's TPM on the factory's bench: a swtpm on the VM's TPM state directory with
    a command socket, started (not-need-init, startup-clear) as a powered-on TPM is;
    shut down in order (TPM2_Shutdown) and stopped before QEMU ever uses that state."""

    def __init__(self, v):
        self.v = v
        self.sock = v.sock_dir / "factory-tpm.sock"
        # tpm2-tss's swtpm TCTI finds the control channel at <path>.ctrl
        self.ctrl = v.sock_dir / "factory-tpm.sock.ctrl"

    def __enter__(self):
        self.v.sock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for s in (self.sock, self.ctrl):
            s.unlink(missing_ok=True)
        log = self.v.dir / "swtpm-factory.log"
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=%s" % self.v.tpm_dir,
             "--server", "type=unixio,path=%s" % self.sock,
             "--ctrl", "type=unixio,path=%s" % self.ctrl,
             "--flags", "not-need-init,startup-clear", "--log", "file=%s,level=1" % log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RigError("the factory's swtpm for cam%d did not start; see %s"
                               % (self.v.index, log))
            time.sleep(0.02)
        return self.sock

    def __exit__(self, *exc):
        self.stop()
        return False

    def shutdown(self):
        """TPM2_Shutdown(CLEAR): an orderly power-down, so the TPM does not count it
        as a disorderly one when QEMU's TPM starts from this state."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(str(self.sock))
            s.sendall(TPM2_SHUTDOWN_CLEAR)
            answer = s.recv(64)
        except OSError as e:
            raise RigError("cam%d: TPM2_Shutdown to the factory's swtpm (%s): %s"
                           % (self.v.index, self.sock, e))
        finally:
            s.close()
        if answer[6:10] != b"\0\0\0\0":
            raise RigError("cam%d: the factory's swtpm refused TPM2_Shutdown (answer %s)"
                           % (self.v.index, answer.hex()))

    def stop(self):
        try:
            if self.proc.poll() is None:
                self.shutdown()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for s in (self.sock, self.ctrl):
                s.unlink(missing_ok=True)


def write_keys_disk(v):
    """The keys disk as the factory writes it: ext4 with bwc/ (the daemon's keystore,
    owned by the camera's user) holding the factory's blobs and certificates."""
    missing = [f for f in FACTORY_FILES if not (v.factory_keys / f).is_file()]
    if missing:
        raise RigError("cam%d: bwc-pki provision left no %s in %s"
                       % (v.index, ", ".join(missing), v.factory_keys))
    root = v.dir / "keys-disk.tmp"
    shutil.rmtree(root, ignore_errors=True)
    daemon_dir = root / KEYS_DISK_DAEMON_DIR
    daemon_dir.mkdir(mode=0o700, parents=True)
    os.chmod(root, 0o755)
    os.chown(daemon_dir, CAMERA_UID, CAMERA_UID)
    for name in FACTORY_FILES:
        dest = daemon_dir / name
        shutil.copyfile(v.factory_keys / name, dest)
        os.chmod(dest, 0o600 if name.endswith(".tpmkey") else 0o644)
        os.chown(dest, CAMERA_UID, CAMERA_UID)
    with open(v.keys_disk, "wb") as f:
        f.truncate(KEYS_DISK_BYTES)
    try:
        run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "bwc-keys", "-d", str(root),
             str(v.keys_disk)])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def add_tap(rig, index):
    """The VM's dock link: a tap in the dock namespace, a port of br0, down (undocked)."""
    dock = rig.ns("dock")
    rig.ip(dock, "tuntap", "add", "dev", "cam%d" % index, "mode", "tap")
    rig.sysctl(dock, "net.ipv6.conf.cam%d.disable_ipv6=1" % index)
    rig.ip(dock, "link", "set", "cam%d" % index, "master", "br0")
    say("created tap cam%d on br0 in %s (down: undocked)" % (index, dock))


def qemu_argv(rig, index, image, extra_cmdline=""):
    v = Vm(rig, index)
    vmlinuz, initrd = image_files(image)
    accel = os.environ.get("BWC_VM_ACCEL", "tcg")
    # BWC_VM_CMDLINE: extra kernel arguments for tests, e.g. bwc.factory_default=1
    cmdline = " ".join(("console=ttyS0 loglevel=4 panic=-1 bwc.testchan=1", extra_cmdline,
                        os.environ.get("BWC_VM_CMDLINE", "")))
    return [shutil.which(QEMU) or QEMU, "-name", "bwc-cam%d" % index,
            "-machine", "q35", "-accel", accel, "-cpu", "max" if accel == "tcg" else "host",
            "-m", str(VM_MEMORY_MIB), "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-rtc", "base=%s" % rig.now().strftime("%Y-%m-%dT%H:%M:%S"),
            "-kernel", str(vmlinuz), "-initrd", str(initrd), "-append", cmdline.strip(),
            "-drive", "file=%s,format=raw,if=virtio" % v.keys_disk,
            "-drive", "file=%s,format=raw,if=virtio" % v.data_disk,
            "-chardev", "socket,id=tpm,path=%s" % v.swtpm_sock,
            "-tpmdev", "emulator,id=tpm0,chardev=tpm", "-device", "tpm-tis,tpmdev=tpm0",
            "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % v.tap,
            "-device", "virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:b3:c0:%02x" % index,
            "-chardev", "file,id=con,path=%s,append=on" % v.log, "-serial", "chardev:con",
            "-chardev", "socket,id=chan,path=%s,server=on,wait=off" % v.chan_sock,
            "-serial", "chardev:chan",
            "-qmp", "unix:%s,server=on,wait=off" % v.qmp_sock]


def start_swtpm(v):
    v.sock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if v.swtpm_sock.exists():
        v.swtpm_sock.unlink()
    v.tpm_dir.mkdir(mode=0o700, exist_ok=True)
    proc = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=%s" % v.tpm_dir,
                             "--ctrl", "type=unixio,path=%s" % v.swtpm_sock, "--terminate",
                             "--log", "file=%s,level=1" % (v.dir / "swtpm.log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    v.rig.run_dir.mkdir(parents=True, exist_ok=True)
    v.swtpm_pid_file.write_text("%d\n" % proc.pid)
    deadline = time.monotonic() + 10
    while not v.swtpm_sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RigError("swtpm for cam%d did not start; see %s"
                           % (v.index, v.dir / "swtpm.log"))
        time.sleep(0.02)
    return proc


def stop_swtpm(v):
    try:
        pid = int(v.swtpm_pid_file.read_text())
    except (OSError, ValueError):
        return
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"swtpm" in f.read():
                os.kill(pid, signal.SIGTERM)
    except (OSError, ProcessLookupError):
        pass
    v.swtpm_pid_file.unlink(missing_ok=True)


def start(rig, host, extra_cmdline=""):
    """Boots camera host (a Host of riglib) as a VM; returns the QEMU Popen."""
    index = int(host.name[3:])
    image = rig.meta().get("image")
    v = Vm(rig, index)
    stop_swtpm(v)
    start_swtpm(v)
    for s in (v.qmp_sock, v.chan_sock):
        if s.exists():
            s.unlink()
    with open(v.log, "ab") as logf:
        logf.write(("%s starting %s (VM) at rig time %s\n"
                    % (LOG_MARKER, host.name, rig.now().isoformat(timespec="seconds"))).encode())
    proc = subprocess.Popen(["ip", "netns", "exec", rig.ns("dock")] +
                            qemu_argv(rig, index, image, extra_cmdline),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(v.dir / "qemu.log", "ab"), start_new_session=True)
    (rig.run_dir / ("%s.pid" % host.name)).write_text("%d\n" % proc.pid)
    say("booting %s as a VM (pid %d), console log %s" % (host.name, proc.pid, v.log))
    deadline = time.monotonic() + 10
    while not v.qmp_sock.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is None:
        set_link(rig, index, rig.docked(index), quiet=True)
    return proc


def boot_result(v):
    """("ready" | "failed" | None, line) from the console log since the last start."""
    try:
        text = v.log.read_text(errors="replace")
    except OSError:
        return None, ""
    text = text[text.rfind(LOG_MARKER):] if LOG_MARKER in text else text
    for line in text.splitlines():
        if FAILED in line:
            return "failed", line.strip()
    for line in text.splitlines():
        if READY in line:
            return "ready", line.strip()
    return None, ""


def wait_booted(rig, host, proc, timeout=BOOT_TIMEOUT):
    v = Vm(rig, int(host.name[3:]))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state, line = boot_result(v)
        if state == "ready":
            say("%s booted: %s" % (host.name, line))
            return True
        if state == "failed":
            raise RigError("%s did not come up: %s\n(console log %s)" % (host.name, line, v.log))
        if proc is not None and proc.poll() is not None:
            raise RigError("%s: QEMU exited with status %s; see %s and %s"
                           % (host.name, proc.returncode, v.dir / "qemu.log", v.log))
        time.sleep(0.2)
    raise RigError("%s did not boot within %.0f s; see %s" % (host.name, timeout, v.log))


# ---- QMP: the dock link as the guest sees it ------------------------------------
def qmp(v, command, arguments=None, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(v.qmp_sock))
        f = s.makefile("rwb")
        json.loads(f.readline())  # greeting

        def call(cmd, args=None):
            msg = {"execute": cmd}
            if args:
                msg["arguments"] = args
            f.write(json.dumps(msg).encode() + b"\n")
            f.flush()
            while True:
                ans = json.loads(f.readline())
                if "return" in ans or "error" in ans:
                    return ans
        call("qmp_capabilities")
        return call(command, arguments)
    except (OSError, ValueError) as e:
        raise RigError("QMP of cam%d (%s): %s" % (v.index, v.qmp_sock, e))
    finally:
        s.close()


def set_link(rig, index, up, quiet=False):
    """Carrier of the VM's NIC follows the dock (the tap alone would not tell the guest)."""
    v = Vm(rig, index)
    if not v.qmp_sock.exists():
        return
    ans = qmp(v, "set_link", {"name": "n0", "up": bool(up)})
    if "error" in ans:
        raise RigError("cam%d: set_link: %s" % (index, ans["error"]))
    if not quiet:
        say("cam%d: VM link %s" % (index, "up" if up else "down"))


# ---- the test channel (ttyS1 of the VM) ------------------------------------------
def request(rig, index, fields, timeout=60.0):
    """One request on camN's test channel: returns (code, bytes)."""
    v = Vm(rig, index)
    if any("\t" in f or "\n" in f for f in fields):
        raise RigError("test channel arguments cannot hold tabs or newlines")
    with open(v.chan_lock, "a") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(v.chan_sock))
            s.sendall(("\t".join(fields) + "\n").encode())
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise OSError("channel closed")
                buf += chunk
            head, _, rest = buf.partition(b"\n")
            parts = head.decode(errors="replace").split()
            if len(parts) != 3 or parts[0] != "BWCR":
                raise OSError("unexpected answer %r" % head[:80])
            code, size = int(parts[1]), int(parts[2])
            while len(rest) < size:
                chunk = s.recv(65536)
                if not chunk:
                    raise OSError("channel closed after %d of %d bytes" % (len(rest), size))
                rest += chunk
            return code, rest[:size]
        except (OSError, ValueError) as e:
            raise RigError("cam%d test channel (%s): %s; is the VM up (`bwc-rig status`)?"
                           % (index, v.chan_sock, e))
        finally:
            s.close()


def read_file(rig, index, path, timeout=30.0):
    code, data = request(rig, index, ["read", path], timeout)
    return data if code == 0 else None


def status_json(rig, index):
    """The daemon's status.json inside the VM, or None."""
    v = Vm(rig, index)
    if not v.chan_sock.exists() or not rig.running(rig.host("cam%d" % index)):
        return None
    try:
        data = read_file(rig, index, STATUS_IN_VM, timeout=10.0)
        return json.loads(data) if data else None
    except (RigError, ValueError):
        return None


def exec_argv(rig, index, argv, timeout=300):
    """Runs argv in the VM as the camera's user; returns (exit code, output)."""
    if not argv or not argv[0].startswith("/"):
        raise RigError("in a VM camera, exec needs an absolute path (no shell, no PATH): "
                       "e.g. /usr/bin/bwc-record")
    code, out = request(rig, index, ["exec", str(int(timeout))] + list(argv), timeout + 30)
    return code, out.decode(errors="replace")


def record_argv(seconds, nbytes=None, container=None, marker=None, clip_seconds=None):
    argv = ["/usr/bin/bwc-record", "-c", CAMERA_CONF_IN_VM, "--seconds", str(seconds)]
    for flag, value in (("--bytes", nbytes), ("--container", container), ("--marker", marker),
                        ("--clip-seconds", clip_seconds)):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def processes(rig, index):
    """[(pid, uid, cmdline)] of every process in the VM (kernel threads excluded)."""
    _, names = request(rig, index, ["list", "/proc"])
    found = []
    for pid in sorted((int(n) for n in names.decode().split() if n.isdigit())):
        cmd = read_file(rig, index, "/proc/%d/cmdline" % pid)
        status = read_file(rig, index, "/proc/%d/status" % pid) or b""
        if not cmd:
            continue  # a kernel thread (or gone)
        uid = next((int(line.split()[1]) for line in status.decode().splitlines()
                    if line.startswith("Uid:")), None)
        found.append((pid, uid, cmd.replace(b"\0", b" ").decode(errors="replace").strip()))
    return found


def listening_sockets(rig, index):
    """Sockets in LISTEN (TCP) or bound (UDP, raw) state inside the VM, from /proc/net."""
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        data = read_file(rig, index, "/proc/net/" + proto) or b""
        for line in data.decode().splitlines()[1:]:
            f = line.split()
            if len(f) < 4:
                continue
            state = f[3]
            if proto.startswith("tcp") and state != "0A":
                continue  # only LISTEN
            found.append("%s %s state %s" % (proto, f[1], state))
    return found


def poweroff(rig, index, timeout=30.0):
    """Clean shutdown through init (daemon stopped, volume closed); False if it did not."""
    h = rig.host("cam%d" % index)
    pid = rig.running(h)
    if not pid:
        return True
    try:
        request(rig, index, ["poweroff"], timeout=10.0)
    except RigError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not rig.running(h):
            return True
        time.sleep(0.1)
    return False


def after_stop(rig, index):
    v = Vm(rig, index)
    stop_swtpm(v)
    shutil.rmtree(v.sock_dir, ignore_errors=True)
    try:
        v.sock_dir.parent.rmdir()  # the rig's directory, once its last VM is gone
    except OSError:
        pass
