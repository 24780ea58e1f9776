/* The query language of mtagctl (mtagctl(1) describes it): tag terms
 * ("rock", "female vocal", "piano<0.1"), metadata predicates ("artist:abba",
 * "year:1990..1999"), AND, OR, NOT and parentheses. A query is parsed
 * against a library, whose model gives the tag names, into a tree, then
 * evaluated by combining the sets of tracks that its terms select. */
#ifndef MTAG_QUERY_H
#define MTAG_QUERY_H

#include <stdint.h>
#include <stdio.h>

#include "library.h"

typedef struct mtag_query mtag_query;

/* Why an expression does not parse, and where: the bytes from start to
 * end of it (start = end = its length at its end). */
struct mtag_query_error {
	char msg[512];
	int start, end;
};

/* Parses expr with the tag names of lib, which must outlive the query.
 * NULL with e filled when expr is malformed or names an unknown tag or
 * field. */
mtag_query *mtag_query_parse(mtag_library *lib, const char *expr,
    struct mtag_query_error *e);
void mtag_query_free(mtag_query *q);

/* Prints e's message, then expr with carets under the bytes it points
 * at. */
void mtag_query_error_print(FILE *f, const char *expr,
    const struct mtag_query_error *e);

/* Whether q ranks what it finds: it has positive tag terms, those not
 * negated and not of the forms tag<x and tag<=x. */
int mtag_query_ranked(const mtag_query *q);

/* Evaluates q. *hits (malloc'd) gets the tracks found, by increasing id,
 * with their rank: the mean score of q's positive tag terms (NaN when q
 * has none or the track is not analysed). Returns their number, or -1 with
 * a message in err. */
int64_t mtag_query_run(mtag_query *q, struct mtag_hit **hits, char *err,
    size_t errlen);

#endif
