#!/usr/bin/python3
# Forwarding with WantEncryption (bwc-rig up --encrypt): a recording made before the first
# dock is encrypted by the controller's forwarder, one made after it by the camera. Each
# clip arrives with a .key object; stock openssl (RSA-OAEP unwrap, AES-256-CBC) and
# bwc-envelope decrypt both give back the plaintext whose SHA-256 is the object's Sha256 and
# the camera's; the camera-encrypted recording's marker is in the decrypted object and never
# in any file under the controller's directory (scanned every 0.2 s during the offload).

import base64
import hashlib
import json
import secrets
import threading

import emslib
import offloadlib as ol
import rigtest


def scan_for(root, needle):
    """Files under root whose bytes contain needle."""
    hits = []
    for p in root.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                with open(p, "rb") as f:
                    prev = b""
                    while True:
                        b = f.read(4 << 20)
                        if not b:
                            break
                        if needle in prev[-len(needle):] + b:
                            hits.append(str(p))
                            break
                        prev = b
        except OSError:
            continue
    return hits


def openssl_decrypt(t, priv, obj, keyobj, out):
    """Decrypts obj with the .key object's JSON using stock openssl; True if it worked."""
    ko = json.loads(keyobj.read_bytes())
    ek = t.tmp / "ek.bin"
    ek.write_bytes(base64.b64decode(ko["EncryptedKey"]))
    # pkeyutl's output is the raw 32-byte key
    import subprocess
    p = subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(priv), "-pkeyopt",
                        "rsa_padding_mode:oaep", "-in", str(ek)], capture_output=True)
    if p.returncode != 0:
        print("  openssl pkeyutl: %s" % p.stderr.decode(errors="replace").strip())
        return False
    key = p.stdout
    iv = base64.b64decode(ko["ContentEncryptionIV"])
    if len(key) != 32 or len(iv) != 16:
        return False
    p = t.sh(["openssl", "enc", "-d", "-aes-256-cbc", "-K", key.hex(), "-iv", iv.hex(),
              "-in", obj, "-out", out], quiet=True)
    return p.returncode == 0


