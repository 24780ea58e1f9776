#!/bin/sh
# Indexes a music folder with mtagd and the default model, then queries it.
# Without a folder, a small demo library is made with ffmpeg (and the audio
# of ../shared, when present). Run from the build folder:
#	contrib/demo.sh [DIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${MTAG_BUILD:-$top}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT INT TERM
export XDG_RUNTIME_DIR="$work/run" XDG_CONFIG_HOME="$work/config"
mkdir -p "$XDG_RUNTIME_DIR"

lib=${1:-}
if [ -z "$lib" ]; then
	lib=$work/library
	mkdir -p "$lib/tones" "$lib/shared"
	echo "making a demo library in $lib"
	for f in 220 330 440 660 880; do
		ffmpeg -nostdin -loglevel error -f lavfi \
		    -i "sine=frequency=$f:duration=20" -f lavfi \
		    -i "anoisesrc=duration=20:amplitude=0.1:color=pink" \
		    -filter_complex amix=inputs=2 -metadata title="Tone $f Hz" \
		    -metadata artist="mtag demo" "$lib/tones/tone$f.flac"
	done
	[ -d "$top/../shared/audio" ] && cp "$top/../shared/audio"/* "$lib/shared/"
fi

"$bin/mtagctl" model fetch musicnn-mtat
db=$work/library.db
"$bin/mtagd" -f --library "$lib" --db "$db" 2>"$work/mtagd.log" &
pid=$!
printf 'indexing %s' "$lib"
while :; do
	sleep 1
	printf .
	kill -0 "$pid" 2>/dev/null || { cat "$work/mtagd.log"; exit 1; }
	"$bin/mtagctl" status --json | grep -q '"pending": 0, "running": 0,' &&
	    break
done
echo
"$bin/mtagctl" status
for q in "electronic OR techno" "rock AND guitar" "NOT ambient duration:<60"; do
	echo
	echo "\$ mtagctl query --format '%score  %path' \"$q\""
	"$bin/mtagctl" --db "$db" query --format '%score  %path' "$q" || true
done
