#!/bin/sh
# Tests of `mtagctl model` in a temporary MTAG_DATA_DIR: fetching from a
# mirror folder (--from and MTAG_MODEL_MIRROR), a corrupted mirror, unknown
# names, installing with a tags file, listing, removing, usage errors.
# Needs MTAGCTL (the built mtagctl) and MTAG_SHARED_DIR (exit 77 without it).

: "${MTAGCTL:?MTAGCTL must name the built mtagctl}"
shared=${MTAG_SHARED_DIR:-}
if [ -z "$shared" ] || [ ! -d "$shared" ]; then
	echo "shared data folder ${shared:-(MTAG_SHARED_DIR unset)} absent:" \
	    "skipping" >&2
	exit 77
fi
pretrained=$shared/models/pretrained

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_store.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
MTAG_DATA_DIR=$tmp/data
export MTAG_DATA_DIR
unset MTAG_MODEL_MIRROR
store=$MTAG_DATA_DIR/models

passed=0
failed=0

fail() {
	echo "FAIL: $*" >&2
	failed=$((failed + 1))
}

ok() {
	passed=$((passed + 1))
}

# check DESCRIPTION COMMAND...: counts whether COMMAND succeeds.
check() {
	what=$1
	shift
	if "$@"; then ok; else fail "$what"; fi
}

# run STATUS ARG...: runs mtagctl ARG..., stdout to $tmp/out and stderr to
# $tmp/err, and checks its exit status.
run() {
	want=$1
	shift
	"$MTAGCTL" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok
	else
		fail "mtagctl $*: exit $got, want $want"
		sed 's/^/  | /' "$tmp/err" >&2
	fi
}

# The entries of the store, hidden ones included, on one line.
entries() {
	ls -A "$store" | tr '\n' ' '
}

# --- fetching
run 0 model list
check "empty store lists nothing" test ! -s "$tmp/out"

run 0 model fetch musicnn-mtat --from "$pretrained"
run 0 model list
check "list shows musicnn-mtat as musicnn, mtat, default" \
    grep -q '^musicnn-mtat  *musicnn  *mtat  *690ace3bb5d4  *(default)$' \
    "$tmp/out"
check "fetched checkpoint is the mirror's" \
    cmp -s "$store/musicnn-mtat/model.pth" "$pretrained/mtat/musicnn/best_model.pth"
check "tags.txt holds the MTAT vocabulary" \
    cmp -s "$store/musicnn-mtat/tags.txt" "$shared/tags/mtat.txt"

run 0 model fetch musicnn-mtat --from "$pretrained"
check "second fetch says already installed" \
    grep -q 'already installed' "$tmp/err"

MTAG_MODEL_MIRROR=$pretrained run 0 model fetch fcn-msd crnn-jamendo
run 0 model list
check "MTAG_MODEL_MIRROR fetch of fcn-msd" \
    grep -q '^fcn-msd  *fcn  *msd ' "$tmp/out"
check "MTAG_MODEL_MIRROR fetch of crnn-jamendo" \
    grep -q '^crnn-jamendo  *crnn  *jamendo ' "$tmp/out"
check "tags.txt holds the MSD vocabulary" \
    cmp -s "$store/fcn-msd/tags.txt" "$shared/tags/msd.txt"
check "tags.txt holds the Jamendo vocabulary" \
    cmp -s "$store/crnn-jamendo/tags.txt" "$shared/tags/jamendo.txt"

# --- a corrupted mirror: one byte changed
mkdir -p "$tmp/bad/mtat/crnn"
cp "$pretrained/mtat/crnn/best_model.pth" "$tmp/bad/mtat/crnn/"
chmod u+w "$tmp/bad/mtat/crnn/best_model.pth"
printf 'X' | dd of="$tmp/bad/mtat/crnn/best_model.pth" bs=1 seek=4096 \
    conv=notrunc 2>/dev/null
before=$(entries)
run 1 model fetch crnn-mtat --from "$tmp/bad"
check "hash mismatch reported" grep -q 'SHA-256 mismatch' "$tmp/err"
check "mismatch names the expected hash" \
    grep -q 'cd22fc70cafd06f8f2bfc7dd795abccb1f4b50d5b09094c39ad100baf87475a3' \
    "$tmp/err"
check "corrupted fetch installs nothing" test "$(entries)" = "$before"
run 1 model fetch crnn-mtat --from "$tmp/absent"
check "missing mirror file installs nothing" test "$(entries)" = "$before"

