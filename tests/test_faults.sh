#!/bin/sh
# mtagd under faults: kill -9 while indexing and while writing tags back, a
# full disk under the database, read-only and unreadable folders, files
# changing while analysed, hostile file names, symlink loops, exhausted
# inotify limits, and SIGHUP reloads. The daemon must keep working, lose
# nothing and leave a consistent database. Sections needing root or a
# mount skip themselves, saying why. MTAG_FAULTS_SECTIONS="1 3" runs only
# those sections; MTAG_TEST_KEEP=1 keeps the files made.
. "$(dirname "$0")/lib.sh"
for t in ffmpeg ffprobe sqlite3; do
	command -v $t >/dev/null || { echo "no $t: skipping"; exit 77; }
done
mounts=
watches=
instances=
cleanup_extra() {
	[ -n "$watches" ] && echo "$watches" >/proc/sys/fs/inotify/max_user_watches
	[ -n "$instances" ] &&
	    echo "$instances" >/proc/sys/fs/inotify/max_user_instances
	for m in $mounts; do umount -l "$m" 2>/dev/null; done
	chmod -R u+rwx "$tmp" 2>/dev/null
}
t0=$(date +%s)

skip() { echo "SKIP: $1"; }
section() {	# section N TITLE: whether to run section N
	case " ${MTAG_FAULTS_SECTIONS:-$1} " in
	*" $1 "*) echo "=== $1. $2 ($(($(date +%s) - t0)) s so far)" ;;
	*) return 1 ;;
	esac
}
# until_log SECONDS PATTERN: waits for an extended regexp in the log.
until_log() {
	n=$(($1 * 10))
	while [ "$n" -gt 0 ]; do
		grep -Eq "$2" "$log" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "  no line matching '$2' in $log"
	return 1
}
# make_audio FILE FREQ [SECONDS]: a tone with noise, tagged.
make_audio() {
	ffmpeg -nostdin -loglevel error -f lavfi \
	    -i "sine=frequency=$2:duration=${3:-4}" -f lavfi \
	    -i "anoisesrc=duration=${3:-4}:amplitude=0.05:seed=$2" \
	    -filter_complex amix=inputs=2 -metadata title="T$2" \
	    -metadata artist="Test Artist" -y "$1"
}
# variant SRC DEST N: SRC under another title (other contents, same audio).
variant() {
	ffmpeg -nostdin -loglevel error -i "$1" -c copy -metadata title="V$3" \
	    -y "$2"
}
audio_md5() { ffmpeg -nostdin -loglevel error -i "$1" -map 0:a:0 -f md5 -; }
# conf FILE LINE...: a configuration file of the lines, with short
# settle and rescan times.
conf() {
	c=$1
	shift
	printf '%s\n' "workers = 2" "$@" >"$c"
}
# start CONF [AS_USER...]: mtagd -f on the database $db, logging to $log.
start() {
	c=$1
	shift
	started_at=$(cat "$log" 2>/dev/null | wc -l)
	"$@" "$MTAGD" -f -c "$c" --db "$db" >>"$log" 2>&1 &
	pid=$!
}
# stop: SIGTERM once mtagd has logged (so handles signals), then its exit
# within 10 s, with status 0.
stop() {
	n=100
	while [ "$(wc -l <"$log")" -le "$started_at" ] && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	kill "$pid" 2>/dev/null
	n=100
	while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -0 "$pid" 2>/dev/null && return 1
	wait "$pid"
	rc=$?
	pid=
	[ $rc -eq 0 ]
}
kill9() {
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}
alive() { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
integrity() { [ "$(sql 'PRAGMA integrity_check')" = ok ]; }
# Nothing queued or running, every track analysed once.
all_done() {	# all_done N: N tracks, each with one done analysis
	until_sql "${2:-120}" "SELECT (SELECT count(*) FROM tracks) || ' ' ||
	    (SELECT count(*) FROM analyses WHERE status = 'done') || ' ' ||
	    (SELECT count(*) FROM analyses)" "$1 $1 $1"
}
# Random numbers without $RANDOM (POSIX sh): awk seeded per call.
rand_sleep() {	# rand_sleep MIN MAX (seconds)
	sleep "$(awk -v a="$1" -v b="$2" -v s="$(od -An -N4 -tu4 /dev/urandom)" \
	    'BEGIN { srand(s); printf "%.2f", a + rand() * (b - a) }')"
}
is_root() { [ "$(id -u)" -eq 0 ]; }

"$MTAGCTL" model fetch musicnn-mtat >/dev/null || exit 1

# --- 1. kill -9 while indexing -------------------------------------------
if section 1 "kill -9 loops while indexing"; then
	lib=$tmp/s1/lib
	db=$tmp/s1/library.db
	log=$tmp/s1/mtagd.log
	mkdir -p "$lib/a" "$lib/b"
	make_audio "$tmp/s1/src.mp3" 200 3 || exit 1
	i=0
	while [ $i -lt 40 ]; do
		variant "$tmp/s1/src.mp3" \
		    "$lib/$([ $((i % 2)) -eq 0 ] && echo a || echo b)/k$i.mp3" \
		    $i || exit 1
		i=$((i + 1))
	done
	conf "$tmp/s1/mtag.conf" "library = $lib" "rescan_interval = 0"
	round=0
	while [ $round -lt 15 ]; do
		start "$tmp/s1/mtag.conf"
		rand_sleep 0.1 1.5
		kill9
		round=$((round + 1))
	done
	check "integrity after 15 kill -9" integrity
	start "$tmp/s1/mtag.conf"
	check "every file indexed and analysed once after the restart" \
	    all_done 40
	check "no analysis failed" test "$(sql "SELECT count(*) FROM analyses
	    WHERE status != 'done'")" -eq 0
	check "no duplicate path" test "$(sql "SELECT count(DISTINCT path)
	    FROM tracks")" -eq 40
	check "50 scores per analysis, no more" test "$(sql "SELECT
	    count(*) FROM scores")" -eq 2000
	check "a ranking and a vector per analysis" test "$(sql "SELECT
	    (SELECT count(DISTINCT track_id) FROM tag_ranks) || ' ' ||
	    (SELECT count(*) FROM vectors)")" = "40 40"
	check "every analysis complete" test "$(sql "SELECT count(*) FROM
	    analyses WHERE length(embedding) != 800 OR nchunks < 1 OR
	    length(chunk_scores) != nchunks * 50 * 4 OR
	    length(chunk_starts) != nchunks * 8")" -eq 0
	check "stop" stop
	check "integrity at the end" integrity
fi

# --- 2. kill -9 while writing tags back ----------------------------------
# has_tags FILE: whether the file has mtag's fields.
has_tags() {
	ffprobe -loglevel error -show_entries format_tags:stream_tags "$1" |
	    grep -qi '^TAG:MTAG_MODEL=musicnn-mtat'
}
# whole DIR ORIG: every file of DIR is its original in ORIG, or has the
# new tags (and then decodes to the same audio, checked at the end).
whole() {
	for f in "$1"/*/*; do
		cmp -s "$f" "$2/$(basename "$f")" || has_tags "$f" || {
			echo "  $f: neither the original nor written"
			return 1
		}
	done
}
temps() { find "$1" -name '.*.mtag-*' | wc -l; }
if section 2 "kill -9 loops while mtagd writes tags back"; then
	lib=$tmp/s2/lib
	db=$tmp/s2/library.db
	log=$tmp/s2/mtagd.log
	orig=$tmp/s2/orig
	mkdir -p "$lib/x" "$lib/y" "$orig"
	i=0
	for ext in mp3 flac ogg m4a mp3 flac ogg m4a mp3 flac ogg m4a; do
		d=$([ $i -lt 6 ] && echo x || echo y)
		make_audio "$lib/$d/w$i.$ext" $((300 + i * 53)) 3 || exit 1
		cp -p "$lib/$d/w$i.$ext" "$orig/"
		audio_md5 "$orig/w$i.$ext" >"$orig/w$i.$ext.md5"
		i=$((i + 1))
	done
	# A temporary file of a writer killed before mtagd started.
	cp "$lib/x/w0.mp3" "$lib/y/.w0.mp3.mtag-AbC123"
	conf "$tmp/s2/mtag.conf" "library = $lib" "writeback = new" \
	    "rescan_interval = 0"
	round=0
	halves=0
	while [ $round -lt 12 ]; do
		start "$tmp/s2/mtag.conf"
		rand_sleep 0.3 1.5
		kill9
		whole "$lib" "$orig" || halves=$((halves + 1))
		round=$((round + 1))
	done
	check "after each kill -9, every file is all old or all new" \
	    test $halves -eq 0
	check "integrity after 12 kill -9" integrity
	start "$tmp/s2/mtag.conf"
	check "every file analysed once" all_done 12
	check "every file written, none left to write" until_sql 60 "SELECT
	    (SELECT count(*) FROM writeback_files WHERE state = 'written') ||
	    ' ' || (SELECT count(*) FROM writeback_queue)" "12 0"
	check "stop" stop
	w=0
	for f in "$lib"/*/*; do has_tags "$f" && w=$((w + 1)); done
	check "every file has the tags ($w of 12)" test "$w" -eq 12
	same=0
	for f in "$lib"/*/*; do
		[ "$(audio_md5 "$f")" = "$(cat "$orig/$(basename "$f").md5")" ] &&
		    same=$((same + 1))
	done
	check "the audio of every file unchanged" test $same -eq 12
	check "no temporary file left after the next run" test "$(temps "$lib")" -eq 0
	check "no analysis lost or repeated" test "$(sql "SELECT count(*) FROM
	    analyses WHERE status = 'done'")" -eq 12
	check "integrity at the end" integrity
fi

# --- 3. The database on a full disk --------------------------------------
if section 3 "the database on a full file system"; then
	mnt=$tmp/s3/fs
	mkdir -p "$mnt" "$tmp/s3/lib" "$tmp/s3/more"
	if ! is_root || ! mount -t tmpfs -o size=8m tmpfs "$mnt" 2>/dev/null; then
		skip "cannot mount a tmpfs (not root?)"
	else
		mounts="$mnt $mounts"
		lib=$tmp/s3/lib
		db=$mnt/library.db
		log=$tmp/s3/mtagd.log
		make_audio "$tmp/s3/src.mp3" 500 3 || exit 1
		i=0
		while [ $i -lt 16 ]; do
			d=$([ $i -lt 10 ] && echo lib || echo more)
			variant "$tmp/s3/src.mp3" "$tmp/s3/$d/f$i.mp3" $i ||
			    exit 1
			i=$((i + 1))
		done
		conf "$tmp/s3/mtag.conf" "library = $lib" "rescan_interval = 0"
		start "$tmp/s3/mtag.conf"
		until_log 30 "scan done" >/dev/null
		# Full while analyses are stored and new files come in.
		dd if=/dev/zero of="$mnt/filler" bs=16k 2>/dev/null
		cp "$tmp/s3/more"/*.mp3 "$lib/"
		check "a clear error: the database and 'database or disk is full'" \
		    until_log 30 "$db: database or disk is full"
		check "mtagd keeps running" alive
		check "integrity on the full disk" integrity
		check "no analysis marked failed for want of space" test \
		    "$(sql "SELECT count(*) FROM analyses WHERE status =
		    'failed'")" -eq 0
		rm "$mnt/filler"
		check "with space again, every file indexed and analysed" \
		    all_done 16
		check "no analysis failed" test "$(sql "SELECT count(*) FROM
		    analyses WHERE status != 'done'")" -eq 0
		check "stop" stop
		check "integrity at the end" integrity
	fi
fi

# --- 4. Read-only and unreadable libraries -------------------------------
if section 4 "read-only and unreadable library folders"; then
	src=$tmp/s4/src
	mkdir -p "$src/sub"
	for i in 0 1 2 3; do
		make_audio "$src/sub/r$i.flac" $((700 + i * 29)) 3 || exit 1
	done
	ro=$tmp/s4/ro
	mkdir -p "$ro"
	if ! is_root || ! mount --bind "$src" "$ro" 2>/dev/null; then
		skip "read-only library: cannot bind-mount (not root?)"
	else
		mounts="$ro $mounts"
		if ! mount -o remount,bind,ro "$ro" 2>/dev/null; then
			skip "read-only library: cannot remount read-only"
		else
			db=$tmp/s4/ro.db
			log=$tmp/s4/ro.log
			conf "$tmp/s4/ro.conf" "library = $ro" "writeback = new" \
			    "rescan_interval = 0"
			start "$tmp/s4/ro.conf"
			check "read-only library: every file analysed" all_done 4
			check "... a clear error per file, naming it" until_log 30 \
			    "$ro/sub/r3.flac: the file is read-only: not written"
			check "... for each of them" test "$(grep -c \
			    'the file is read-only: not written' "$log")" -eq 4
			check "... mtagd keeps running" alive
			check "... stop" stop
			check "... no file changed" diff -r "$src" "$ro"
			check "... no temporary file" test "$(temps "$src")" -eq 0
			check "... integrity" integrity
		fi
	fi
	# Unreadable folders and files: root reads them anyway.
	if ! is_root || ! command -v setpriv >/dev/null; then
		skip "unreadable folders: needs root and setpriv to run as nobody"
	else
		u=$tmp/s4/u
		lib=$u/lib
		mkdir -p "$lib/open" "$lib/locked" "$u/run"
		for i in 0 1 2; do cp "$src/sub/r$i.flac" "$lib/open/"; done
		cp "$src/sub/r3.flac" "$lib/locked/"
		make_audio "$lib/open/secret.mp3" 999 3 || exit 1
		chown -R nobody:nogroup "$u"
		chmod 000 "$lib/locked" "$lib/open/secret.mp3"
		chmod 755 "$tmp" "$tmp/s4"
		chmod -R a+rX "$MTAG_DATA_DIR"
		db=$u/library.db
		log=$tmp/s4/u.log
		conf "$u/mtag.conf" "library = $lib" "rescan_interval = 0"
		XDG_RUNTIME_DIR=$u/run start "$u/mtag.conf" setpriv \
		    --reuid=nobody --regid=nogroup --clear-groups
		check "unreadable: the readable files analysed" until_sql 60 \
		    "SELECT count(*) FROM analyses WHERE status = 'done'" 3
		check "... a warning names the unreadable folder" until_log 10 \
		    "$lib/locked: Permission denied"
		check "... and the unreadable file" until_log 10 \
		    "$lib/open/secret.mp3:.*(Permission denied|cannot)"
		check "... which is recorded as failed, with why" test "$(sql \
		    "SELECT count(*) FROM tracks WHERE path =
		    '$lib/open/secret.mp3' AND error IS NOT NULL")" -eq 1
		check "... mtagd keeps running" alive
		check "... stop" stop
		check "... integrity" integrity
		chmod 700 "$tmp"
	fi
fi

# --- 5. Files changing while analysed ------------------------------------
# The tracks and the files agree: every file known with its size and hash
# (none for one recorded as unreadable, with why), nothing else known.
consistent() {
	find "$1" -type f -name '*.mp3' | sort >"$tmp/files"
	sql "SELECT path FROM tracks ORDER BY path" | sort >"$tmp/known"
	cmp -s "$tmp/files" "$tmp/known" || {
		echo "  files and tracks differ:"
		diff "$tmp/files" "$tmp/known" | head
		return 1
	}
	while read -r f; do
		[ "$(sql "SELECT size || ' ' || coalesce(hash, '-') FROM tracks
		    WHERE path = '$f' AND (hash IS NOT NULL OR error IS NOT
		    NULL)")" = "$(stat -c %s "$f") $(sha256sum <"$f" |
		    cut -d' ' -f1)" ] || [ "$(sql "SELECT size || ' ' ||
		    coalesce(hash, '-') FROM tracks WHERE path = '$f' AND
		    error IS NOT NULL")" = "$(stat -c %s "$f") -" ] ||
		    { echo "  $f: stale"; return 1; }
	done <"$tmp/files"
}
# job_of FILE: waits for FILE to be in analysis.
job_of() {
	n=100
	while [ $n -gt 0 ]; do
		"$MTAGCTL" status 2>/dev/null | grep -qF "$1" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}
if section 5 "files deleted or changed while analysed"; then
	lib=$tmp/s5/lib
	db=$tmp/s5/library.db
	log=$tmp/s5/mtagd.log
	mkdir -p "$lib"
	make_audio "$tmp/s5/long.mp3" 440 180 || exit 1
	for i in 1 2 3 4 5 6; do
		variant "$tmp/s5/long.mp3" "$lib/long$i.mp3" $i || exit 1
	done
	make_audio "$tmp/s5/other.mp3" 880 30 || exit 1
	conf "$tmp/s5/mtag.conf" "library = $lib" "rescan_interval = 0"
	start "$tmp/s5/mtag.conf"
	job_of long1.mp3 && rm "$lib/long1.mp3"
	job_of long2.mp3 && truncate -s 100000 "$lib/long2.mp3"
	job_of long3.mp3 && head -c 300000 /dev/urandom >>"$lib/long3.mp3"
	job_of long4.mp3 && cp "$tmp/s5/other.mp3" "$lib/long4.mp3"
	job_of long5.mp3 && mv "$tmp/s5/other.mp3" "$lib/long5.mp3"
	job_of long6.mp3 && : >"$lib/long6.mp3"
	check "every file has its analysis or its error" until_sql 120 \
	    "SELECT count(*) FROM analyses a JOIN tracks t ON t.id = a.track_id
	     WHERE a.status = 'done' OR (a.status = 'failed' AND
	     coalesce(a.error, t.error) IS NOT NULL)" 5
	check "nothing left queued" until_sql 30 "SELECT count(*) FROM analyses
	    WHERE status IN ('pending', 'running')" 0
	check "the vanished file is not in the index" test "$(sql "SELECT
	    count(*) FROM tracks WHERE path = '$lib/long1.mp3'")" -eq 0
	check "the index matches the files (sizes, hashes)" consistent "$lib"
	check "the changed files were analysed again" test "$(sql "SELECT
	    count(*) FROM analyses a JOIN tracks t ON t.id = a.track_id WHERE
	    t.path IN ('$lib/long3.mp3', '$lib/long4.mp3', '$lib/long5.mp3')
	    AND a.status = 'done'")" -eq 3
	check "mtagd keeps running" alive
	check "stop" stop
	check "integrity" integrity
fi

# --- 6. Hostile file names -----------------------------------------------
if section 6 "non-UTF-8, very long and shell-hostile file names"; then
	lib=$tmp/s6/lib
	db=$tmp/s6/library.db
	log=$tmp/s6/mtagd.log
	mkdir -p "$lib"
	make_audio "$tmp/s6/src.mp3" 1200 3 || exit 1
	long=$(printf '%0250d' 0)
	deep=$lib/$long/$long/$long/$long/$long
	mkdir -p "$deep"
	i=0
	for name in "$(printf 'bad\377\376name.mp3')" "$(printf 'new\nline.mp3')" \
	    "sp ace \$(x) \`y\` ;|&<>*?[\"'\\.mp3" "-dash.mp3" \
	    "$long.mp3" "$deep/${long}x.mp3"; do
		case $name in /*) f=$name ;; *) f=$lib/$name ;; esac
		ffmpeg -nostdin -loglevel error -i "$tmp/s6/src.mp3" -c copy \
		    -metadata title="Name $i" -- "$f" || exit 1
		i=$((i + 1))
	done
	conf "$tmp/s6/mtag.conf" "library = $lib" "rescan_interval = 0"
	start "$tmp/s6/mtag.conf"
	check "every file indexed and analysed" all_done 6
	check "the path over 1024 bytes kept whole" test "$(sql "SELECT
	    count(*) FROM tracks WHERE length(CAST(path AS BLOB)) > 1300")" -eq 1
	check "the non-UTF-8 bytes kept" test "$(sql "SELECT count(*) FROM
	    tracks WHERE instr(CAST(path AS BLOB), X'FFFE') > 0")" -eq 1
	shown=$(find "$lib" -name '*.mp3' -print0 | xargs -0 -n1 sh -c \
	    '"$0" --db "$1" show -- "$2" >/dev/null && echo ok' "$MTAGCTL" \
	    "$db" | grep -c ok)
	check "mtagctl show finds each of them" test "$shown" -eq 6
	"$MTAGCTL" --db "$db" query --m3u "artist:~'^Test'" >"$tmp/s6/m3u"
	check "mtagctl query --m3u lists them" test $? -eq 0
	"$MTAGCTL" --db "$db" query --json "artist:~'^Test'" >"$tmp/s6/json"
	check "mtagctl query --json lists them" test $? -eq 0
	check "... all six" test "$(grep -o '"path"' "$tmp/s6/json" | wc -l)" -eq 6
	"$MTAGCTL" --db "$db" export --csv >"$tmp/s6/csv"
	check "mtagctl export --csv" test $? -eq 0
	"$MTAGCTL" --db "$db" export --json >/dev/null
	check "mtagctl export --json" test $? -eq 0
	ids=$(sql "SELECT group_concat(id) FROM (SELECT id FROM tracks
	    ORDER BY id)")
	runs=$("$MTAGCTL" status --json | sed 's/.*"analysed_since_start": \([0-9]*\).*/\1/')
	mkdir "$lib/moved"
	mv "$lib/$(printf 'bad\377\376name.mp3')" "$lib/moved/$(printf 'still\377bad.mp3')"
	mv "$lib/$(printf 'new\nline.mp3')" "$lib/moved/$(printf 'two\nlines.mp3')"
	mv "$lib/sp ace \$(x) \`y\` ;|&<>*?[\"'\\.mp3" "$lib/moved/* \$HOME.mp3"
	mv "$lib/$long" "$lib/moved/"
	check "renames tracked, the tracks kept" until_sql 10 "SELECT count(*)
	    FROM tracks WHERE path >= '$lib/moved/' AND path < '$lib/moved0'" 4
	check "... the same tracks" test "$(sql "SELECT group_concat(id) FROM
	    (SELECT id FROM tracks ORDER BY id)")" = "$ids"
	check "... not analysed again" test "$("$MTAGCTL" status --json |
	    sed 's/.*"analysed_since_start": \([0-9]*\).*/\1/')" -eq "$runs"
	check "mtagd keeps running" alive
	check "stop" stop
	check "integrity" integrity
fi

# --- 7. Symlink loops ----------------------------------------------------
if section 7 "symlink loops, followed or not"; then
	lib=$tmp/s7/lib
	db=$tmp/s7/library.db
	log=$tmp/s7/mtagd.log
	mkdir -p "$lib/a/deeper" "$lib/b"
	make_audio "$lib/a/one.mp3" 1300 3 &&
	    make_audio "$lib/a/deeper/two.mp3" 1400 3 &&
	    make_audio "$lib/b/three.mp3" 1500 3 || exit 1
	ln -s loop2 "$lib/loop1"
	ln -s loop1 "$lib/loop2"
	ln -s .. "$lib/a/deeper/up"
	ln -s ../a "$lib/b/to_a"
	ln -s ../b "$lib/a/to_b"
	ln -s . "$lib/b/self"
	for follow in no yes; do
		: >"$log"
		conf "$tmp/s7/mtag.conf" "library = $lib" "rescan_interval = 0" \
		    "follow_symlinks = $follow"
		start "$tmp/s7/mtag.conf"
		check "follow_symlinks = $follow: the scan ends" until_log 30 \
		    "scan done"
		check "... three files, each once" all_done 3
		[ $follow = yes ] && check "... a warning names the loop" \
		    grep -q "$lib/loop1: Too many levels of symbolic links" "$log"
		check "... stop" stop
	done
	check "integrity" integrity
fi

# --- 8. inotify limits exhausted -----------------------------------------
w=/proc/sys/fs/inotify/max_user_watches
ins=/proc/sys/fs/inotify/max_user_instances
if section 8 "inotify limits exhausted"; then
	if ! is_root || ! command -v setpriv >/dev/null || [ ! -w $w ]; then
		skip "inotify limits: needs root, setpriv and $w"
	else
		# mtagd runs as nobody, whose watches are mtagd's alone; the
		# limits are lowered as briefly as can be, and always restored.
		u=$tmp/s8
		lib=$u/lib
		mkdir -p "$lib/d1/d2/d3/d4/d5" "$u/run"
		make_audio "$lib/d1/d2/d3/d4/d5/first.mp3" 1600 3 || exit 1
		make_audio "$u/later.mp3" 1700 3 || exit 1
		chown -R nobody:nogroup "$u"
		chmod 755 "$tmp"
		chmod -R a+rX "$MTAG_DATA_DIR"
		db=$u/library.db
		log=$u/mtagd.log
		conf "$u/mtag.conf" "library = $lib" "rescan_interval = 1s"
		watches=$(cat $w)
		echo 3 >$w
		XDG_RUNTIME_DIR=$u/run start "$u/mtag.conf" setpriv \
		    --reuid=nobody --regid=nogroup --clear-groups
		until_log 30 "scan done" >/dev/null
		echo "$watches" >$w
		watches=
		check "watch limit: a warning with the sysctl hint" grep -q \
		    "inotify watch limit reached; raise it with 'sysctl fs.inotify.max_user_watches=N'" \
		    "$log"
		check "... the folders there are indexed" all_done 1
		cp "$u/later.mp3" "$lib/d1/d2/d3/d4/d5/"
		check "... a new file below the unwatched folders indexed by the rescans" \
		    all_done 2
		check "... stop" stop
		rm -f "$lib/d1/d2/d3/d4/d5/later.mp3"

		: >"$log"
		conf "$u/mtag.conf" "library = $lib" "rescan_interval = 1s"
		instances=$(cat $ins)
		echo 0 >$ins
		XDG_RUNTIME_DIR=$u/run start "$u/mtag.conf" setpriv \
		    --reuid=nobody --regid=nogroup --clear-groups
		until_log 30 "scan done|exiting|cannot" >/dev/null
		echo "$instances" >$ins
		instances=
		check "no inotify instance: a clear error with the sysctl hint" \
		    grep -q "fs.inotify.max_user_instances" "$log"
		check "... mtagd keeps running" alive
		cp "$u/later.mp3" "$lib/d1/"
		check "... and indexes new files by rescanning" all_done 2
		check "... stop" stop
		check "integrity" integrity
		chmod 700 "$tmp"
	fi
fi

# --- 9. SIGHUP -----------------------------------------------------------
if section 9 "SIGHUP: a library folder added, another removed"; then
	lib=$tmp/s9
	db=$tmp/s9/library.db
	log=$tmp/s9/mtagd.log
	mkdir -p "$lib/old" "$lib/new"
	make_audio "$lib/old/o1.mp3" 1800 3 && make_audio "$lib/old/o2.mp3" 1810 3 &&
	    make_audio "$lib/new/n1.mp3" 1820 3 && make_audio "$tmp/s9/o3.mp3" 1830 3 &&
	    make_audio "$tmp/s9/n2.mp3" 1840 3 || exit 1
	conf "$tmp/s9/mtag.conf" "library = $lib/old" "rescan_interval = 0"
	start "$tmp/s9/mtag.conf"
	check "the first folder indexed" all_done 2
	conf "$tmp/s9/mtag.conf" "library = $lib/new" "rescan_interval = 0"
	kill -HUP "$pid"
	check "after SIGHUP, the added folder indexed" until_sql 60 "SELECT
	    count(*) FROM analyses a JOIN tracks t ON t.id = a.track_id WHERE
	    a.status = 'done' AND t.path = '$lib/new/n1.mp3'" 1
	check "the log says so" until_log 10 "no longer watching $lib/old"
	"$MTAGCTL" status >"$tmp/s9/status"
	check "status lists the new folder only" test "$(sed -n \
	    's/^library: //p' "$tmp/s9/status")" = "$lib/new"
	cp "$tmp/s9/o3.mp3" "$lib/old/"
	cp "$tmp/s9/n2.mp3" "$lib/new/"
	check "the added folder is watched" until_sql 10 "SELECT count(*) FROM
	    tracks WHERE path = '$lib/new/n2.mp3'" 1
	check "the removed folder is not (a file copied there first is not
	    indexed)" test "$(sql "SELECT count(*) FROM tracks WHERE
	    path = '$lib/old/o3.mp3'")" -eq 0
	check "the removed folder's tracks stay in the index, analysed" \
	    test "$(sql "SELECT count(*) FROM analyses a JOIN tracks t ON
	    t.id = a.track_id WHERE a.status = 'done' AND
	    t.path LIKE '$lib/old/%'")" -eq 2
	echo "library = " >"$tmp/s9/mtag.conf"
	kill -HUP "$pid"
	check "an invalid configuration is refused, the old one kept" \
	    until_log 10 "keeping the old configuration"
	check "mtagd keeps running" alive
	check "stop" stop
	check "integrity" integrity
fi

[ $fail -eq 0 ] || tail -n 60 "$log"
exit $fail
