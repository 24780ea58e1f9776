#!/bin/sh
# check.sh [BUILD_DIR]: checks the sandbox of the systemd user unit against
# what mtagd does, without a running systemd.
#
#   1. the exposure systemd-analyze security --offline rates the unit at,
#      as a system and as a user unit (fails above CHECK_MAX_EXPOSURE, 4.0:
#      "OK" or better);
#   2. systemd-analyze verify on the unit, ExecStart= pointing to the build;
#   3. tests/test_daemon.sh with every mtagd under strace: the system calls
#      mtagd and its threads made (from its execve on, so the dynamic
#      loader's included) against the unit's SystemCallFilter=, the socket
#      families against RestrictAddressFamilies=AF_UNIX, and the mappings
#      against MemoryDenyWriteExecute= (no writable and executable mapping,
#      no mprotect to executable). Skipped with CHECK_TRACE=0;
#   4. tests/test_daemon.sh again, with every mtagd under seccomp filters
#      made with libseccomp like systemd's: the unit's SystemCallFilter=
#      allow list (other calls fail with EPERM, as SystemCallErrorNumber=
#      says), socket() of families other than AF_UNIX failing with
#      EAFNOSUPPORT, writable and executable mmap, mprotect to executable
#      and shmat with SHM_EXEC failing with EPERM, and no new privileges;
#      as root, also in a mount namespace where the file system is
#      read-only but for the database's folder, the runtime folder and the
#      library (as with the writeback drop-in), like ProtectSystem=strict
#      with ReadWritePaths=. The other namespaces are not reproduced.
#      Skipped with CHECK_SECCOMP=0, or without python3 or libseccomp.so.2.
#
# BUILD_DIR (default: the current directory) holds mtagd, mtagctl and the
# unit (made with make systemd/mtagd.service when missing); needs
# systemd-analyze (systemd 252 or later), strace and what
# tests/test_daemon.sh needs. MTAG_SHARED_DIR as for make check. Exits 0
# when every check passes, 1 otherwise.
set -u
build=$(cd "${1:-.}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
unit=$build/systemd/mtagd.service
: "${MTAG_SHARED_DIR:=$src/../shared}"
fail=0
for b in mtagd mtagctl; do
	[ -x "$build/$b" ] || { echo "$0: no $build/$b" >&2; exit 2; }
done
[ -f "$unit" ] || make -C "$build" systemd/mtagd.service >/dev/null ||
    exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtag-unitcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# 1. Exposure; the user manager's offline analysis wants a runtime folder.
mkdir -m 700 "$tmp/run"
for mode in system user; do
	flag=
	[ "$mode" = user ] && flag=--user
	# shellcheck disable=SC2086
	x=$(XDG_RUNTIME_DIR=$tmp/run systemd-analyze $flag security \
	    --offline=true --no-pager "$unit" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: //p')
	echo "exposure ($mode unit): ${x:-unknown}"
	awk -v x="${x%% *}" -v m="${CHECK_MAX_EXPOSURE:-4.0}" \
	    'BEGIN { exit !(x != "" && x + 0 <= m + 0) }' || {
		echo "FAILED: exposure above ${CHECK_MAX_EXPOSURE:-4.0}"
		fail=1
	}
done

# 2. systemd-analyze verify, the manual pages not being installed.
sed "s|^ExecStart=[^ ]*|ExecStart=$build/mtagd|" "$unit" \
    >"$tmp/mtagd.service"
if systemd-analyze verify --man=no "$tmp/mtagd.service" >"$tmp/verify" 2>&1
then
	echo "verify: ok"
else
	echo "FAILED: systemd-analyze verify:"
	sed 's/^/  /' "$tmp/verify"
	fail=1
fi

# 3. The system calls the unit allows: its SystemCallFilter= lines, the
# first an allow list, each later one adding to it or, after ~, removing.
# expand NAME...: the system calls of the names and @groups, one a line.
expand() {
	for _n in "$@"; do
		case $_n in
		@*)	# shellcheck disable=SC2046
			expand $(systemd-analyze syscall-filter --no-pager "$_n" |
			    sed -n '1d; s/^ *//; /^#/d; /^$/d; p') ;;
		*)	echo "$_n" ;;
		esac
	done
}
: >"$tmp/allowed"
sed -n 's/^SystemCallFilter=//p' "$unit" >"$tmp/filters"
while read -r f; do
	case $f in
	~*)	# shellcheck disable=SC2086
		expand ${f#\~} | sort -u >"$tmp/deny"
		sort -u "$tmp/allowed" | comm -23 - "$tmp/deny" >"$tmp/a" ;;
	*)	# shellcheck disable=SC2086
		{ cat "$tmp/allowed"; expand $f; } | sort -u >"$tmp/a" ;;
	esac
	mv "$tmp/a" "$tmp/allowed"
