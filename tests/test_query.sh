#!/bin/sh
# mtagctl query, similar, show, tags and export end to end, on the database
# a real mtagd builds from files made with ffmpeg: the metadata is chosen,
# the tags are what the model hears, checked against the scores in the
# database through sqlite3; every output format is parsed back.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "no sqlite3: skipping"; exit 77; }
export LC_ALL=C
lib=$tmp/lib
q() { "$MTAGCTL" --db "$db" "$@"; }
# same DESCRIPTION EXPECTED COMMAND...: the command prints EXPECTED.
same() {
	desc=$1
	want=$2
	shift 2
	got=$("$@" 2>"$tmp/err")
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		bad "$desc"
		printf '  got:\n%s\n  expected:\n%s\n' "$got" "$want"
		cat "$tmp/err"
	fi
}
# status_is N COMMAND...: exits with N, its output in $tmp/out, $tmp/err.
status_is() {
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || { echo "  exit $got, expected $want: $*"; cat "$tmp/err"; return 1; }
}
# Paths relative to the library, one a line, for readable expectations.
rel() { sed "s|^$lib/||"; }
names() { q query "$@" | rel; }
lines() { printf '%s\n' "$@"; }

# make FILE FREQ SECONDS TITLE ARTIST ALBUM YEAR GENRE
make_audio() {
	case $1 in
	*.ogg) codec="-c:a libvorbis" ;;
	*) codec= ;;
	esac
	mkdir -p "$(dirname "$1")"
	# shellcheck disable=SC2086
	ffmpeg -nostdin -loglevel error -f lavfi \
	    -i "sine=frequency=$2:duration=$3" -f lavfi \
	    -i "anoisesrc=duration=$3:amplitude=0.05:seed=$2" \
	    -filter_complex amix=inputs=2 $codec -metadata title="$4" \
	    -metadata artist="$5" -metadata album="$6" -metadata date="$7" \
	    -metadata genre="$8" -metadata album_artist="$5" "$1"
}
start() {
	"$MTAGD" -f --library "$lib" --db "$db" --workers 2 \
	    >>"$tmp/mtagd.log" 2>&1 &
	pid=$!
}

"$MTAGCTL" model fetch musicnn-mtat || exit 1

make_audio "$lib/rock/loud.mp3" 440 5 "Loud Song" "The Rockers" "Rock On" 1999 Rock &&
make_audio "$lib/rock/quiet.flac" 330 8 "Quiet Ballad" "The Rockers" "Rock On" 2003 Rock &&
make_audio "$lib/pop/hit.ogg" 660 4 "Summer Hit" "Popstar" "Hits" 2010 Pop &&
make_audio "$lib/jazz/night.flac" 220 12 "Blue Night" "Jazz Trio" "Live, Vol. 1" 1962 Jazz &&
make_audio "$lib/other dir/weird name (1).mp3" 880 6 "Weird" "ABBA" "Gold" 1976 Pop &&
make_audio "$lib/classical/sym.ogg" 261 10 "Symphony No. 5" "Berlin Phil" "Symphonies" 1972 Classical ||
    exit 1
mkdir -p "$lib/copies"
cp "$lib/rock/loud.mp3" "$lib/copies/loud-copy.mp3"
ntracks=7

start
check "the daemon analyses the library" until_sql 180 \
    "SELECT count(*) FROM analyses WHERE status='done'" $ntracks

# --- Metadata predicates, operators and precedence -----------------------
same "artist: substring, any case" "$(lines copies/loud-copy.mp3 \
    rock/loud.mp3 rock/quiet.flac)" names artist:ROCKERS
same "artist:= exact, quoted" "$(lines copies/loud-copy.mp3 \
    rock/loud.mp3 rock/quiet.flac)" names 'artist:="the rockers"'
same "artist:= is whole" "" names artist:=rockers
same "title:~ regex" "$(lines copies/loud-copy.mp3 rock/loud.mp3 \
    rock/quiet.flac)" names 'title:~^(loud|quiet)'
same "path: glob" "$(lines rock/loud.mp3 rock/quiet.flac)" names \
    "path:$lib/rock/*"
same "path: glob with spaces, quoted" "other dir/weird name (1).mp3" \
    names "path:\"*/weird name (1).mp3\""
