/* The analysis workers of mtagd: threads that take tracks from the
 * database's queue, decode them and run the model. */
#ifndef MTAG_WORKER_H
#define MTAG_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ckpt.h"
#include "db.h"
#include "writeback.h"

typedef struct mtag_workers mtag_workers;

/* What the workers write into the files after each analysis. */
struct mtag_workers_writeback {
	int mode;		/* MTAG_WRITEBACK_OFF, _NEW (files mtag has
				   not written) or _ALL of conf.h */
	const char *model;	/* the model's name */
	struct mtag_writeback_opts opts;
};

/* Starts n workers analysing the queue of model_id with the model in ck
 * (loaded once per worker; ck may be freed on return), writing the tags
 * into the files as wb says (through the database's writeback queue, which
 * the caller recovers first). NULL with a message in err on failure. */
mtag_workers *mtag_workers_start(mtag_db *db, int64_t model_id,
    const mtag_ckpt *ck, const char *arch, int n,
    const struct mtag_workers_writeback *wb, char *err, size_t errlen);

/* Has a fatal signal raised by a worker's analysis (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT; not one sent by another process) append a
 * "crashed TRACK_ID" line to fd, for the next start to tell a file that
 * crashes the analyser from a process killed from outside, before the
 * process dies of the signal. For one pool at a time. */
void mtag_workers_crash_log(mtag_workers *w, int fd);

/* Tells idle workers that analyses were queued. */
void mtag_workers_wake(mtag_workers *w);

/* Pauses (after the tracks in flight) or resumes the analyses. */
void mtag_workers_pause(mtag_workers *w, int paused);

/* Stops the workers: tracks in flight are abandoned between chunks and
 * put back in the queue. Frees w. */
void mtag_workers_stop(mtag_workers *w);

/* Writes "key=value" status lines: paused, analysed and failed since the
 * start, tracks/s over the last analyses, and a "job=PATH" line per track
 * in flight. */
void mtag_workers_status(mtag_workers *w, FILE *out);

/* Tracks per second over the last analyses (0 when unknown). */
double mtag_workers_rate(mtag_workers *w);

#endif