# --- unknown names
run 1 model fetch musicnn-msd
check "unknown name is reported" grep -q 'unknown model musicnn-msd' "$tmp/err"
check "unknown name lists the known ones" \
    grep -q 'musicnn-mtat.*fcn-msd.*crnn-jamendo' "$tmp/err"
run 1 model fetch sample-mtat

# --- installing local checkpoints
awk '{ print "tag" NR }' "$shared/tags/jamendo.txt" >"$tmp/tags.txt"
run 0 model install "$pretrained/jamendo/fcn/best_model.pth" --name mine \
    --dataset "$tmp/tags.txt"
run 0 model list
check "installed model listed as fcn, custom" \
    grep -q '^mine  *fcn  *custom  *7bce08a66dbc$' "$tmp/out"
check "installed tags kept" cmp -s "$store/mine/tags.txt" "$tmp/tags.txt"
check "info records the hash" grep -q \
    '^sha256=7bce08a66dbc70d096b0a330f44b4cacd9aa25519b83489fbb98f2164a194e2b$' \
    "$store/mine/info"

run 0 model install "$pretrained/jamendo/fcn/best_model.pth" --name guessed
run 0 model list
check "dataset guessed from the path" \
    grep -q '^guessed  *fcn  *jamendo ' "$tmp/out"

before=$(entries)
run 1 model install "$pretrained/jamendo/fcn/best_model.pth" --name mine \
    --dataset mtat
check "installing over a name fails" grep -q 'already installed' "$tmp/err"
sed 1d "$tmp/tags.txt" >"$tmp/short.txt"
run 1 model install "$pretrained/mtat/fcn/best_model.pth" --name short \
    --dataset "$tmp/short.txt"
check "too few tags reported" grep -q '50 outputs' "$tmp/err"
printf 'a\n\nb\n' >"$tmp/blank.txt"
run 1 model install "$pretrained/mtat/fcn/best_model.pth" --name blank \
    --dataset "$tmp/blank.txt"
run 1 model install "$shared/models/random/random_short.pth" --name r
check "unknown vocabulary asks for --dataset" grep -q 'give --dataset' \
    "$tmp/err"
run 1 model install "$pretrained/mtat/fcn/best_model.pth" --name x \
    --dataset nosuchdataset
run 1 model install "$tmp/absent.pth" --name x --dataset mtat
run 1 model install "$pretrained/mtat/fcn/best_model.pth" --name ../x \
    --dataset mtat
check "failed installs install nothing" test "$(entries)" = "$before"

# --- removing
run 0 model remove mine guessed
check "removed models are gone" test ! -e "$store/mine"
check "removed models are gone" test ! -e "$store/guessed"
run 1 model remove mine
check "removing an absent model is reported" grep -q 'not installed' "$tmp/err"
run 0 model list
check "list after removal" test "$(wc -l <"$tmp/out")" -eq 3

# --- published checkpoints whose hash is not known: recorded as fetched
random=$MTAG_SHARED_DIR/models/random
mkdir -p "$tmp/mirror2/mtat/se"
cp "$random/random_se.pth" "$tmp/mirror2/mtat/se/best_model.pth"
cp "$random/random_transformer.ckpt" "$tmp/mirror2/teacher.ckpt"
run 0 model fetch se-mtat transformer-msd --from "$tmp/mirror2"
check "an unpinned fetch warns" grep -q 'no published SHA-256' "$tmp/err"
run 0 model list
check "se-mtat listed" grep -q '^se-mtat  *se  *mtat' "$tmp/out"
check "transformer-msd listed" grep -q '^transformer-msd  *transformer  *msd' "$tmp/out"
run 1 model fetch sample-mtat --from "$tmp/mirror2"
check "a missing mirror file is reported" grep -q 'sample-mtat\|sample/best_model.pth' "$tmp/err"
run 0 model remove se-mtat transformer-msd

# --- usage
run 2 model
run 2 model bogus
run 2 model fetch
run 2 model fetch --bogus musicnn-mtat
run 2 model fetch musicnn-mtat --from
run 2 model install "$pretrained/mtat/fcn/best_model.pth"
run 2 model install
run 2 model list extra
run 2 model remove
run 0 model --help
run 0 model fetch --help
check "fetch help lists the models" grep -q 'crnn-jamendo' "$tmp/out"
run 0 model install -h
run 0 model list --help
run 0 model remove --help

echo "$passed passed, $failed failed"
test "$failed" -eq 0
