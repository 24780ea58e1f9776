#!/bin/sh
# mtagctl tag and infer end to end: a model fetched from a local mirror,
# real audio decoded, tags and arrays checked.
set -u
: "${MTAGCTL:?}" "${MTAG_SHARED_DIR:?}"
[ -d "$MTAG_SHARED_DIR" ] || { echo "no shared data: skipping"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
export MTAG_DATA_DIR="$tmp/data"
export MTAG_MODEL_MIRROR="$MTAG_SHARED_DIR/models/pretrained"
audio=$MTAG_SHARED_DIR/audio
fail=0

check() {	# check DESCRIPTION COMMAND...: the command must succeed
	desc=$1
	shift
	if "$@"; then
		echo "ok: $desc"
	else
		echo "FAILED: $desc"
		fail=1
	fi
}

status_is() {	# status_is N COMMAND...: the command must exit with N
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || { echo "exit $got, expected $want: $*"; cat "$tmp/err"; return 1; }
}

check "fetch the default model" "$MTAGCTL" model fetch musicnn-mtat

# The MagnaTagATune techno clip: its known tags rank high.
"$MTAGCTL" tag --top 5 "$audio/mtat_joram_solipsism.mp3" >"$tmp/tags" 2>&1
cat "$tmp/tags"
for t in techno electronic synth fast beat; do
	check "$t among the top tags" grep -q "^  $t " "$tmp/tags"
done
check "16 chunks" grep -q "musicnn-mtat, 16 chunks" "$tmp/tags"

# JSON: every score, the model, the chunk count; two files make an array.
"$MTAGCTL" tag --json "$audio/mtat_joram_solipsism.mp3" \
    "$audio/msd_TRABCDE128F111GH11.wav" >"$tmp/json"
check "json has two records" test "$(grep -c '"file": ' "$tmp/json")" -eq 2
check "json has 50 scores a record" \
    test "$(grep -o '": 0\.[0-9]*' "$tmp/json" | wc -l)" -eq 100
check "a short clip is one chunk" grep -q '"chunks": 1,' "$tmp/json"
check "json names the model" grep -q '"model": "musicnn-mtat"' "$tmp/json"

# A checkpoint file instead of a model name; the dataset from its path.
check "tag with a checkpoint file" "$MTAGCTL" tag --top 3 \
    --model "$MTAG_SHARED_DIR/models/pretrained/msd/fcn/best_model.pth" \
    "$audio/mtat_joram_solipsism.mp3"
check "infer with a checkpoint file" "$MTAGCTL" infer \
    --model "$MTAG_SHARED_DIR/models/pretrained/jamendo/musicnn/best_model.pth" \
    --pcm-f32 "$MTAG_SHARED_DIR/golden/clips/synthetic_tone_noise.16000.f32" \
    --chunk-starts 0 --probs "$tmp/p1.npy"
check "probs.npy is 1 x 50" grep -q "'shape': (1, 50)" "$tmp/p1.npy"

# infer: the low-level entry, writing .npy arrays.
clip=$MTAG_SHARED_DIR/golden/clips/mtat_joram_solipsism.16000.f32
check "fetch crnn-mtat" "$MTAGCTL" model fetch crnn-mtat
check "infer" "$MTAGCTL" infer --model crnn-mtat --pcm-f32 "$clip" \
    --chunk-starts 0,1000 --probs "$tmp/p.npy" --embedding "$tmp/e.npy"
check "probs.npy is 2 x 50" grep -q "'shape': (2, 50)" "$tmp/p.npy"
check "embedding.npy is 2 x 32" grep -q "'shape': (2, 32)" "$tmp/e.npy"
check "probs.npy holds 2 x 50 floats" test "$(wc -c <"$tmp/p.npy")" -eq $((128 + 400))

# Errors: a file that is not audio, a missing file, bad usage.
echo "not audio" >"$tmp/fake.mp3"
check "non-audio file exits 1" status_is 1 "$MTAGCTL" tag "$tmp/fake.mp3"
check "the error names the file" grep -q "fake.mp3" "$tmp/err"
check "other files still tagged" status_is 1 "$MTAGCTL" tag "$tmp/fake.mp3" \
    "$audio/msd_TRABCDE128F111GH11.wav"
check "... and printed" grep -q "msd_TRABCDE128F111GH11.wav (musicnn-mtat" "$tmp/out"
check "missing model exits 1" status_is 1 "$MTAGCTL" tag --model fcn-nope "$audio/msd_TRABCDE128F111GH11.wav"
check "tag without files exits 2" status_is 2 "$MTAGCTL" tag
check "bad --top exits 2" status_is 2 "$MTAGCTL" tag --top x "$audio/msd_TRABCDE128F111GH11.wav"
check "bad chunk starts exit 2" status_is 2 "$MTAGCTL" infer --model musicnn-mtat --pcm-f32 /dev/null --chunk-starts 1,,2
check "unknown command exits 2" status_is 2 "$MTAGCTL" frobnicate
check "--help exits 0" status_is 0 "$MTAGCTL" --help
exit $fail