same "ext:" "$(lines jazz/night.flac rock/quiet.flac)" names ext:FLAC
same "genre:" "$(lines other\ dir/weird\ name\ \(1\).mp3 pop/hit.ogg)" \
    names genre:pop
same "album: with a comma, quoted" "jazz/night.flac" names \
    'album:"live, vol"'
same "albumartist:" "other dir/weird name (1).mp3" names albumartist:abba
same "year:A..B" "$(lines copies/loud-copy.mp3 rock/loud.mp3)" names \
    year:1990..1999
same "year:A.." "$(lines pop/hit.ogg rock/quiet.flac)" names year:2000..
same "year:..B" "jazz/night.flac" names year:..1970
same "year:>N" "pop/hit.ogg" names 'year:>2003'
same "duration:>N" "$(lines classical/sym.ogg jazz/night.flac)" names \
    'duration:>9'
same "duration:M:SS range" "$(lines copies/loud-copy.mp3 \
    other\ dir/weird\ name\ \(1\).mp3 rock/loud.mp3)" names \
    'duration:0:04.5..0:06.5'
same "AND, adjacency" "rock/quiet.flac" names artist:rockers year:2003
same "OR" "$(lines copies/loud-copy.mp3 other\ dir/weird\ name\ \(1\).mp3 \
    pop/hit.ogg rock/loud.mp3 rock/quiet.flac)" names \
    'artist:rockers OR genre:pop'
same "NOT and -" "$(names NOT genre:rock)" names -- -genre:rock
same "NOT" "$(lines classical/sym.ogg jazz/night.flac \
    other\ dir/weird\ name\ \(1\).mp3 pop/hit.ogg)" names not genre:rock
same "AND binds tighter than OR" "$(lines copies/loud-copy.mp3 \
    other\ dir/weird\ name\ \(1\).mp3 pop/hit.ogg rock/loud.mp3)" names \
    'genre:pop or genre:rock and year:..2000'
same "parentheses" "$(lines copies/loud-copy.mp3 \
    other\ dir/weird\ name\ \(1\).mp3 rock/loud.mp3)" names \
    '(genre:pop OR genre:rock) AND year:..2000'
same "several arguments are one expression" "rock/quiet.flac" names \
    artist:rockers AND year:2003..

# --- Tags, against the scores in the database ---------------------------
# The canonical names of the model's tags are those of vocabulary.tsv.
sql "SELECT idx || '|' || name || '|' || canonical || '|' || category
    FROM model_tags ORDER BY idx" >"$tmp/db_vocab"
awk -F'\t' '$1 == "mtat" { print $2 "|" $3 "|" $5 "|" $4 }' \
    "$MTAG_SHARED_DIR/tags/vocabulary.tsv" >"$tmp/tsv_vocab"
check "canonical names and categories as in vocabulary.tsv" \
    cmp -s "$tmp/db_vocab" "$tmp/tsv_vocab"

# expected TAG N MIN SURE [OWN]: the paths for which the bare tag holds,
# from the merged scores recomputed here from the model's outputs.
expected() {
	if [ $# -ge 5 ]; then
		cond="r.score >= $5"
	else
		cond="r.score >= $4 OR (r.rk <= $2 AND r.score >= $3)"
	fi
	sql "WITH c AS (SELECT s.track_id, mt.canonical AS tag,
	    max(s.score) AS score FROM scores s JOIN model_tags mt ON
	    mt.model_id = s.model_id AND mt.idx = s.tag_idx
	    GROUP BY s.track_id, mt.canonical),
	r AS (SELECT *, rank() OVER (PARTITION BY track_id
	    ORDER BY score DESC) AS rk FROM c)
	SELECT t.path FROM r JOIN tracks t ON t.id = r.track_id
	WHERE r.tag = '$1' AND ($cond) ORDER BY t.path"
}
sorted() { q "$@" query "$tag" | sort; }
sql "SELECT DISTINCT canonical FROM model_tags" >"$tmp/tags"
holding=0
while read -r tag; do
	want=$(expected "$tag" 5 0.1 0.5)
	[ "$(sorted)" = "$want" ] || bad "'$tag' holds where top 5 and 0.1, or 0.5"
	[ -n "$want" ] && holding=$((holding + 1))
