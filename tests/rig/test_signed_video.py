#!/usr/bin/python3
# Signed video (issue 7): clips recorded in the rig verify as valid with bwc-verify, every
# picture covered, the key certified by the manufacturer; each attack on a clip (a flipped
# byte, a dropped frame, two GOPs swapped, a GOP removed, frames appended, the last SEI
# removed, a truncated file) is reported invalid or incomplete naming the place; another
# camera's clip is valid but not tied to a CA without --trust, untrusted with a wrong CA or
# another camera's certificate; the clip reaches the controller byte for byte and still
# verifies there.

import json
import re
import shutil

import offloadlib as ol
import rigtest

SECONDS = 4  # 120 pictures, 4 GOPs of 30


def verify(t, clip, *args):
    """bwc-verify --json; returns (exit code, report dict)."""
    p = t.sh([t.rig.binary("signed-video/bwc-verify"), str(clip), "--json"] + [str(a) for a in args],
             quiet=True)
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        rep = {}
    print("$ bwc-verify %s %s -> exit %d, %s, %s/%s frames covered, trust %s, problems %s"
          % (clip.name, " ".join(str(a) for a in args), p.returncode, rep.get("verdict"),
             rep.get("frames_covered"), rep.get("frames"), (rep.get("trust") or {}).get("status"),
             [x["text"] for x in rep.get("problems", [])][:4]), flush=True)
    return p.returncode, rep


def names(rep, pattern):
    """Some problem's text matches pattern."""
    return any(re.search(pattern, p["text"]) for p in rep.get("problems", []))


def record(t, cam, seconds, container="mkv"):
    p = t.bwc_rig("record", str(cam), "--seconds", str(seconds), "--container", container,
                  timeout=120, quiet=True)
    m = re.search(r"^recording (\S+)", p.stdout, re.M)
    t.require("cam%d records a %d s %s clip" % (cam, seconds, container),
              p.returncode == 0 and m, p.stdout + p.stderr)
    d = ol.data_dir(t, cam) / "recordings" / m.group(1)
    return d / ("clip-0001." + container), d / "video-signing.pem", m.group(1)


def tamper(t, clip, out, *op):
    p = t.sh([t.rig.binary("tests/unit/signedvideo/sv-tamper"), clip, out] + list(op), quiet=True)
    t.require("sv-tamper %s" % " ".join(op), p.returncode == 0, p.stderr)
    return out