done <"$tmp/filters"
[ -s "$tmp/allowed" ] || {
	echo "FAILED: no SystemCallFilter= allow list"
	exit 1
}

# daemon_test HOW: runs tests/test_daemon.sh with $tmp/mtagd, a wrapper that
# runs the build's mtagd HOW ("under strace"); a failure sets fail.
daemon_test() {
	echo "running tests/test_daemon.sh with mtagd $1"
	if MTAGD=$tmp/mtagd MTAGCTL=$build/mtagctl \
	    MTAG_SHARED_DIR=$MTAG_SHARED_DIR OPENBLAS_NUM_THREADS=1 \
	    sh "$src/tests/test_daemon.sh" >"$tmp/test.log" 2>&1; then
		echo "test_daemon.sh: passed $1"
	else
		echo "FAILED: test_daemon.sh $1:"
		grep -v '^ok:' "$tmp/test.log" | sed 's/^/  /'
		fail=1
	fi
}

# The system calls, families and mappings of mtagd in tests/test_daemon.sh.
trace() {
	# mtagd under strace, attached to the wrapper before it becomes mtagd, so
	# that its pid is the one the test signals. The wait loop uses builtins
	# only: no other program runs traced.
	mkdir "$tmp/trace"
	cat >"$tmp/mtagd" <<EOF
#!/bin/sh
strace -f -qq -s 256 -o "$tmp/trace/\$\$" -p \$\$ 2>>"$tmp/strace.err" &
traced=0
while [ "\$traced" = 0 ]; do
	while read -r k v; do
		[ "\$k" = TracerPid: ] && traced=\$v
	done </proc/\$\$/status
done
exec "$build/mtagd" "\$@"
EOF
	chmod +x "$tmp/mtagd"
	daemon_test "under strace"
	# Each trace from mtagd's execve on.
	for t in "$tmp/trace"/*; do
		awk -v e="execve(\"$build/mtagd\"" 'index($0, e) { on = 1 } on' "$t"
	done >"$tmp/calls"
	if ! [ -s "$tmp/calls" ]; then
		echo "FAILED: no trace of mtagd"
		fail=1
		return
	fi
	sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$tmp/calls" | sort |
	    uniq -c | sort -rn >"$tmp/used"
	echo "system calls made by mtagd ($(wc -l <"$tmp/used") distinct" \
	    "in $(find "$tmp/trace" -type f | wc -l) runs):"
	awk '{ printf "%s(%s) ", $2, $1 } END { print "" }' "$tmp/used" |
	    fold -s -w 78 | sed 's/^/  /'
	# Calls the unit refuses (EPERM) that mtagd is known to survive: libnuma's
	# set_mempolicy at load time and OpenBLAS's mbind (NUMA placement hints,
	# their failure ignored), and SQLite's fchown of the journal and WAL files,
	# made only when running as root (the unit runs as the user).
	known="set_mempolicy mbind"
	[ "$(id -u)" = 0 ] && known="$known fchown"
	awk '{ print $2 }' "$tmp/used" | sort | comm -23 - "$tmp/allowed" \
	    >"$tmp/denied"
	refused=
	unknown=
	while read -r c; do
		case " $known " in
		*" $c "*) refused="$refused $c" ;;
		*) unknown="$unknown $c" ;;
		esac
	done <"$tmp/denied"
	[ -n "$refused" ] &&
	    echo "refused by SystemCallFilter= (EPERM), known harmless:$refused"
	if [ -n "$unknown" ]; then
		echo "FAILED: not allowed by SystemCallFilter=:$unknown"
		fail=1
	else
		echo "SystemCallFilter=: every other call allowed"
	fi
	fams=$(sed -n 's/^[0-9]* *socket(\([A-Z0-9_]*\),.*/\1/p' "$tmp/calls" |
	    sort -u | tr '\n' ' ')
	echo "socket families: ${fams:-none}"
	case " $fams" in
	*" AF_"*)
		[ "$fams" = "AF_UNIX " ] || {
			echo "FAILED: families other than AF_UNIX"
			fail=1
		} ;;
	esac
	wxre='mmap\(.*PROT_WRITE\|PROT_EXEC|mprotect\(.*PROT_EXEC'
	wx=$(grep -c -E "$wxre" "$tmp/calls")
	echo "writable+executable mappings or mprotect to executable: $wx"
	[ "$wx" -eq 0 ] || {
		echo "FAILED: MemoryDenyWriteExecute= would refuse:"
		grep -E "$wxre" "$tmp/calls" | head -n 5 | sed 's/^/  /'
		fail=1
	}
}
if [ "${CHECK_TRACE:-1}" = 0 ]; then
	:
