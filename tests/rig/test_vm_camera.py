#!/usr/bin/python3
# A camera as a VM of the real camera image (image/build): the factory makes its IDevID and
# video-signing keys in its own (sw)TPM and writes their blobs and certificates on its keys
# disk; no private key is in the image, the keys disk or the data disk on the host. It boots,
# provisions and unlocks its LUKS2 volume with a key sealed in its TPM, starts the daemon
# unprivileged with the TPM keystore, listens on nothing, records signed video, docks, enrols
# and renews (its LDevID made in its TPM), offloads, and the recording reaches the rig's Swift
# intact and verifies as signed by this camera's factory key. From the host the data disk is
# LUKS2 aes-xts-plain64 512-bit and holds no plaintext (the recording's marker is absent).
# With its TPM cleared, or with another camera's data disk, it does not unlock: a clear
# message, no daemon, the data left encrypted and untouched. Factory default keeps the
# factory identity and forgets the LDevID.

import os
import re
import shutil
import sys
import time
from pathlib import Path

import emslib
import json
import offloadlib as ol
import rigtest
import vmlib

MARKER = "BWC-VM-MARKER-%d" % os.getpid()
# a PEM private key with a body (library strings name the header without one)
PRIVATE_PEM = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]{40}")
FIXED_TPM, FIXED_PARENT, SENSITIVE_DATA_ORIGIN = 0x2, 0x10, 0x20


def image_dir(t):
    """The image under test: $BWC_CAMERA_IMAGE, or built now into the build dir."""
    given = os.environ.get("BWC_CAMERA_IMAGE")
    if given:
        return Path(given)
    out = t.rig.build / "camera-image"
    build = [rigtest.riglib.REPO / "image" / "build", "--build", t.rig.build]
    started = time.monotonic()
    p = t.sh(build + ["--out", out], timeout=600, quiet=True)
    if p.returncode != 0 and "--kernel candidate" in p.stdout + p.stderr:
        print("the pinned kernel is gone from Debian's mirror: building with the current one",
              flush=True)
        build += ["--kernel", "candidate"]
        p = t.sh(build + ["--out", out], timeout=600, quiet=True)
    t.require("image/build builds the camera image", p.returncode == 0,
              (p.stdout + p.stderr)[-2000:])
    print("image built in %.0f s: %s" % (time.monotonic() - started, p.stdout.splitlines()[-2]),
          flush=True)
    again = t.tmp / "image-again"
    again.mkdir()
    (again / "cache").symlink_to(out / "cache")  # the same kernel .deb, not downloaded twice
    p = t.sh(build + ["--out", again], timeout=600, quiet=True)
    same = [f for f in ("vmlinuz", "initrd.img", "sbom.txt")
            if p.returncode == 0 and (out / f).read_bytes() == (again / f).read_bytes()]
    t.check("image/build is reproducible: a second build is byte-identical (kernel, initrd, SBOM)",
            len(same) == 3, same)
    shutil.rmtree(again)
    return out


def luks_dump(t, disk):
    return t.sh(["cryptsetup", "luksDump", disk], quiet=True).stdout


def uuid_of(dump):
    m = re.search(r"^UUID:\s*(\S+)", dump, re.M)
    return m.group(1) if m else None


def contains(path, needle):
    data = Path(path).read_bytes()
    return needle.encode() in data


def private_keys_in(path):
    """Offsets of PEM private keys in a file (read in pieces: disk images are big)."""
    found, offset, tail = [], 0, b""
    with open(path, "rb") as f:
        while True:
            piece = f.read(8 << 20)
            if not piece:
                return found
            data = tail + piece
            found += [offset - len(tail) + m.start() for m in PRIVATE_PEM.finditer(data)]
            tail = data[-4096:]
            offset += len(piece)
            found = sorted(set(found))