def body(t):
    t.up(1, "--encrypt")
    priv = t.rig.dir / "ems" / "private.pem"
    rid1, clips1 = ol.record(t, 1, 2)
    t.require("cam1 records before its first dock", rid1 and clips1)
    doc1 = ol.recordings(t, 1)[rid1]
    t.check("recording made before the first dock is not encrypted in the camera",
            all("encryption" not in c for c in doc1["clips"]))
    mark = t.log_size("cam1")
    t.dock(1)
    t.require("cam1 renews (gets the destination key)", t.wait(1, renewals_above=0))
    t.require("cam1 offloads", ol.wait_offloaded(t, 1, mark, 90))
    t.check("camera keeps the destination key (data/destination-key.json)",
            (ol.data_dir(t, 1) / "destination-key.json").exists())
    states = emslib.wait_forwarded(t, [rid1], 60)
    t.check("first recording forwarded (controller-encrypted)", states.get(rid1) == "complete",
            states)
    t.dock(1, False)

    marker = "BWC-SECRET-MARKER-" + secrets.token_hex(8)
    p = t.bwc_rig("record", "1", "--seconds", "2", "--marker", marker, quiet=True)
    rid2 = next((ln.split()[1] for ln in p.stdout.splitlines() if ln.startswith("recording ")),
                None)
    t.require("cam1 records after the dock with a marker", p.returncode == 0 and rid2, p.stdout)
    doc2 = ol.recordings(t, 1)[rid2]
    t.check("recording made after the dock is encrypted in the camera (key object, plain_sha256)",
            all(c.get("encryption", {}).get("key_object") and c["encryption"].get("plain_sha256")
                for c in doc2["clips"]), doc2["clips"])

    ctl_dir = t.rig.dir / "controller"
    needle = marker.encode()
    hits, stop = set(), threading.Event()
    scans = [0]

    def scanner():
        while not stop.is_set():
            hits.update(scan_for(ctl_dir, needle))
            scans[0] += 1
            stop.wait(0.05)
    th = threading.Thread(target=scanner)
    th.start()
    try:
        mark = t.log_size("cam1")
        t.dock(1)
        t.check("cam1 offloads the camera-encrypted recording", ol.wait_offloaded(t, 1, mark, 90))
        states = emslib.wait_forwarded(t, [rid2], 60)
        t.check("camera-encrypted recording forwarded", states.get(rid2) == "complete", states)
    finally:
        stop.set()
        th.join()
    hits.update(scan_for(ctl_dir, needle))
    t.check("the marker was never in any file under D/controller (staging, registry, logs; "
            "%d scans during the offload)" % scans[0], not hits and scans[0] >= 2, sorted(hits))

    inv = emslib.recording_containers(emslib.inventory(t.rig))
    for rid, doc, by in ((rid1, doc1, "controller"), (rid2, doc2, "camera")):
        cont = [c for c in inv if any(o.endswith("_%s.mkv" % rid[:8]) for o in inv[c]["objects"])]
        if not t.check("%s (%s-encrypted): one container" % (rid[:8], by), len(cont) == 1, cont):
            continue
        c = inv[cont[0]]
        for clip in doc["clips"]:
            oname = emslib.object_name(clip["start"], rid, clip["container"])
            kname = oname.rsplit(".", 1)[0] + ".key"
            plain_sha = clip["encryption"]["plain_sha256"] if by == "camera" else clip["sha256"]
            t.check("%s/%s: clip object and .key object present" % (rid[:8], clip["clip_id"]),
                    oname in c["objects"] and kname in c["objects"], sorted(c["objects"]))
            if oname not in c["objects"] or kname not in c["objects"]:
                continue
            oh = c["objects"][oname]["headers"]
            obj, kobj = t.tmp / ("%s.obj" % rid), t.tmp / ("%s.key" % rid)
            got = emslib.download(t.rig, cont[0], oname, obj)
            emslib.download(t.rig, cont[0], kname, kobj)
            t.check("%s/%s: metadata EncryptedBy %s" % (rid[:8], clip["clip_id"], by),
                    oh.get("x-object-meta-encryptedby") == by, oh.get("x-object-meta-encryptedby"))
            t.check("%s/%s: metadata PublicKeyId rig-ems-key-1, CipherSha256 = the object's "
                    "SHA-256, ETag = its MD5" % (rid[:8], clip["clip_id"]),
                    got and oh.get("x-object-meta-publickeyid") == "rig-ems-key-1"
                    and oh.get("x-object-meta-ciphersha256") == got["sha256"]
                    and got["md5"] == got["etag"],
                    {k: v for k, v in oh.items() if k.startswith("x-object-meta-")})
            if by == "camera":
                t.check("%s/%s: the object is exactly the camera's ciphertext (sha256 of "
                        "recording.json)" % (rid[:8], clip["clip_id"]),
                        got and got["sha256"] == clip["sha256"])
            out = t.tmp / ("%s.openssl.mkv" % rid)
            ok = openssl_decrypt(t, priv, obj, kobj, out)
            data = out.read_bytes() if ok else b""
            t.check("%s/%s: openssl pkeyutl (OAEP) + enc -aes-256-cbc: SHA-256 = Sha256 metadata "
                    "= the camera's plaintext" % (rid[:8], clip["clip_id"]),
                    ok and hashlib.sha256(data).hexdigest() == oh.get("x-object-meta-sha256")
                    == plain_sha, (hashlib.sha256(data).hexdigest(), plain_sha))
            out2 = t.tmp / ("%s.envelope.mkv" % rid)
            p = t.sh([t.rig.binary("controller/bwc-envelope"), "decrypt", "--key", priv, obj,
                      "--key-object", kobj, "-o", out2])
            t.check("%s/%s: bwc-envelope decrypt gives the same plaintext"
                    % (rid[:8], clip["clip_id"]),
                    p.returncode == 0 and out2.exists() and out2.read_bytes() == data and data)
            if by == "camera":
                t.check("%s: the marker is in the decrypted object" % rid[:8], needle in data)
                t.check("%s: ... and not in the ciphertext object" % rid[:8],
                        needle not in obj.read_bytes())
    t.check("staging emptied", not ol.ready_files(t), ol.ready_files(t))
    t.check("bwcctl audit verify", t.bwcctl("audit", "verify").returncode == 0)


if __name__ == "__main__":
    rigtest.run("forward_encrypt", body)
