/* mtagd: keeps the index of a music library up to date. Watches the library
 * folders, records new and changed files, and analyses them with the
 * tagging model in worker threads. */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "control.h"
#include "db.h"
#include "indexer.h"
#include "log.h"
#include "notify.h"
#include "sha256.h"
#include "store.h"
#include "worker.h"

#define POLL_MS 250
#define STATUS_EVERY_S 2
#define LIMITED_RESCAN_S 600	/* without inotify: rescan this often */
#define MAX_CRASHED 64		/* crashes remembered from the last run */
#define RETRY_MIN_S 2		/* after database writes failed for a passing */
#define RETRY_MAX_S 300		/* cause, rescan after this, doubling */

static volatile sig_atomic_t quit, reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		quit = 1;
}

struct daemon {
	struct mtag_conf conf;
	char control_path[PATH_MAX];
	int control_fd, lock_fd;
	mtag_db *db;
	mtag_indexer *ix;
	mtag_workers *workers;
	struct mtag_scan_opts scan_opts;
	char model_name[128];
	int64_t model_id;
	int64_t crashed[MAX_CRASHED];	/* tracks that crashed the last run */
	int ncrashed;
	int scanning, rescan;
	time_t last_scan, last_status;
	int64_t db_failures;	/* the indexer's, when last looked at */
	int retry_s;		/* the rescan delay after them, 0: none */
	time_t retry_at;	/* when to rescan after them, 0: no need */
	uint64_t watchdog_usec;
	struct timespec last_watchdog;
};

static void control_serve(struct daemon *d);

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Reads the "crashed TRACK_ID" lines that the workers' crash handler left
 * in the lock file open as fd. */
static void
read_crashes(struct daemon *d, int fd)
{
	char line[64];
	long long id;
	FILE *f;

	if ((fd = dup(fd)) == -1 || (f = fdopen(fd, "r")) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL && d->ncrashed < MAX_CRASHED)
		if (sscanf(line, "crashed %lld", &id) == 1) {
			log_warnx("%s: track %lld crashed the analysis",
			    d->conf.db_path, id);
			d->crashed[d->ncrashed++] = id;
		}
	fclose(f);
}

/* One daemon per database: an exclusive lock on DB.lock, which holds the
 * pid and the tracks that crashed the analysis. */
