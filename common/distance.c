/* How far apart two names are. */
#include <ctype.h>
#include <string.h>

#include "distance.h"

int
mtag_distance(const char *a, const char *b)
{
	int row[MTAG_DISTANCE_MAX + 1], i, j, diag, up, best;
	int la = strlen(a), lb = strlen(b);

	if (lb > MTAG_DISTANCE_MAX)
		return 1000;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}