done <"$tmp/tags"
check "every tag holds where the rule says ($holding hold somewhere)" \
    test "$holding" -gt 3
printf 'tag_top_n = 2\ntag_min_score = 0.05\ntag_sure_score = 0.3\n' \
    >"$tmp/rule.conf"
while read -r tag; do
	[ "$(sorted -c "$tmp/rule.conf")" = "$(expected "$tag" 2 0.05 0.3)" ] ||
	    bad "'$tag' holds where top 2 and 0.05, or 0.3 (mtag.conf)"
done <"$tmp/tags"
ok "tag_top_n, tag_min_score and tag_sure_score"
printf 'tag_threshold = female vocal:0.001\ntag_threshold = woman:0.002\n' \
    >"$tmp/own.conf"
tag="female vocal"
same "a tag's own threshold" "$(expected "$tag" 5 0.1 0.5 0.002)" \
    sorted -c "$tmp/own.conf"
same "synonyms: woman is female vocal" "$(names 'female vocal')" names woman
same "... so is MSD's female vocalists" "$(names 'female vocal')" names \
    female vocalists
same "a comparison of a merged score" "$(sql "SELECT t.path FROM scores s
    JOIN model_tags mt ON mt.model_id = s.model_id AND mt.idx = s.tag_idx
    JOIN tracks t ON t.id = s.track_id WHERE mt.canonical = 'female vocal'
    GROUP BY t.id HAVING max(s.score) > 0.01 ORDER BY t.path" | rel)" \
    sh -c "\"\$MTAGCTL\" --db '$db' query 'female vocal>0.01' | sort | sed 's|^$lib/||'"
same "a comparison of an output's score" "$(sql "SELECT t.path FROM scores s
    JOIN tracks t ON t.id = s.track_id WHERE s.tag_idx = 26 AND
    s.score <= 0.01 ORDER BY t.path" | rel)" \
    sh -c "\"\$MTAGCTL\" --db '$db' query 'woman<=0.01' | sort | sed 's|^$lib/||'"

