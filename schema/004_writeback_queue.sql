-- The tracks whose analysis mtagd is to write into the file (its writeback
-- option): a track is added with its analysis, in the same transaction,
-- and removed once the file is written or found not to need it, so that a
-- crash in between does not lose the writing: at the next start, the
-- analyses of the tracks left here are queued again.
CREATE TABLE writeback_queue (
	track_id	INTEGER PRIMARY KEY
			REFERENCES tracks (id) ON DELETE CASCADE
);
