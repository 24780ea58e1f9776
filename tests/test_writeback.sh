#!/bin/sh
# mtagctl writeback end to end, on files of every format made with ffmpeg:
# the tags written show in ffprobe, the audio decodes bit-identical, the
# other tags stay, --undo restores them; writers killed at random moments
# leave every file whole, with all the old tags or all the new.
set -u
: "${MTAGCTL:?}"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null &&
    command -v sqlite3 >/dev/null || { echo "no ffmpeg or sqlite3: skipping"; exit 77; }

tool=$(dirname "$MTAGCTL")/tests/test_writeback
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT INT TERM
export XDG_CONFIG_HOME="$tmp/config"
fail=0

ok() { echo "ok: $1"; }
bad() { echo "FAILED: $1"; fail=1; }
check() {	# check DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}
# wb DB ARGS...: mtagctl writeback with the test's scores.
wb() {
	db=$1
	shift
	"$MTAGCTL" --db "$db" writeback --model musicnn-mtat "$@"
}
audio_md5() { ffmpeg -nostdin -loglevel error -i "$1" -map 0:a:0 -f md5 -; }
# The tags ffprobe shows, "name=value" a line, sorted; Vorbis comment
# names are case-insensitive, and TagLib writes them in upper case.
probe() {
	ffprobe -v error -show_entries format_tags:stream_tags \
	    -of compact "$1" | tr '|' '\n' | sed -n 's/^tag://p' |
	    awk -F= '{ k = tolower($1); sub(/^[^=]*=/, ""); print k "=" $0 }' |
	    sort
}
# make_audio FILE ARGS...: a second of a stereo tone, with tags.
make_audio() {
	out=$1
	shift
	ffmpeg -nostdin -loglevel error -f lavfi -i sine=frequency=440:duration=1 \
	    -ac 2 -metadata title="T$(printf '\303\257')tle" \
	    -metadata artist="The Artist" -metadata album=Album \
	    -metadata comment=kept "$@" -y "$out"
}
make_all() {	# make_all DIR
	mkdir -p "$1"
	make_audio "$1/v23.mp3" -id3v2_version 3 -metadata genre=Jazz &&
	make_audio "$1/v24.mp3" -id3v2_version 4 &&
	make_audio "$1/a.flac" -metadata genre=Jazz &&
	make_audio "$1/a.ogg" -c:a libvorbis &&
	make_audio "$1/a.opus" -c:a libopus &&
	make_audio "$1/a.m4a" -c:a aac
}

# --- Every format --------------------------------------------------------
lib=$tmp/lib
db=$tmp/library.db
make_all "$lib" || exit 1
chmod 640 "$lib/a.flac"
"$tool" library "$db" "$lib"/* || exit 1
for f in "$lib"/*; do
	n=$(basename "$f")
	audio_md5 "$f" >"$tmp/$n.md5"
	probe "$f" >"$tmp/$n.tags"
	stat -c '%Y %a' "$f" >"$tmp/$n.stat"
	cp -p "$f" "$tmp/$n.orig"
done

wb "$db" --dry-run >"$tmp/dry.txt" 2>"$tmp/dry.err"
check "dry run exits 0" test $? -eq 0
check "dry run shows old and new values" grep -q \
    "^  MTAG_TAGS: (none) $(printf '\342\206\222') rock=0.83; guitar=0.71; electronic=0.62; soft=0.60; pop=0.55; dance=0.52$" \
    "$tmp/dry.txt"
check "dry run keeps the genre a file has (fill)" \
    test "$(grep -c '^  GENRE:' "$tmp/dry.txt")" -eq 4
for f in "$lib"/*; do
	cmp -s "$f" "$tmp/$(basename "$f").orig" || bad "dry run changed $f"
done

wb "$db" 2>"$tmp/wb.err"
check "writeback exits 0" test $? -eq 0
check "writeback reports 6 files written" grep -q "^6 files written" \
    "$tmp/wb.err"
for f in "$lib"/*; do
	n=$(basename "$f")
	probe "$f" >"$tmp/$n.new"
	check "$n: audio bit-identical" test "$(audio_md5 "$f")" = \
	    "$(cat "$tmp/$n.md5")"
	check "$n: MTAG_TAGS" grep -qx \
	    "mtag_tags=rock=0.83; guitar=0.71; electronic=0.62; soft=0.60; pop=0.55; dance=0.52" \
	    "$tmp/$n.new"
	check "$n: MTAG_MODEL" grep -qx "mtag_model=musicnn-mtat 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	    "$tmp/$n.new"
	check "$n: mood" grep -Eqx "(mood|tmoo)=soft" "$tmp/$n.new"
	case $n in
	v23.mp3|a.flac) check "$n: its genre kept" grep -qx genre=Jazz \
	    "$tmp/$n.new" ;;
	*) check "$n: genre written" grep -q "^genre=rock" "$tmp/$n.new" ;;
	esac
	check "$n: other tags unchanged" test -z "$(comm -23 "$tmp/$n.tags" \
	    "$tmp/$n.new")"
	check "$n: mtime and mode kept" test "$(stat -c '%Y %a' "$f")" = \
	    "$(cat "$tmp/$n.stat")"
	check "$n: the database knows the new file" test "$(sqlite3 "$db" \
	    "SELECT size || ' ' || inode FROM tracks WHERE path='$f'")" = \
	    "$(stat -c '%s %i' "$f")"
done
check "ID3v2.3 stays v2.3" test "$(head -c 4 "$lib/v23.mp3" | od -An -tx1)" \
    = " 49 44 33 03"
check "... with TXXX:MOOD" grep -qx mood=soft "$tmp/v23.mp3.new"
check "ID3v2.4 has TMOO" grep -qx tmoo=soft "$tmp/v24.mp3.new"
check "no temporary file left" test -z "$(find "$lib" -name '.*.mtag-*')"
wb "$db" 2>"$tmp/wb2.err"
check "a second writeback changes nothing" grep -q \
    "^0 files written, 6 unchanged" "$tmp/wb2.err"

"$MTAGCTL" --db "$db" writeback --undo
check "undo exits 0" test $? -eq 0
for f in "$lib"/*; do
	n=$(basename "$f")
	probe "$f" >"$tmp/$n.undone"
	check "$n: tag set after undo" cmp -s "$tmp/$n.tags" "$tmp/$n.undone"
	check "$n: audio after undo" test "$(audio_md5 "$f")" = \
	    "$(cat "$tmp/$n.md5")"
done
"$MTAGCTL" --db "$db" writeback --undo 2>"$tmp/undo2.err"
check "nothing left to undo" grep -q "no writeback run to undo" \
    "$tmp/undo2.err"

# A read-only file: a clear error, the file untouched.
chmod 444 "$lib/v24.mp3"
cp -p "$lib/v24.mp3" "$tmp/ro.orig"
wb "$db" 2>"$tmp/ro.err"
check "a read-only file fails the run" test $? -eq 1
check "... naming the file" grep -q "$lib/v24.mp3: the file is read-only" \
    "$tmp/ro.err"
check "... which is untouched" cmp -s "$lib/v24.mp3" "$tmp/ro.orig"
check "... the others written" grep -q "^5 files written" "$tmp/ro.err"

# --- kill -9 while writing 200 files --------------------------------------
# TagLib writes the same bytes given the same file and fields: a file
# whole with all the old tags is its seed byte for byte, one with all the
# new tags is the seed's copy written without interruption.
seeds=$tmp/seeds
make_all "$seeds" || exit 1
mkdir "$tmp/ref"
cp "$seeds"/* "$tmp/ref/"
"$tool" library "$tmp/ref.db" "$tmp/ref"/* && wb "$tmp/ref.db" 2>/dev/null ||
    exit 1
for s in "$seeds"/*; do
	n=$(basename "$s")
	check "$n: the reference copy decodes to the seed's audio" \
	    test "$(audio_md5 "$s")" = "$(audio_md5 "$tmp/ref/$n")"
done
many=$tmp/many
mkdir "$many"
i=0
while [ $i -lt 200 ]; do
	for s in "$seeds"/*; do
		[ $i -lt 200 ] && cp "$s" "$many/$i-$(basename "$s")"
		i=$((i + 1))
	done
done
"$tool" library "$tmp/many.db" "$many"/* || exit 1
# whole [new]: every file is its seed or its reference copy (new: the
# latter).
whole() {
	for f in "$many"/*; do
		n=${f##*/}
		n=${n#*-}
		if [ $# -eq 0 ] && cmp -s "$f" "$seeds/$n"; then
			continue
		fi
		cmp -s "$f" "$tmp/ref/$n" ||
		    { echo "  $f: neither all old nor all new"; return 1; }
	done
}
round=1
left=0
while [ $round -le 4 ]; do
	"$MTAGCTL" --db "$tmp/many.db" writeback --model musicnn-mtat \
	    2>/dev/null &
	pid=$!
	sleep "$(awk -v r=$round 'BEGIN { srand(); print 0.1 + rand() * r }')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	left=$((left + $(find "$many" -name '.*.mtag-*' | wc -l)))
	check "kill -9, round $round: every file whole" whole
	round=$((round + 1))
done
echo "temporary files left by the killed writers: $left"
"$MTAGCTL" --db "$tmp/many.db" writeback --model musicnn-mtat \
    2>"$tmp/many.err"
check "the next run completes" test $? -eq 0
check "... and leaves no temporary file" \
    test -z "$(find "$many" -name '.*.mtag-*')"
check "every file has all the new tags" whole new

exit $fail
