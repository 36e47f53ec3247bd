#!/usr/bin/python3
# The controller's keys in its TPM (the rig's swtpm): the system CA key and every sealed
# secret exist on disk only as TPM-wrapped blobs made inside the TPM; the TLS server key
# (which also signs receipts) is made in the TPM by the CA process at every start and
# reload (SIGHUP) and stored nowhere, and only the CA process keeps the keystore open
# (losing it or the forwarder stops the controller); the service unit's capabilities let the CA process
# read its key blob at start; certificates signed there verify with openssl; no private key is in the
# controller's files or in its processes' memory (the same memory search finds the CA
# key in a rig with the file keystore: the search works); a missing TPM stops the
# controller with a clear message and nothing else changes. The CA key and the admin's
# sealed secrets are out of reach of every process past its start-up: the controller and
# the forwarder have no capability left, and uid 0 without capabilities cannot read them.

import os
import re
import signal
import subprocess
import time

import riglib
import rigtest

FIXED_TPM, FIXED_PARENT, SENSITIVE_DATA_ORIGIN = 0x2, 0x10, 0x20


def blob_attributes(path):
    """objectAttributes of a keystore TPM blob: 8-byte magic, then TPM2B_PUBLIC
    (size, type, nameAlg, objectAttributes: big-endian)."""
    b = path.read_bytes()
    return int.from_bytes(b[14:18], "big") if len(b) > 18 else None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def memory(pid):
    """Every writable mapping of a process - heap, stacks, data: where keys
    loaded at run time live (the read-only text of libraries holds test
    vectors). Root reads /proc/PID/mem even of a non-dumpable process. Huge
    mappings are reservations (AddressSanitizer's shadow): read what is there
    in pieces, skipping unbacked ranges."""
    piece = 16 << 20
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if not m or m.group(3)[:2] != "rw" or "[vvar]" in line or "[vsyscall]" in line:
                continue
            start, end = int(m.group(1), 16), int(m.group(2), 16)
            if end - start > (1 << 30):
                continue   # a reservation, not data
            for at in range(start, end, piece):
                try:
                    mem.seek(at)
                    yield mem.read(min(piece, end - at))
                except (OSError, ValueError, OverflowError):
                    pass


def memory_has(pid, needle=None, pattern=None):
    for chunk in memory(pid):
        if (needle is not None and needle in chunk) or (pattern and pattern.search(chunk)):
            return True
    return False


def controller_pids(t):
    ctl = t.rig.pid_of("controller")
    # ip netns exec -> bwc-controller -> (bwc-forward, bwc-ca)
    pids = [ctl] + children(ctl)
    pids += [c for p in list(pids) for c in children(p)]
    return [p for p in dict.fromkeys(pids) if p]


def cap_eff(pid):
    """The effective capability set of a process (an int; None if unknown)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return None


def comm(pid):
    try:
        return open("/proc/%d/comm" % pid).read().strip()
    except OSError:
        return ""


def open_files(pid):
    """What a process's file descriptors point at."""
    out = []
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                pass
    except OSError:
        pass
    return out


def server_cert_serial(t, state):
    p = t.sh(["openssl", "x509", "-in", str(state / "server.pem"), "-noout", "-serial"],
             quiet=True)
    return p.stdout.strip() if p.returncode == 0 else None


def redock_renews(t):
    """Undocks and docks cam1 again: whether it renews, standing valid."""
    renewals = t.renewals(1)
    t.dock(1, False)
    t.wait_for(lambda: t.camera(1).get("docked") is False, 10)
    t.dock(1)
    return t.wait(1, renewals_above=renewals, standing="valid")


def private_scalar(key_pem):
    p = subprocess.run(["openssl", "ec", "-in", str(key_pem), "-text", "-noout"],
                       capture_output=True, text=True)
    m = re.search(r"priv:\s*([0-9a-f:\s]+?)\s*pub:", p.stdout, re.S)
    if not m:
        return None
    return bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(1)))[-32:]


