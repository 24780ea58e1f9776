/* What the tags of the training datasets mean, from the study's vocabulary
 * table (vocabulary.tsv of the shared data): each output of common/vocab.c
 * has a canonical name, shared by its synonyms within and across datasets,
 * and a category. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "vocab.h"
#include "vocabulary.h"

struct meaning {
	const char *canonical, *category;
};

static const struct meaning mtat_meanings[MTAG_VOCAB_SIZE] = {
	{ "guitar", "instrument" },
	{ "classical", "genre" },
	{ "slow", "tempo" },
	{ "techno", "genre" },
	{ "strings", "instrument" },
	{ "drums", "instrument" },
	{ "electronic", "genre" },
	{ "rock", "genre" },
	{ "fast", "tempo" },
	{ "piano", "instrument" },
	{ "ambient", "genre" },
	{ "beat", "rhythm" },
	{ "violin", "instrument" },
	{ "vocal", "vocal" },
	{ "synth", "instrument" },
	{ "female vocal", "vocal" },	/* female */
	{ "indian", "genre" },
	{ "opera", "genre" },
	{ "male vocal", "vocal" },	/* male */
	{ "vocal", "vocal" },	/* singing */
	{ "vocal", "vocal" },	/* vocals */
	{ "instrumental", "vocal" },	/* no vocals */
	{ "harpsichord", "instrument" },
	{ "loud", "dynamics" },
	{ "quiet", "dynamics" },
	{ "flute", "instrument" },
	{ "female vocal", "vocal" },	/* woman */
	{ "male vocal", "vocal" },
	{ "instrumental", "vocal" },	/* no vocal */
	{ "pop", "genre" },
	{ "soft", "mood" },
	{ "sitar", "instrument" },
	{ "solo", "other" },
	{ "male vocal", "vocal" },	/* man */
	{ "classical", "genre" },	/* classic */
	{ "choir", "vocal" },
	{ "vocal", "vocal" },	/* voice */
	{ "new age", "genre" },
	{ "dance", "genre" },
	{ "male vocal", "vocal" },	/* male voice */
	{ "female vocal", "vocal" },
	{ "beat", "rhythm" },	/* beats */
	{ "harp", "instrument" },
	{ "cello", "instrument" },
	{ "instrumental", "vocal" },	/* no voice */
	{ "weird", "mood" },
	{ "country", "genre" },
	{ "metal", "genre" },
	{ "female vocal", "vocal" },	/* female voice */
	{ "choir", "vocal" },	/* choral */
};

static const struct meaning msd_meanings[MTAG_VOCAB_SIZE] = {
	{ "rock", "genre" },
	{ "pop", "genre" },
	{ "alternative", "genre" },
	{ "indie", "genre" },
	{ "electronic", "genre" },
	{ "female vocal", "vocal" },	/* female vocalists */
	{ "dance", "genre" },
	{ "00s", "era" },
	{ "alternative rock", "genre" },
	{ "jazz", "genre" },
	{ "beautiful", "mood" },
	{ "metal", "genre" },
	{ "chillout", "genre" },
	{ "male vocal", "vocal" },	/* male vocalists */
	{ "classic rock", "genre" },
	{ "soul", "genre" },
	{ "indie rock", "genre" },
	{ "mellow", "mood" },
	{ "electronica", "genre" },
	{ "80s", "era" },
	{ "folk", "genre" },
	{ "90s", "era" },
	{ "chill", "mood" },
	{ "instrumental", "vocal" },
	{ "punk", "genre" },
	{ "oldies", "era" },
	{ "blues", "genre" },
	{ "hard rock", "genre" },
	{ "ambient", "genre" },
	{ "acoustic", "instrument" },
	{ "experimental", "genre" },
	{ "female vocal", "vocal" },	/* female vocalist */
	{ "guitar", "instrument" },
	{ "hip-hop", "genre" },
	{ "70s", "era" },
	{ "party", "mood" },
	{ "country", "genre" },
	{ "easy listening", "genre" },
	{ "sexy", "mood" },
	{ "catchy", "mood" },
	{ "funk", "genre" },
	{ "electro", "genre" },
	{ "heavy metal", "genre" },
	{ "progressive rock", "genre" },
	{ "60s", "era" },
	{ "rnb", "genre" },
	{ "indie pop", "genre" },
	{ "sad", "mood" },
	{ "house", "genre" },
	{ "happy", "mood" },
};