static int
lock_database(struct daemon *d)
{
	char path[PATH_MAX + 8], pid[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s.lock", d->conf.db_path);
	if ((d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_warn("%s", path);
		return -1;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		n = pread(d->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		log_warnx("%s: another mtagd (pid %s) is using this database",
		    d->conf.db_path, n > 0 ? strtok(pid, "\n") : "?");
		return -1;
	}
	read_crashes(d, d->lock_fd);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 ||
	    pwrite(d->lock_fd, pid, strlen(pid), 0) < 0)
		log_warn("%s", path);
	return 0;
}

static void
send_status(struct daemon *d)
{
	struct mtag_db_counts c;
	double rate = d->workers ? mtag_workers_rate(d->workers) : 0.0;

	if (mtag_db_counts(d->db, d->model_id, &c) < 0)
		return;
	mtag_notify("STATUS=%sindexed %lld/%lld, %.1f tracks/s%s",
	    d->scanning ? "scanning; " : "", (long long)c.analysed,
	    (long long)c.tracks, rate, c.failed ? ", some failed" : "");
}

static void
heartbeat(struct daemon *d)
{
	struct timespec t;
	time_t now = time(NULL);

	if (now - d->last_status >= STATUS_EVERY_S) {
		d->last_status = now;
		send_status(d);
	}
	if (d->watchdog_usec == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if ((uint64_t)((t.tv_sec - d->last_watchdog.tv_sec) * 1000000 +
	    (t.tv_nsec - d->last_watchdog.tv_nsec) / 1000) >=
	    d->watchdog_usec / 2) {
		d->last_watchdog = t;
		mtag_notify("WATCHDOG=1");
	}
}

/* Called during scans: keeps the daemon responsive and stoppable. */
static int
scan_tick(void *arg)
{
	struct daemon *d = arg;

	if (d->workers != NULL)
		mtag_workers_wake(d->workers);
	control_serve(d);
	heartbeat(d);
	return quit != 0;
}

/* Schedules a rescan, with a growing delay, when database writes of the
 * indexer failed for a passing cause since the last look (a full disk:
 * what they would have recorded is recorded once it has room); after a
 * scan without such failures, the delay starts over. */
static void
note_db_failures(struct daemon *d, const struct mtag_indexer_stats *st,
    int scanned)
{
	if (st->db_failures == d->db_failures) {
		if (scanned)
			d->retry_s = 0;
		return;
	}
	d->db_failures = st->db_failures;
	if (d->retry_at != 0)
		return;
	d->retry_s = d->retry_s == 0 ? RETRY_MIN_S : d->retry_s * 2 >
	    RETRY_MAX_S ? RETRY_MAX_S : d->retry_s * 2;
	d->retry_at = time(NULL) + d->retry_s;
	log_warnx("%s: not everything could be recorded; scanning again in "
	    "%d s", d->conf.db_path, d->retry_s);
}

static void
scan_all(struct daemon *d)
{
	struct mtag_indexer_stats st;
	char err[512];
	double t0 = now_s();
	int i;

	d->scanning = 1;
	for (i = 0; i < d->conf.nlibraries && !quit; i++) {
		log_info("scanning %s", d->conf.libraries[i]);
		if (mtag_indexer_scan(d->ix, d->conf.libraries[i], err,
		    sizeof(err)) < 0)
			log_warnx("%s", err);
	}
	d->scanning = 0;
	d->rescan = 0;
	d->retry_at = 0;
	d->last_scan = time(NULL);
	log_info("scan done in %.1f s", now_s() - t0);
	mtag_indexer_stats(d->ix, &st);
	if (st.rescan_needed)
		d->rescan = 1;
	note_db_failures(d, &st, 1);
	mtag_workers_wake(d->workers);
}

/* Starts the workers with the writeback options of the configuration. */
static mtag_workers *
start_pool(struct daemon *d, const mtag_store_entry *e, const mtag_ckpt *ck,
    char *err, size_t errlen)
{
	const struct mtag_conf *c = &d->conf;
	char tags[c->ntag_thresholds + 1][256];
	const char *tagp[c->ntag_thresholds + 1];
	double scores[c->ntag_thresholds + 1];
	struct mtag_workers_writeback wb = { c->writeback, e->name, {
	    c->tag_top_n, c->tag_min_score, c->tag_sure_score, tagp, scores,
	    c->ntag_thresholds, c->genre, 0 } };
	int i;

	for (i = 0; i < c->ntag_thresholds; i++) {
		/* Valid: the configuration was checked when loaded. */
		mtag_conf_tag_score(c->tag_thresholds[i], tags[i],
		    sizeof(tags[i]), &scores[i]);
		tagp[i] = tags[i];
	}
	return mtag_workers_start(d->db, d->model_id, ck, e->arch[0] ?
	    e->arch : NULL, c->workers, &wb, err, errlen);
}

/* Loads the configured model, registers it and starts the workers. */
static int
start_workers(struct daemon *d)
{
	mtag_store_entry e = { 0 };
	mtag_ckpt *ck = NULL;
	char err[512];
	int rc = -1;

	if (mtag_store_resolve(d->conf.model, NULL, &e, err,
	    sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (e.sha256[0] == '\0' && mtag_sha256_file(e.path, e.sha256) < 0) {
		log_warn("%s", e.path);
		goto done;
	}
	if ((ck = mtag_ckpt_open(e.path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		goto done;
	}
	if (mtag_db_model_ensure(d->db, e.name, e.arch, e.dataset, e.sha256,
	    e.tags, e.ntags, &d->model_id) < 0) {
		log_warnx("%s", mtag_db_errmsg(d->db));
		goto done;
	}
	if ((d->workers = start_pool(d, &e, ck, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		goto done;
	}
	snprintf(d->model_name, sizeof(d->model_name), "%s", e.name);
	log_info("analysing with %s (%s, %s) on %d worker%s", e.name, e.arch,
	    e.dataset, d->conf.workers, d->conf.workers == 1 ? "" : "s");
	rc = 0;
done:
	mtag_ckpt_free(ck);
	mtag_store_entry_clear(&e);
	return rc;
}

static long
read_proc_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void
write_status(struct daemon *d, FILE *out)
{
	struct mtag_indexer_stats st;
	struct mtag_db_counts c = { 0 };
	double rate;
	int i;

	fprintf(out, "pid=%ld\nversion=%s\ndatabase=%s\nmodel=%s\n",
	    (long)getpid(), PACKAGE_VERSION, d->conf.db_path, d->model_name);
	for (i = 0; i < d->conf.nlibraries; i++)
		fprintf(out, "root=%s\n", d->conf.libraries[i]);
	if (mtag_db_counts(d->db, d->model_id, &c) == 0)
		fprintf(out, "tracks=%lld\nanalysed=%lld\npending=%lld\n"
		    "running=%lld\nfailed=%lld\n", (long long)c.tracks,
		    (long long)c.analysed, (long long)c.pending,
		    (long long)c.running, (long long)c.failed);
	mtag_workers_status(d->workers, out);
	rate = mtag_workers_rate(d->workers);
	if (rate > 0 && c.pending + c.running > 0)
		fprintf(out, "eta_seconds=%.0f\n",
		    (c.pending + c.running) / rate);
	mtag_indexer_stats(d->ix, &st);
	if (st.rescan_needed)
		d->rescan = 1;
	fprintf(out, "scanning=%d\nwatches=%d\nwatch_limit=%ld\n"
	    "watch_limited=%d\n", d->scanning, st.watches,
	    read_proc_long("/proc/sys/fs/inotify/max_user_watches"),
	    st.watch_limited);
}

static void
control_reply(struct daemon *d, int fd)
{
	struct timeval tv = { 1, 0 };
	char cmd[64];
	ssize_t n;
	FILE *out;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((n = read(fd, cmd, sizeof(cmd) - 1)) <= 0) {
		close(fd);
		return;
	}
	cmd[n] = '\0';
	cmd[strcspn(cmd, "\r\n")] = '\0';
	if ((out = fdopen(fd, "w")) == NULL) {
		close(fd);
		return;
	}
	if (strcmp(cmd, "status") == 0) {
		write_status(d, out);
	} else if (strcmp(cmd, "scan") == 0) {
		d->rescan = 1;
		fprintf(out, "ok=rescan scheduled\n");
	} else if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0) {
		mtag_workers_pause(d->workers, cmd[0] == 'p');
		fprintf(out, "ok=analysis %s\n", cmd[0] == 'p' ? "paused" :
		    "resumed");
	} else {
		fprintf(out, "error=unknown command '%s'\n", cmd);
	}
	fclose(out);
}

/* Answers the control connections waiting, without blocking. */
static void
control_serve(struct daemon *d)
{
	int fd;

	while ((fd = accept(d->control_fd, NULL, NULL)) >= 0) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		control_reply(d, fd);
	}
}

/* SIGHUP: re-read the configuration; watch and scan new roots. */
static void
reconfigure(struct daemon *d)
{
	struct mtag_conf old = d->conf;
	char err[512];
	int i, j;

	if (mtag_conf_reload(&old, &d->conf, err, sizeof(err)) != 0) {
		log_warnx("%s; keeping the old configuration", err);
		return;
	}
	log_init("mtagd", d->conf.log_level);
	for (i = 0; i < old.nlibraries; i++) {
		for (j = 0; j < d->conf.nlibraries; j++)
			if (strcmp(old.libraries[i], d->conf.libraries[j]) == 0)
				break;
		if (j == d->conf.nlibraries) {
			log_info("no longer watching %s", old.libraries[i]);
			mtag_indexer_unwatch(d->ix, old.libraries[i]);
		}
	}
	if (strcmp(old.model, d->conf.model) != 0)
		log_warnx("the model changes at the next start");
	log_info("configuration reloaded");
	d->scan_opts.follow_symlinks = d->conf.follow_symlinks;
	d->scan_opts.exclude = d->conf.exclude;
	d->scan_opts.nexclude = d->conf.nexclude;
	mtag_conf_free(&old);
	d->rescan = 1;
}

static int
run(struct daemon *d)
{
	struct pollfd pfd[2];
	struct mtag_indexer_stats st;
	char err[512];
	int interval;

	d->scan_opts.follow_symlinks = d->conf.follow_symlinks;
	d->scan_opts.exclude = d->conf.exclude;
	d->scan_opts.nexclude = d->conf.nexclude;
	if (lock_database(d) < 0)
		return 1;
	if ((d->db = mtag_db_open(d->conf.db_path, 0, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	if (mtag_db_jobs_forgive(d->db, d->crashed, d->ncrashed) < 0 ||
	    mtag_db_jobs_recover(d->db) < 0 ||
	    (d->conf.writeback != MTAG_WRITEBACK_OFF &&
	    mtag_db_writeback_recover(d->db) < 0))
		log_warnx("%s", mtag_db_errmsg(d->db));
	if (start_workers(d) < 0)
		return 1;
	mtag_workers_crash_log(d->workers, d->lock_fd);
	if (mtag_control_path(d->control_path, sizeof(d->control_path)) < 0) {
		log_warnx("the control socket's path is too long");
		return 1;
	}
	if ((d->control_fd = mtag_control_listen(d->control_path, err,
	    sizeof(err))) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	if ((d->ix = mtag_indexer_new(d->db, &d->scan_opts, scan_tick, d, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	d->watchdog_usec = mtag_notify_watchdog_usec();
	scan_all(d);
	mtag_notify("READY=1");
	send_status(d);

	pfd[0].fd = mtag_indexer_fd(d->ix);
	pfd[0].events = POLLIN;
	pfd[1].fd = d->control_fd;
	pfd[1].events = POLLIN;
	while (!quit) {
		if (reload) {
			reload = 0;
			reconfigure(d);
		}
		mtag_indexer_stats(d->ix, &st);
		interval = st.watch_limited && (d->conf.rescan_interval == 0 ||
		    d->conf.rescan_interval > LIMITED_RESCAN_S) ?
		    LIMITED_RESCAN_S : d->conf.rescan_interval;
		note_db_failures(d, &st, 0);
		if (st.rescan_needed || d->rescan || (interval > 0 &&
		    time(NULL) - d->last_scan >= interval) ||
		    (d->retry_at != 0 && time(NULL) >= d->retry_at))
			scan_all(d);
		heartbeat(d);
		if (poll(pfd, 2, POLL_MS) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			break;
		}
		if (pfd[0].revents & POLLIN &&
		    mtag_indexer_events(d->ix, 0) < 0)
			log_warn("inotify");
		if (pfd[1].revents & POLLIN)
			control_serve(d);
		mtag_indexer_settle(d->ix);
	}
	mtag_notify("STOPPING=1");
	log_info("stopping");
	return 0;
}

static void
shutdown_daemon(struct daemon *d)
{
	mtag_workers_stop(d->workers);
	mtag_indexer_free(d->ix);
	if (d->control_fd >= 0) {
		close(d->control_fd);
		unlink(d->control_path);
	}
	mtag_db_close(d->db);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	mtag_conf_free(&d->conf);
}

int
main(int argc, char **argv)
{
	struct daemon d = { .control_fd = -1, .lock_fd = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	char err[1024];
	int rc;

	log_init("mtagd", MTAG_LOG_INFO);
	if ((rc = mtag_conf_load(&d.conf, argc, argv, err,
	    sizeof(err))) != 0) {
		if (rc == 2)
			log_warnx("%s", err);
		return rc == 1 ? 0 : rc;
	}
	log_init("mtagd", d.conf.log_level);
	if (d.conf.check_only) {
		if (d.conf.log_level >= MTAG_LOG_DEBUG)
			mtag_conf_print(&d.conf, stdout);
		printf("configuration OK\n");
		mtag_conf_free(&d.conf);
		return 0;
	}
	if (d.conf.nlibraries == 0) {
		log_warnx("no library folder configured (library = DIR in %s, "
		    "or --library DIR)", d.conf.config_path ?
		    d.conf.config_path : "mtag.conf");
		mtag_conf_free(&d.conf);
		return 2;
	}
	if (!d.conf.foreground && getenv("NOTIFY_SOCKET") == NULL) {
		if (daemon(0, 0) < 0)
			fatalx("cannot daemonize: %s", strerror(errno));
		log_to_syslog();
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = run(&d);
	shutdown_daemon(&d);
	return rc;
}
