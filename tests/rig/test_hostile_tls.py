#!/usr/bin/python3
# Hostile TLS on the dock: a certificate chain of another system, an expired factory
# identity, TLS 1.2 and 1.1 clients, a TLS 1.3 "renegotiation" (s_client's R command), 20
# half-open TCP connections that never start a handshake, and a slowloris request head
# (one byte per second). With [limits] handshake_timeout_ms = 2000 and idle_timeout_ms =
# 3000, each is refused or closed with its reason in the controller log, nothing of it is
# staged, and a normal camera offloading meanwhile gets its recording through intact.

import subprocess
import time

import hostilelib as hl
import offloadlib as ol
import rigtest

NORMAL_SIZE = 512 * ol.MIB
HANDSHAKE_MS = 2000
IDLE_MS = 3000
REQUEST = (r"POST /v1/offload/plan HTTP/1.1\r\nHost: controller\r\nDock-Protocol: 1\r\n"
           r"Content-Type: application/json\r\nContent-Length: 36\r\n\r\n"
           r'{"recordings":0,"clips":0,"bytes":0}')


def make_foreign(t, d):
    """An LDevID for RIG00002 from a second system CA, and an expired IDevID (as PEM chains)."""
    d.mkdir(parents=True, exist_ok=True)
    pki = t.rig.binary("certs/tool/bwc-pki")
    fac = t.rig.dir / "factory"
    ok = all(t.sh(s, quiet=True).returncode == 0 for s in [
        [pki, "issue", "--profile", "system-ca", "--cn", "Other System CA", "--days", "365",
         "--out-key", d / "other-ca.key", "--out-cert", d / "other-ca.pem"],
        [pki, "issue", "--ca-key", d / "other-ca.key", "--ca-cert", d / "other-ca.pem",
         "--profile", "ldevid", "--serial", "RIG00002", "--days", "28",
         "--out-key", d / "foreign.key", "--out-cert", d / "foreign.pem"],
        [pki, "issue", "--ca-key", fac / "manufacturer-root.key", "--ca-cert",
         fac / "manufacturer-root.pem", "--profile", "idevid", "--serial", "RIG00009",
         "--not-before", "2020-01-01T00:00:00Z", "--not-after", "2021-01-01T00:00:00Z",
         "--out-key", d / "expired.key", "--out-cert", d / "expired.pem"]])
    t.require("made a second system CA with an LDevID for RIG00002, and an expired IDevID", ok)
    (d / "foreign-chain.pem").write_text((d / "foreign.pem").read_text() +
                                         (d / "other-ca.pem").read_text())
    (d / "expired-chain.pem").write_text((d / "expired.pem").read_text() +
                                         (fac / "manufacturer-root.pem").read_text())


def s_client(t, cam, addr, opts, stdin_script):
    cert, key = hl.identity(t, cam)
    script = ('(%s) | openssl s_client -connect "[%s%%dock0]:4433" -cert "%s" -key "%s" %s'
              % (stdin_script, addr, cert, key, opts))
    return t.exec_in("cam%d" % cam, "sh", "-c", script, timeout=40, quiet=True)


def session(t, cam, addr, hostile, command):
    """s_client TLS 1.3 session that types command, then sends REQUEST; (output, closes)."""
    mark = t.log_size("controller")
    p = s_client(t, cam, addr, "-tls1_3",
                 "sleep 1; echo %s; sleep 1; printf '%%s'; sleep 2" % command % REQUEST)
    out = p.stdout + p.stderr
    closed = t.wait_for(lambda: [v for k, v in hl.closes(t, mark).items()
                                 if k[0] == hostile and v["peer"] == "RIG00002"], 10)
    print("%s: exit %d; %s; controller: %s" % (command, p.returncode, [
        ln for ln in out.splitlines() if "RENEG" in ln or "KEYUPDATE" in ln or
        "HTTP/1.1" in ln][:3], closed), flush=True)
    return out, closed


def new_failures(t, addr, since):
    """Close lines of failed handshakes from addr after since: [(port, reason)]."""
    return [(k[1], v["reason"]) for k, v in hl.closes(t, since).items()
            if k[0] == addr and v["handshake"] == "failed" and v["reason"] != "handshake timeout"]


