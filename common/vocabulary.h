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

/* Why a canonical tag named alone holds for a track, or does not. */
enum { MTAG_HOLDS_NOT, MTAG_HOLDS_OWN, MTAG_HOLDS_SURE, MTAG_HOLDS_TOP };

/* The rule of mtag.conf(5) for a canonical tag scoring score, ranked rank
 * among the track's canonical tags: its own threshold when threshold is
 * not negative, else a score of sure_score, or a rank within top_n with a
 * score of min_score. Scores compare as float32, as they are stored.
 * Returns MTAG_HOLDS_NOT when it does not hold, otherwise the clause that
 * makes it. */
int mtag_tag_holds(double score, int rank, double threshold, int top_n,
    double min_score, double sure_score);

#endif
