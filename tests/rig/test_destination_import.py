#!/usr/bin/python3
# `bwcctl destination import` refuses bad connection files with a message naming the field
# (oversized, wrong types, WantEncryption/FullStoreAndReadSupport true -> false, PublicKey
# missing with WantEncryption or present without it, a certificate that is not one, no
# certificate without --allow-insecure), a refusal changes nothing, and `destination show`
# never prints the BlobAPIKey.

import base64
import copy
import json

import emslib
import rigtest


def body(t):
    t.up(1)
    base = json.loads((t.rig.dir / "ems" / "connection.json").read_text())
    secret = base["BlobAPIKey"]
    _, pub = emslib.keypair(t.rig)
    pub_b64 = base64.b64encode(pub.read_bytes()).decode()
    n = [0]

    def write(doc, raw=None):
        n[0] += 1
        path = t.tmp / ("conn-%02d.json" % n[0])
        path.write_text(raw if raw is not None else json.dumps(doc))
        return path

    def variant(**changes):
        doc = copy.deepcopy(base)
        for k, v in changes.items():
            if v is None:
                doc.pop(k, None)
            else:
                doc[k] = v
        return doc

    def refused(label, doc, field, *flags, raw=None):
        p = t.bwcctl("destination", "import", write(doc, raw), *flags)
        out = p.stdout + p.stderr
        t.check("refused, naming %s: %s" % (field, label),
                p.returncode != 0 and field in out, out.strip()[-300:])

    def show_site():
        p = t.bwcctl("destination", "show", "--json", quiet=True)
        try:
            return json.loads(p.stdout).get("SiteName") or json.loads(p.stdout).get("site_name")
        except (ValueError, AttributeError):
            return p.stdout

    refused("over 64 kB", None, "64 kB", raw=json.dumps(base) + " " * 70000)
    refused("SiteName a number", variant(SiteName=5), "SiteName")
    refused("FullStoreAndReadSupport a string", variant(FullStoreAndReadSupport="yes"),
            "FullStoreAndReadSupport")
    refused("AuthenticationTokenURI a string, not a list",
            variant(AuthenticationTokenURI=base["AuthenticationTokenURI"][0]),
            "AuthenticationTokenURI")
    refused("HTTPSCertificate entry a number", variant(HTTPSCertificate=[42]), "HTTPSCertificate")
    refused("ContainerType avi", variant(ContainerType="avi"), "ContainerType")
    refused("BlobAPIKey a list", variant(BlobAPIKey=[secret]), "BlobAPIKey")
    refused("an unknown member", variant(Extra="x"), "Extra")
    refused("HTTPSCertificate not a certificate",
            variant(HTTPSCertificate=[base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnot a "
                                                       b"certificate\n-----END CERTIFICATE-----\n")
                                      .decode()]), "HTTPSCertificate")
    refused("HTTPSCertificate not base64", variant(HTTPSCertificate=["%%%not base64%%%"]),
            "HTTPSCertificate")
    refused("no HTTPSCertificate, https URI, without --allow-insecure",
            variant(HTTPSCertificate=None), "HTTPSCertificate")
    refused("no HTTPSCertificate, http URI, without --allow-insecure",
            variant(HTTPSCertificate=None, AuthenticationTokenURI=[
                base["AuthenticationTokenURI"][0].replace("https://", "http://")]),
            "HTTPSCertificate")
    refused("http:// URI with a certificate", variant(AuthenticationTokenURI=[
        base["AuthenticationTokenURI"][0].replace("https://", "http://")]),
        "AuthenticationTokenURI")
    refused("WantEncryption true without PublicKey",
            variant(WantEncryption=True, PublicKeyId="k1"), "PublicKey")
    refused("WantEncryption true without PublicKeyId",
            variant(WantEncryption=True, PublicKey=pub_b64), "PublicKeyId")
    refused("PublicKey with WantEncryption false", variant(PublicKey=pub_b64), "PublicKey")
    refused("PublicKey not base64 of a key", variant(WantEncryption=True, PublicKeyId="k1",
                                                     PublicKey="bm90IGEga2V5"), "PublicKey")
    t.check("the refusals changed nothing (destination show: the rig's site)",
            show_site() == "Rig EMS", show_site())

    enc = variant(WantEncryption=True, PublicKey=pub_b64, PublicKeyId="rig-ems-key-1")
    t.check("WantEncryption false -> true accepted",
            t.bwcctl("destination", "import", write(enc)).returncode == 0)
    refused("WantEncryption true -> false", variant(), "WantEncryption")
    full_off = copy.deepcopy(enc)
    full_off["FullStoreAndReadSupport"] = False
    refused("FullStoreAndReadSupport true -> false", full_off, "FullStoreAndReadSupport")
    p = t.bwcctl("destination", "import", write(variant(SiteName="Insecure", HTTPSCertificate=None,
                                                        WantEncryption=True, PublicKey=pub_b64,
                                                        PublicKeyId="rig-ems-key-1",
                                                        AuthenticationTokenURI=[
        base["AuthenticationTokenURI"][0].replace("https://", "http://")])), "--allow-insecure")
    t.check("no certificate and http:// accepted with --allow-insecure, with a warning",
            p.returncode == 0 and "WARNING" in p.stdout + p.stderr)
    t.check("the good file imports again", t.bwcctl("destination", "import", write(enc))
            .returncode == 0 and show_site() == "Rig EMS")
    # the running forwarder reads a newly imported destination (it opens the stored one
    # only when it changed: every 10 s it compares the sealed form)
    mark = t.log_size("controller")
    renamed = copy.deepcopy(enc)
    renamed["SiteName"] = "Rig EMS renamed"
    t.check("a renamed site imports", t.bwcctl("destination", "import", write(renamed))
            .returncode == 0 and show_site() == "Rig EMS renamed")
    t.check("the forwarder takes the renamed destination within a refresh (25 s)",
            t.wait_for(lambda: 'forward: destination "Rig EMS renamed"' in
                       t.log_since("controller", mark), 25))

    for flags in ((), ("--json",)):
        p = t.bwcctl("destination", "show", *flags)
        out = p.stdout + p.stderr
        t.check("destination show %s: no BlobAPIKey value, \"(set)\" instead" % " ".join(flags),
                p.returncode == 0 and secret not in out and "(set)" in out)
    log = (t.rig.dir / "controller" / "controller.log").read_text(errors="replace")
    t.check("the BlobAPIKey is not in the controller's log", secret not in log)
    p = t.bwcctl("audit", "show", "--json", quiet=True)
    t.check("the BlobAPIKey is not in the audit trail", p.returncode == 0 and secret not in p.stdout)


if __name__ == "__main__":
    rigtest.run("destination_import", body)
