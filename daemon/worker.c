/* The analysis workers of mtagd. */
#include <sys/syscall.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "conf.h"
#include "error.h"
#include "log.h"
#include "model.h"
#include "worker.h"

#define RATE_WINDOW 32	/* analyses the throughput is measured over */
#define IDLE_POLL_S 5	/* idle workers look at the queue this often */
#define RETRY_S 2	/* a database write failing for a passing cause (a
			   full disk) is tried again this often */

struct worker {
	mtag_workers *pool;
	pthread_t thread;
	mtag_model *model;
	mtag_writeback *wb;	/* NULL: writeback off */
	char *path;		/* in flight, under the pool's lock */
	volatile int64_t track;	/* in flight, for the crash handler */
	int started;
};

struct mtag_workers {
	mtag_db *db;
	int64_t model_id;
	int n;
	struct worker *w;
	int writeback;		/* MTAG_WRITEBACK_* */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int paused, stopping;
	int db_trouble;		/* database writes failing for a passing cause */
	unsigned wakeups;
	volatile sig_atomic_t cancel;

	int64_t analysed, failed;
	struct timespec done_at[RATE_WINDOW];	/* ring of completion times */
};

/* What the crash handler reads. */
static mtag_workers *crash_pool;
static int crash_fd = -1;
static _Thread_local struct worker *crash_self;

static double
seconds(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

/* Logs the failure of a database call of the calling thread, but only the
 * first of a run of passing ones (mtag_db_transient). Call with the pool's
 * lock held. */
static void
db_failed(mtag_workers *pool)
{
	if (!mtag_db_transient(pool->db))
		log_warnx("%s", mtag_db_errmsg(pool->db));
	else if (pool->db_trouble++ == 0)
		log_warnx("%s; analyses wait until it can be written",
		    mtag_db_errmsg(pool->db));
}

/* A database call succeeded: ends a run of failures. Call with the pool's
 * lock held. */
static void
db_worked(mtag_workers *pool)
{
	if (pool->db_trouble > 0)
		log_info("the database can be written again");
	pool->db_trouble = 0;
}

/* After the database call of the calling thread failed: returns -1 when
 * the failure is not a passing one or the pool is stopping, else 0 after
 * RETRY_S seconds, for the caller to try again. */
static int
retry_later(mtag_workers *pool)
{
	struct timespec until;
	int rc = -1;

	pthread_mutex_lock(&pool->lock);
	db_failed(pool);
	if (mtag_db_transient(pool->db)) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RETRY_S;
		while (!pool->stopping && pthread_cond_timedwait(&pool->cond,
		    &pool->lock, &until) == 0)
			;
		rc = pool->stopping ? -1 : 0;
	}
	pthread_mutex_unlock(&pool->lock);
	return rc;
}

/* Decodes and analyses one track; returns 0 done, 1 cancelled (or results
 * not stored before the pool stopped), -1 failed with the reason in err. */
static int
analyse(struct worker *wk, int64_t track, const char *path, char *err,
    size_t errlen)
{
	mtag_workers *pool = wk->pool;
	mtag_model *m = wk->model;
	const int ntags = mtag_model_ntags(m), dim = mtag_model_embed_dim(m);
	float *pcm = NULL, *probs, *emb, *chunks;
	size_t n, starts[MTAG_TRACK_CHUNKS];
	double when[MTAG_TRACK_CHUNKS];
	int i, nchunks, rc = -1;

	probs = malloc(sizeof(float) * (ntags + dim +
	    MTAG_TRACK_CHUNKS * ntags));
	if (probs == NULL)
		return mtag_seterr(err, errlen, path, "out of memory");
	emb = probs + ntags;
	chunks = emb + dim;
	if (mtag_model_decode(m, path, &pcm, &n, err, errlen) < 0)
		goto done;
	if (mtag_model_run_track(m, pcm, n, probs, emb, chunks, &pool->cancel,
	    &nchunks) == 1) {
		rc = 1;
		goto done;
	}
	mtag_model_track_chunks(m, n, starts);
	for (i = 0; i < nchunks; i++)
		when[i] = (double)starts[i] / mtag_model_rate(m);
	/* Results are not thrown away for want of disk space. */
	while (mtag_db_job_done(pool->db, track, pool->model_id, probs, ntags,
	    emb, dim, chunks, when, nchunks) < 0)
		if (!mtag_db_transient(pool->db) || retry_later(pool) < 0) {
			mtag_seterr(err, errlen, NULL, "%s",
			    mtag_db_errmsg(pool->db));
			rc = mtag_db_transient(pool->db) ? 1 : -1;
			goto done;
		}
	rc = 0;
done:
	free(pcm);
	free(probs);
	return rc;
}

