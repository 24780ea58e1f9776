-- The first schema of the library database: tracks, scans, models with
-- their tag vocabularies, analyses (which are also the job queue) and tag
-- scores. Times are Unix seconds; blobs of numbers are little-endian.

-- One row per audio file. hash is the hex SHA-256 of the contents, NULL
-- while the file cannot be read (error says why); it recognises moved and
-- copied files. Metadata absent from the file is NULL.
CREATE TABLE tracks (
	id		INTEGER PRIMARY KEY,
	path		TEXT NOT NULL UNIQUE,
	size		INTEGER NOT NULL,
	mtime_ns	INTEGER NOT NULL,
	inode		INTEGER NOT NULL,
	device		INTEGER NOT NULL,
	hash		TEXT,
	title		TEXT,
	artist		TEXT,
	album		TEXT,
	albumartist	TEXT,
	genre		TEXT,
	year		INTEGER,
	track_no	INTEGER,
	disc_no		INTEGER,
	duration	REAL,		-- seconds
	codec		TEXT,
	sample_rate	INTEGER,	-- Hz
	channels	INTEGER,
	bitrate		INTEGER,	-- kbit/s
	mb_trackid	TEXT,
	mb_albumid	TEXT,
	mb_artistid	TEXT,
	seen_gen	INTEGER NOT NULL DEFAULT 0,	-- scans.gen, last seen
	error		TEXT,
	added_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);
CREATE INDEX tracks_hash ON tracks (hash);
CREATE INDEX tracks_artist ON tracks (artist COLLATE NOCASE);
CREATE INDEX tracks_title ON tracks (title COLLATE NOCASE);
CREATE INDEX tracks_album ON tracks (album COLLATE NOCASE);

-- Scan generations: a scan marks the tracks it sees with its gen, then
-- forgets those under its root left with an older one.
CREATE TABLE scans (
	gen		INTEGER PRIMARY KEY AUTOINCREMENT,
	started_at	INTEGER NOT NULL,
	ended_at	INTEGER
);

-- sha256 identifies the checkpoint; its output i is the tag model_tags.idx i.
CREATE TABLE models (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	arch		TEXT NOT NULL,
	dataset		TEXT NOT NULL,
	sha256		TEXT NOT NULL,
	ntags		INTEGER NOT NULL,
	added_at	INTEGER NOT NULL
);

CREATE TABLE model_tags (
	model_id	INTEGER NOT NULL
			REFERENCES models (id) ON DELETE CASCADE,
	idx		INTEGER NOT NULL,
	name		TEXT NOT NULL,
	PRIMARY KEY (model_id, idx)
) WITHOUT ROWID;

-- The analysis of a track by a model. The pending rows are the persistent
-- job queue, taken in rowid order; attempts counts the claims, so that a
-- job interrupted by a crash is retried once only. A done row holds the
-- embedding (float32 x dim), the chunk start times (float64 seconds x
-- nchunks) and the chunk scores (float32, nchunks rows of ntags); the
-- track-level scores are in scores, which has rows for done analyses only.
CREATE TABLE analyses (
	id		INTEGER PRIMARY KEY,
	track_id	INTEGER NOT NULL
			REFERENCES tracks (id) ON DELETE CASCADE,
	model_id	INTEGER NOT NULL
			REFERENCES models (id) ON DELETE CASCADE,
	status		TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
			    ('pending', 'running', 'done', 'failed')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	error		TEXT,
	queued_at	INTEGER NOT NULL,
	analysed_at	INTEGER,
	embedding	BLOB,
	nchunks		INTEGER,
	chunk_starts	BLOB,
	chunk_scores	BLOB,
	UNIQUE (track_id, model_id)
);
-- Claiming (status, model_id, then rowid order), recovery and counts.
CREATE INDEX analyses_status ON analyses (status, model_id);

-- Track-level tag scores, one row per track, model and tag. The primary key
-- (model_id, tag_idx, score, track_id) clusters the table as that index
-- (WITHOUT ROWID), so "tag t of model m scores at least s" is one range scan
-- that yields the track ids without touching another table; "rock AND
-- female vocal" intersects two such scans, and "the top n for a tag" reads
-- the end of one. Every score is kept, not just those over a threshold, so
-- that queries choose their threshold and rank. scores_track serves
-- deleting a track's scores and reading them per track.
CREATE TABLE scores (
	model_id	INTEGER NOT NULL,
	tag_idx		INTEGER NOT NULL,
	score		REAL NOT NULL,
	track_id	INTEGER NOT NULL,
	PRIMARY KEY (model_id, tag_idx, score, track_id),
	FOREIGN KEY (track_id, model_id)
	    REFERENCES analyses (track_id, model_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX scores_track ON scores (track_id, model_id);
