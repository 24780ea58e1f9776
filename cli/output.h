/* Presenting tracks: sorting them by their fields, and writing them as
 * paths, a --format template, JSON, extended M3U or CSV. */
#ifndef MTAG_OUTPUT_H
#define MTAG_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "library.h"

#define MTAG_SORT_MAX	8

struct mtag_sort_key {
	int field;		/* in mtag_fields */
	int descending;
};

/* Parses FIELD[+|-][,FIELD[+|-]...] into keys (MTAG_SORT_MAX at most):
 * '+' sorts ascending, '-' descending; by default the score sorts
 * descending and the other fields ascending. Returns the number of keys,
 * or -1 with a message in err. */
int mtag_sort_parse(const char *spec, struct mtag_sort_key *keys,
    char *err, size_t errlen);

/* Sorts the n tracks by the keys, then by path. Text compares ignoring
 * ASCII case; absent values come last in either direction. Not
 * reentrant. */
void mtag_sort(struct mtag_track *t, size_t n,
    const struct mtag_sort_key *keys, int nkeys);

enum mtag_style {
	MTAG_STYLE_PATHS,	/* one path a line */
	MTAG_STYLE_FORMAT,	/* one template a line */
	MTAG_STYLE_JSON,	/* an array of objects */
	MTAG_STYLE_M3U,		/* an extended M3U playlist */
};

/* Checks a --format template: text with %FIELD or %{FIELD} for the fields
 * of mtag_fields, %% for %, and the escapes \n, \t and \\. Returns 0, or -1
 * with a message in err. */
int mtag_format_check(const char *fmt, char *err, size_t errlen);

/* Writes the n tracks to f in style; fmt is the FORMAT template. */
void mtag_output(FILE *f, enum mtag_style style, const char *fmt,
    const struct mtag_track *t, size_t n);

/* Writes field i of t as text: absent as nothing, a duration as M:SS, the
 * score with 3 decimals. */
void mtag_output_field(FILE *f, const struct mtag_track *t, int i);

/* Writes the members of a JSON object for the fields of t, absent values
 * null, durations to the millisecond, the score with 4 decimals, without
 * the braces. */
void mtag_output_json_fields(FILE *f, const struct mtag_track *t);

/* Writes s as a CSV field, quoted when needed; NULL as nothing. */
void mtag_output_csv(FILE *f, const char *s);

#endif
