#!/usr/bin/python3
# A camera as a VM of the real camera image (image/build): it boots, provisions and unlocks
# its LUKS2 volume with a key sealed in its (sw)TPM, starts the daemon unprivileged, listens
# on nothing, records, docks, offloads, and the recording reaches the rig's Swift intact.
# From the host the data disk is LUKS2 aes-xts-plain64 512-bit and holds no plaintext (the
# recording's marker is absent). With its TPM cleared, or with another camera's data disk,
# it does not unlock: a clear message, no daemon, the data left encrypted and untouched.

import os
import re
import shutil
import sys
import time
from pathlib import Path

import emslib
import offloadlib as ol
import rigtest
import vmlib

MARKER = "BWC-VM-MARKER-%d" % os.getpid()


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


def record_dock_forward(t):
    rig = t.rig
    p = t.bwc_rig("record", "cam1", "--seconds", "1", "--marker", MARKER, timeout=240)
    rid = re.search(r"recording (\S+)", p.stdout)
    sha = re.search(r"clip 0001 \S+ size (\d+) sha256 ([0-9a-f]{64})", p.stdout)
    t.require("bwc-record records in the VM", p.returncode == 0 and rid and sha, p.stdout)
    rid, size, sha = rid.group(1), int(sha.group(1)), sha.group(2)
    mark = t.log_size("cam1")
    t.dock(1)
    t.require("cam1 enrols and offloads", ol.wait_offloaded(t, 1, mark, 120))
    st = rig.camera_state(1) or {}
    off = st.get("offload") or {}
    t.check("offload: the clip sent and receipted",
            off.get("clips_receipted") == 1 and off.get("bytes_sent", 0) >= size, off)
    states = emslib.wait_forwarded(t, [rid], 120)
    t.require("the recording is complete at the destination", states.get(rid) == "complete",
              states)
    inv = emslib.inventory(rig) or {}
    objs = [(c, o) for c, v in emslib.recording_containers(inv).items() for o in v["objects"]]
    t.require("one object at the destination", len(objs) == 1, objs)
    got = emslib.download(rig, objs[0][0], objs[0][1], t.tmp / "dl.bin")
    t.check("the destination's object is the recorded clip (size, SHA-256)",
            got and got.get("sha256") == sha and got.get("size") == size, got)
    t.check("the marker is in what reached the destination", contains(t.tmp / "dl.bin", MARKER))


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

    # camera B: the new TPM with blank disks provisions a volume of its own
    for f, size in ((v.keys_disk, vmlib.KEYS_DISK_BYTES), (v.data_disk, vmlib.DATA_DISK_BYTES)):
        with open(f, "wb") as fh:
            fh.truncate(size)
    p = t.bwc_rig("restart", "cam1", timeout=240)
    t.require("a second camera (new TPM, blank disks) provisions its own volume",
              p.returncode == 0, p.stdout[-500:])
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
    uuid_c = uuid_of(luks_dump(t, v.data_disk))
    t.check("factory default: a new LUKS2 volume", uuid_c and uuid_c not in (uuid_a, uuid_b))


def body(t):
    image = image_dir(t)
    started = time.monotonic()
    t.up(1, "--image", str(image))
    print("rig up with a VM camera in %.1f s" % (time.monotonic() - started), flush=True)
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
