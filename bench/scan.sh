#!/bin/sh
# scan.sh [BUILD_DIR [N]]: the metadata scan of mtagd on a library of N
# (default 10000) distinct 0.5 s WAV files with tags, from an empty database.
#
# Measures, with mtagd --workers 1 (BENCH_WORKERS):
#   - the initial scan (mtagd's own "scan done in X s"), with the worker
#     analysing what the scan queues meanwhile, as it does by default; with
#     BENCH_PAUSE=1, analysis is paused through the control socket as soon
#     as the daemon answers, to time the scan alone (a track or two may get
#     analysed before the pause arrives);
#   - the database's size after the scan (pages in use, WAL included);
#   - the daemon's peak RSS (VmHWM) after the scan and at the end;
#   - the analysis throughput on these short files (one zero-padded chunk
#     each) over BENCH_ANALYSE_S (default 30) seconds after the scan, or
#     until all are analysed with BENCH_ANALYSE_S=all;
#   - the rescan of the unchanged library at a restart (analysis paused),
#     and the daemon's peak RSS then;
#   - then, analysis still paused, the median wall time (BENCH_RUNS, 9
#     runs) of mtagctl --version (the start of the program alone), status,
#     metadata queries and a tag query, and of bench/querybench on this
#     database when it is built in BUILD_DIR (make bench/querybench).
#
# Each measurement is printed with the load average before it.
#
# Waits up to BENCH_MAX_WAIT (600) s for the load average to fall to
# BENCH_MAX_LOAD (0.5) before each measurement.
set -u
. "$(dirname "$0")/common.sh"
bench_init "${1:-}"
n=${2:-10000}
workers=${BENCH_WORKERS:-1}
pause=${BENCH_PAUSE:-0}
window=${BENCH_ANALYSE_S:-30}
lib=$tmp/lib
db=$tmp/library.db

fetch musicnn-mtat
t=$(now)
python3 "$here/genwav.py" "$lib" "$n" 0.5 || exit 1
echo "generated $n files ($(du -sh "$lib" | cut -f1)) in $(elapsed "$t") s" >&2

