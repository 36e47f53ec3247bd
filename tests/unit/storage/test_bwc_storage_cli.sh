#!/bin/bash
# test_bwc_storage_cli - the bwc-storage command on an image file: provision,
# check (right and wrong key), status, unlock (no device-mapper here), erase.
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "failed: $*" >&2; fi; }

head -c 64 /dev/urandom >"$T/key"
head -c 64 /dev/urandom >"$T/wrong"
truncate -s 32M "$T/img"
ok "$BIN" provision "$T/img" --key-file "$T/key"
ok "$BIN" check "$T/img" --key-file "$T/key"
"$BIN" check "$T/img" --key-file "$T/wrong" 2>"$T/err"
ok test $? -eq 1
ok grep -q "no key slot opens" "$T/err"
"$BIN" status "$T/img" >"$T/out"
ok grep -q "LUKS2 aes-xts-plain64, 512-bit volume key" "$T/out"
ok grep -q "key slots in use: 0$" "$T/out"
if "$BIN" unlock "$T/img" --key-file "$T/key" --name bwc-cli-test 2>"$T/err"; then
	ok "$BIN" lock bwc-cli-test
else
	ok grep -q "no device-mapper/dm-crypt" "$T/err"
fi
"$BIN" erase "$T/img" 2>/dev/null
ok test $? -eq 2
ok "$BIN" erase "$T/img" --yes
"$BIN" check "$T/img" --key-file "$T/key" 2>"$T/err"
ok test $? -eq 1
ok grep -q "no LUKS2 header" "$T/err"
truncate -s 1M "$T/small"
"$BIN" provision "$T/small" --key-file "$T/key" 2>"$T/err"
ok grep -q "image too small" "$T/err"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
