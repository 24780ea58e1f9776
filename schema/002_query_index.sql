-- What mtagctl's queries read besides the scores: the meaning of each model
-- tag, every analysed track's tags merged by meaning and ranked, and its
-- embedding scaled for cosine similarity. mtag writes them with each
-- analysis through SQL functions its database code defines:
-- mtag_canonical(dataset, tag) and mtag_category(dataset, tag), from the
-- vocabulary of common/vocabulary.c (a tag no dataset knows is its own
-- canonical name and has no category), and mtag_unit_vector(embedding).
-- This migration fills them for the analyses stored before it.

-- The canonical name of each model tag, shared by its synonyms, and its
-- category.
ALTER TABLE model_tags ADD COLUMN canonical TEXT;
ALTER TABLE model_tags ADD COLUMN category TEXT;
UPDATE model_tags SET
	canonical = mtag_canonical((SELECT dataset FROM models
	    WHERE id = model_id), name),
	category = mtag_category((SELECT dataset FROM models
	    WHERE id = model_id), name);

-- A track's canonical tags: for each canonical name of the model, the
-- highest score among its tags, filed under the smallest tag idx among
-- them, and its rank among the track's canonical tags (1 is the highest;
-- equal scores share a rank). Like the scores, the key serves "scores at
-- least s"; tag_ranks_rank serves "is among the n best", tag_ranks_track
-- reading and deleting a track's.
CREATE TABLE tag_ranks (
	model_id	INTEGER NOT NULL,
	tag_idx		INTEGER NOT NULL,
	score		REAL NOT NULL,
	track_id	INTEGER NOT NULL,
	rank		INTEGER NOT NULL,
	PRIMARY KEY (model_id, tag_idx, score, track_id),
	FOREIGN KEY (track_id, model_id)
	    REFERENCES analyses (track_id, model_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX tag_ranks_rank ON tag_ranks (model_id, tag_idx, rank);
CREATE INDEX tag_ranks_track ON tag_ranks (track_id, model_id, tag_idx);

-- The embedding of each done analysis scaled to unit length, so that the
-- dot product of two is their cosine similarity, and quantised to a
-- quarter of its size for scanning every track: a float32 little-endian
-- scale s, then for each number x the int8 round(x / s), s making the
-- largest 127. A zero embedding has no row.
CREATE TABLE vectors (
	model_id	INTEGER NOT NULL,
	track_id	INTEGER NOT NULL,
	vector		BLOB NOT NULL,
	PRIMARY KEY (model_id, track_id),
	FOREIGN KEY (track_id, model_id)
	    REFERENCES analyses (track_id, model_id) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO tag_ranks (model_id, tag_idx, score, track_id, rank)
SELECT model_id, tag_idx, score, track_id,
    rank() OVER (PARTITION BY track_id, model_id ORDER BY score DESC)
FROM (SELECT s.model_id, min(t.idx) AS tag_idx, max(s.score) AS score,
    s.track_id FROM scores s JOIN model_tags t ON t.model_id = s.model_id
    AND t.idx = s.tag_idx GROUP BY s.model_id, s.track_id, t.canonical);

INSERT INTO vectors (model_id, track_id, vector)
SELECT model_id, track_id, v FROM (SELECT model_id, track_id,
    mtag_unit_vector(embedding) AS v FROM analyses WHERE status = 'done')
WHERE v IS NOT NULL;
