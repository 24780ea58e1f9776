#!/bin/sh
# models.sh [BUILD_DIR [AUDIO]]: seconds per track of `mtagctl tag` for each
# model, on AUDIO (default $MTAG_SHARED_DIR/audio/avenger_kills.mp3, 139 s:
# 16 chunks), the median of BENCH_RUNS (3) runs after one untimed run (which
# also tells whether the build supports the model). Everything counts:
# start, checkpoint loading, decoding, inference.
#
# Models: fcn-mtat, musicnn-mtat, crnn-mtat (fetched from
# $MTAG_MODEL_MIRROR), then each random checkpoint of
# $MTAG_SHARED_DIR/models/random with --dataset mtat.
# The decoding alone is timed too: ffmpeg to 16 kHz mono float, the median
# of as many runs.
# Waits up to BENCH_MAX_WAIT (600) s for the load average to fall to
# BENCH_MAX_LOAD (0.5) before each model.
set -u
. "$(dirname "$0")/common.sh"
bench_init "${1:-}"
audio=${2:-$MTAG_SHARED_DIR/audio/avenger_kills.mp3}
runs=${BENCH_RUNS:-3}
[ -r "$audio" ] || { echo "$0: cannot read $audio" >&2; exit 2; }
fetch fcn-mtat musicnn-mtat crnn-mtat

# timed COMMAND...: runs it BENCH_RUNS times; prints the median, the least
# and the most wall seconds, the median CPU seconds and peak RSS in kB.
timed() {
	_i=0
	: >"$tmp/times"
	while [ "$_i" -lt "$runs" ]; do
		/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" \
		    >/dev/null 2>"$tmp/err" || return 1
		cat "$tmp/time" >>"$tmp/times"
		_i=$((_i + 1))
	done
	echo "$(cut -d' ' -f1 "$tmp/times" | median)" \
	    "$(cut -d' ' -f1 "$tmp/times" | sort -g | head -n 1)" \
	    "$(cut -d' ' -f1 "$tmp/times" | sort -g | tail -n 1)" \
	    "$(awk '{ print $2 + $3 }' "$tmp/times" | median)" \
	    "$(cut -d' ' -f4 "$tmp/times" | median)"
}

row() {	# row MODEL ARCH MEDIAN MIN MAX CPU KB LOAD
	awk -v m="$1" -v a="$2" -v s="$3" -v lo="$4" -v hi="$5" -v c="$6" \
	    -v kb="$7" -v l="$8" 'BEGIN {
		printf "| %-23s | %-11s | %7.2f | %5.2f-%-5.2f | %6.2f | " \
		    "%6.0f | %-4s |\n", m, a, s, lo, hi, c, kb / 1024, l }'
}

dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$audio" |
    awk '{ printf "%.0f", $1 }')
echo "models: mtagctl tag on $(basename "$audio") ($dur s), median of" \
    "$runs runs; $(machine); source $(revision)"
printf '| %-23s | %-11s | %7s | %-11s | %6s | %6s | %-4s |\n' model arch \
    s/track min-max "CPU s" "RSS MB" load
echo "|-------------------------|-------------|---------|-------------|\
--------|--------|------|"
wait_quiet
l=$(load1)
r=$(timed ffmpeg -nostdin -v error -i "$audio" -ac 1 -ar 16000 \
    -f f32le -y /dev/null) || { cat "$tmp/err" >&2; exit 1; }
# shellcheck disable=SC2086
set -- $r
row "(ffmpeg decode only)" "-" "$1" "$2" "$3" "$4" "$5" "$l"

for m in fcn-mtat musicnn-mtat crnn-mtat \
    "$MTAG_SHARED_DIR"/models/random/*.pth \
    "$MTAG_SHARED_DIR"/models/random/*.ckpt; do
	case $m in */*) [ -e "$m" ] || continue ;; esac
	case $m in
	*/*) set -- --model "$m" --dataset mtat; name=$(basename "$m") ;;
	*) set -- --model "$m"; name=$m ;;
	esac
	if ! "$MTAGCTL" tag --json "$@" "$audio" >"$tmp/out" 2>"$tmp/err"
	then
		printf '| %-23s | unsupported: %s\n' "$name" \
		    "$(tail -n 1 "$tmp/err")"
		continue
	fi
	arch=$(sed -n 's/.*"arch": "\([^"]*\)".*/\1/p' "$tmp/out")
	wait_quiet
	l=$(load1)
	r=$(timed "$MTAGCTL" tag "$@" "$audio") ||
	    { echo "$0: $name: $(cat "$tmp/err")" >&2; continue; }
	# shellcheck disable=SC2086
	set -- $r
	row "$name" "$arch" "$1" "$2" "$3" "$4" "$5" "$l"
done
