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

#ifdef __cplusplus
}
#endif

#endif
