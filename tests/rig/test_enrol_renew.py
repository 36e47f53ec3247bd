#!/usr/bin/python3
# Enrolment and renewal on the dock: a factory-new camera enrols on first docking, every
# docking renews with a fresh key, and manual enrolment waits for the administrator.

import rigtest


def verify_chain(t, index):
    p = t.sh(["openssl", "verify", "-CAfile", t.rig.ca_pem, t.rig.ldevid_cert(index)])
    t.check("openssl verifies cam%d's LDevID against the system CA" % index, p.returncode == 0)


def auto_enrol(t):
    t.up(2)
    t.dock(1)
    t.require("cam1 enrols on first docking (renewals >= 1, standing valid)",
              t.wait(1, renewals_above=0, standing="valid"))
    first = t.camera(1)
    t.check("cam1 has a certificate serial", first.get("cert_serial"), first)
    t.check("cam1 knows its controller", first.get("controller"), first)
    where = t.rig.ldevid_cert(1)
    t.check("cam1's LDevID certificate is at %s" % where, where.exists())
    t.check("cam1's LDevID key is in its keystore (its TPM: a TPM-wrapped blob)",
            (t.rig.keystore(1) / "ldevid.tpmkey").exists()
            and not (t.rig.keystore(1) / "ldevid.key").exists())
    pin1, spki1 = t.pin(1), t.spki_sha256(1)
    t.check("bwc-pki pin prints the LDevID pin", pin1)
    verify_chain(t, 1)
    t.dock(1, False)
    t.wait_for(lambda: t.camera(1).get("docked") is False, 10)
    t.dock(1)
    t.require("cam1 renews on its second docking (renewals >= 2)",
              t.wait(1, renewals_above=first.get("renewals", 1), standing="valid"))
    second = t.camera(1)
    t.check("the renewed certificate has a new serial (%s -> %s)"
            % (first.get("cert_serial"), second.get("cert_serial")),
            second.get("cert_serial") and second.get("cert_serial") != first.get("cert_serial"))
    t.check("renewal changed the key (bwc-pki pin)", pin1 and t.pin(1) and t.pin(1) != pin1)
    t.check("renewal changed the key (openssl SPKI hash)",
            spki1 and t.spki_sha256(1) and t.spki_sha256(1) != spki1)
    t.check("last_result is renewed", second.get("last_result") == "renewed", second)
    verify_chain(t, 1)
    cams = t.camera_list()
    t.check("bwcctl camera list shows RIG00001 valid",
            cams.get("RIG00001", {}).get("standing") == "valid", cams.get("RIG00001"))
    cam2 = t.camera(2)
    t.check("undocked cam2 was never enrolled",
            not cam2.get("renewals") and cam2.get("standing") in ("factory-new", None), cam2)


def manual_enrol(t):
    t.new_rig("manual")
    t.up(1, "--manual-enrol")
    t.dock(1)
    t.check("with manual enrolment cam1 is pending after docking",
            t.wait(1, standing="pending", timeout=30))
    t.check("pending cam1 got no certificate", not t.renewals(1), t.camera(1))
    cams = t.camera_list()
    t.check("bwcctl camera list shows RIG00001 waiting",
            "RIG00001" in cams, sorted(cams))
    p = t.bwcctl("camera", "enroll", "RIG00001")
    t.require("bwcctl camera enroll RIG00001", p.returncode == 0)
    t.check("after enroll cam1 enrols (renewals >= 1, valid)",
            t.wait(1, renewals_above=0, standing="valid", timeout=60))
    verify_chain(t, 1)
    p = t.bwcctl("audit", "verify")
    t.check("bwcctl audit verify", p.returncode == 0)


def body(t):
    auto_enrol(t)
    manual_enrol(t)


if __name__ == "__main__":
    rigtest.run("enrol-renew", body)