def body(t):
    addr = hl.prepare(t)
    conf = t.rig.ctl_conf
    ol.set_conf(conf, "limits", "handshake_timeout_ms", HANDSHAKE_MS)
    ol.set_conf(conf, "limits", "idle_timeout_ms", IDLE_MS)
    t.require("controller restarted with handshake_timeout_ms %d, idle_timeout_ms %d"
              % (HANDSHAKE_MS, IDLE_MS), t.bwc_rig("restart", "controller").returncode == 0)
    addr = ol.controller_address(t) or addr
    key, sha = hl.record_normal(t, 1, NORMAL_SIZE)
    make_foreign(t, t.tmp / "foreign")
    before_rows = hl.registry_rows(t, "RIG00002")
    cert2, key2 = hl.identity(t, 2)

    ctl_mark, cam_mark = t.log_size("controller"), t.log_size("cam1")
    logs = {n: t.tmp / ("%s.log" % n) for n in ("halfopen", "slowloris")}
    procs = {
        "halfopen": ol.spawn_in(t, "cam2", hl.client_argv("halfopen", addr, count=20, wait=15),
                                logs["halfopen"]),
        "slowloris": ol.spawn_in(t, "cam2", hl.client_argv("slowloris", addr, cert2, key2,
                                                           wait=20), logs["slowloris"]),
    }
    t.dock(1)          # the normal camera offloads through all of this
    t0 = time.monotonic()

    # ---- a chain of another system; an expired factory identity --------------------------
    d = t.tmp / "foreign"
    res = hl.run_client(t, 2, "foreign", addr, d / "foreign-chain.pem", d / "foreign.key",
                        label="other-system", timeout=60)
    r = res[0] if res else {}
    line = hl.wait_closed(t, r, ctl_mark, 10) or {}
    print("other system: %s / controller: %s" % (r, line), flush=True)
    t.check("LDevID of another system's CA: handshake refused (handshake=failed, TLS reason), "
            "no answer", r.get("status") is None and line.get("handshake") == "failed" and
            "TLS handshake failed" in line.get("reason", "") and line.get("bytes") == 0,
            (r, line))
    res = hl.run_client(t, 2, "foreign", addr, d / "expired-chain.pem", d / "expired.key",
                        label="expired-idevid", timeout=60)
    r = res[0] if res else {}
    line = hl.wait_closed(t, r, ctl_mark, 10) or {}
    print("expired IDevID: %s / controller: %s" % (r, line), flush=True)
    t.check("expired IDevID: refused before any request (no answer, closed: \"neither from this "
            "system nor a valid factory identity\" or a TLS failure)",
            r.get("status") is None and line.get("bytes") == 0 and
            ("valid factory identity" in line.get("reason", "") or
             "TLS handshake failed" in line.get("reason", "")), (r, line))

    # ---- TLS 1.2, TLS 1.1 -------------------------------------------------------------------
    hostile_addr = r.get("addr")
    for name, opts in (("TLS 1.2", "-tls1_2"), ("TLS 1.1", "-tls1_1 -cipher DEFAULT@SECLEVEL=0")):
        mark = t.log_size("controller")
        p = s_client(t, 2, addr, opts, "printf '%s'; sleep 2" % REQUEST)
        fails = t.wait_for(lambda: new_failures(t, hostile_addr, mark), 10)
        print("%s: exit %d, controller: %s" % (name, p.returncode, fails), flush=True)
        t.check("%s client refused: no HTTP answer, controller logs a failed handshake" % name,
                p.returncode != 0 and "HTTP/1.1" not in p.stdout and fails and
                all("TLS handshake failed" in f[1] for f in fails),
                (p.returncode, (p.stdout + p.stderr)[-300:], fails))

    # ---- renegotiation attempt in TLS 1.3 -------------------------------------------------
    # TLS 1.3 has no renegotiation: s_client's R is refused by OpenSSL itself (nothing goes on
    # the wire). Its TLS 1.3 counterpart that does reach the controller is a KeyUpdate
    # asking the peer to update too (s_client's k): the session must go on answering.
    out, closed = session(t, 2, addr, hostile_addr, "R")
    t.check("TLS 1.3 \"R\": renegotiation impossible (refused by the client library, nothing "
            "sent); the controller logs a normal close (peer closed)",
            "HTTP/1.1" not in out and closed and
            all(v["reason"] == "peer closed" and v["handshake"] == "ok" for v in closed),
            (out[-300:], closed))
    out, closed = session(t, 2, addr, hostile_addr, "k")
    t.check("TLS 1.3 KeyUpdate (s_client \"k\"): the session still answers the next request, "
            "then closes normally", "HTTP/1.1 200" in out and closed and
            all(v["reason"] == "peer closed" for v in closed), (out[-300:], closed))

    # ---- half-open connections and slowloris ---------------------------------------------
    for n, proc in procs.items():
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            ol.stop_proc(proc)
    print("hostile background clients done after %.1f s" % (time.monotonic() - t0), flush=True)
    results = {}
    for n, log in logs.items():
        for line in log.read_text().splitlines():
            print("  " + line[:600])
            if line.startswith("{"):
                obj = hl.json.loads(line)
                results[obj.get("case")] = obj
    ho = results.get("halfopen", {}).get("conns", [])
    t.require("20 half-open TCP connections opened from cam2", len(ho) == 20, ho[:2])
    closes = hl.closes(t, ctl_mark)
    lines = [closes.get((c["addr"], c["port"])) or {} for c in ho]
    t.check("every half-open connection was closed by the controller within 1.5..6 s",
            all(c["closed"] and 1.5 <= c["seconds"] <= 6 for c in ho),
            [(c["port"], c["closed"], c["seconds"]) for c in ho])
    t.check("... each logged \"handshake=failed ... app_bytes_in=0 reason=handshake timeout\"",
            all(x.get("reason") == "handshake timeout" and x.get("handshake") == "failed" and
                x.get("bytes") == 0 for x in lines), lines)
    sl = results.get("slowloris", {})
    line = closes.get(hl.who(sl)) or {}
    t.check("slowloris (one byte a second) closed at the idle timeout (%d ms)" % IDLE_MS,
            sl.get("closed") and 2.5 <= (sl.get("seconds") or 0) <= 8 and
            line.get("reason") == "idle timeout" and not sl.get("got"),
            (sl, line))

    hl.check_normal(t, 1, key, sha, cam_mark)
    t.check("no bytes staged for RIG00002 or for any foreign serial",
            not hl.staged_bytes(t, "RIG00002") and not hl.staged_bytes(t, "RIG00009"))
    t.check("registry: RIG00002's rows unchanged, no RIG00009",
            hl.registry_rows(t, "RIG00002") == before_rows and
            hl.registry_rows(t, "RIG00009") == ([], []))
    t.check("controller still running", t.status().get("controller", {}).get("running"))


if __name__ == "__main__":
    rigtest.run("hostile_tls", body)
