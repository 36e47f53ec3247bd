#!/bin/sh
# test-bwc-pki.sh - runs bwc-pki factory-init/provision/issue/csr/pin end to
# end in a temporary directory and checks every output with openssl.
PKI=${1:?usage: test-bwc-pki.sh path/to/bwc-pki}
T=$(mktemp -d /tmp/bwc-pki-test.XXXXXX) || exit 2
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { if "$@" >/dev/null 2>&1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $*" >&2; fi; }
no() { if "$@" >/dev/null 2>&1; then fail=$((fail + 1)); echo "FAILED (should fail): $*" >&2; else pass=$((pass + 1)); fi; }
text() { openssl x509 -noout -text -in "$1" | grep -q -- "$2"; }
mode() { test "$(stat -c %a "$1")" = "$2"; }
rc() { want=$1; shift; "$@" >/dev/null 2>&1; test $? -eq "$want"; }

ok "$PKI" factory-init --dir "$T/f" --name Acme
ok mode "$T/f/manufacturer-root.key" 600
ok text "$T/f/manufacturer-root.pem" "CA:TRUE"
ok text "$T/f/manufacturer-root.pem" "Subject: O = Acme, CN = Acme Manufacturer Root"
ok rc 1 "$PKI" factory-init --dir "$T/f"
ok "$PKI" provision --factory "$T/f" --serial CAM-42 --keystore "$T/ks"
ok mode "$T/ks/idevid.key" 600
ok openssl verify -CAfile "$T/ks/manufacturer-root.pem" -purpose sslclient "$T/ks/idevid.pem"
ok text "$T/ks/idevid.pem" "serialNumber = CAM-42"
ok cmp "$T/f/manufacturer-root.pem" "$T/ks/manufacturer-root.pem"
ok rc 1 "$PKI" provision --factory "$T/f" --serial CAM-42 --keystore "$T/ks"
ok rc 2 "$PKI" provision --factory "$T/f" --serial "bad serial" --keystore "$T/ks2"
# The key in the keystore belongs to the certificate.
ok test "$(openssl pkey -in "$T/ks/idevid.key" -pubout)" = "$(openssl x509 -in "$T/ks/idevid.pem" -pubkey -noout)"

ok "$PKI" issue --profile system-ca --cn "Site A CA" --org "Site A" --out-key "$T/ca.key" --out-cert "$T/ca.pem"
ok "$PKI" issue --profile system-ca --cn "Site B CA" --org "Site B" --out-key "$T/cb.key" --out-cert "$T/cb.pem"
ok "$PKI" issue --ca-key "$T/ca.key" --ca-cert "$T/ca.pem" --profile ldevid --serial CAM-42 --days 30 --out-key "$T/l.key" --out-cert "$T/l.pem"
ok "$PKI" issue --ca-key "$T/ca.key" --ca-cert "$T/ca.pem" --profile server --cn controller --out-key "$T/s.key" --out-cert "$T/s.pem"
ok "$PKI" issue --ca-key "$T/ca.key" --ca-cert "$T/ca.pem" --profile ldevid --serial CAM-42 --not-before 2020-01-01T00:00:00Z --not-after 2021-01-01T00:00:00Z --out-key "$T/old.key" --out-cert "$T/old.pem"
ok "$PKI" issue --ca-key "$T/cb.key" --ca-cert "$T/cb.pem" --profile ldevid --serial CAM-42 --out-key "$T/other.key" --out-cert "$T/other.pem"
ok openssl verify -CAfile "$T/ca.pem" -purpose sslclient "$T/l.pem"
ok openssl verify -CAfile "$T/ca.pem" -purpose sslserver "$T/s.pem"
ok text "$T/l.pem" "Subject: O = Site A, CN = CAM-42, serialNumber = CAM-42"
ok text "$T/old.pem" "Not After : Jan  1 00:00:00 2021 GMT"
no openssl verify -CAfile "$T/ca.pem" "$T/old.pem"
no openssl verify -CAfile "$T/ca.pem" "$T/other.pem"
no openssl verify -CAfile "$T/f/manufacturer-root.pem" "$T/l.pem"
ok rc 1 "$PKI" issue --ca-key "$T/cb.key" --ca-cert "$T/ca.pem" --profile ldevid --serial X --out-key "$T/x.key" --out-cert "$T/x.pem"
ok rc 1 "$PKI" issue --ca-key "$T/ca.key" --ca-cert "$T/ca.pem" --profile ldevid --serial CAM-43 --out-key "$T/l.key" --out-cert "$T/y.pem"
ok rc 2 "$PKI" issue --ca-key "$T/ca.key" --ca-cert "$T/ca.pem" --profile nope --serial X --out-key "$T/z.key" --out-cert "$T/z.pem"
ok rc 2 "$PKI" issue --ca-key "$T/ca.key" --ca-cert "$T/ca.pem" --profile server --out-key "$T/z.key" --out-cert "$T/z.pem"

ok "$PKI" csr --key "$T/l.key" --serial CAM-42 --out "$T/l.csr"
ok openssl req -in "$T/l.csr" -verify -noout
ok sh -c "openssl req -in '$T/l.csr' -noout -subject | grep -q 'serialNumber = CAM-42'"
want=$(openssl x509 -in "$T/s.pem" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -c1-64)
ok test "$("$PKI" pin "$T/s.pem")" = "$want"
ok rc 1 "$PKI" pin "$T/missing.pem"
ok rc 2 "$PKI"
ok rc 2 "$PKI" frobnicate

echo "$pass passed, $fail failed"
test "$fail" -eq 0