# Ranked by the mean score of the positive tag terms, best first.
top=$(sql "SELECT canonical FROM model_tags mt JOIN scores s ON
    s.model_id = mt.model_id AND s.tag_idx = mt.idx GROUP BY canonical
    ORDER BY max(score) DESC LIMIT 1")
q query "$top" --format '%score' >"$tmp/scores"
check "a query ranks best first" sort -c -r -n "$tmp/scores"
check "... by the merged score" test "$(head -1 "$tmp/scores")" = \
    "$(sql "SELECT printf('%.3f', max(score)) FROM scores s JOIN
    model_tags mt ON mt.model_id = s.model_id AND mt.idx = s.tag_idx
    WHERE mt.canonical = '$top'")"
q query "$top>0 OR artist:rockers" --format '%score' >"$tmp/scores"
check "every track of an OR is ranked" test "$(grep -c . "$tmp/scores")" -eq \
    $ntracks
check "... by the mean" sort -c -r -n "$tmp/scores"

# --- Output formats -----------------------------------------------------
same "--format" "$(lines 'ABBA - Weird [1976] 0:06 mp3' \
    'The Rockers - Loud Song [1999] 0:05 mp3')" q query year:..2000 \
    genre:pop OR artist:rockers --sort artist,path --limit 2 \
    --format '%artist - %{title} [%year] %duration %ext'
same "--format escapes" "$(printf 'Popstar\t100%%')" q query \
    artist:popstar --format '%artist\t100%%'
same "--sort year-" "$(lines pop/hit.ogg rock/quiet.flac \
    copies/loud-copy.mp3 rock/loud.mp3)" names 'year:1990..' --sort year-
same "--sort title,path-" "$(lines rock/loud.mp3 copies/loud-copy.mp3 \
    rock/quiet.flac)" names artist:rockers --sort title,path-
same "--limit" "$(lines copies/loud-copy.mp3 rock/loud.mp3)" names \
    artist:rockers --limit 2
same "--count" "3" q query artist:rockers --count

# M3U, parsed back: #EXTINF duration and name, then the path.
q query year:1960.. --m3u >"$tmp/m3u"
check "M3U header" test "$(head -1 "$tmp/m3u")" = "#EXTM3U"
awk 'NR > 1 && /^#EXTINF:/ { sub(/^#EXTINF:/, ""); info = $0; next }
    NR > 1 { print $0 "|" info }' "$tmp/m3u" >"$tmp/m3u.parsed"
sql "SELECT path || '|' || CAST(round(duration) AS INTEGER) || ',' ||
    artist || ' - ' || title FROM tracks WHERE year >= 1960 ORDER BY path" \
    >"$tmp/m3u.want"
check "M3U entries: path, seconds, artist - title" cmp -s \
    "$tmp/m3u.parsed" "$tmp/m3u.want"
check "M3U has two lines a track" test "$(wc -l <"$tmp/m3u")" -eq \
    $((2 * ntracks + 1))

# JSON, parsed back by SQLite.
q query artist:rockers OR genre:jazz --json >"$tmp/json"
json() { sqlite3 :memory: "$1" ; }
check "JSON is valid" test "$(json "SELECT json_valid(readfile('$tmp/json'))")" = 1
same "JSON holds the tracks and their fields" "$(sql "SELECT path || '|' ||
    title || '|' || artist || '|' || year || '|' || genre FROM tracks
    WHERE artist = 'The Rockers' OR genre = 'Jazz' ORDER BY path")" json \
    "SELECT json_extract(value, '$.path') || '|' ||
    json_extract(value, '$.title') || '|' ||
    json_extract(value, '$.artist') || '|' ||
    json_extract(value, '$.year') || '|' ||
    json_extract(value, '$.genre') FROM json_each(readfile('$tmp/json'))"
check "JSON: no score without tag terms" test "$(json "SELECT count(*)
    FROM json_each(readfile('$tmp/json')) WHERE
    json_extract(value, '$.score') IS NULL")" -eq 4
q query "$top" --json >"$tmp/json"
# unordered FILE: the pairs of JSON array elements whose scores are not
# in decreasing order.
unordered() {
	json "WITH s AS (SELECT key, json_extract(value, '$.score') AS v
	    FROM json_each(readfile('$1'))) SELECT count(*) FROM s a
	    JOIN s b ON b.key = a.key + 1 WHERE b.v > a.v OR a.v IS NULL"
}
check "JSON scores, best first" test "$(unordered "$tmp/json")" -eq 0
check "... of every track" test "$(json "SELECT json_array_length(
    readfile('$tmp/json'))")" -eq "$(q query "$top" --count)"
q query 'artist:nobody' --json >"$tmp/json"
check "JSON of nothing is an empty array" test "$(json \
    "SELECT json_array_length(readfile('$tmp/json'))")" = 0

# --- Errors -------------------------------------------------------------
check "an unknown tag exits 2" status_is 2 q query 'rok AND female vocal'
check "... and suggests the closest" grep -q \
    "query: unknown tag 'rok' (did you mean 'rock'?)" "$tmp/err"
check "... with the query and a caret under it" test \
    "$(tail -2 "$tmp/err")" = "$(printf '  rok AND female vocal\n  ^^^')"
check "a malformed query exits 2" status_is 2 q query '(rock OR pop'
check "... the caret under the open parenthesis" test \
    "$(tail -1 "$tmp/err")" = "  ^"
check "... or at the end" status_is 2 q query 'rock AND'
check "... the caret after the end" test "$(tail -1 "$tmp/err")" = \
    "          ^"
check "a tag of another dataset" status_is 2 q query jazz
check "... says which have it" grep -q "model musicnn-mtat has no tag 'jazz' (the msd, jamendo vocabularies have it)" "$tmp/err"
check "an unquoted value with spaces" status_is 2 q query 'artist:pink floyd'
check "... says to quote it" grep -q 'a value with spaces is quoted' \
    "$tmp/err"
