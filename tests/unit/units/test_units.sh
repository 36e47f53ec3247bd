#!/bin/bash
# The systemd units of both daemons pass `systemd-analyze verify` (with the
# binaries of this build in place of /usr/sbin), and the camera unit denies
# every socket bind.
set -u
src=$1
build=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then echo "ok: $1"; pass=$((pass + 1)); else echo "FAIL: $1"; fail=$((fail + 1)); fi; }
sed "s|/usr/sbin/bwc-controller|$build/controller/bwc-controller|g" "$src/controller/bwc-controller.service" > "$tmp/bwc-controller.service"
sed "s|/usr/sbin/bwc |$build/bwc/bwc |g" "$src/bwc/bwc.service" > "$tmp/bwc.service"
sed "s|/usr/sbin/bwcctl|$build/controller/bwcctl|g; s|/usr/sbin/cryptsetup|$(command -v cryptsetup || echo /sbin/cryptsetup)|g" \
	"$src/controller/bwc-staging.service" > "$tmp/bwc-staging.service"
for u in bwc-controller bwc bwc-staging; do
	out=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/$u.service" 2>&1)
	check "$u.service verifies${out:+: $out}" '[ -z "$out" ]'
done
check "controller unit may open the TPM and no other device" 'grep -qx "DevicePolicy=closed" "$src/controller/bwc-controller.service" && [ "$(grep -c "^DeviceAllow=" "$src/controller/bwc-controller.service")" = 1 ] && grep -qx "DeviceAllow=/dev/tpmrm0 rw" "$src/controller/bwc-controller.service"'
check "controller unit lets the CA process read its mode-0000 key blob at start (CAP_DAC_READ_SEARCH), and no more than it needs" 'grep -qx "CapabilityBoundingSet=CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SETUID CAP_SETGID" "$src/controller/bwc-controller.service"'
check "controller unit reloads with SIGHUP (a new TLS server key)" 'grep -qx "ExecReload=/bin/kill -HUP \$MAINPID" "$src/controller/bwc-controller.service"'
check "controller unit requires the staging volume" 'grep -qx "Requires=bwc-staging.service" "$src/controller/bwc-controller.service"'
check "camera unit denies binding any socket" 'grep -qx "SocketBindDeny=any" "$src/bwc/bwc.service"'
check "camera unit has no capabilities" 'grep -qx "CapabilityBoundingSet=" "$src/bwc/bwc.service"'
check "camera unit allows no IPv4" '! grep "^RestrictAddressFamilies=" "$src/bwc/bwc.service" | grep -q AF_INET\\b'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