def attacks(t, clip, work):
    frames = SECONDS * 30
    code, rep = verify(t, tamper(t, clip, work / "flip.mkv", "flip", "40"))
    t.check("a flipped byte in frame 40: invalid, naming frame 40 and its GOP",
            code == 1 and rep.get("verdict") == "invalid" and names(rep, r"GOP 2: frame 40 differs"))
    code, rep = verify(t, tamper(t, clip, work / "drop.mkv", "drop", "50"))
    t.check("a dropped frame (50): invalid, a signed picture missing in GOP 2",
            code == 1 and names(rep, r"GOP 2: a signed picture is missing"))
    code, rep = verify(t, tamper(t, clip, work / "swap.mkv", "swap-gops", "1", "2"))
    t.check("GOPs 1 and 2 swapped: invalid, naming the GOPs out of order",
            code == 1 and names(rep, r"GOP \d+ (follows|is not linked)"))
    code, rep = verify(t, tamper(t, clip, work / "cut.mkv", "remove-gop", "1"))
    t.check("GOP 1 removed: invalid, the next GOP is not linked to the one before it",
            code == 1 and names(rep, r"not linked|GOPs missing"))
    code, rep = verify(t, tamper(t, clip, work / "append.mkv", "append", "10"))
    t.check("10 frames appended after the end: incomplete, frames %d-%d not covered"
            % (frames, frames + 9), code == 4 and rep.get("verdict") == "incomplete" and
            names(rep, r"frames %d-%d after the last signature" % (frames, frames + 9)))
    code, rep = verify(t, tamper(t, clip, work / "nolast.mkv", "strip-last-sei"))
    t.check("the last SEI removed: incomplete, the last GOP (frames 90-119) not covered",
            code == 4 and names(rep, r"frames 90-119 after the last signature")
            and rep.get("frames_covered") == frames - 30)
    data = clip.read_bytes()
    (work / "short.mkv").write_bytes(data[:len(data) * 2 // 3])
    code, rep = verify(t, work / "short.mkv")
    t.check("a truncated file is not valid (invalid or incomplete)", code in (1, 4), code)


def body(t):
    t.up(2, "--no-ems")
    work = t.tmp / "sv"
    work.mkdir()
    root = t.rig.dir / "factory" / "manufacturer-root.pem"
    clip, cert, rid = record(t, 1, SECONDS)
    t.check("the video key's certificate is kept with the recording", cert.is_file())
    shutil.copy(cert, work / "cam1-video.pem")
    text = t.sh(["openssl", "x509", "-in", cert, "-noout", "-text"], quiet=True).stdout
    t.check("its profile: video signing (nonRepudiation, no TLS client use), CN = serial",
            "Non Repudiation" in text and "Client Authentication" not in text
            and "CN = RIG00001" in text, text[:400])

    code, rep = verify(t, clip)
    t.check("the rig clip verifies valid, every one of its %d frames covered" % (SECONDS * 30),
            code == 0 and rep.get("verdict") == "valid" and rep.get("frames") == SECONDS * 30
            and rep.get("frames_covered") == SECONDS * 30 and rep.get("gops_valid") == SECONDS)
    t.check("product info names the camera (serial, firmware, manufacturer, hardware id)",
            rep.get("product") == {"serial": "RIG00001", "firmware": "0.1.0",
                                   "manufacturer": "Rig Manufacturer", "hardware_id": "BWC-1000"},
            rep.get("product"))
    t.check("without --trust the key is not tied to a manufacturer (not-checked)",
            (rep.get("trust") or {}).get("status") == "not-checked")
    code, rep = verify(t, clip, "--trust", root)
    t.check("with the manufacturer CA: trusted, exit 0",
            code == 0 and rep["trust"]["status"] == "trusted")

    mp4, _, _ = record(t, 1, 2, "mp4")
    code, rep = verify(t, mp4, "--trust", root)
    t.check("an MP4 clip verifies valid and trusted", code == 0 and rep.get("verdict") == "valid"
            and rep.get("frames_covered") == 60 and rep["trust"]["status"] == "trusted")
    attacks(t, clip, work)

    # another camera's clip
    clip2, _, _ = record(t, 2, 2)
    code, rep = verify(t, clip2)
    t.check("cam2's clip: valid, not tied to a CA without --trust",
            code == 0 and rep.get("verdict") == "valid" and rep["trust"]["status"] == "not-checked"
            and rep["product"]["serial"] == "RIG00002")
    p = t.pki("factory-init", "--dir", work / "other-factory", "--name", "Other Manufacturer")
    t.require("a second manufacturer CA", p.returncode == 0)
    code, rep = verify(t, clip2, "--trust", work / "other-factory" / "manufacturer-root.pem")
    t.check("cam2's clip with a wrong CA: untrusted (exit 5)",
            code == 5 and rep["trust"]["status"] == "untrusted" and rep["verdict"] == "valid")
    code, rep = verify(t, clip2, "--trust", root, "--cert", work / "cam1-video.pem")
    t.check("cam2's clip with cam1's certificate: untrusted, the certificate is for another key",
            code == 5 and "another key" in rep["trust"]["reason"])

    # the controller receives the clip untouched
    mark = t.log_size("cam1")
    t.dock(1)
    t.check("cam1 offloads", ol.wait_offloaded(t, 1, mark, 120))
    staged = ol.ready_files(t).get(("RIG00001", rid, "0001"))
    t.require("the clip is staged on the controller", staged is not None)
    code, rep = verify(t, staged, "--trust", root, "--cert", work / "cam1-video.pem")
    t.check("the staged copy verifies valid and trusted (not re-muxed on the way)",
            code == 0 and rep.get("frames_covered") == SECONDS * 30
            and rep["trust"]["status"] == "trusted")


if __name__ == "__main__":
    rigtest.run("signed_video", body)
