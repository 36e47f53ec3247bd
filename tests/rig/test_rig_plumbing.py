#!/usr/bin/python3
# The rig itself: namespaces, the bridge dock, sysctls, the clock, exec, and a `down`
# that leaves nothing behind.

import json
import os
import time
from pathlib import Path

import rigtest


def link(t, netns, name):
    p = t.sh(["ip", "-n", netns, "-j", "-d", "link", "show", name], quiet=True)
    try:
        return json.loads(p.stdout)[0]
    except (ValueError, IndexError):
        return {}


def sysctl(t, netns, key):
    p = t.sh(["ip", "netns", "exec", netns, "sysctl", "-n", key], quiet=True)
    return p.stdout.strip()


def same_netns(pid, netns):
    try:
        return os.stat("/proc/%d/ns/net" % pid).st_ino == os.stat("/run/netns/" + netns).st_ino
    except (OSError, TypeError):
        return False


def rig_processes(t):
    """Processes whose command line names this rig's state dir."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(t.rig.dir) in cmdline and "bwc-rig" not in cmdline:
            found.append("%s: %s" % (entry.name, cmdline.strip()))
    return found


def check_network(t):
    rig = t.rig
    ours = set(rigtest.riglib.netns_list())
    for role in ("dock", "ctl", "cam1", "cam2"):
        t.check("namespace %s exists" % rig.ns(role), rig.ns(role) in ours)
    dock = rig.ns("dock")
    br = link(t, dock, "br0")
    info = br.get("linkinfo", {}).get("info_data", {})
    t.check("br0 is a bridge, up", br.get("linkinfo", {}).get("info_kind") == "bridge"
            and "UP" in br.get("flags", []), br.get("flags"))
    t.check("br0 multicast snooping is off", info.get("mcast_snooping") == 0, info)
    t.check("IPv6 is disabled on br0",
            sysctl(t, dock, "net.ipv6.conf.br0.disable_ipv6") == "1")
    ctl = link(t, dock, "ctl")
    t.check("bridge port ctl is enslaved and up",
            ctl.get("master") == "br0" and "UP" in ctl.get("flags", []), ctl.get("flags"))
    for i in (1, 2):
        port = link(t, dock, "cam%d" % i)
        t.check("bridge port cam%d is enslaved and down (undocked)" % i,
                port.get("master") == "br0" and "UP" not in port.get("flags", []))
        cam = rig.ns("cam%d" % i)
        d0 = link(t, cam, "dock0")
        t.check("cam%d dock0 is admin up without carrier" % i,
                "UP" in d0.get("flags", []) and "LOWER_UP" not in d0.get("flags", []),
                d0.get("flags"))
        for key, want in (("dock0.accept_ra", "1"), ("dock0.accept_ra_defrtr", "1"),
                          ("dock0.forwarding", "0"), ("dock0.accept_dad", "0"),
                          ("all.accept_dad", "0"), ("default.accept_dad", "0")):
            got = sysctl(t, cam, "net.ipv6.conf." + key)
            t.check("cam%d net.ipv6.conf.%s = %s" % (i, key, want), got == want, got)
    t.check("controller ctl0 has accept_dad 0",
            sysctl(t, rig.ns("ctl"), "net.ipv6.conf.ctl0.accept_dad") == "0")


def check_processes(t):
    s = t.status()
    ctl = s.get("controller", {})
    t.check("status has the controller fields",
            set(ctl) >= {"pid", "address", "port", "system_id", "running"}, sorted(ctl))
    t.check("controller is running in %s" % t.rig.ns("ctl"),
            ctl.get("running") and same_netns(ctl.get("pid"), t.rig.ns("ctl")), ctl)
    addr = ctl.get("address") or ""
    t.check("controller reports a link-local address on ctl0",
            addr.startswith("fe80:") and addr.endswith("%ctl0") and ctl.get("port") == 4433,
            "%s port %s" % (addr, ctl.get("port")))
    cams = s.get("cameras", [])
    t.check("status lists 2 cameras", len(cams) == 2)
    for i, c in enumerate(cams, 1):
        t.check("cam%d status fields" % i, set(c) >= {
            "name", "serial", "pid", "docked", "standing", "not_after", "renewals",
            "last_result", "running"}, sorted(c))
        t.check("cam%d (%s) runs in its namespace, undocked" % (i, c.get("serial")),
                c.get("running") and same_netns(c.get("pid"), t.rig.ns("cam%d" % i))
                and c.get("docked") is False and c.get("serial") == "RIG%05d" % i, c)
    clock = s.get("clock", {})
    t.check("clock starts at offset 0", clock.get("offset_days") == 0 and clock.get("now"), clock)
    return addr.split("%")[0]


def check_dock(t, ctl_addr):
    cam = t.rig.ns("cam1")
    t.require("dock 1", t.bwc_rig("dock", "1").returncode == 0)
    t.check("docked: cam1 dock0 has carrier",
            "LOWER_UP" in link(t, cam, "dock0").get("flags", []))
    t.check("status shows cam1 docked, cam2 not",
            [c.get("docked") for c in t.status().get("cameras", [])] == [True, False])

    def default_route():
        p = t.sh(["ip", "-n", cam, "-6", "-j", "route", "show", "default"], quiet=True)
        try:
            return [r for r in json.loads(p.stdout) if r.get("gateway") == ctl_addr]
        except ValueError:
            return []
    t.check("cam1 learns a default route via the controller (%s) from its RAs" % ctl_addr,
            t.wait_for(default_route, 15), t.sh(["ip", "-n", cam, "-6", "route"]).stdout)
    t.require("undock cam1", t.bwc_rig("undock", "cam1").returncode == 0)
    t.check("undocked: cam1 dock0 lost carrier",
            "LOWER_UP" not in link(t, cam, "dock0").get("flags", []))
    t.check("dock of a camera that does not exist fails",
            t.bwc_rig("dock", "3").returncode != 0)


def check_exec_and_clock(t):
    p = t.exec_in("cam1", "sh", "-c", "exit 7")
    t.check("exec passes the exit code through", p.returncode == 7, p.returncode)
    old = t.status()
    t.require("advance 1.5 days", t.bwc_rig("advance", "1.5").returncode == 0)
    s = t.status()
    t.check("clock offset is 1.5 days", abs(s.get("clock", {}).get("offset_days", 0) - 1.5)
            < 1e-6, s.get("clock"))
    p = t.exec_in("cam1", "date", "+%s")
    try:
        skew = int(p.stdout.strip()) - (time.time() + 1.5 * 86400)
    except ValueError:
        skew = None
    t.check("exec runs under the rig clock", skew is not None and abs(skew) < 60, skew)
    for name, before, after in [("controller", old["controller"], s["controller"])] + [
            (c["name"], b, c) for b, c in zip(old["cameras"], s["cameras"])]:
        t.check("%s was restarted (pid %s -> %s)" % (name, before.get("pid"), after.get("pid")),
                after.get("running") and after.get("pid") != before.get("pid"))
    try:
        env = open("/proc/%d/environ" % s["controller"]["pid"], "rb").read().split(b"\0")
    except (OSError, TypeError):
        env = []
    t.check("controller runs with FAKETIME=+129600 and libfaketime preloaded",
            b"FAKETIME=+129600" in env and any(e.startswith(b"LD_PRELOAD=") for e in env))


def check_stop_restart(t):
    t.require("stop cam2", t.bwc_rig("stop", "cam2").returncode == 0)
    t.check("cam2 is stopped", t.status()["cameras"][1].get("running") is False)
    t.require("restart cam2", t.bwc_rig("restart", "2").returncode == 0)
    t.check("cam2 runs again", t.status()["cameras"][1].get("running") is True)
    t.check("logs controller --tail 5",
            t.bwc_rig("logs", "controller", "--tail", "5").returncode == 0)


def check_down(t):
    first = t.down()
    left = [n for n in rigtest.riglib.netns_list() if n.startswith(t.rig.prefix + "-")]
    t.check("after down no namespace of the rig is left", not left, left)
    procs = rig_processes(t)
    t.check("after down no daemon of the rig is left", not procs, procs)
    second = t.bwc_rig("down")
    t.check("a second down is harmless (same exit code %d)" % first.returncode,
            second.returncode == first.returncode, second.returncode)
    t.check("status after down shows nothing running",
            not any(c.get("running") for c in t.status().get("cameras", [{}])))
    t.check("state dir kept after down", t.rig.ctl_conf.exists())


def body(t):
    t.up(2)
    p = t.bwc_rig("up", "--cameras", "2")
    t.check("a second up is refused and points at down",
            p.returncode != 0 and "down" in p.stderr, p.stderr.strip())
    check_network(t)
    addr = check_processes(t)
    check_dock(t, addr)
    check_exec_and_clock(t)
    check_stop_restart(t)
    check_down(t)


if __name__ == "__main__":
    rigtest.run("plumbing", body)
