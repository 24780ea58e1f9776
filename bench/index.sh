#!/bin/sh
# index.sh [BUILD_DIR [N]]: indexing throughput of mtagd with musicnn-mtat
# on N (default 30) distinct 4-minute 44.1 kHz stereo 192 kb/s MP3s.
#
# Measures:
#   - mtagd with its default workers (one per CPU) from an empty database:
#     the wall time from its start until every track is analysed (so
#     including the model's loading and the scan), in tracks/s; its CPU time
#     per track; its peak RSS (VmHWM); the database's size;
#   - mtagctl tag over the same files, one after the other: tracks/s and
#     peak RSS.
#
# The MP3s are made with ffmpeg (2 at a time, about 3 s each): a sine and
# pink noise per channel, frequencies and seeds differing from file to
# file. BENCH_CACHE=DIR keeps them in DIR for the next runs.
# Waits up to BENCH_MAX_WAIT (600) s for the load average to fall to
# BENCH_MAX_LOAD (0.5) before each measurement.
set -u
. "$(dirname "$0")/common.sh"
bench_init "${1:-}"
n=${2:-30}
lib=${BENCH_CACHE:-$tmp/lib}
db=$tmp/library.db

fetch musicnn-mtat

# mp3 I: the I-th file, made unless there already.
mp3() {
	f=$(printf '%s/track%03d.mp3' "$lib" "$1")
	[ -s "$f" ] && return 0
	ffmpeg -nostdin -loglevel error \
	    -f lavfi -i "sine=frequency=$((110 + 37 * $1)):beep_factor=$((1 + $1 % 4)):duration=240:sample_rate=44100" \
	    -f lavfi -i "sine=frequency=$((165 + 53 * $1)):duration=240:sample_rate=44100" \
	    -f lavfi -i "anoisesrc=color=pink:amplitude=0.3:seed=$((1 + $1)):duration=240:sample_rate=44100" \
	    -f lavfi -i "anoisesrc=color=pink:amplitude=0.3:seed=$((1001 + $1)):duration=240:sample_rate=44100" \
	    -filter_complex "[0][2]amix=inputs=2[l];[1][3]amix=inputs=2[r];[l][r]amerge=inputs=2" \
	    -ar 44100 -ac 2 -c:a libmp3lame -b:a 192k \
	    -metadata title="Track $1" -metadata artist="Bench" \
	    -metadata album="Index" -y "$f.tmp.mp3" && mv "$f.tmp.mp3" "$f"
}
mkdir -p "$lib"
t=$(now)
i=0
while [ "$i" -lt "$n" ]; do
	mp3 "$i" &
	[ $((i + 1)) -lt "$n" ] && mp3 $((i + 1)) &
	wait
	i=$((i + 2))
done
[ "$(find "$lib" -name 'track*.mp3' | wc -l)" -ge "$n" ] ||
    { echo "$0: ffmpeg failed" >&2; exit 1; }
echo "made $n MP3s in $(elapsed "$t") s" >&2
if [ "$(find "$lib" -name 'track*.mp3' | wc -l)" -gt "$n" ]; then
	# A cache made for a larger N: a folder with the first N only.
	mkdir -p "$tmp/lib"
	i=0
	while [ "$i" -lt "$n" ]; do
		f=$(printf 'track%03d.mp3' "$i")
		ln -s "$lib/$f" "$tmp/lib/$f"
		i=$((i + 1))
	done
	lib=$tmp/lib
fi

# The daemon, from an empty database.
wait_quiet
load=$(loadavg)
t0=$(now)
start_daemon --library "$lib" --db "$db"
k=0
while :; do
	sleep 0.2
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/mtagd.log" >&2; exit 1; }
	c=$(sql "$db" "SELECT count(*) FROM analyses WHERE status IN
	    ('done', 'failed')" 2>/dev/null) || c=0
	[ "${c:-0}" -ge "$n" ] && break
	k=$((k + 1))
	[ "$k" -lt 30000 ] || { echo "$0: timeout" >&2; exit 1; }
done
wall=$(elapsed "$t0")
failed=$(sql "$db" "SELECT count(*) FROM analyses WHERE status='failed'")
rate=$("$MTAGCTL" status --json | sed -n 's/.*"rate": \([0-9.]*\).*/\1/p')
workers=$("$MTAGCTL" status --json |
    sed -n 's/.*"workers": \([0-9]*\).*/\1/p')
hwm=$(vmhwm)
dbsize=$(sql "$db" "SELECT page_count * page_size FROM pragma_page_count(),
    pragma_page_size()")
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, "");
    printf "%.1f", ($12 + $13) / hz }' "/proc/$pid/stat")
stop_daemon || exit 1
[ "$failed" -eq 0 ] || { echo "$0: $failed analyses failed:" >&2;
    grep -v '^mtagd: \(scan\|analysing\|stopping\)' "$tmp/mtagd.log" >&2; }

# mtagctl tag, one file after the other.
wait_quiet
load2=$(loadavg)
/usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$MTAGCTL" tag \
    "$lib"/track*.mp3 >"$tmp/tag.out" || exit 1
read -r tag_s tag_kb tag_u tag_sys <"$tmp/time"

awk -v n="$n" -v w="$wall" -v wk="$workers" -v r="$rate" -v cpu="$cpu" \
    -v h="$hwm" -v ts="$tag_s" -v tk="$tag_kb" -v l1="$load" -v l2="$load2" \
    -v tcpu="$(echo "$tag_u $tag_sys" | awk '{ print $1 + $2 }')" \
    -v dbs="$dbsize" \
    -v m="$(machine)" -v rev="$(revision)" 'BEGIN {
	printf "index: %d tracks (4 min MP3) in %.1f s = %.3f tracks/s " \
	    "(mtagd, %d workers, musicnn-mtat), daemon peak RSS %.0f MB; " \
	    "mtagctl tag: %.1f s = %.3f tracks/s, peak RSS %.0f MB\n",
	    n, w, n / w, wk, h / 1024, ts, n / ts, tk / 1024
	printf "  CPU s/track: mtagd %.2f, mtagctl tag %.2f; rate mtagd " \
	    "reported at the end: %.3f tracks/s; db %.0f KB (%.1f KB/track)\n",
	    cpu / n, tcpu / n, r, dbs / 1024, dbs / 1024 / n
	printf "  load average before: mtagd %s, mtagctl %s; %s; source %s\n",
	    l1, l2, m, rev
}'
