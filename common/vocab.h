/* The tag vocabularies of the training datasets, in model output order. */
#ifndef MTAG_VOCAB_H
#define MTAG_VOCAB_H

#define MTAG_VOCAB_SIZE 50

/* The MTAG_VOCAB_SIZE tag names of dataset ("mtat", "msd", "jamendo") in
 * output order, or NULL for an unknown dataset. */
const char *const *mtag_vocab_builtin(const char *dataset);

#endif
