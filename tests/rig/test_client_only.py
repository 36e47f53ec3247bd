#!/usr/bin/python3
# Cameras are TLS clients only: no listening socket in a camera, and the controller speaks
# nothing but TLS 1.3 with a client certificate.

import rigtest

REQUEST = r"GET / HTTP/1.1\r\nHost: controller\r\nConnection: close\r\n\r\n"


def s_client(t, cam, addr, *opts):
    """openssl s_client from a camera namespace; sends one request, waits 3 s for an answer."""
    script = ('(printf "%s"; sleep 3) | openssl s_client -quiet -connect "[%s%%dock0]:4433" %s'
              % (REQUEST, addr, " ".join(opts)))
    return t.exec_in(cam, "sh", "-c", script, timeout=30)


def body(t):
    t.up(2)
    for i in (1, 2):
        t.dock(i)
    for i in (1, 2):
        t.require("cam%d enrols" % i, t.wait(i, renewals_above=0, standing="valid"))
    for i in (1, 2):
        p = t.exec_in("cam%d" % i, "ss", "-ltnup")
        lines = [line for line in p.stdout.splitlines() if line.strip()]
        t.check("cam%d has no listening socket (ss -ltnup prints only its header)" % i,
                p.returncode == 0 and len(lines) == 1, lines)
    p = t.exec_in("controller", "ss", "-ltn")
    t.check("the controller listens on port 4433", ":4433" in p.stdout)

    addr = (t.status().get("controller") or {}).get("address", "").split("%")[0]
    t.require("the controller reports its address", addr.startswith("fe80:"), addr)
    p = s_client(t, "cam1", addr, "-tls1_2")
    out = p.stdout + p.stderr
    t.check("a TLS 1.2 handshake with the controller fails",
            p.returncode != 0 and "HTTP/" not in p.stdout, "exit %d" % p.returncode)
    t.check("... because of TLS, not because nothing listens",
            "Connection refused" not in out and "connect:errno" not in out)
    p = s_client(t, "cam1", addr, "-tls1_3")
    out = p.stdout + p.stderr
    t.check("TLS 1.3 without a client certificate gets no HTTP answer",
            "HTTP/" not in p.stdout, p.stdout[-300:])
    t.check("... and the connection did reach the controller",
            "Connection refused" not in out and "connect:errno" not in out)
    p = t.exec_in("cam1", "curl", "-sS", "-m", "10", "-k", "-o", "/dev/null",
                  "-w", "%{http_code}", "https://[%s%%25dock0]:4433/" % addr)
    t.check("curl without a client certificate gets no HTTP status",
            p.returncode != 0 and p.stdout.strip() in ("", "000"),
            "curl exit %d, http %s" % (p.returncode, p.stdout.strip()))


if __name__ == "__main__":
    rigtest.run("client-only", body)
