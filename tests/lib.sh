# Sourced by the shell tests that run mtagd: a temporary folder for their
# data, runtime and configuration (MTAG_DATA_DIR and XDG_* point into it,
# models come from the pretrained mirror of the shared data), removed at
# exit (kept with MTAG_TEST_KEEP=1) once the daemon $pid is killed; a test
# with more to undo defines cleanup_extra. $db names the database, which
# sql and until_sql read; check, ok and bad report, fail ends up the exit
# status.
set -u
: "${MTAGCTL:?}" "${MTAGD:?}" "${MTAG_SHARED_DIR:?}"
[ -d "$MTAG_SHARED_DIR" ] || { echo "no shared data: skipping"; exit 77; }

tmp=$(mktemp -d)
pid=
cleanup_extra() { :; }
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	cleanup_extra
	if [ -n "${MTAG_TEST_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export MTAG_DATA_DIR="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
export XDG_CONFIG_HOME="$tmp/config"
export MTAG_MODEL_MIRROR="$MTAG_SHARED_DIR/models/pretrained"
mkdir -p "$XDG_RUNTIME_DIR"
db=$tmp/library.db
fail=0

ok() { echo "ok: $1"; }
bad() { echo "FAILED: $1"; fail=1; }
check() {	# check DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}
sql() { sqlite3 -readonly -cmd ".timeout 5000" "$db" "$@"; }
# until_sql SECONDS SQL EXPECTED: waits (at most SECONDS) for the query to
# give EXPECTED.
until_sql() {
	n=$(($1 * 10))
	while [ "$n" -gt 0 ]; do
		[ "$(sql "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "  got '$(sql "$2")', expected '$3' for: $2"
	return 1
}
