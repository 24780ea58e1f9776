-- The undo journal of writing tags back into the files (mtagctl writeback,
-- mtagd's writeback option): each run, and for every file it wrote the
-- values each field touched had before and was given, stored before the
-- file is replaced. A field's values are joined with U+001F (unit
-- separator); NULL is a field the file did not have.

CREATE TABLE writeback_runs (
	id		INTEGER PRIMARY KEY,
	model		TEXT NOT NULL,		-- models.name
	started_at	INTEGER NOT NULL,
	undone_at	INTEGER
);

-- A file of a run: 'pending' while it is being written (a crash may leave
-- it either way), 'written' once replaced, 'undone' once restored.
CREATE TABLE writeback_files (
	run_id		INTEGER NOT NULL
			REFERENCES writeback_runs (id) ON DELETE CASCADE,
	path		TEXT NOT NULL,
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
			    ('pending', 'written', 'undone')),
	PRIMARY KEY (run_id, path)
) WITHOUT ROWID;

CREATE TABLE writeback_fields (
	run_id		INTEGER NOT NULL,
	path		TEXT NOT NULL,
	field		TEXT NOT NULL,
	old_value	TEXT,
	new_value	TEXT,
	PRIMARY KEY (run_id, path, field),
	FOREIGN KEY (run_id, path)
	    REFERENCES writeback_files (run_id, path) ON DELETE CASCADE
) WITHOUT ROWID;