def initrd_member(data, offset):
    """(path, bytes) of the newc cpio member of an initrd (uncompressed, maybe several
    archives one after the other) that holds byte offset."""
    i = 0
    while 0 <= i < offset and data[i:i + 6] == b"070701":
        size, namesize = int(data[i + 54:i + 62], 16), int(data[i + 94:i + 102], 16)
        name = data[i + 110:i + 109 + namesize].decode(errors="replace")
        start = (i + 110 + namesize + 3) & ~3
        if start <= offset < start + size:
            return "/" + name, data[start:start + size]
        i = (start + size + 3) & ~3
        if name == "TRAILER!!!":
            i = data.find(b"070701", i)
    return None, b""


def initrd_private_keys(image):
    """PEM private keys in the image's initrd, as (path, origin), except those inside a
    Debian package's file that is byte for byte the one installed on this host (a library's
    built-in self-test key: libgnutls has some)."""
    origins = {}
    for line in (image / "sbom.txt").read_text().splitlines():
        f = line.split()
        if not line.startswith("#") and len(f) >= 4:
            origins[f[0]] = f[3]
    data = (image / "initrd.img").read_bytes()
    found, vectors = set(), set()
    for offset in private_keys_in(image / "initrd.img"):
        path, content = initrd_member(data, offset)
        origin = origins.get(path, "?")
        packaged = "=" in origin and not origin.startswith(("bwc-system", "factory"))
        if path and packaged and Path(path).is_file() and Path(path).read_bytes() == content:
            vectors.add((path, origin))
        else:
            found.add((path, origin))
    if vectors:
        print("library self-test keys in the initrd (Debian's files, unchanged): %s"
              % sorted(vectors), flush=True)
    return sorted(found)


def keys_disk(t, disk, *request):
    """debugfs (read-only) on the keys disk image: the host's view, no mount."""
    return t.sh(["debugfs", "-R", " ".join(request), str(disk)], quiet=True).stdout


def keys_disk_names(t, disk, directory="/bwc"):
    """Names in a directory of the keys disk (debugfs `ls -p`: /inode/mode/uid/gid/name/size/)."""
    names = []
    for line in keys_disk(t, disk, "ls", "-p", directory).splitlines():
        f = line.strip().strip("/").split("/")
        if len(f) >= 5 and f[4] not in (".", ".."):
            names.append(f[4])
    return sorted(names)


def keys_disk_file(t, disk, path):
    out = t.tmp / "from-keys-disk"
    out.unlink(missing_ok=True)
    keys_disk(t, disk, "dump", path, str(out))
    return out.read_bytes() if out.exists() else b""


def blob_made_in_tpm(blob):
    """A keystore TPM blob (8-byte magic, TPM2B_PUBLIC: size, type, nameAlg, attributes)
    of a key the TPM generated and will not export."""
    want = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN
    return len(blob) > 18 and int.from_bytes(blob[14:18], "big") & want == want


def check_factory(t, image):
    """What the factory left on the host and the keys disk: keys made in the TPM only."""
    rig, v = t.rig, vmlib.vm(t.rig, 1)
    ca_key = sorted(str(p) for p in (rig.dir / "factory").iterdir()
                    if private_keys_in(p))
    t.require("the private-key detector finds the manufacturer CA's own key file", ca_key,
              sorted(os.listdir(rig.dir / "factory")))
    found = initrd_private_keys(image)
    t.check("host: no PEM private key in the initrd cam1 boots", not found, found)
    scanned = [v.keys_disk, v.data_disk] + sorted(
        p for p in v.dir.rglob("*") if p.is_file() and p not in (v.keys_disk, v.data_disk))
    found = [(str(p), private_keys_in(p)) for p in scanned]
    t.check("host: no PEM private key in cam1's keys disk, data disk or any other file of "
            "cam1 (%d files)" % len(scanned), not any(o for _, o in found),
            [f for f in found if f[1]])
    t.check("the VM boots the image's initrd itself (no per-camera initrd)",
            not (v.dir / "initrd.img").exists())
    names = [n for n in keys_disk_names(t, v.keys_disk) if n != ".tpm.lock"]
    t.check("keys disk /bwc: the factory's TPM blobs and certificates only (%s)"
            % ", ".join(names), names == sorted(vmlib.FACTORY_FILES), names)
    for key in ("idevid", "video"):
        t.check("%s was generated in cam1's TPM and cannot leave it (fixedTPM, fixedParent, "
                "sensitiveDataOrigin)" % key,
                blob_made_in_tpm(keys_disk_file(t, v.keys_disk, "/bwc/%s.tpmkey" % key)))


