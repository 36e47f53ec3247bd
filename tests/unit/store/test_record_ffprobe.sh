#!/bin/sh
# test_record_ffprobe.sh - bwc-record makes real H.264 1920x1080 clips in
# Matroska (default) and MP4, with the marker in the file; checked by ffprobe.
# Usage: test_record_ffprobe.sh BWC-RECORD BWC-PKI. Skips (77) without ffprobe.
set -u
record=$1 pki=$2
command -v ffprobe >/dev/null 2>&1 || { echo "ffprobe missing (apt-get install ffmpeg): skipped"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/bwc-record-XXXXXX")
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0
check() { # description, then a command
	what=$1; shift
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "failed: $what" >&2; fi
}

"$pki" factory-init --dir "$dir/factory" --name "Test Manufacturer" >/dev/null &&
"$pki" provision --factory "$dir/factory" --serial RIG00001 --keystore "$dir/ks" >/dev/null ||
	{ echo "bwc-pki failed"; exit 1; }
cat > "$dir/cam.conf" <<CONF
[camera]
state_dir = $dir/state
keystore = file:$dir/ks
[dock]
interface = dock0
CONF
# Not on an encrypted volume and not allowed: nothing is recorded.
"$record" -c "$dir/cam.conf" --seconds 1 >/dev/null 2>"$dir/refused"
check "unencrypted data dir refused (exit 1)" test $? -eq 1
check "and said so" grep -q "is not on an encrypted volume" "$dir/refused"
check "nothing recorded" test -z "$(ls "$dir/state/data/recordings" 2>/dev/null)"
printf '[camera]\nallow_unencrypted = true\n' >> "$dir/cam.conf"

probe() { # file, entry
	ffprobe -v error -select_streams v:0 -show_entries "$2" -of default=nw=1:nk=1 "$1"
}

for c in mkv mp4; do
	out=$("$record" -c "$dir/cam.conf" --seconds 2 --container $c --marker "MARK-$c-7f3a")
	check "$c: bwc-record exit code" test $? -eq 0
	echo "$out"
	id=$(echo "$out" | sed -n 's/^recording \([0-9a-f-]*\)$/\1/p')
	clip="$dir/state/data/recordings/$id/clip-0001.$c"
	check "$c: clip file" test -s "$clip"
	check "$c: no .part left" test ! -e "$clip.part"
	check "$c: H.264" test "$(probe "$clip" stream=codec_name)" = h264
	check "$c: 1920 wide" test "$(probe "$clip" stream=width)" = 1920
	check "$c: 1080 high" test "$(probe "$clip" stream=height)" = 1080
	fmt=$(ffprobe -v error -show_entries format=format_name -of default=nw=1:nk=1 "$clip")
	case $c in
	mkv) check "mkv: Matroska ($fmt)" test "$fmt" = "matroska,webm" ;;
	mp4) check "mp4: MP4 ($fmt)" sh -c "echo '$fmt' | grep -q mp4" ;;
	esac
	check "$c: marker in the bytes" grep -q "MARK-$c-7f3a" "$clip"
	size=$(stat -c %s "$clip")
	sum=$(sha256sum "$clip" | cut -d' ' -f1)
	check "$c: printed size and sha256" sh -c "echo '$out' | grep -q 'clip 0001 $c size $size sha256 $sum'"
	check "$c: recording.json names the clip" grep -q "\"sha256\":\"$sum\"" \
		"$dir/state/data/recordings/$id/recording.json"
done

# --bytes: a synthetic clip, two clips of 1 s
out=$("$record" -c "$dir/cam.conf" --seconds 2 --clip-seconds 1 --bytes 3000000)
check "bytes: exit code" test $? -eq 0
check "bytes: two clips of 3000000" test "$(echo "$out" | grep -c 'size 3000000 ')" -eq 2

# refused arguments
"$record" -c "$dir/cam.conf" --seconds 0 2>/dev/null
check "--seconds 0 refused" test $? -eq 2
"$record" -c "$dir/cam.conf" --seconds 1 --container avi 2>/dev/null
check "--container avi refused" test $? -eq 2

echo "$passed passed, $failed failed"
test "$failed" -eq 0
