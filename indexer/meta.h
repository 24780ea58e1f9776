/* Reading a music file's metadata and audio properties with TagLib. */
#ifndef MTAG_META_H
#define MTAG_META_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mtag_meta {
	char *title, *artist, *album, *albumartist, *genre;	/* or NULL */
	char *mb_trackid, *mb_albumid, *mb_artistid;		/* or NULL */
	char codec[32];		/* "mp3", "flac", "vorbis", "opus", "aac",
				   "alac", "pcm", ... or "" */
	int year, track, disc;	/* 0 when absent */
	double duration;	/* seconds */
	int sample_rate, channels, bitrate;	/* bitrate in kbit/s */
} mtag_meta;

/* Reads the tags and audio properties of path into m (which the caller
 * empties with mtag_meta_clear). Returns 0, or -1 with a message naming the
 * file in err when TagLib cannot read it. Thread-safe. */
int mtag_meta_read(const char *path, mtag_meta *m, char *err, size_t errlen);

/* Frees the strings of m and zeroes it; safe twice. */
void mtag_meta_clear(mtag_meta *m);

/* A tag field by its TagLib property key ("GENRE", "MOOD", "MTAG_TAGS"),
 * with its values; nvalues 0 when the file lacks it. */
typedef struct mtag_meta_field {
	const char *key;
	char **values;
	int nvalues;
} mtag_meta_field;

/* Reads the values of the n fields of path named by their keys, replacing
 * their values (which must be empty) with malloc'd ones, freed by
 * mtag_meta_fields_clear. Returns 0, or -1 with a message naming the file
 * in err. */
int mtag_meta_get(const char *path, mtag_meta_field *f, int n, char *err,
    size_t errlen);

/* Frees the values of the n fields and empties them; the keys are kept. */
void mtag_meta_fields_clear(mtag_meta_field *f, int n);

/* Writes the n fields into the file at path in place, a field without
 * values removing its key, every other tag left as it was: ID3v2 tags keep
 * their version (MOOD is a TXXX frame in ID3v2.3, which has no TMOO), and
 * MP4 files take unknown keys as ----:com.apple.iTunes:KEY atoms. Only
 * mp3, FLAC, Ogg Vorbis, Opus and MP4 files are written. Reads the file
 * back: its tags must be the old ones with the n fields replaced. Returns
 * 0, or -1 with a message naming the file in err, saying which keys TagLib
 * would not write or which field reads back otherwise (the file may then
 * be damaged: write copies only). */
int mtag_meta_set(const char *path, const mtag_meta_field *f, int n,
    char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
