#!/bin/sh
# mtagd and mtagctl on hostile files: a library of corrupt, truncated,
# empty, mislabelled and special files (made at test time) beside good
# ones. Each hostile file fails with an error naming it and the cause, the
# good ones are analysed, the daemon keeps answering and exits cleanly.
. "$(dirname "$0")/lib.sh"
lib=$tmp/lib
# tone FILE FREQ [FFMPEG OPTIONS]: a 4 s tone with noise.
tone() {
	out=$1 freq=$2
	shift 2
	ffmpeg -nostdin -loglevel error -f lavfi \
	    -i "sine=frequency=$freq:duration=4" -f lavfi \
	    -i "anoisesrc=duration=4:amplitude=0.05:seed=$freq" \
	    -filter_complex amix=inputs=2 "$@" "$out"
}
size() { wc -c <"$1" | tr -d ' '; }

"$MTAGCTL" model fetch musicnn-mtat || exit 1

# Good files, among them a FLAC named .ogg (the content is probed) and an
# MP3 with a 6000x6000 cover (36 million pixels, never decoded).
mkdir -p "$lib" "$tmp/src"
tone "$lib/good.mp3" 300 || exit 1
tone "$lib/good.flac" 350 || exit 1
tone "$lib/good.m4a" 400 || exit 1
tone "$tmp/src/flac.flac" 450 || exit 1
cp "$tmp/src/flac.flac" "$lib/flac_named.ogg"
ffmpeg -nostdin -loglevel error -i "$lib/good.mp3" -f lavfi \
    -i "color=blue:size=6000x6000:duration=1" -map 0 -map 1 -frames:v 1 \
    -c:a copy -c:v png -disposition:v attached_pic -id3v2_version 3 \
    "$lib/bigcover.mp3" || exit 1
good="good.mp3 good.flac good.m4a flac_named.ogg bigcover.mp3"

# Hostile files: NAME|CAUSE|STAGE. CAUSE is the decoder's, in the errors
# of mtagctl tag, and of mtagd when STAGE is decode; mtagd refuses the
# files of STAGE tags before decoding, when TagLib cannot read them.
printf '%s\n' \
    'corrupt.mp3|not an audio file (Invalid data|tags' \
    'corrupt.flac|no audio samples decoded|tags' \
    'cut_in_tag.mp3|not an audio file (Invalid data|tags' \
    'cut_in_header.flac|truncated file (End of file)|tags' \
    'cut_in_frame.flac|cannot decode (Invalid data|decode' \
    'cut_in_half.m4a|not an audio file (Invalid data|tags' \
    'empty.mp3|empty file|tags' \
    'hugeid3.mp3|not an audio file (Invalid data|tags' \
    'png.mp3|no audio stream|tags' \
    'fast.wav|unsupported sample rate of 134225728 Hz|decode' \
    'long.flac|audio longer than the limit of 7200 s|decode' \
    >"$tmp/hostile"
# Noise bytes behind an ID3 header and an MP3 frame header, or behind a
# FLAC signature and a STREAMINFO header.
ffmpeg -nostdin -loglevel error -f lavfi -i "anoisesrc=duration=1:seed=7" \
    -f s16le -ac 1 "$tmp/src/noise.raw" || exit 1
{ printf 'ID3\003\000\000\000\000\000\000\377\373\220\144'
  head -c 30000 "$tmp/src/noise.raw"; } >"$lib/corrupt.mp3"
{ printf 'fLaC\000\000\000\042'; head -c 30000 "$tmp/src/noise.raw"; } \
    >"$lib/corrupt.flac"
head -c 2000 "$lib/bigcover.mp3" >"$lib/cut_in_tag.mp3"
head -c 100 "$lib/good.flac" >"$lib/cut_in_header.flac"
head -c 16000 "$lib/good.flac" >"$lib/cut_in_frame.flac"
# ffmpeg writes the m4a index at the end: half a file has none.
head -c $(($(size "$lib/good.m4a") / 2)) "$lib/good.m4a" \
    >"$lib/cut_in_half.m4a"
: >"$lib/empty.mp3"
# An ID3 tag claiming 256 MB, hiding the audio.
{ printf 'ID3\003\000\000\177\177\177\177'; cat "$lib/good.mp3"; } \
    >"$lib/hugeid3.mp3"
ffmpeg -nostdin -loglevel error -f lavfi -i color=red:size=16x16 \
    -frames:v 1 "$tmp/src/red.png" || exit 1
cp "$tmp/src/red.png" "$lib/png.mp3"
# A WAV header telling 134225728 Hz (offset 24) and the byte rate to match.
ffmpeg -nostdin -loglevel error -f lavfi \
    -i "sine=frequency=440:duration=1:sample_rate=8000" -c:a pcm_s16le \
    -fflags +bitexact -flags:a +bitexact "$lib/fast.wav" || exit 1
