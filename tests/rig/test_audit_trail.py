#!/usr/bin/python3
# The custody audit trail after an offload: `bwcctl audit verify` passes; one byte edited in
# a middle line, one line deleted, two lines swapped (each on a copy put in place) make it
# fail naming the entry; the original file put back passes again.

import re
import shutil

import offloadlib as ol
import rigtest


def verify(t, label, tampered_line=None, seqs=()):
    p = t.bwcctl("audit", "verify")
    out = p.stdout + p.stderr
    if tampered_line is None:
        t.check("%s: audit verify passes" % label, p.returncode == 0, out.strip())
        return
    m = re.search(r"line (\d+) \(seq (\d+)\)", out)
    t.check("%s: audit verify fails" % label, p.returncode != 0, out.strip())
    t.check("%s: the message names line %d (seq %s)" % (label, tampered_line,
                                                         "/".join(map(str, seqs))),
            m is not None and int(m.group(1)) == tampered_line and int(m.group(2)) in seqs,
            out.strip())


def body(t):
    t.up(1, "--no-ems")   # offload into staging only: no forwarder destination empties it
    for seconds, nbytes in ((2, None), (1, 8 * ol.MIB), (2, None)):
        ol.record(t, 1, seconds, nbytes)
    mark = t.log_size("cam1")
    t.dock(1)
    t.require("cam1 offloads its 3 recordings", ol.wait_offloaded(t, 1, mark, 120) and
              len(ol.receipts(t, 1)) == 3)
    t.dock(1, False)
    t.wait_for(lambda: t.camera(1).get("docked") is False, 10)
    t.require("controller stopped (nothing appends while the file is tampered with)",
              t.bwc_rig("stop", "controller").returncode == 0)

    log = ol.ctl_state(t) / "audit.log"
    original = log.read_bytes()
    keep = t.tmp / "audit.log.orig"
    keep.write_bytes(original)
    lines = original.splitlines(keepends=True)
    t.require("the audit trail has at least 8 entries (%d)" % len(lines), len(lines) >= 8)
    commits = [i for i, line in enumerate(lines) if b'"event":"commit"' in line]
    t.check("the audit trail has the 3 commits", len(commits) == 3, len(commits))
    verify(t, "untouched")

    mid = len(lines) // 2          # 0-based index of a middle line; line number mid + 1
    seq = mid + 1

    def put(data):
        tmp = log.with_name("audit.log.tampered")
        tmp.write_bytes(data)
        shutil.copymode(keep, tmp)
        tmp.replace(log)

    # one byte of the middle line's note, changed to another letter: still valid JSON
    line = bytearray(lines[mid])
    at = line.index(b'"note":"') + len(b'"note":"') + 2
    line[at] = ord("x") if line[at] != ord("x") else ord("y")
    put(b"".join(lines[:mid]) + bytes(line) + b"".join(lines[mid + 1:]))
    verify(t, "one byte of line %d edited" % seq, seq, (seq,))
    put(original)
    verify(t, "restored after the edit")

    put(b"".join(lines[:mid]) + b"".join(lines[mid + 1:]))
    verify(t, "line %d deleted" % seq, seq, (seq,))
    put(original)
    verify(t, "restored after the deletion")

    swapped = lines[:mid] + [lines[mid + 1], lines[mid]] + lines[mid + 2:]
    put(b"".join(swapped))
    verify(t, "lines %d and %d swapped" % (seq, seq + 1), seq, (seq, seq + 1))
    put(original)
    verify(t, "restored after the swap")
    t.check("the restored file is byte for byte the original", log.read_bytes() == original)
    t.require("controller started again", t.bwc_rig("restart", "controller").returncode == 0)
    verify(t, "after the controller's restart")


if __name__ == "__main__":
    rigtest.run("audit_trail", body)
