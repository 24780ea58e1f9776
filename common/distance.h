/* How far apart two names are, for suggesting the one meant. */
#ifndef MTAG_DISTANCE_H
#define MTAG_DISTANCE_H

/* The longest b that mtag_distance measures, in bytes. */
#define MTAG_DISTANCE_MAX	63

/* The Levenshtein distance from a to b, ignoring ASCII case: the fewest
 * insertions, deletions and substitutions of bytes turning one into the
 * other. A b longer than MTAG_DISTANCE_MAX is at distance 1000. */
int mtag_distance(const char *a, const char *b);

#endif