def check_inside(t):
    rig = t.rig
    log = rig.host("cam1").log.read_text(errors="replace")
    t.check("init formatted the volume LUKS2 and sealed its key in the TPM",
            "LUKS2 aes-xts-plain64, 512-bit key; key sealed in the TPM" in log)
    t.check("init unlocked and mounted the data volume", "mounted on /data" in log)
    listening = vmlib.listening_sockets(rig, 1)
    t.check("inside the VM nothing listens (/proc/net/tcp*, udp*, raw*)", not listening,
            listening)
    procs = vmlib.processes(rig, 1)
    print("processes in the VM: %s" % procs, flush=True)
    names = sorted(cmd.split()[0] for _, _, cmd in procs)
    t.check("the VM runs init and the camera daemon, nothing else",
            names == ["/usr/bin/bwc", "/usr/sbin/init"] or names == ["/init", "/usr/bin/bwc"],
            procs)
    t.check("the daemon runs unprivileged (uid 1000)",
            any(cmd.startswith("/usr/bin/bwc ") and uid == 1000 for _, uid, cmd in procs), procs)
    mounts = (vmlib.read_file(rig, 1, "/proc/mounts") or b"").decode()
    t.check("/data is the dm-crypt mapping", "/dev/mapper/bwc-data /data ext4" in mounts,
            mounts)
    conf = (vmlib.read_file(rig, 1, vmlib.CAMERA_CONF_IN_VM) or b"").decode()
    t.check("the daemon's keystore is the TPM (through the kernel's resource manager)",
            "keystore = tpm:device:/dev/tpmrm0;dir=/keys/bwc" in conf, conf)


def record_dock_forward(t):
    rig = t.rig
    p = t.bwc_rig("record", "cam1", "--seconds", "1", "--marker", MARKER, "--container", "mkv",
                  timeout=240)
    t.check("the recorder signs with the TPM video key (no unsigned warning)",
            "NOT signed" not in p.stdout + p.stderr, p.stdout + p.stderr)
    rid = re.search(r"recording (\S+)", p.stdout)
    sha = re.search(r"clip 0001 \S+ size (\d+) sha256 ([0-9a-f]{64})", p.stdout)
    t.require("bwc-record records in the VM", p.returncode == 0 and rid and sha, p.stdout)
    rid, size, sha = rid.group(1), int(sha.group(1)), sha.group(2)
    mark = t.log_size("cam1")
    t.dock(1)
    t.require("cam1 enrols and offloads", ol.wait_offloaded(t, 1, mark, 120))
    st = rig.camera_state(1) or {}
    t.check("cam1 enrolled with its IDevID from the TPM",
            st.get("renewals") == 1 and st.get("last_result") == "enrolled", st)
    off = st.get("offload") or {}
    t.check("offload: the clip sent and receipted",
            off.get("clips_receipted") == 1 and off.get("bytes_sent", 0) >= size, off)
    states = emslib.wait_forwarded(t, [rid], 120)
    t.require("the recording is complete at the destination", states.get(rid) == "complete",
              states)
    inv = emslib.inventory(rig) or {}
    recs = emslib.recording_containers(inv)
    objs = [(c, o) for c, v in recs.items() for o in emslib.clip_objects(v["objects"])]
    t.require("one clip object at the destination", len(objs) == 1, objs)
    t.check("and the camera's video-signing certificate beside it",
            any(o.endswith(emslib.SIGNING_CERT_SUFFIX) for v in recs.values()
                for o in v["objects"]), recs)
    got = emslib.download(rig, objs[0][0], objs[0][1], t.tmp / "dl.bin")
    t.check("the destination's object is the recorded clip (size, SHA-256)",
            got and got.get("sha256") == sha and got.get("size") == size, got)
    t.check("the marker is in what reached the destination", contains(t.tmp / "dl.bin", MARKER))
    clip = t.tmp / "dl.mkv"
    (t.tmp / "dl.bin").rename(clip)
    p = t.sh([rig.binary("signed-video/bwc-verify"), clip, "--json", "--trust",
              rig.dir / "factory" / "manufacturer-root.pem", "--cert",
              vmlib.vm(rig, 1).factory_keys / "video.pem"], quiet=True)
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        rep = {}
    t.check("the destination's clip verifies: valid, signed by cam1's TPM video key, trusted "
            "to the manufacturer root (bwc-verify exit 0)",
            p.returncode == 0 and rep.get("verdict") == "valid"
            and (rep.get("trust") or {}).get("status") == "trusted", p.stdout[-800:])
    # renewal: the LDevID made afresh in the TPM at the next dock
    t.dock(1, False)
    t.dock(1)
    t.check("cam1 renews its certificate at the next dock (a new LDevID made in its TPM)",
            t.wait(1, renewals_above=1, timeout=120)
            and (rig.camera_state(1) or {}).get("last_result") == "renewed",
            rig.camera_state(1))


