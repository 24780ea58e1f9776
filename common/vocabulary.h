/* What the tags of the training datasets mean: a canonical name shared by
 * synonyms (MagnaTagATune's "female", "woman", "female voice" and "female
 * vocal", the Million Song Dataset's "female vocalists" are all "female
 * vocal") and a category (genre, instrument, vocal, mood, tempo, rhythm,
 * dynamics, era, other). */
#ifndef MTAG_VOCABULARY_H
#define MTAG_VOCABULARY_H

struct mtag_vocabulary_entry {
	const char *dataset;	/* "mtat", "msd" or "jamendo" */
	const char *tag;	/* the dataset's name for it */
	const char *canonical;
	const char *category;
};

/* Fills e with the i-th tag of the table, for i from 0. Returns 0, or -1
 * past the last. */
int mtag_vocabulary_get(int i, struct mtag_vocabulary_entry *e);

/* Fills e with the tag named tag (ignoring ASCII case) of dataset, else of
 * any dataset (dataset may be NULL or unknown). Returns 0, or -1 when no
 * dataset has it. */
int mtag_vocabulary_find(const char *dataset, const char *tag,
    struct mtag_vocabulary_entry *e);

#endif