printf '\100\037\000\010\200\076\000\020' |
    dd of="$lib/fast.wav" bs=1 seek=24 conv=notrunc 2>/dev/null
# Two hours and a minute of 8 kHz silence (1.3 MB).
ffmpeg -nostdin -loglevel error -f lavfi -i "anullsrc=r=8000:cl=mono" \
    -t 7260 -c:a flac "$lib/long.flac" || exit 1
cp "$tmp/src/flac.flac" "$lib/shrunk.flac"
cp "$tmp/src/flac.flac" "$lib/vanished.flac"
# Special files the scan passes by; mtagctl tag refuses them.
mkfifo "$lib/fifo.mp3" || exit 1
ln -s /dev/zero "$lib/zero.mp3"

"$MTAGD" -f --library "$lib" --db "$db" --workers 2 >"$tmp/mtagd.log" 2>&1 &
pid=$!
# Files deleted and emptied while mtagd starts.
rm "$lib/vanished.flac"
: >"$lib/shrunk.flac"

ngood=$(echo "$good" | wc -w)
check "the $ngood good files are analysed" until_sql 120 \
    "SELECT count(*) FROM analyses a JOIN tracks t ON t.id=a.track_id
     WHERE a.status='done'" "$ngood"
for f in $good; do
	check "$f analysed" test "$(sql "SELECT a.status FROM analyses a
	    JOIN tracks t ON t.id=a.track_id WHERE t.path='$lib/$f'")" = done
done
error() {	# error FILE: the error mtagd stored for FILE
	sql "SELECT coalesce(a.error, t.error) FROM tracks t JOIN analyses a
	    ON a.track_id=t.id WHERE t.path='$lib/$1'"
}
while IFS='|' read -r f cause stage; do
	[ "$stage" = tags ] && cause=
	check "$f failed: ${cause:-(tags)}" until_sql 60 \
	    "SELECT count(*) FROM tracks t JOIN analyses a ON a.track_id=t.id
	     WHERE t.path='$lib/$f' AND a.status='failed' AND
	     instr(coalesce(a.error, t.error), '$lib/$f: $cause') = 1" 1
	echo "  $(error "$f")"
done <"$tmp/hostile"
check "shrunk.flac failed" until_sql 60 \
    "SELECT count(*) FROM tracks t JOIN analyses a ON a.track_id=t.id
     WHERE t.path='$lib/shrunk.flac' AND a.status='failed' AND
     instr(coalesce(a.error, t.error), '$lib/shrunk.flac: ') = 1" 1
echo "  $(error shrunk.flac)"
check "nothing left to analyse" until_sql 60 \
    "SELECT count(*) FROM analyses WHERE status IN ('pending','running')" 0
check "the vanished file is not analysed" test "$(sql "SELECT count(*)
    FROM tracks t JOIN analyses a ON a.track_id=t.id
    WHERE t.path='$lib/vanished.flac' AND a.status='done'")" -eq 0
check "the FIFO and the link to /dev/zero are not tracked" test "$(sql \
    "SELECT count(*) FROM tracks WHERE path IN ('$lib/fifo.mp3',
     '$lib/zero.mp3')")" -eq 0
check "mtagd is alive" kill -0 "$pid"
check "mtagctl status answers" "$MTAGCTL" status

# mtagctl tag on each hostile file: an error naming it and the cause. The
# timeout only guards against a hang.
printf '%s\n' 'fifo.mp3|not a regular file (FIFO)' \
    'zero.mp3|not a regular file (character device)' \
    'shrunk.flac|empty file' >>"$tmp/hostile"
while IFS='|' read -r f cause stage; do
	timeout 120 "$MTAGCTL" tag "$lib/$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	check "mtagctl tag $f: exit 1 (got $rc), '$cause'" \
	    test "$rc" -eq 1 -a "$(grep -cF "$lib/$f: $cause" "$tmp/err")" \
	    -eq 1
done <"$tmp/hostile"
check "mtagctl tag on a good file beside them" \
    timeout 120 "$MTAGCTL" tag "$lib/flac_named.ogg"

kill -TERM "$pid"
n=100
while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do
	sleep 0.1
	n=$((n - 1))
done
if kill -0 "$pid" 2>/dev/null; then
	bad "mtagd exits on SIGTERM"
else
	wait "$pid"
	rc=$?
	check "mtagd exits with status 0 on SIGTERM (got $rc)" test "$rc" -eq 0
	pid=
fi
[ "$fail" -eq 0 ] || sed 's/^/  mtagd: /' "$tmp/mtagd.log"
exit "$fail"