/* Writes the analysis into the file, as the writeback option says. */
static void
write_back(struct worker *wk, int64_t track, const char *path)
{
	mtag_workers *pool = wk->pool;
	char err[1024];
	int rc;

	if (pool->writeback == MTAG_WRITEBACK_NEW &&
	    (rc = mtag_db_journal_wrote(pool->db, path)) != 0) {
		if (rc < 0)
			log_warnx("%s", mtag_db_errmsg(pool->db));
		return;
	}
	if (mtag_writeback_file(wk->wb, track, path, NULL, err,
	    sizeof(err)) < 0)
		log_warnx("%s", err);
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	mtag_workers *pool = wk->pool;
	char err[512], *path;
	int64_t track;
	int rc;

	crash_self = wk;
	pthread_mutex_lock(&pool->lock);
	while (!pool->stopping) {
		unsigned seen = pool->wakeups;
		struct timespec until;

		if (pool->paused) {
			pthread_cond_wait(&pool->cond, &pool->lock);
			continue;
		}
		pthread_mutex_unlock(&pool->lock);
		rc = mtag_db_job_claim(pool->db, pool->model_id, &track, &path);
		pthread_mutex_lock(&pool->lock);
		if (rc < 0)
			db_failed(pool);
		else
			db_worked(pool);
		if (rc <= 0) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += IDLE_POLL_S;
			while (!pool->stopping && pool->wakeups == seen &&
			    pthread_cond_timedwait(&pool->cond, &pool->lock,
			    &until) == 0)
				;
			continue;
		}
		wk->path = path;
		pthread_mutex_unlock(&pool->lock);

		wk->track = track;
		rc = analyse(wk, track, path, err, sizeof(err));
		if (rc == 0 && wk->wb != NULL) {
			write_back(wk, track, path);
			while (mtag_db_writeback_done(pool->db, track) < 0 &&
			    retry_later(pool) == 0)
				;
		}
		wk->track = 0;
		if (rc == 1 && mtag_db_job_requeue(pool->db, track,
		    pool->model_id) < 0) {
			/* Left running: the next start queues it again. */
			pthread_mutex_lock(&pool->lock);
			db_failed(pool);
			pthread_mutex_unlock(&pool->lock);
		} else if (rc < 0) {
			log_warnx("%s", err);
			while (mtag_db_job_failed(pool->db, track,
			    pool->model_id, err) < 0 && retry_later(pool) == 0)
				;
		}

		pthread_mutex_lock(&pool->lock);
		wk->path = NULL;
		free(path);
		if (rc == 0) {
			clock_gettime(CLOCK_MONOTONIC, &pool->done_at[
			    pool->analysed % RATE_WINDOW]);
			pool->analysed++;
		} else if (rc < 0) {
			pool->failed++;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

mtag_workers *
mtag_workers_start(mtag_db *db, int64_t model_id, const mtag_ckpt *ck,
    const char *arch, int n, const struct mtag_workers_writeback *wb,
    char *err, size_t errlen)
{
	mtag_workers *pool;
	int i;

	if ((pool = calloc(1, sizeof(*pool))) == NULL ||
	    (pool->w = calloc(n, sizeof(*pool->w))) == NULL) {
		free(pool);
		mtag_seterr(err, errlen, NULL, "out of memory");
		return NULL;
	}
	pool->db = db;
	pool->model_id = model_id;
	pool->n = n;
	pool->writeback = wb->mode;
	mtag_db_writeback_queue(db, wb->mode != MTAG_WRITEBACK_OFF);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	/* One BLAS thread per worker: the workers share the cores. */
	if (n > 1)
		openblas_set_num_threads(1);
	for (i = 0; i < n; i++) {
		struct worker *wk = &pool->w[i];

		wk->pool = pool;
		if ((wk->model = mtag_model_load(ck, arch, err,
		    errlen)) == NULL)
			goto fail;
		if (wb->mode != MTAG_WRITEBACK_OFF && (wk->wb =
		    mtag_writeback_new(db, wb->model, &wb->opts, err,
		    errlen)) == NULL)
			goto fail;
		if (pthread_create(&wk->thread, NULL, worker_main, wk) != 0) {
			mtag_seterr(err, errlen, NULL, "cannot start a worker "
			    "thread");
			goto fail;
		}
		wk->started = 1;
	}
	return pool;
fail:
	mtag_workers_stop(pool);
	return NULL;
}

/* Appends "crashed ID" to crash_fd, with async-signal-safe calls only. */
static void
log_crash(int64_t id)
{
	char line[32], *p = line + sizeof(line);

	if (id <= 0)
		return;
	*--p = '\n';
	do
		*--p = '0' + id % 10;
	while ((id /= 10) > 0);
	p -= 8;
	memcpy(p, "crashed ", 8);
	/* Dying: a failure to write has nowhere to be reported. */
	if (lseek(crash_fd, 0, SEEK_END) != -1 &&
	    write(crash_fd, p, line + sizeof(line) - p) == -1)
		crash_fd = -1;
}

/* The fatal signals' handler (SA_RESETHAND): logs the track of the worker
 * that raised the signal (all those in flight when a thread of neither the
 * workers nor the daemon did: a BLAS thread), then dies of the signal. */
static void
on_crash(int sig, siginfo_t *si, void *ctx)
{
	int i;

	(void)ctx;
	if (si->si_code != SI_USER && crash_pool != NULL) {
		if (crash_self != NULL)
			log_crash(crash_self->track);
		else if (syscall(SYS_gettid) != getpid())
			for (i = 0; i < crash_pool->n; i++)
				log_crash(crash_pool->w[i].track);
	}
	raise(sig);
}

void
mtag_workers_crash_log(mtag_workers *w, int fd)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa = { .sa_sigaction = on_crash,
	    .sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER };
	size_t i;

	crash_pool = w;
	crash_fd = fd;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void
mtag_workers_wake(mtag_workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->wakeups++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
mtag_workers_pause(mtag_workers *w, int paused)
{
	pthread_mutex_lock(&w->lock);
	w->paused = paused;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
mtag_workers_stop(mtag_workers *w)
{
	int i;

	if (w == NULL)
		return;
	if (crash_pool == w)
		crash_pool = NULL;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	w->cancel = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->n; i++) {
		if (w->w[i].started)
			pthread_join(w->w[i].thread, NULL);
		mtag_model_free(w->w[i].model);
		mtag_writeback_free(w->w[i].wb);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->w);
	free(w);
}

/* Tracks per second between the oldest and newest analyses of the ring;
 * call with the lock held. */
static double
rate_locked(mtag_workers *w)
{
	int64_t k = w->analysed < RATE_WINDOW ? w->analysed : RATE_WINDOW;
	double span;

	if (k < 2)
		return 0.0;
	span = seconds(&w->done_at[(w->analysed - 1) % RATE_WINDOW]) -
	    seconds(&w->done_at[(w->analysed - k) % RATE_WINDOW]);
	return span > 0 ? (k - 1) / span : 0.0;
}

double
mtag_workers_rate(mtag_workers *w)
{
	double r;

	pthread_mutex_lock(&w->lock);
	r = rate_locked(w);
	pthread_mutex_unlock(&w->lock);
	return r;
}

void
mtag_workers_status(mtag_workers *w, FILE *out)
{
	int i;

	pthread_mutex_lock(&w->lock);
	fprintf(out, "workers=%d\npaused=%d\nanalysed_since_start=%lld\n"
	    "failed_since_start=%lld\nrate=%.3f\n", w->n, w->paused,
	    (long long)w->analysed, (long long)w->failed, rate_locked(w));
	for (i = 0; i < w->n; i++)
		if (w->w[i].path != NULL)
			fprintf(out, "job=%s\n", w->w[i].path);
	pthread_mutex_unlock(&w->lock);
}