static const struct meaning jamendo_meanings[MTAG_VOCAB_SIZE] = {
	{ "alternative", "genre" },	/* genre---alternative */
	{ "ambient", "genre" },	/* genre---ambient */
	{ "atmospheric", "genre" },	/* genre---atmospheric */
	{ "chillout", "genre" },	/* genre---chillout */
	{ "classical", "genre" },	/* genre---classical */
	{ "dance", "genre" },	/* genre---dance */
	{ "downtempo", "genre" },	/* genre---downtempo */
	{ "easy listening", "genre" },	/* genre---easylistening */
	{ "electronic", "genre" },	/* genre---electronic */
	{ "experimental", "genre" },	/* genre---experimental */
	{ "folk", "genre" },	/* genre---folk */
	{ "funk", "genre" },	/* genre---funk */
	{ "hip-hop", "genre" },	/* genre---hiphop */
	{ "house", "genre" },	/* genre---house */
	{ "indie", "genre" },	/* genre---indie */
	{ "instrumental pop", "genre" },	/* genre---instrumentalpop */
	{ "jazz", "genre" },	/* genre---jazz */
	{ "lounge", "genre" },	/* genre---lounge */
	{ "metal", "genre" },	/* genre---metal */
	{ "new age", "genre" },	/* genre---newage */
	{ "orchestral", "genre" },	/* genre---orchestral */
	{ "pop", "genre" },	/* genre---pop */
	{ "pop folk", "genre" },	/* genre---popfolk */
	{ "pop rock", "genre" },	/* genre---poprock */
	{ "reggae", "genre" },	/* genre---reggae */
	{ "rock", "genre" },	/* genre---rock */
	{ "soundtrack", "genre" },	/* genre---soundtrack */
	{ "techno", "genre" },	/* genre---techno */
	{ "trance", "genre" },	/* genre---trance */
	{ "trip-hop", "genre" },	/* genre---triphop */
	{ "world", "genre" },	/* genre---world */
	/* instrument---acousticguitar */
	{ "acoustic guitar", "instrument" },
	{ "bass", "instrument" },	/* instrument---bass */
	{ "computer", "instrument" },	/* instrument---computer */
	{ "drum machine", "instrument" },	/* instrument---drummachine */
	{ "drums", "instrument" },	/* instrument---drums */
	/* instrument---electricguitar */
	{ "electric guitar", "instrument" },
	{ "electric piano", "instrument" },	/* instrument---electricpiano */
	{ "guitar", "instrument" },	/* instrument---guitar */
	{ "keyboard", "instrument" },	/* instrument---keyboard */
	{ "piano", "instrument" },	/* instrument---piano */
	{ "strings", "instrument" },	/* instrument---strings */
	{ "synth", "instrument" },	/* instrument---synthesizer */
	{ "violin", "instrument" },	/* instrument---violin */
	{ "vocal", "instrument" },	/* instrument---voice */
	{ "emotional", "mood" },	/* mood/theme---emotional */
	{ "energetic", "mood" },	/* mood/theme---energetic */
	{ "film", "mood" },	/* mood/theme---film */
	{ "happy", "mood" },	/* mood/theme---happy */
	{ "relaxing", "mood" },	/* mood/theme---relaxing */
};

static const struct {
	const char *dataset;
	const struct meaning *meanings;
} datasets[] = {
	{ "mtat", mtat_meanings },
	{ "msd", msd_meanings },
	{ "jamendo", jamendo_meanings },
};
#define NDATASETS	(int)(sizeof(datasets) / sizeof(datasets[0]))

int
mtag_vocabulary_get(int i, struct mtag_vocabulary_entry *e)
{
	const struct meaning *m;
	int d = i / MTAG_VOCAB_SIZE, k = i % MTAG_VOCAB_SIZE;

	if (i < 0 || d >= NDATASETS)
		return -1;
	m = &datasets[d].meanings[k];
	e->dataset = datasets[d].dataset;
	e->tag = mtag_vocab_builtin(e->dataset)[k];
	e->canonical = m->canonical;
	e->category = m->category;
	return 0;
}

int
mtag_vocabulary_find(const char *dataset, const char *tag,
    struct mtag_vocabulary_entry *e)
{
	int pass, i;

	/* The dataset's own tags first, then everyone's. */
	for (pass = dataset != NULL ? 0 : 1; pass < 2; pass++)
		for (i = 0; mtag_vocabulary_get(i, e) == 0; i++)
			if ((pass == 1 || strcmp(e->dataset, dataset) == 0) &&
			    strcasecmp(e->tag, tag) == 0)
				return 0;
	return -1;
}

int
mtag_tag_holds(double score, int rank, double threshold, int top_n,
    double min_score, double sure_score)
{
	float v = (float)score;

	if (threshold >= 0)
		return v >= (float)threshold ? MTAG_HOLDS_OWN : MTAG_HOLDS_NOT;
	if (v >= (float)sure_score)
		return MTAG_HOLDS_SURE;
	if (rank <= top_n && v >= (float)min_score)
		return MTAG_HOLDS_TOP;
	return MTAG_HOLDS_NOT;
}
