/* Sets of track ids, as bitmaps of 64-bit words. */
#include <stdlib.h>

#include "trackset.h"

struct mtag_trackset {
	int64_t n;		/* ids 0 to n - 1 */
	int64_t nwords;
	uint64_t *w;
};

mtag_trackset *
mtag_trackset_new(int64_t n)
{
	mtag_trackset *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->n = n;
	s->nwords = (n + 63) / 64;
	if ((s->w = calloc(s->nwords ? s->nwords : 1, sizeof(*s->w))) ==
	    NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
mtag_trackset_free(mtag_trackset *s)
{
	if (s == NULL)
		return;
	free(s->w);
	free(s);
}

void
mtag_trackset_add(mtag_trackset *s, int64_t id)
{
	if (id >= 0 && id < s->n)
		s->w[id / 64] |= (uint64_t)1 << (id % 64);
}

int
mtag_trackset_has(const mtag_trackset *s, int64_t id)
{
	return id >= 0 && id < s->n && (s->w[id / 64] >> (id % 64) & 1);
}

int64_t
mtag_trackset_count(const mtag_trackset *s)
{
	int64_t i, n = 0;

	for (i = 0; i < s->nwords; i++)
		n += __builtin_popcountll(s->w[i]);
	return n;
}

int64_t
mtag_trackset_next(const mtag_trackset *s, int64_t id)
{
	int64_t i;
	uint64_t w;

	if (id < 0)
		id = 0;
	if (id >= s->n)
		return -1;
	i = id / 64;
	for (w = s->w[i] & (~(uint64_t)0 << (id % 64)); w == 0; w = s->w[i])
		if (++i == s->nwords)
			return -1;
	return i * 64 + __builtin_ctzll(w);
}

void
mtag_trackset_and(mtag_trackset *s, const mtag_trackset *t)
{
	int64_t i;

	for (i = 0; i < s->nwords; i++)
		s->w[i] &= t->w[i];
}

void
mtag_trackset_or(mtag_trackset *s, const mtag_trackset *t)
{
	int64_t i;

	for (i = 0; i < s->nwords; i++)
		s->w[i] |= t->w[i];
}

void
mtag_trackset_andnot(mtag_trackset *s, const mtag_trackset *t)
{
	int64_t i;

	for (i = 0; i < s->nwords; i++)
		s->w[i] &= ~t->w[i];
}

void
mtag_trackset_invert(mtag_trackset *s)
{
	int64_t i;

	for (i = 0; i < s->nwords; i++)
		s->w[i] = ~s->w[i];
	if (s->n % 64 != 0)
		s->w[s->nwords - 1] &= ((uint64_t)1 << (s->n % 64)) - 1;
}
