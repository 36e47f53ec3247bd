#!/bin/sh
# test_envelope_openssl.sh - bwc-envelope against stock openssl: what we
# encrypt, the documented openssl commands decrypt (byte for byte); what
# openssl encrypts, we decrypt; wrong key, damaged key object and truncated
# clip are refused and leave no output file. Usage: $0 path/to/bwc-envelope
set -u
ENV=$1
for tool in openssl jq xxd base64 cmp; do
	command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/bwc-envelope-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "failed: $*" >&2; }
check() { if "$@"; then ok; else bad "$*"; fi; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem 2>/dev/null
openssl pkey -in priv.pem -pubout -out pub.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem 2>/dev/null

# The documented EMS-side commands, verbatim but for the file names.
openssl_decrypt() { # CLIP KEYOBJECT OUT
	key=$(jq -r .EncryptedKey "$2" | base64 -d | openssl pkeyutl -decrypt -inkey priv.pem -pkeyopt rsa_padding_mode:oaep | xxd -p | tr -d '\n')
	iv=$(jq -r .ContentEncryptionIV "$2" | base64 -d | xxd -p | tr -d '\n')
	openssl enc -d -aes-256-cbc -K "$key" -iv "$iv" -in "$1" -out "$3"
}

for n in 0 1 15 16 17 1048579; do
	head -c $n /dev/urandom > clip$n
	check "$ENV" encrypt --pubkey pub.pem --key-id ems-1 clip$n -o clip$n.enc
	check test "$(jq -r .PublicKeyId clip$n.enc.key)" = ems-1
	check openssl_decrypt clip$n.enc clip$n.enc.key clip$n.openssl
	check cmp clip$n clip$n.openssl
	check "$ENV" decrypt --key priv.pem clip$n.enc -o clip$n.ours
	check cmp clip$n clip$n.ours
	# hashes printed match sha256sum of both sides
	"$ENV" decrypt --key priv.pem clip$n.enc -o clip$n.again > out.txt
	check grep -q "plaintext-sha256  $(sha256sum < clip$n | cut -c1-64)" out.txt
	check grep -q "ciphertext-sha256 $(sha256sum < clip$n.enc | cut -c1-64)" out.txt
done

# default names: CLIP.key next to CLIP, output CLIP.dec
cp clip17.enc d.enc && cp clip17.enc.key d.enc.key
check "$ENV" decrypt --key priv.pem d.enc
check cmp clip17 d.enc.dec
# never replaces an existing output
check test "$("$ENV" decrypt --key priv.pem d.enc 2>&1 >/dev/null | grep -c exists)" = 1

# what openssl encrypts, we decrypt
head -c 100003 /dev/urandom > o
openssl rand 32 > o.aeskey
iv=$(openssl rand -hex 16)
openssl enc -aes-256-cbc -K "$(xxd -p o.aeskey | tr -d '\n')" -iv "$iv" -in o -out o.enc
ek=$(openssl pkeyutl -encrypt -pubin -inkey pub.pem -pkeyopt rsa_padding_mode:oaep -in o.aeskey | base64 -w0)
ivb=$(echo "$iv" | xxd -r -p | base64 -w0)
printf '{"EncryptedKey":"%s","ContentEncryptionIV":"%s","PublicKeyId":"x"}' "$ek" "$ivb" > o.enc.key
check "$ENV" decrypt --key priv.pem o.enc -o o.ours
check cmp o o.ours

# refusals: clear message, exit status 1, no output file, no temporary left
refused() { # PATTERN OUT ARGS...
	pat=$1 out=$2; shift 2
	msg=$("$ENV" "$@" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 1 ] && echo "$msg" | grep -q "$pat" && [ ! -e "$out" ] &&
	   [ -z "$(ls | grep '\.part\.')" ]; then ok; else bad "refused $pat: rc=$rc msg=$msg"; fi
}
refused "does not open" w.out decrypt --key other.pem clip17.enc -o w.out
jq '.EncryptedKey = "AAAA"' clip17.enc.key > damaged.key
refused "does not open" w.out decrypt --key priv.pem clip17.enc --key-object damaged.key -o w.out
jq '.ContentEncryptionIV = "AAAA"' clip17.enc.key > damaged.key
refused "ContentEncryptionIV" w.out decrypt --key priv.pem clip17.enc --key-object damaged.key -o w.out
echo '{"EncryptedKey":1}' > damaged.key
refused "key object" w.out decrypt --key priv.pem clip17.enc --key-object damaged.key -o w.out
head -c 1000 clip1048579.enc > t.enc
refused "truncated" w.out decrypt --key priv.pem t.enc --key-object clip1048579.enc.key -o w.out
# a zero-padded last block cannot pass as PKCS#7 padding
head -c 16 /dev/zero > z && "$ENV" encrypt --pubkey pub.pem --key-id k z -o z.enc >/dev/null
head -c 16 z.enc > z1.enc
refused "padding" w.out decrypt --key priv.pem z1.enc --key-object z.enc.key -o w.out
refused "RSA" w.out decrypt --key pub.pem clip17.enc -o w.out
"$ENV" decrypt clip17.enc 2>/dev/null; check test $? -eq 2

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
