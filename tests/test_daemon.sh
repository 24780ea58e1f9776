#!/bin/sh
# mtagd end to end: a real daemon indexing a library of files made with
# ffmpeg, reacting to inotify events, surviving kill -9.
. "$(dirname "$0")/lib.sh"
lib=$tmp/lib
# make FILE FREQ TITLE: a 4 s tone with tags.
make_audio() {
	case $1 in
	*.ogg) codec="-c:a libvorbis" ;;
	*.opus) codec="-c:a libopus" ;;
	*) codec= ;;
	esac
	# shellcheck disable=SC2086
	ffmpeg -nostdin -loglevel error -f lavfi \
	    -i "sine=frequency=$2:duration=4" -f lavfi \
	    -i "anoisesrc=duration=4:amplitude=0.05:seed=$2" \
	    -filter_complex amix=inputs=2 $codec -metadata title="$3" \
	    -metadata artist="Test Artist" -metadata album="Tones" "$1"
}
start() {
	"$MTAGD" -f --library "$lib" --db "$db" --workers 2 \
	    >>"$tmp/mtagd.log" 2>&1 &
	pid=$!
}
stop() {
	kill "$pid"
	n=50
	while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	! kill -0 "$pid" 2>/dev/null
}
analysed() { sql "SELECT count(*) FROM analyses WHERE status='done'"; }
# until_ffprobe SECONDS FILE: waits for mtag's fields in FILE.
until_ffprobe() {
	n=$(($1 * 10))
	while [ "$n" -gt 0 ]; do
		ffprobe -loglevel error -show_entries format_tags "$2" |
		    grep -qi '^TAG:MTAG_MODEL=musicnn-mtat' && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

"$MTAGCTL" model fetch musicnn-mtat || exit 1

# A library of every format, and a file that only looks like audio.
mkdir -p "$lib/album"
f=300
for ext in mp3 flac ogg opus m4a wav; do
	make_audio "$lib/album/tone.$ext" $f "Song $ext" || exit 1
	f=$((f + 50))
done
head -c 30000 /dev/urandom >"$lib/album/corrupt.mp3"

start
check "initial scan: 6 tracks analysed" until_sql 120 \
    "SELECT count(*) FROM analyses WHERE status='done'" 6
check "the corrupt file is marked failed with its error" until_sql 10 \
    "SELECT count(*) FROM tracks t JOIN analyses a ON a.track_id=t.id
     WHERE t.path LIKE '%corrupt.mp3' AND a.status='failed' AND
     coalesce(t.error, a.error) LIKE '%corrupt.mp3%'" 1
check "metadata of the flac" test "$(sql "SELECT title, artist, album, codec
    FROM tracks WHERE path='$lib/album/tone.flac'")" = \
    "Song flac|Test Artist|Tones|flac"
check "codecs" test "$(sql "SELECT group_concat(codec, ',') FROM
    (SELECT codec FROM tracks WHERE codec IS NOT NULL AND codec != ''
    ORDER BY codec)")" = "aac,flac,mp3,opus,pcm,vorbis"

# The scores stored are those mtagctl tag prints.
"$MTAGCTL" tag --json "$lib/album/tone.ogg" | tr ',{' '\n\n' |
    sed -n 's/^ *"\([^"]*\)": \(0\.[0-9]*\).*/\1|\2/p' >"$tmp/tag.txt"
sql "SELECT mt.name, s.score FROM scores s
     JOIN model_tags mt ON mt.model_id=s.model_id AND mt.idx=s.tag_idx
     JOIN tracks t ON t.id=s.track_id WHERE t.path='$lib/album/tone.ogg'" \
    >"$tmp/db.txt"
check "50 scores stored" test "$(wc -l <"$tmp/db.txt")" -eq 50
check "stored scores equal mtagctl tag's" awk -F'|' '
    NR == FNR { want[$1] = $2; next }
    { d = $2 - want[$1]; if (d < 0) d = -d; if (d > 1e-5) bad = 1; n++ }
    END { exit bad || n != 50 }' "$tmp/tag.txt" "$tmp/db.txt"
check "embedding and chunk scores stored" test "$(sql "SELECT
    length(embedding), nchunks FROM analyses a JOIN tracks t ON
    t.id=a.track_id WHERE t.path='$lib/album/tone.ogg'")" = "800|16"

# A file copied in appears within seconds, then gets analysed.
make_audio "$tmp/new.flac" 777 "New" || exit 1
cp "$tmp/new.flac" "$lib/new.flac"
check "a new file's metadata within 5 s" until_sql 5 \
    "SELECT title FROM tracks WHERE path='$lib/new.flac'" New
check "... then its scores" until_sql 60 \
    "SELECT status FROM analyses a JOIN tracks t ON t.id=a.track_id
     WHERE t.path='$lib/new.flac'" done
before=$(analysed)

# Renames keep the analyses: no new inference.
id=$(sql "SELECT id FROM tracks WHERE path='$lib/new.flac'")
mv "$lib/new.flac" "$lib/renamed.flac"
check "a renamed file keeps its track" until_sql 5 \
    "SELECT id FROM tracks WHERE path='$lib/renamed.flac'" "$id"
mv "$lib/album" "$lib/moved"
check "a moved directory keeps its tracks" until_sql 5 \
    "SELECT count(*) FROM tracks t JOIN analyses a ON a.track_id=t.id
     WHERE path LIKE '$lib/moved/%' AND a.status='done'" 6
check "no inference for the moves" test "$(analysed)" -eq "$before"

# Changed tags are read again.
make_audio "$tmp/retag.flac" 777 "Retitled" && mv "$tmp/retag.flac" "$lib/renamed.flac"
check "changed tags are re-read" until_sql 5 \
    "SELECT title FROM tracks WHERE path='$lib/renamed.flac'" Retitled

# Out of the tree, or deleted: out of the index.
mv "$lib/moved" "$tmp/outside"
check "a directory moved out leaves the index" until_sql 5 \
    "SELECT count(*) FROM tracks WHERE path LIKE '$lib/moved/%'" 0
rm "$lib/renamed.flac"
check "a deleted file leaves the index" until_sql 5 \
    "SELECT count(*) FROM tracks" 0

# 200 new directories, each with a copy of an analysed file made at once.
cp "$tmp/new.flac" "$lib/seed.flac"
until_sql 60 "SELECT count(*) FROM analyses WHERE status='done'" 1 >/dev/null
idle() {	# no analysis queued or in flight
	n=100
	while [ "$n" -gt 0 ]; do
		"$MTAGCTL" status --json | grep -q '"pending": 0, "running": 0,.*"jobs": \[\]' &&
		    return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
idle
runs=$("$MTAGCTL" status --json | sed 's/.*"analysed_since_start": \([0-9]*\).*/\1/')
i=0
while [ $i -lt 200 ]; do
	mkdir -p "$lib/d$i/b/c" && cp "$tmp/new.flac" "$lib/d$i/b/c/"
	i=$((i + 1))
done
check "mkdir -p + cp 200 times: no file missed" until_sql 30 \
    "SELECT count(*) FROM tracks" 201
check "copies take over the analysis" until_sql 30 \
    "SELECT count(*) FROM analyses WHERE status='done'" 201
check "... without inference" test "$("$MTAGCTL" status --json |
    sed 's/.*"analysed_since_start": \([0-9]*\).*/\1/')" -eq "$runs"

# One daemon per database.
"$MTAGD" -f --library "$lib" --db "$db" >"$tmp/second.log" 2>&1
check "a second daemon refuses to start" grep -q "another mtagd" "$tmp/second.log"

check "SIGTERM stops the daemon within 5 s" stop
pid=

# kill -9 while analysing, then a restart resumes the queue.
rm -rf "$lib"/d* "$lib/seed.flac"
i=0
while [ $i -lt 12 ]; do
	make_audio "$lib/k$i.mp3" $((1000 + i * 37)) "K$i" || exit 1
	i=$((i + 1))
done
start
until_sql 60 "SELECT count(*) > 0 FROM analyses WHERE status='done'" 1 >/dev/null
kill -9 "$pid"
wait "$pid" 2>/dev/null
check "integrity after kill -9" test "$(sql 'PRAGMA integrity_check')" = ok
# Readers while the daemon writes never see a locked database.
start
reader() {
	for _ in $(seq 100); do
		sql "SELECT count(*) FROM scores; SELECT count(*) FROM tracks" \
		    >/dev/null 2>>"$tmp/readers.err"
	done
}
reader &
r1=$!
reader &
r2=$!
check "the queue resumes after a restart" until_sql 120 \
    "SELECT count(*) FROM analyses WHERE status='done'" 12
wait $r1 $r2
check "no duplicate track" test "$(sql "SELECT count(*) FROM tracks")" -eq 12
check "readers never saw a locked database" test ! -s "$tmp/readers.err"
check "stop" stop
pid=

# writeback = new: tags written after the analysis, the write not analysed.
mkdir -p "$XDG_CONFIG_HOME/mtag"
echo "writeback = new" >"$XDG_CONFIG_HOME/mtag/mtag.conf"
start
idle
make_audio "$tmp/wb.src.flac" 1999 "Written back" &&
    cp "$tmp/wb.src.flac" "$tmp/wb.flac" && mv "$tmp/wb.flac" "$lib/wb.flac"
check "writeback: the file gets the tags" until_ffprobe 60 "$lib/wb.flac"
idle
check "writeback: mtagd does not analyse its own write" test "$("$MTAGCTL" \
    status --json | sed 's/.*"analysed_since_start": \([0-9]*\).*/\1/')" -eq 1
check "writeback: the audio is kept" test "$(ffmpeg -nostdin -loglevel error \
    -i "$lib/wb.flac" -f md5 -)" = "$(ffmpeg -nostdin -loglevel error \
    -i "$tmp/wb.src.flac" -f md5 -)"
check "stop" stop
pid=
check "integrity at the end" test "$(sql 'PRAGMA integrity_check')" = ok
[ $fail -eq 0 ] || cat "$tmp/mtagd.log"
exit $fail