check "a bad regex" status_is 2 q query 'title:~(('
check "an unknown field" status_is 2 q query 'colour:red'
check "... lists the fields" grep -q "unknown field 'colour' (fields: path, title" "$tmp/err"
check "a bad --format exits 2" status_is 2 q query --format '%nope' rock
check "a bad --sort exits 2" status_is 2 q query --sort nope rock
check "--json with --m3u exits 2" status_is 2 q query --json --m3u rock
check "an unknown model exits 1" status_is 1 q query --model nosuch rock
check "... naming the models there" grep -q "model nosuch has not analysed the library (models: musicnn-mtat)" "$tmp/err"
check "a missing database exits 1" status_is 1 "$MTAGCTL" --db \
    "$tmp/none.db" query rock
check "... naming it" grep -q "$tmp/none.db: no library database" "$tmp/err"
check "no expression exits 2" status_is 2 q query

# --- show, tags -----------------------------------------------------------
check "show a track by a relative path" sh -c "cd '$lib/rock' &&
    \"\$MTAGCTL\" --db '$db' show loud.mp3 >'$tmp/show'"
check "show: metadata" grep -q "^  title        Loud Song$" "$tmp/show"
check "show: analysis" grep -q "^  analysis     done by musicnn-mtat on .*, 16 chunks$" "$tmp/show"
check "show: every tag, with its score" test "$(grep -cE \
    '^[+ ] [a-z].* 0\.[0-9]{3} ' "$tmp/show")" -eq "$(grep -c . "$tmp/tags")"
check "... best first" sh -c "sed -n 's/^[+ ] [a-z -]* \(0\.[0-9]*\) .*/\1/p' \
    '$tmp/show' | sort -c -r -n"
check "... with a bar" grep -q '^+ .* 0\.[0-9]* █' "$tmp/show"
sed -n 's/^+ \([a-z -]*[a-z]\)  *0\..*/\1/p' "$tmp/show" | sort \
    >"$tmp/held"
: >"$tmp/held.want"
while read -r tag; do
	q query "$tag" | grep -qx "$lib/rock/loud.mp3" &&
	    echo "$tag" >>"$tmp/held.want"
done <"$tmp/tags"
sort -o "$tmp/held.want" "$tmp/held.want"
check "show marks the tags that hold, as query finds them" cmp -s \
    "$tmp/held" "$tmp/held.want"
q show --json "$lib/rock/loud.mp3" >"$tmp/show.json"
check "show --json: every tag" test "$(json "SELECT json_array_length(
    readfile('$tmp/show.json'), '$.tags')")" -eq "$(grep -c . "$tmp/tags")"
check "show --json: the same tags hold" test "$(json "SELECT json_extract(
    value, '$.tag') FROM json_each(readfile('$tmp/show.json'), '$.tags')
    WHERE json_extract(value, '$.holds') ORDER BY 1")" = \
    "$(cat "$tmp/held.want")"
check "show of a file not indexed exits 1" status_is 1 q show "$tmp/none.mp3"
q tags >"$tmp/tagsout"
check "tags: one line a tag" test "$(($(wc -l <"$tmp/tagsout") - 1))" -eq \
    "$(grep -c . "$tmp/tags")"
check "tags: categories" grep -q "^female vocal  *vocal  *top 5 and 0.10, or 0.50  *[0-9]*  female, woman, female vocal, female voice$" "$tmp/tagsout"
q tags --json >"$tmp/tags.json"
check "tags --json: every tag" test "$(json "SELECT json_array_length(
    readfile('$tmp/tags.json'))")" -eq "$(grep -c . "$tmp/tags")"
json "SELECT json_extract(value, '$.tag') || '|' || json_extract(value,
    '$.tracks') FROM json_each(readfile('$tmp/tags.json'))" >"$tmp/counts"
while IFS='|' read -r tag n; do
	[ "$n" = "$(q query "$tag" --count)" ] ||
	    bad "tags counts the tracks where '$tag' holds"
done <"$tmp/counts"
ok "tags counts the tracks where each tag holds"
q tags -c "$tmp/own.conf" >"$tmp/tagsown"
check "tags -c: a tag's own threshold" grep -q \
    "^female vocal  *vocal  *0.00 or more (its own)  *$ntracks  " \
    "$tmp/tagsown"

# --- similar ----------------------------------------------------------------
q similar "$lib/rock/loud.mp3" -n 10 --format '%score|%path' >"$tmp/sim"
check "similar: a copy of the file first, at 1.000" test \
    "$(head -1 "$tmp/sim")" = "1.000|$lib/copies/loud-copy.mp3"
