/* Sets of track ids, as bitmaps: what the terms of a query select, combined
 * with set operations. */
#ifndef MTAG_TRACKSET_H
#define MTAG_TRACKSET_H

#include <stdint.h>

typedef struct mtag_trackset mtag_trackset;

/* An empty set that can hold the ids from 0 to n - 1, or NULL when out of
 * memory. */
mtag_trackset *mtag_trackset_new(int64_t n);
void mtag_trackset_free(mtag_trackset *s);

/* Adds id; an id out of the set's range is ignored. */
void mtag_trackset_add(mtag_trackset *s, int64_t id);
int mtag_trackset_has(const mtag_trackset *s, int64_t id);
int64_t mtag_trackset_count(const mtag_trackset *s);

/* The smallest id of s from id on, or -1 when there is none. */
int64_t mtag_trackset_next(const mtag_trackset *s, int64_t id);

/* s becomes s & t, s | t or s & ~t; both have the same range. */
void mtag_trackset_and(mtag_trackset *s, const mtag_trackset *t);
void mtag_trackset_or(mtag_trackset *s, const mtag_trackset *t);
void mtag_trackset_andnot(mtag_trackset *s, const mtag_trackset *t);

/* s becomes its complement in its range. */
void mtag_trackset_invert(mtag_trackset *s);

#endif
