#!/bin/sh
# Replays every fuzzing corpus (fuzz/corpus/NAME: its inputs and the
# crashes found and fixed) through its fuzz target, linked without
# libFuzzer into fuzz/replay_NAME: each input must run without a crash or,
# in sanitizer builds, a sanitizer report.
set -u
: "${MTAG_FUZZ_REPLAY:?}" "${MTAG_FUZZ_CORPUS:?}"
fail=0
for t in ckpt conf decode query; do
	corpus=$MTAG_FUZZ_CORPUS/$t
	n=$(find "$corpus" -maxdepth 1 -type f 2>/dev/null | wc -l)
	if [ "$n" -eq 0 ]; then
		echo "FAILED: $t: no corpus in $corpus"
		fail=1
	elif "$MTAG_FUZZ_REPLAY$t" "$corpus"; then
		echo "ok: $t: $n inputs"
	else
		echo "FAILED: $t: replay of $corpus"
		fail=1
	fi
done
exit $fail
