#!/usr/bin/python3
# Fault-injecting TCP relay for the rig: runs in a camera's namespace, listens on
# [::1]:PORT and forwards every connection to the controller (link-local%dock0:4433).
# Once, in the first connection whose camera->controller stream reaches --flip-at bytes,
# it flips one bit of that byte (past the TLS handshake when --flip-at is large). Every
# connection and the flip are logged on stdout.
#
#   relay.py --listen-port 14433 --to fe80::1 --interface dock0 --port 4433 --flip-at 8388608

import argparse
import selectors
import socket
import sys
import time


def log(msg):
    print("%s relay: %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Pair:
    def __init__(self, n, client, server):
        self.n, self.client, self.server = n, client, server
        self.up = 0       # camera -> controller bytes relayed
        self.down = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--to", required=True, help="controller address (IPv6)")
    ap.add_argument("--interface", default="dock0")
    ap.add_argument("--port", type=int, default=4433)
    ap.add_argument("--flip-at", type=int, default=-1, help="byte offset to corrupt, once")
    ap.add_argument("--bit", type=int, default=0)
    a = ap.parse_args()

    scope = socket.if_nametoindex(a.interface)
    lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("::1", a.listen_port))
    lsock.listen(16)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    log("listening on [::1]:%d -> [%s%%%s]:%d, flip at %d"
        % (a.listen_port, a.to, a.interface, a.port, a.flip_at))
    flipped = False
    count = 0

    def close(p, why):
        for s in (p.client, p.server):
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        log("connection %d closed (%s): %d bytes up, %d down" % (p.n, why, p.up, p.down))

    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    client, _ = lsock.accept()
                except BlockingIOError:
                    continue
                count += 1
                server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                try:
                    server.connect((a.to, a.port, 0, scope))
                except OSError as e:
                    log("connection %d: cannot reach the controller: %s" % (count, e))
                    client.close()
                    server.close()
                    continue
                client.setblocking(True)
                server.setblocking(True)
                p = Pair(count, client, server)
                sel.register(client, selectors.EVENT_READ, (p, "up"))
                sel.register(server, selectors.EVENT_READ, (p, "down"))
                log("connection %d accepted" % count)
                continue
            p, direction = key.data
            src, dst = (p.client, p.server) if direction == "up" else (p.server, p.client)
            try:
                data = src.recv(65536)
            except OSError as e:
                close(p, str(e))
                continue
            if not data:
                close(p, "%s side closed" % ("camera" if direction == "up" else "controller"))
                continue
            if direction == "up":
                if not flipped and 0 <= a.flip_at < p.up + len(data):
                    i = a.flip_at - p.up
                    data = data[:i] + bytes([data[i] ^ (1 << a.bit)]) + data[i + 1:]
                    flipped = True
                    log("connection %d: flipped bit %d of byte %d (camera -> controller)"
                        % (p.n, a.bit, a.flip_at))
                p.up += len(data)
            else:
                p.down += len(data)
            try:
                dst.sendall(data)
            except OSError as e:
                close(p, str(e))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