def check_disk_from_host(t):
    v = vmlib.vm(t.rig, 1)
    t.require("cam1 powers off cleanly", t.bwc_rig("stop", "cam1").returncode == 0)
    dump = luks_dump(t, v.data_disk)
    print(dump[:600], flush=True)
    t.check("host: the data disk is LUKS2", re.search(r"^Version:\s*2$", dump, re.M), dump[:200])
    t.check("host: cipher aes-xts-plain64, 512-bit key",
            re.search(r"Cipher:\s*aes-xts-plain64", dump)
            and re.search(r"Cipher key:\s*512 bits", dump), dump)
    for disk in (v.data_disk, v.keys_disk):
        t.check("host: the marker is absent from the raw %s" % disk.name,
                not contains(disk, MARKER))
        t.check("host: no PEM private key in %s after enrolment and renewal" % disk.name,
                not private_keys_in(disk))
    names = keys_disk_names(t, v.keys_disk)
    t.check("keys disk /bwc after docking: the LDevID is a TPM blob (ldevid.tpmkey), no key "
            "file (%s)" % ", ".join(names),
            "ldevid.tpmkey" in names and all(n.endswith((".tpmkey", ".pem", ".tpm.lock"))
                                             for n in names), names)
    t.check("the LDevID was generated in cam1's TPM and cannot leave it",
            blob_made_in_tpm(keys_disk_file(t, v.keys_disk, "/bwc/ldevid.tpmkey")))
    sealed = keys_disk_names(t, v.keys_disk, "/ks")
    t.check("keys disk /ks: init's sealed data-volume key only (%s)" % ", ".join(sealed),
            [n for n in sealed if n != ".tpm.lock"] == ["data-volume.tpmseal"], sealed)
    return uuid_of(dump)


def failed_boot(t, what, expect):
    """Boots cam1 expecting init to refuse to unlock; checks message and locked data."""
    rig = t.rig
    p = t.bwc_rig("restart", "cam1", timeout=240)
    out = p.stdout + p.stderr
    t.check("%s: the boot stops with a clear message (%s)" % (what, expect),
            p.returncode != 0 and "FAILED: cannot unlock" in out and expect in out, out[-800:])
    mounts = (vmlib.read_file(rig, 1, "/proc/mounts") or b"").decode()
    procs = vmlib.processes(rig, 1)
    t.check("%s: nothing mounted on /data, no daemon" % what,
            " /data " not in mounts and not any("bwc" in c for _, _, c in procs), procs)
    t.bwc_rig("stop", "cam1")


