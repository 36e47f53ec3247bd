#!/bin/sh
# test_bwc_verify.sh - bwc-verify as a user runs it: a clip bwc-record signed with the
# keystore key "video" verifies valid and trusted in MKV and as raw Annex-B; a clip of a
# camera without that key is unsigned (3); usage errors are 2, a file that is not
# video is 6; the JSON report says the same as the exit code.
# Usage: test_bwc_verify.sh BWC-VERIFY BWC-RECORD BWC-PKI. Skips (77) without ffmpeg.
set -u
verify=$1 record=$2 pki=$3
command -v ffmpeg >/dev/null 2>&1 || { echo "ffmpeg missing (apt-get install ffmpeg): skipped"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/bwc-verify-XXXXXX")
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0
check() { # description, then a command
	what=$1; shift
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "failed: $what" >&2; fi
}
code() { # expected exit code, then the bwc-verify arguments
	want=$1; shift
	"$verify" "$@" >"$dir/out" 2>"$dir/err"
	got=$?
	[ "$got" -eq "$want" ] || { echo "bwc-verify $*: exit $got, want $want" >&2; cat "$dir/out" "$dir/err" >&2; return 1; }
}
camera() { # name: a provisioned camera with its config
	"$pki" provision --factory "$dir/factory" --serial "$1" --keystore "$dir/$1/ks" >/dev/null &&
	printf '[camera]\nstate_dir = %s\nkeystore = file:%s\nallow_unencrypted = true\n[dock]\ninterface = dock0\n' \
		"$dir/$1/state" "$dir/$1/ks" > "$dir/$1.conf"
}
clip_of() { # name: record 2 s, print the clip path
	id=$("$record" -c "$dir/$1.conf" --seconds 2 2>"$dir/$1.err" | sed -n 's/^recording //p')
	echo "$dir/$1/state/data/recordings/$id/clip-0001.mkv"
}

"$pki" factory-init --dir "$dir/factory" --name "Test Manufacturer" >/dev/null || { echo "bwc-pki failed"; exit 1; }
camera SIGNED && camera PLAIN || { echo "provisioning failed"; exit 1; }
"$pki" issue --ca-key "$dir/factory/manufacturer-root.key" --ca-cert "$dir/factory/manufacturer-root.pem" \
	--profile video --serial SIGNED --days 3650 --out-key "$dir/SIGNED/ks/video.key" \
	--out-cert "$dir/SIGNED/ks/video.pem" >/dev/null || { echo "video key failed"; exit 1; }

signed=$(clip_of SIGNED)
check "signed clip recorded" test -s "$signed"
check "certificate kept with the recording" test -s "$(dirname "$signed")/video-signing.pem"
check "signed MKV: valid, trusted (0)" code 0 "$signed" --trust "$dir/factory/manufacturer-root.pem"
check "text report says valid and trusted" grep -q "valid: 60 of 60 frames covered" "$dir/out"
check "JSON report" code 0 "$signed" --json --trust "$dir/factory/manufacturer-root.pem"
check "JSON: verdict, frames, trust, serial" sh -c "jq -e '.verdict == \"valid\" and .exit == 0 and
	.frames == 60 and .frames_covered == 60 and .trust.status == \"trusted\" and
	.product.serial == \"SIGNED\" and (.key_sha256 | length) == 64' '$dir/out' >/dev/null"
ffmpeg -v error -i "$signed" -c copy -bsf:v h264_mp4toannexb "$dir/raw.h264"
check "raw Annex-B copy: valid (0)" code 0 "$dir/raw.h264"
check "Annex-B: every frame covered" grep -q "60 of 60 frames covered" "$dir/out"

plain=$(clip_of PLAIN)
check "a camera without a video key says so" grep -q 'NOT signed' "$dir/PLAIN.err"
check "its clip is unsigned (3)" code 3 "$plain"
check "JSON: unsigned" sh -c "'$verify' '$plain' --json | jq -e '.verdict == \"unsigned\" and .frames == 60' >/dev/null"

check "no file: usage (2)" code 2
check "unknown option: usage (2)" code 2 "$signed" --bogus
check "not a video: unreadable (6)" code 6 "$dir/SIGNED.conf"
check "missing file: unreadable (6)" code 6 "$dir/none.mkv"
check "the error names the file" grep -q "none.mkv" "$dir/err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
