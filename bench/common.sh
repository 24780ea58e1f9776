# Shared by the benchmark scripts; sourced, not run. Its functions' own
# variables start with an underscore.
# shellcheck shell=sh

# The build folder: first argument of bench_init, else $MTAG_BUILD, else the
# current directory.
bench_init() {
	build=${1:-${MTAG_BUILD:-.}}
	MTAGD=$build/mtagd
	MTAGCTL=$build/mtagctl
	for _b in "$MTAGD" "$MTAGCTL"; do
		[ -x "$_b" ] || { echo "$0: no $_b (MTAG_BUILD=DIR or first" \
		    "argument: the build folder)" >&2; exit 2; }
	done
	here=$(cd "$(dirname "$0")" && pwd)
	: "${MTAG_SHARED_DIR:=$here/../../shared}"
	: "${MTAG_MODEL_MIRROR:=$MTAG_SHARED_DIR/models/pretrained}"
	export MTAG_MODEL_MIRROR
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtag-bench.XXXXXX")
	pid=
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	export XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/config"
	mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
	# Models: those of MTAG_DATA_DIR when given, else a private store.
	if [ -z "${MTAG_DATA_DIR:-}" ]; then
		export MTAG_DATA_DIR="$tmp/data"
	fi
}

bench_cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}

# fetch MODEL...: installs the models not installed yet.
fetch() {
	for _m in "$@"; do
		"$MTAGCTL" model list 2>/dev/null | grep -q "^$_m " ||
		    "$MTAGCTL" model fetch "$_m" >/dev/null || exit 1
	done
}

now() { date +%s.%N; }
# elapsed T0: seconds since T0 (a value of now).
elapsed() { echo "$1 $(now)" | awk '{ printf "%.2f", $2 - $1 }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# median: of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fsize() { if [ -e "$1" ]; then wc -c <"$1" | tr -d ' '; else echo 0; fi; }

# wait_quiet: waits (up to $BENCH_MAX_WAIT s, default 600) for the 1-minute
# load average to fall to $BENCH_MAX_LOAD (default 0.5), so that the
# measurement does not compete with other work on the machine.
wait_quiet() {
	_wait=${BENCH_MAX_WAIT:-600}
	until awk -v l="$(load1)" -v m="${BENCH_MAX_LOAD:-0.5}" \
	    'BEGIN { exit !(l <= m) }'; do
		if [ "$_wait" -le 0 ]; then
			echo "$0: load still $(load1) (> ${BENCH_MAX_LOAD:-0.5})," \
			    "measuring anyway" >&2
			return
		fi
		sleep 5
		_wait=$((_wait - 5))
	done
}

# start_daemon ARGS...: mtagd in the foreground, its log in $tmp/mtagd.log.
start_daemon() {
	"$MTAGD" -f "$@" >>"$tmp/mtagd.log" 2>&1 &
	pid=$!
}

# stop_daemon: SIGTERM, then up to 60 s for it to exit.
stop_daemon() {
	kill "$pid" 2>/dev/null
	_wait=600
	while kill -0 "$pid" 2>/dev/null && [ "$_wait" -gt 0 ]; do
		sleep 0.1
		_wait=$((_wait - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$0: mtagd did not stop within 60 s of SIGTERM" >&2
		return 1
	fi
	wait "$pid" 2>/dev/null
	pid=
}

# vmhwm, vmrss: the daemon's peak resident set so far, its resident set
# now, in kB.
vmhwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status"; }
vmrss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

# median_ms RUNS COMMAND...: runs COMMAND (its output discarded) RUNS
# times and prints the median wall time in milliseconds, from its start to
# its exit; fails if COMMAND fails. Timed by python3: a shell would add a
# fork per time stamp.
median_ms() {
	python3 -c 'import statistics, subprocess, sys, time
ts = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter()
    subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, check=True)
    ts.append(time.perf_counter() - t)
print("%.1f" % (statistics.median(ts) * 1e3))' "$@"
}

# sql DB QUERY
sql() { sqlite3 -readonly -cmd ".timeout 5000" "$1" "$2"; }

# machine: a description of the machine, for the result lines.
machine() {
	echo "$(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' \
	    /proc/cpuinfo | head -n 1))"
}

# revision: what the build was made from: $BENCH_REV if set, else the
# commit of the build's source tree (abs_top_srcdir of its Makefile) and
# whether that tree has local changes now, else the tree's path. Read-only:
# no index refresh, no lock taken.
revision() {
	[ -n "${BENCH_REV:-}" ] && { echo "$BENCH_REV"; return; }
	_src=$(sed -n 's/^abs_top_srcdir = //p' "$build/Makefile" 2>/dev/null)
	: "${_src:=$here/..}"
	if _r=$(git -C "$_src" rev-parse --short HEAD 2>/dev/null); then
		if git --no-optional-locks -C "$_src" status --porcelain \
		    --untracked-files=no 2>/dev/null | grep -q .; then
			_r="$_r+local changes"
		fi
		echo "$_r ($_src)"
	else
		echo "$_src"
	fi
}
