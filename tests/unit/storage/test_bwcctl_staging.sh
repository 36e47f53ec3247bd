#!/bin/bash
# test_bwcctl_staging - the controller's staging volume end to end on an image
# file: bwcctl staging provision (key sealed in the keystore, master passphrase
# as the recovery slot, checked first), what stock cryptsetup sees, unlock
# (no device-mapper here: a clear refusal), status; bwc-controller refuses a
# staging directory that is not on an encrypted volume unless the
# configuration allows development storage.
set -u
BWCCTL=$1 CONTROLLER=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "failed: $*" >&2; fi; }
no() { if "$@"; then fail=$((fail + 1)); echo "failed (should not hold): $*" >&2; else pass=$((pass + 1)); fi; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=test root" \
	-keyout "$T/root.key" -out "$T/root.pem" -days 2 2>/dev/null
truncate -s 64M "$T/staging.img"
printf 'correct horse battery staple\n' >"$T/pass"
printf 'wrong horse battery staple!!\n' >"$T/wrong"
chmod 600 "$T/pass" "$T/wrong"
cat >"$T/c.conf" <<CONF
[system]
state_dir = $T/state
[dock]
interface = lo
[certs]
manufacturer_root = $T/root.pem
[staging]
volume = $T/staging.img
CONF
ok "$BWCCTL" -c "$T/c.conf" init --system-name Test --passphrase-file "$T/pass"

# a wrong passphrase formats nothing
"$BWCCTL" -c "$T/c.conf" staging provision --passphrase-file "$T/wrong" 2>"$T/err"
ok test $? -ne 0
ok grep -q "wrong master-key passphrase" "$T/err"
no cryptsetup isLuks "$T/staging.img"

ok "$BWCCTL" -c "$T/c.conf" staging provision --passphrase-file "$T/pass"
ok test -f "$T/state/keys/staging-volume-key.sealed"
cryptsetup luksDump "$T/staging.img" >"$T/dump"
ok grep -q "^Version:[[:space:]]*2" "$T/dump"
ok grep -q "cipher: aes-xts-plain64" "$T/dump"
ok grep -Eq "Cipher key:[[:space:]]*512 bits" "$T/dump"
ok grep -Eq "^  0: luks2" "$T/dump"
ok grep -Eq "^  1: luks2" "$T/dump"
ok grep -q "PBKDF:[[:space:]]*argon2id" "$T/dump"
# the master passphrase opens it with stock cryptsetup (recovery)
ok cryptsetup open --test-passphrase --key-file "$T/pass" --keyfile-size 28 "$T/staging.img"
no cryptsetup open --test-passphrase --key-file "$T/wrong" --keyfile-size 28 "$T/staging.img"

"$BWCCTL" -c "$T/c.conf" staging status >"$T/out"
ok grep -q "LUKS2 aes-xts-plain64, 512-bit volume key" "$T/out"
ok grep -q "0 (sealed key) 1 (master passphrase)" "$T/out"

if "$BWCCTL" -c "$T/c.conf" staging unlock 2>"$T/err" >"$T/out"; then
	ok grep -q "/dev/mapper/bwc-staging" "$T/out"
	cryptsetup close bwc-staging
else
	ok grep -q "no device-mapper/dm-crypt" "$T/err"
fi
# the sealed key gone (keystore cleared): the volume does not open, said so
mv "$T/state/keys/staging-volume-key.sealed" "$T/sealed.bak"
"$BWCCTL" -c "$T/c.conf" staging unlock 2>"$T/err"
ok test $? -ne 0
ok grep -q "no staging key in keystore" "$T/err"
mv "$T/sealed.bak" "$T/state/keys/staging-volume-key.sealed"

# the daemon: the staging dir is not on dm-crypt -> refused, nothing created
timeout 20 "$CONTROLLER" -c "$T/c.conf" >"$T/log" 2>&1
ok test $? -eq 1
ok grep -q "is not on an encrypted volume" "$T/log"
no test -e "$T/state/staging/UNENCRYPTED-DEVELOPMENT-STORAGE.txt"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