check "similar: every other analysed track, the seed excluded" test \
    "$(cut -d'|' -f2 "$tmp/sim" | sort)" = "$(sql "SELECT path FROM tracks
    WHERE path != '$lib/rock/loud.mp3' ORDER BY path")"
check "similar: nearest first" sh -c "cut -d'|' -f1 '$tmp/sim' |
    sort -c -r -n"
same "similar -n" "$(head -2 "$tmp/sim" | cut -d'|' -f2)" q similar \
    "$lib/rock/loud.mp3" -n 2
same "similar --where" "$(grep -e 'pop/' -e 'other dir' "$tmp/sim" |
    cut -d'|' -f2)" q similar "$lib/rock/loud.mp3" --where genre:pop
q similar "$lib/rock/loud.mp3" -n 3 --m3u >"$tmp/sim.m3u"
check "similar --m3u" test "$(grep -v '^#' "$tmp/sim.m3u")" = \
    "$(head -3 "$tmp/sim" | cut -d'|' -f2)"
q similar "$lib/rock/loud.mp3" -n 3 --json >"$tmp/sim.json"
check "similar --json: the tracks" test "$(json "SELECT json_extract(value,
    '$.path') FROM json_each(readfile('$tmp/sim.json'))")" = \
    "$(head -3 "$tmp/sim" | cut -d'|' -f2)"
check "similar --json: nearest first" test "$(unordered \
    "$tmp/sim.json")" -eq 0
check "similar --where with a bad query exits 2" status_is 2 q similar \
    "$lib/rock/loud.mp3" --where 'rock AND'
check "similar of a file not indexed exits 1" status_is 1 q similar \
    "$tmp/none.mp3"

# --- export -----------------------------------------------------------------
q export >"$tmp/export.csv"
check "export: a header and a line a track" test "$(wc -l \
    <"$tmp/export.csv")" -eq $((ntracks + 1))
check "export: the header names the fields and tags" grep -q \
    "^path,title,artist,album,albumartist,genre,codec,ext,year,.*,female vocal," \
    "$tmp/export.csv"
check "export: fields with commas are quoted" grep -q \
    ',"Live, Vol. 1",' "$tmp/export.csv"
q export --json artist:rockers >"$tmp/export.json"
check "export --json EXPR" test "$(json "SELECT count(*) FROM json_each(
    readfile('$tmp/export.json')) WHERE json_extract(value, '$.tags.rock')
    IS NOT NULL")" -eq 3

# --- Options, help, a daemon writing meanwhile -------------------------------
printf 'database = %s\n' "$db" >"$tmp/db.conf"
same "-c after the command" "3" "$MTAGCTL" query -c "$tmp/db.conf" \
    artist:rockers --count
same "--db after the command" "3" "$MTAGCTL" query artist:rockers \
    --db "$db" --count
same "-c before the command" "3" "$MTAGCTL" -c "$tmp/db.conf" query \
    artist:rockers --count
for cmd in query similar show tags export status scan pause resume; do
	check "$cmd --help" status_is 0 "$MTAGCTL" $cmd --help
	check "... prints its usage" grep -q "^usage: mtagctl $cmd" "$tmp/out"
done

i=0
while [ $i -lt 6 ]; do
	make_audio "$lib/new/n$i.mp3" $((500 + i * 40)) 4 "New $i" "Newcomer" \
	    "Fresh" 2020 Pop || exit 1
	i=$((i + 1))
done
: >"$tmp/readers.err"
i=0
while [ $i -lt 60 ]; do
	q query 'rock OR artist:newcomer' --count >/dev/null 2>>"$tmp/readers.err"
	q similar "$lib/rock/loud.mp3" >/dev/null 2>>"$tmp/readers.err"
	i=$((i + 1))
done
check "queries while the daemon writes: no error" test ! -s \
    "$tmp/readers.err"
check "... and the new tracks are found" until_sql 120 \
    "SELECT count(*) FROM analyses WHERE status='done'" $((ntracks + 6))
same "new tracks" "6" q query artist:newcomer --count

kill "$pid"
wait "$pid" 2>/dev/null
pid=
[ $fail -eq 0 ] || cat "$tmp/mtagd.log"
exit $fail