elif command -v strace >/dev/null; then
	trace
else
	echo "no strace: strace run skipped"
fi

[ "${CHECK_SECCOMP:-1}" = 0 ] && exit "$fail"
# 4. Under seccomp: python3 loads the filters through ctypes and execs mtagd.
cat >"$tmp/seccomp.py" <<'EOF'
"""seccomp.py ALLOWED PROGRAM ARG...: execs PROGRAM under the filters."""
import ctypes
import errno
import os
import sys


class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]


lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                       ctypes.c_int, ctypes.c_uint,
                                       ctypes.POINTER(Cmp)]
lib.seccomp_load.argtypes = [ctypes.c_void_p]
ALLOW = 0x7FFF0000
NE, MASKED_EQ = 1, 7
PROT_WRITE, PROT_EXEC, SHM_EXEC = 2, 4, 0o100000


def errno_action(e):
    return 0x00050000 | e


def rule(ctx, action, name, *cmps):
    nr = lib.seccomp_syscall_resolve_name(name.encode())
    if nr < 0:      # not a system call of this architecture
        return
    arr = (Cmp * len(cmps))(*[Cmp(*c) for c in cmps]) if cmps else None
    if lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), arr) < 0:
        sys.exit("seccomp: cannot add a rule for " + name)


def load(ctx):
    if lib.seccomp_load(ctx) < 0:
        sys.exit("seccomp: cannot load a filter")


# SystemCallFilter= with SystemCallErrorNumber=EPERM.
allow = lib.seccomp_init(errno_action(errno.EPERM))
with open(sys.argv[1]) as f:
    for name in f.read().split():
        rule(allow, ALLOW, name)
# RestrictAddressFamilies=AF_UNIX and MemoryDenyWriteExecute=yes.
deny = lib.seccomp_init(ALLOW)
rule(deny, errno_action(errno.EAFNOSUPPORT), "socket", (0, NE, 1, 0))
wx = PROT_WRITE | PROT_EXEC
rule(deny, errno_action(errno.EPERM), "mmap", (2, MASKED_EQ, wx, wx))
for name in ("mprotect", "pkey_mprotect"):
    rule(deny, errno_action(errno.EPERM), name,
         (2, MASKED_EQ, PROT_EXEC, PROT_EXEC))
rule(deny, errno_action(errno.EPERM), "shmat",
     (2, MASKED_EQ, SHM_EXEC, SHM_EXEC))
# NoNewPrivileges=yes: prctl(PR_SET_NO_NEW_PRIVS, 1).
if ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0) != 0:
    sys.exit("prctl: no new privileges: " + os.strerror(ctypes.get_errno()))
load(deny)
load(allow)
os.execv(sys.argv[2], sys.argv[2:])
EOF
if command -v python3 >/dev/null &&
    python3 -c 'import ctypes; ctypes.CDLL("libseccomp.so.2")' 2>/dev/null
then
	# As root, in a mount namespace too: the file system read-only but for
	# the database's folder, the runtime folder and the library (writable
	# as with the writeback drop-in), like ProtectSystem=strict.
	ro=
	if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	    unshare -m true 2>/dev/null; then
		ro=" in a read-only file system"
	fi
	cat >"$tmp/mtagd" <<EOF
#!/bin/sh
run="python3 $tmp/seccomp.py $tmp/allowed $build/mtagd"
[ -n "$ro" ] || exec \$run "\$@"
db= lib= prev=
for a do
	case \$prev in
	--db) db=\$(dirname "\$a") ;;
	--library) lib=\$a ;;
	esac
	prev=\$a
done
exec unshare -m --propagation private sh -c '
set -e
rw="\$1 \$2 \$3"
shift 3
for d in \$rw; do mount --bind "\$d" "\$d"; done
for m in / \$(findmnt -n -o TARGET -T "\${rw%% *}"); do
	mount -o remount,bind,ro "\$m"
done
for d in \$rw; do mount -o remount,bind,rw "\$d"; done
exec '"\$run"' "\$@"' sh "\$db" "\$XDG_RUNTIME_DIR" "\$lib" "\$@"
EOF
	chmod +x "$tmp/mtagd"
	daemon_test "under seccomp$ro"
else
	echo "no python3 or libseccomp.so.2: seccomp run skipped"
fi
exit "$fail"
