/* swarm_logs.c - the output of a swarm job's service (swarm_cell.c, "How
 * it works", "Output"): the log follower, a child of the cell's helper
 * that hands the service's logs on into the job's pipes live, and the
 * final read of what it did not hand on. Runs in the helper process (and
 * its forked follower) of a jobcell-worker. Trusts nothing of the log
 * stream: swarm_spec.c's reader bounds and checks every message. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_int.h"
#include "io.h"
#include "parse.h"
#include "swarm_int.h"
#include "timefmt.h"
#include "banned.h"

/* Where the log follower is: messages handed on, and the time of the
 * last one. In a page shared with the helper, written by the follower
 * after each message with SIGTERM blocked, so a follower ended by SIGTERM
 * has written exactly n messages. */
struct swarm_follow_pos {
	uint64_t n;
	char ts[SWARM_TS_MAX + 1];
};

struct log_sink {
	struct swarm_logs logs;
	int out_w, err_w;
	struct swarm_follow_pos *pos; /* the follower's, or NULL */
};

static int
emit(int stream, const char *data, size_t len, void *arg)
{
	struct log_sink *ls = arg;
	sigset_t term, old;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (ls->pos)
		(void) sigprocmask(SIG_BLOCK, &term, &old);
	/* A reader that went away (the worker gave up): keep going, drop. */
	(void) write_full(stream == 1 ? ls->out_w : ls->err_w, data, len);
	if (ls->pos) {
		ls->pos->n = ls->logs.seen;
		(void) str_copy(ls->pos->ts, sizeof(ls->pos->ts),
		    ls->logs.last_ts);
		(void) sigprocmask(SIG_SETMASK, &old, NULL);
	}
	return 0;
}

static int
log_bytes(const char *data, size_t len, void *arg)
{
	struct log_sink *ls = arg;

	return swarm_logs_feed(&ls->logs, data, len);
}

/* The service's logs into the pipes, demultiplexed, but for the first
 * skip messages (those the follower handed on; skip_ts the time of the
 * last of them); with follow, until the call's bound or an error. */
static int
read_logs(struct docker *api, const char *id, bool follow, uint64_t skip,
    const char *skip_ts, struct swarm_follow_pos *pos, int out_w, int err_w,
    int timeout_ms)
{
	struct log_sink ls = { .out_w = out_w, .err_w = err_w, .pos = pos };
	char path[192];
	int r;

	swarm_logs_init(&ls.logs, skip, skip_ts, emit, &ls);
	(void) snprintf(path, sizeof(path),
	    "/services/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=1", id,
	    follow);
	r = docker_get_stream(api, path, timeout_ms, log_bytes, &ls);
	if (ls.logs.misaligned)
		(void) fprintf(stderr,
		    "job service %s: its logs read again differ at "
		    "message %llu; output may be doubled or lost there\n",
		    id, (unsigned long long) skip);
	swarm_logs_release(&ls.logs);
	if (r < 0)
		return r;
	return r == 200 ? 0 : -EIO;
}

/* ---- the log follower: a child of the helper ---- */

/* Follows the service's logs into the pipes from the start, live, until
 * SIGTERM; after a broken stream, again, skipping what it handed on. */
__attribute__((noreturn)) static void
follower_main(struct docker *api, const char *id, pid_t parent,
    struct swarm_follow_pos *pos, int out_w, int err_w, int64_t max_run_ms)
{
	int64_t bound = max_run_ms + WAIT_MARGIN_MS;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	sigemptyset(&dfl.sa_mask);
	(void) sigaction(SIGUSR1, &dfl, NULL);
	(void) sigaction(SIGTERM, &dfl, NULL);
	docker_forget_handle(api);
	for (;;) {
		(void) read_logs(api, id, true, pos->n, pos->ts, pos, out_w,
		    err_w, bound > INT32_MAX ? INT32_MAX : (int) bound);
		(void) poll(NULL, 0, SWARM_POLL_MAX_MS);
	}
}

void
swarm_follower_start(struct swarm_follower *f, struct docker *api,
    const char *id, int out_w, int err_w, int64_t max_run_ms)
{
	pid_t parent = getpid();

	f->pid = -1;
	f->pos = mmap(NULL, sizeof(*f->pos), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->pos == MAP_FAILED) {
		f->pos = NULL;
		return; /* no live output: the end's read has it all */
	}
	*f->pos = (struct swarm_follow_pos){ 0 };
	if ((f->pid = fork()) == 0)
		follower_main(api, id, parent, f->pos, out_w, err_w,
		    max_run_ms);
	if (f->pid < 0)
		f->pid = -1;
}

/* Ends the follower at a message boundary; how many messages it handed
 * on, into *ret_n and ret_ts. A follower stuck past SWARM_FOLLOW_STOP_MS
 * (writing to a pipe nobody reads) is killed. */
void
swarm_follower_stop(struct swarm_follower *f, uint64_t *ret_n, char *ret_ts,
    size_t size)
{
	int64_t until = time_mono_ms() + SWARM_FOLLOW_STOP_MS;
	pid_t w;

	if (f->pid > 0) {
		(void) kill(f->pid, SIGTERM);
		while ((w = waitpid(f->pid, NULL, WNOHANG)) == 0 &&
		    time_mono_ms() < until)
			(void) poll(NULL, 0, 20);
		if (w == 0) {
			(void) kill(f->pid, SIGKILL);
			while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		f->pid = -1;
	}
	*ret_n = f->pos ? f->pos->n : 0;
	if (str_copy(ret_ts, size, f->pos ? f->pos->ts : "") < 0)
		ret_ts[0] = '\0';
}

/* The follower stopped, the rest of the output: what it did not hand on. */
int
swarm_follower_drain(struct docker *api, const char *id,
    struct swarm_follower *f, int out_w, int err_w, int timeout_ms)
{
	char ts[SWARM_TS_MAX + 1];
	uint64_t n;

	swarm_follower_stop(f, &n, ts, sizeof(ts));
	return read_logs(api, id, false, n, ts, NULL, out_w, err_w, timeout_ms);
}