# until_log PATTERN SECONDS: waits for a line of the daemon's log.
until_log() {
	k=$(($2 * 10))
	until grep -q "$1" "$tmp/mtagd.log"; do
		if [ "$k" -le 0 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "$0: no '$1' from mtagd:" >&2
			cat "$tmp/mtagd.log" >&2
			exit 1
		fi
		sleep 0.1
		k=$((k - 1))
	done
}
# pause_now: pauses analysis as soon as the control socket answers.
pause_now() {
	k=300
	until "$MTAGCTL" pause >/dev/null 2>&1; do
		[ "$k" -gt 0 ] || { echo "$0: cannot pause mtagd" >&2; exit 1; }
		sleep 0.01
		k=$((k - 1))
	done
}
done_count() { sql "$db" "SELECT count(*) FROM analyses WHERE status='done'"; }
failed_count() {
	sql "$db" "SELECT count(*) FROM analyses WHERE status='failed'"
}
db_bytes() {
	sql "$db" "SELECT page_count * page_size FROM pragma_page_count(),
	    pragma_page_size()"
}

wait_quiet
load=$(loadavg)
start_daemon --library "$lib" --db "$db" --workers "$workers"
[ "$pause" = 1 ] && pause_now
until_log "scan done in" 3600
scan_s=$(sed -n 's/.*scan done in \([0-9.]*\) s.*/\1/p' "$tmp/mtagd.log" |
    head -n 1)
during=$(done_count)
tracks=$(sql "$db" "SELECT count(*) FROM tracks")
size=$(db_bytes)
hwm_scan=$(vmhwm)
rss_scan=$(vmrss)
[ "$tracks" -eq "$n" ] || echo "$0: $tracks tracks in the database," \
    "expected $n" >&2

# Analysis throughput after the scan.
aload=$(loadavg)
[ "$pause" = 1 ] && "$MTAGCTL" resume >/dev/null
a0=$(done_count)
t0=$(now)
if [ "$window" = all ]; then
	while [ $(($(done_count) + $(failed_count))) -lt "$n" ]; do
		sleep 1
	done
else
	sleep "$window"
fi
a1=$(done_count)
dt=$(elapsed "$t0")
failed=$(failed_count)
hwm_end=$(vmhwm)
rss_end=$(vmrss)
t=$(now)
stop_daemon || exit 1
stop_s=$(elapsed "$t")
size_end=$(fsize "$db")

# A restart: the whole library again, unchanged.
: >"$tmp/mtagd.log"
wait_quiet
rload=$(loadavg)
start_daemon --library "$lib" --db "$db" --workers "$workers"
pause_now
until_log "scan done in" 3600
rescan_s=$(sed -n 's/.*scan done in \([0-9.]*\) s.*/\1/p' "$tmp/mtagd.log" |
    head -n 1)
hwm_rescan=$(vmhwm)

# Latencies, analysis paused: mtagctl's start alone (--version), status
# (through the control socket), metadata queries (an artist's 100 tracks
# listed, by exact match and by substring; one title; all counted) and a
# tag query.
wait_quiet
qload=$(loadavg)
watches=$("$MTAGCTL" status | sed -n 's/^inotify: //p')
artist="artist:=\"Artist $((n / 200))\""
substr="artist:\"Artist $((n / 200))\""
title="title:=\"Noise $((n / 2))\""
runs=${BENCH_RUNS:-9}
lat() {
	_what=$1
	shift
	if _ms=$(median_ms "$runs" "$@" 2>&1); then
		printf '  %-44s %7s ms\n' "$_what" "$_ms"
	else
		echo "$0: failed: $*: $_ms" >&2
	fi
}
{
	lat "mtagctl --version" "$MTAGCTL" --version
	lat "mtagctl status" "$MTAGCTL" status
	lat "mtagctl query '$artist'" "$MTAGCTL" --db "$db" query "$artist"
	lat "mtagctl query '$substr'" "$MTAGCTL" --db "$db" query "$substr"
	lat "mtagctl query '$title'" "$MTAGCTL" --db "$db" query "$title"
	lat "mtagctl query --count year:2024" "$MTAGCTL" --db "$db" query \
	    --count year:2024
	lat "mtagctl query rock" "$MTAGCTL" --db "$db" query rock
} >"$tmp/latency"
stop_daemon || exit 1

# The query benchmark on this database, when built (make bench/querybench);
# its similar-track search fails on a random track not analysed yet, after
# the queries.
if [ -x "$build/bench/querybench" ]; then
	wait_quiet
	bload=$(loadavg)
	"$build/bench/querybench" -r "$runs" -q "$artist" -q "$substr" \
	    -q "$title" -q rock -q "rock AND female vocal AND NOT piano" \
	    "$db" >"$tmp/querybench" 2>&1
fi

[ "$failed" -eq 0 ] || echo "$0: $failed analyses failed" >&2
if [ "$pause" = 1 ]; then
	mode="analysis paused, $during analysed meanwhile"
else
	mode="$workers worker(s) analysing meanwhile: $during analysed"
fi
awk -v n="$n" -v s="$scan_s" -v mode="$mode" -v size="$size" \
    -v h1="$hwm_scan" -v h2="$hwm_end" -v a="$((a1 - a0))" -v dt="$dt" \
    -v w="$workers" -v rescan="$rescan_s" -v stop="$stop_s" \
    -v r1="$rss_scan" -v r2="$rss_end" \
    -v end="$size_end" -v done_="$a1" -v load="$load" \
    -v rload="$rload" -v h3="$hwm_rescan" -v qload="$qload" \
    -v runs="$runs" -v watches="$watches" -v aload="$aload" \
    -v rev="$(revision)" -v cpu="$(machine)" 'BEGIN {
	printf "scan: %d files in %.1f s (%.0f files/s), db %.1f MB, " \
	    "daemon peak RSS %.0f MB\n", n, s, n / s, size / 1048576, h1 / 1024
	printf "  during the scan: %s\n", mode
	printf "  then analysis of these 0.5 s files: %.1f tracks/s " \
	    "(%d in %.1f s, %d worker(s)); peak RSS %.0f MB; db %.1f MB " \
	    "with %d analysed (load average before: %s)\n", a / dt, a, dt, w,
	    h2 / 1024, end / 1048576, done_, aload
	printf "  RSS %.1f MB after the scan, %.1f MB at the end\n",
	    r1 / 1024, r2 / 1024
	printf "  exit after SIGTERM %.1f s\n", stop
	printf "  restart: rescan of the unchanged library %.1f s " \
	    "(load average before: %s), peak RSS %.0f MB\n", rescan, rload,
	    h3 / 1024
	printf "  load average before the scan: %s; %s; source %s\n", load,
	    cpu, rev
	printf "  inotify: %s\n", watches
	printf "latency, median of %d runs, analysis paused (load average " \
	    "before: %s):\n", runs, qload
}'
cat "$tmp/latency"
if [ -s "$tmp/querybench" ]; then
	echo "querybench -r $runs on this database (load average before: $bload):"
	sed 's/^/  /' "$tmp/querybench"
fi