def tpm_rig(t):
    t.up(1, "--no-ems")
    t.dock(1)
    t.require("cam1 enrols (its certificate is signed by the TPM-resident CA key)",
              t.wait(1, renewals_above=0, standing="valid"))
    state = t.rig.dir / "controller" / "state"
    keys = state / "keys"
    names = sorted(p.name for p in keys.iterdir())
    t.check("the keystore holds TPM blobs only (%s)" % ", ".join(names),
            names and all(n.endswith((".tpmkey", ".tpmseal")) or n == ".tpm.lock"
                          for n in names), names)
    attrs = blob_attributes(keys / "system-ca.tpmkey")
    want = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN
    t.check("the system CA key was generated in the TPM and cannot leave it (fixedTPM, "
            "fixedParent, sensitiveDataOrigin)", attrs is not None and attrs & want == want,
            attrs)
    t.check("the TLS server key is stored nowhere: no blob of it in the keystore (it lives "
            "in the CA process, made in the TPM)",
            not [n for n in names if n.startswith("tls-server")], names)
    t.check("the master-key verifier is sealed", (keys / "master-verifier.tpmseal").exists())

    # One owner per key, by mechanism: the admin-only blobs are mode 0000 (only a
    # privileged process reads them: the CA process at its start, bwcctl); the controller
    # and the forwarder dropped every capability before reading any input.
    for blob in ("system-ca.tpmkey", "master-verifier.tpmseal"):
        mode = (keys / blob).stat().st_mode & 0o7777
        t.check("%s is mode 0000" % blob, mode == 0, oct(mode))
        p = t.sh(["setpriv", "--bounding-set", "-all", "--inh-caps", "-all", "--",
                  "dd", "if=%s" % (keys / blob), "of=/dev/null", "status=none"], quiet=True)
        t.check("uid 0 without capabilities (the controller after start-up) cannot read %s"
                % blob, p.returncode != 0 and "Permission denied" in p.stdout + p.stderr,
                (p.returncode, (p.stdout + p.stderr)[-200:]))
    # What the service unit leaves the controller at its start is enough for the CA
    # process to load its key (bwc-controller.service: CapabilityBoundingSet).
    unit = (riglib.REPO / "controller" / "bwc-controller.service").read_text()
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", unit, re.M).group(1).split()
    p = t.sh(["setpriv", "--bounding-set",
              "-all," + ",".join("+" + c[4:].lower() for c in caps), "--inh-caps", "-all",
              "--", "dd", "if=%s" % (keys / "system-ca.tpmkey"), "of=/dev/null", "status=none"],
             quiet=True)
    t.check("the unit's capability bounding set (%s) lets the CA process read its key blob"
            % " ".join(caps), p.returncode == 0, (p.returncode, (p.stdout + p.stderr)[-200:]))
    found = [str(p) for p in state.rglob("*") if p.is_file()
             and (b"PRIVATE KEY" in p.read_bytes() or b"$argon2id$" in p.read_bytes())]
    t.check("no private key and no passphrase verifier in the controller's files", not found,
            found)
    for cert in (state / "server.pem", t.rig.ldevid_cert(1)):
        p = t.sh(["openssl", "verify", "-CAfile", t.rig.ca_pem, cert])
        t.check("openssl verifies %s against the system CA" % cert.name, p.returncode == 0)
    pids = controller_pids(t)
    t.check("the controller runs its CA process (bwc-ca)", any(comm(p) == "bwc-ca" for p in pids),
            [comm(p) for p in pids])
    caps = {comm(p): cap_eff(p) for p in pids}
    t.check("the controller, the forwarder and the CA process hold no capability",
            caps and all(v == 0 for v in caps.values()), caps)
    # a PEM key with its body (the libraries hold the bare header text as a constant)
    pem_key = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/]{40}")
    leaked = [comm(p) for p in pids if memory_has(p, pattern=pem_key)]
    t.check("no PEM private key in the memory of %s" % ", ".join(comm(p) for p in pids),
            not leaked, leaked)
    # The parent parses every byte a camera sends: it keeps no keystore open (it cannot
    # even take its turn at the TPM); the CA process does (and the forwarder, for the
    # destination's document key).
    users = [comm(p) for p in pids if any(f.endswith("/keys/.tpm.lock") for f in open_files(p))]
    t.check("the controller process keeps no keystore open, the CA process does (open in: "
            "%s)" % ", ".join(users), "bwc-ca" in users and "bwc-controller" not in users,
            users)
    # Reload (SIGHUP): a new server key and certificate, and cameras dock through them.
    first = server_cert_serial(t, state)
    offset = t.log_size("controller")
    os.kill(t.rig.pid_of("controller"), signal.SIGHUP)
    t.check("SIGHUP makes a new TLS server certificate",
            t.wait_for(lambda: server_cert_serial(t, state) not in (None, first), 10),
            (first, server_cert_serial(t, state)))
    t.check("and says so", "SIGHUP: new TLS server key" in t.log_since("controller", offset))
    t.check("cam1 docks and renews through the new key", redock_renews(t))
    ca_cert_serial = server_cert_serial(t, state)

    # Every handshake and receipt is signed in the CA process, and the forwarder is the
    # only way to the EMS: without either the controller is of no use, so it stops and
    # says why (the service manager starts it again).
    ctl = t.rig.host("controller")
    for child, label in (("bwc-ca", "CA"), ("bwc-forward", "forwarder")):
        pid = [p for p in controller_pids(t) if comm(p) == child]
        offset = t.log_size("controller")
        os.kill(pid[0], signal.SIGKILL)
        t.check("when the %s process dies the controller stops" % label,
                t.wait_for(lambda: not t.rig.running(ctl), 10), t.rig.running(ctl))
        said = t.log_since("controller", offset)
        t.check("and says which process it lost",
                "the %s process" % label in said and "signal 9" in said, said[-400:])
        p = t.bwc_rig("restart", "controller")
        t.require("the controller starts again", p.returncode == 0)
        t.check("with a new TLS server key and certificate",
                server_cert_serial(t, state) not in (None, ca_cert_serial),
                (ca_cert_serial, server_cert_serial(t, state)))
        ca_cert_serial = server_cert_serial(t, state)
        t.check("and cam1 docks and renews through it", redock_renews(t))

    # No TPM: the controller says so and stops; cameras keep their data.
    tpm_pid = t.rig.tpm_pid("controller")
    os.kill(tpm_pid, signal.SIGTERM)
    t.wait_for(lambda: not os.path.exists("/proc/%d" % tpm_pid), 10)
    t.rig.stop([ctl])
    offset = t.log_size("controller")
    p = t.bwc_rig("restart", "controller", quiet=True)
    time.sleep(1)
    said = t.log_since("controller", offset)
    t.check("without its TPM the controller does not start", p.returncode != 0
            or not t.rig.running(ctl), p.returncode)
    t.check("and says which TPM it could not reach", "No TPM reachable" in said
            and "swtpm.sock" in said, said[-600:])
    t.rig.start_tpm("controller")
    p = t.bwc_rig("restart", "controller")
    t.check("with the TPM back the controller starts", p.returncode == 0)
    t.check("and renews cam1 again with the same system CA", redock_renews(t))
    p = t.sh(["openssl", "verify", "-CAfile", t.rig.ca_pem, t.rig.ldevid_cert(1)])
    t.check("openssl verifies the new LDevID", p.returncode == 0)


def file_rig(t):
    """The same memory search finds the CA key where the key is in a file."""
    t.new_rig("file-keystore")
    t.up(1, "--no-ems", "--no-tpm")
    key = t.rig.dir / "controller" / "state" / "keys" / "system-ca.key"
    scalar = private_scalar(key)
    t.require("file keystore: the CA key is %s" % key, scalar is not None)
    ca = [p for p in controller_pids(t) if comm(p) == "bwc-ca"]
    t.check("file keystore: the memory search finds the CA private key in bwc-ca",
            ca and memory_has(ca[0], needle=scalar), ca)


def body(t):
    tpm_rig(t)
    file_rig(t)


rigtest.run("controller-keys", body)
