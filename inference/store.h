/* The model store: checkpoints installed under a name, each with its
 * architecture, dataset and tag vocabulary.
 *
 * The store folder (mtag_store_dir) holds one folder per model:
 *	NAME/model.pth	the checkpoint, byte for byte as published or given
 *	NAME/tags.txt	the tag names, one a line, in model output order
 *	NAME/info	key=value lines: name, arch, dataset (mtat, msd, jamendo
 *			or custom), sha256 (of model.pth), source (URL or file)
 * An entry is built in a hidden temporary folder beside it (".tmp-NAME.*"),
 * its files fsync'ed, and renamed into place, so a model is either wholly
 * installed or absent. Names starting with '.' are never models.
 *
 * Model names are made of letters, digits, '.', '_' and '-'; the published
 * ones are ARCH-DATASET, e.g. musicnn-mtat. */
#ifndef MTAG_STORE_H
#define MTAG_STORE_H

#include <stddef.h>

#define MTAG_STORE_DEFAULT "musicnn-mtat"

typedef struct mtag_store_entry {
	char name[128];
	char arch[32];
	char dataset[32];	/* mtat, msd, jamendo, or "custom" */
	char sha256[65];
	char path[4096];	/* the checkpoint file */
	int ntags;
	char **tags;		/* ntags names in output order */
} mtag_store_entry;

/* Frees the tags of e and empties it; safe to call twice, and on an entry
 * zeroed but never filled. */
void mtag_store_entry_clear(mtag_store_entry *e);

/* Writes the store folder to buf: $MTAG_DATA_DIR/models, else
 * $XDG_DATA_HOME/mtag/models, else $HOME/.local/share/mtag/models. Returns 0,
 * or -1 with a message in err when none of them is set or the path is too
 * long. The folder need not exist. */
int mtag_store_dir(char *buf, size_t len, char *err, size_t errlen);

/* The name of the i-th published checkpoint, for i from 0, or NULL past
 * the last. */
const char *mtag_store_pinned(int i);

/* Installs the published checkpoint name (one of mtag_store_pinned): copies
 * mirror/DATASET/ARCH/best_model.pth (the transformer's: mirror/teacher.ckpt
 * or mirror/compact_student.ckpt) when mirror is not NULL, else from
 * $MTAG_MODEL_MIRROR when set and not empty, else downloads it from its
 * repository (progress on stderr when it is a terminal). The file must
 * match the published SHA-256 where one is known (otherwise its hash is
 * recorded with a warning) and load as the published architecture. Returns 0 when installed, 1 when the same checkpoint was already
 * installed under name, or -1 with a message in err (an unknown name's
 * message lists the known ones); on failure nothing is installed. */
int mtag_store_fetch(const char *name, const char *mirror, char *err,
    size_t errlen);

/* Installs the checkpoint file under name. dataset is mtat, msd, jamendo, or
 * the path of a tags file (one tag per line, output order), or NULL to guess
 * mtat, msd or jamendo from the folders in the path of file. arch NULL means
 * detect it. The model must load with that architecture and have as many
 * outputs as tags. Fails when name is already installed. Returns 0, or -1
 * with a message in err; on failure nothing is installed. */
int mtag_store_install(const char *file, const char *name,
    const char *dataset, const char *arch, char *err, size_t errlen);

/* Calls fn with each installed model, in name order, until fn returns
 * non-zero; the entry is only valid during the call. Entries that cannot
 * be read are skipped with a warning. A missing store folder holds no
 * models. Returns 0, fn's non-zero value, or -1 with a message in err when
 * the store folder cannot be read. */
int mtag_store_list(int (*fn)(const mtag_store_entry *e, void *arg),
    void *arg, char *err, size_t errlen);

/* Uninstalls the model name. Returns 0, or -1 with a message in err. */
int mtag_store_remove(const char *name, char *err, size_t errlen);

/* Fills e (to be emptied with mtag_store_entry_clear) with the model that
 * mtagctl's --model argument designates: NULL means MTAG_STORE_DEFAULT; an
 * argument containing '/' or naming an existing file is a checkpoint file,
 * whose name is the argument as given (cut to fit) and whose arch is
 * detected, or left empty when no known architecture matches; anything
 * else is the name of an installed model. dataset, when not NULL, gives the
 * tag vocabulary as for mtag_store_install (and overrides an installed
 * model's); a file's vocabulary is otherwise guessed from the folders in
 * its path. The caller checks that the model has e->ntags outputs. Returns
 * 0, or -1 with a message in err. */
int mtag_store_resolve(const char *name_or_file, const char *dataset,
    mtag_store_entry *e, char *err, size_t errlen);

#endif