def check_refusals(t, uuid_a):
    v = vmlib.vm(t.rig, 1)
    keep = t.tmp / "camera-a"
    keep.mkdir()
    for f in (v.keys_disk, v.data_disk):
        shutil.copyfile(f, keep / f.name)
    shutil.copytree(v.tpm_dir, keep / "tpm")

    # the keystore (TPM) cleared: the sealed key belongs to a TPM that no longer exists
    shutil.rmtree(v.tpm_dir)
    failed_boot(t, "TPM cleared", "sealed by another TPM")
    t.check("TPM cleared: the data disk was left as it was (same LUKS2 UUID, not reformatted)",
            uuid_of(luks_dump(t, v.data_disk)) == uuid_a)

    # camera B: from the factory (a new TPM with its identity, its keys disk), a blank data
    # disk; it provisions a volume of its own
    vmlib.factory_provision(t.rig, 1)
    with open(v.data_disk, "wb") as fh:
        fh.truncate(vmlib.DATA_DISK_BYTES)
    p = t.bwc_rig("restart", "cam1", timeout=240)
    t.require("a second camera (new TPM and identity, blank data disk) provisions its own "
              "volume", p.returncode == 0, p.stdout[-500:])
    t.bwc_rig("stop", "cam1")
    uuid_b = uuid_of(luks_dump(t, v.data_disk))
    t.check("camera B's volume is another LUKS2 volume", uuid_b and uuid_b != uuid_a)

    # camera A (its TPM and keys disk) with camera B's data disk
    shutil.rmtree(v.tpm_dir)
    shutil.copytree(keep / "tpm", v.tpm_dir)
    shutil.copyfile(keep / v.keys_disk.name, v.keys_disk)
    failed_boot(t, "another camera's data disk", "belongs to another camera")
    t.check("another camera's disk: left as it was (its own UUID)",
            uuid_of(luks_dump(t, v.data_disk)) == uuid_b)

    # factory default: crypto-erase, a new sealed key, a new volume; the camera runs again
    os.environ["BWC_VM_CMDLINE"] = "bwc.factory_default=1"
    mark = t.log_size("cam1")
    p = t.bwc_rig("restart", "cam1", timeout=240)
    del os.environ["BWC_VM_CMDLINE"]
    log = t.log_since("cam1", mark)
    t.check("factory default: crypto-erased, provisioned afresh, the daemon runs",
            p.returncode == 0 and "factory default: crypto-erase of the data volume: done" in log
            and "first boot: provisioning" in log, log[-800:])
    t.bwc_rig("stop", "cam1")
    names = keys_disk_names(t, v.keys_disk)
    t.check("factory default: the factory identity stays, the LDevID is gone (%s)"
            % ", ".join(names), [n for n in names if n != ".tpm.lock"]
            == sorted(vmlib.FACTORY_FILES), names)
    uuid_c = uuid_of(luks_dump(t, v.data_disk))
    t.check("factory default: a new LUKS2 volume", uuid_c and uuid_c not in (uuid_a, uuid_b))


def body(t):
    image = image_dir(t)
    started = time.monotonic()
    t.up(1, "--image", str(image))
    print("rig up with a VM camera in %.1f s" % (time.monotonic() - started), flush=True)
    check_factory(t, image)
    check_inside(t)
    record_dock_forward(t)
    uuid_a = check_disk_from_host(t)
    check_refusals(t, uuid_a)


def main():
    if os.geteuid() == 0:
        ok, why = vmlib.usable()
        if not ok:
            print("skipped: cannot run the camera as a VM here: %s" % why, flush=True)
            return rigtest.SKIP
    return rigtest.RigTest("vm_camera").main(body)


if __name__ == "__main__":
    sys.exit(main())
