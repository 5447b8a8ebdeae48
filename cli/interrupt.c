/* interrupt.c - the jobcell CLI: what Ctrl-C means while we follow a job
 * (run, submit --follow/--wait, tail, make, images build): the job keeps
 * running and we say how to reattach, unless --cancel-on-interrupt asked
 * us to cancel it; then we wait, bounded, for its end. Nothing the server
 * sends is trusted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "banned.h"

#define CANCEL_WAIT_MS \
	10000 /* after --cancel-on-interrupt: the
				 * worker's TERM -> KILL grace and more */

/* Prints "jobcell [--profile P] tail ID" for the reattach hint. */
static void
print_reattach(const struct cli_global *g, const char *id)
{
	fputs("jobcell ", stderr);
	if (g->profile) {
		fputs("--profile ", stderr);
		cli_put_safe(stderr, g->profile);
		fputc(' ', stderr);
	}
	fprintf(stderr, "tail %s", id);
}

/* Cancels the job after Ctrl-C and waits (bounded, and only until a
 * further Ctrl-C) for it to end. */
static void
cancel_after_interrupt(struct http *h, const char *what, const char *id)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	char path[128];
	long delay_ms = 50, waited_ms = 0;
	int r;

	(void) snprintf(path, sizeof(path), "/v1/jobs/%s/cancel", id);
	http_resp_init(&resp, CLI_RESP_MAX);
	r = http_request(h, "POST", path, NULL, 0, CLI_RESP_MAX, &resp);
	if (r == -EINTR)
		goto stopping; /* interrupted again; it may be in */
	if (r < 0) {
		http_err(what, h, r);
		goto out;
	}
	if (resp.status == 409) {
		fprintf(stderr, "jobcell: %s: job %s had already ended\n", what,
		    id);
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		http_report(what, &resp);
		goto out;
	}
	(void) snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	for (;;) {
		char status[32];

		doc = jr_free(doc);
		r = cli_get_json(h, what, path, 0, &resp, &doc);
		if (r == -EINTR)
			break;
		if (r < 0)
			goto out;
		cli_json_str(doc, jr_root(doc), "status", status,
		    sizeof(status), "");
		if (cli_status_final(status)) {
			fprintf(stderr, "jobcell: %s: ", what);
			job_print_status_line(stderr, doc, jr_root(doc));
			goto out;
		}
		if (waited_ms >= CANCEL_WAIT_MS || cli_sleep_ms(delay_ms) < 0)
			break;
		waited_ms += delay_ms;
		delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
	}
stopping:
	fprintf(stderr,
	    "jobcell: %s: cancel requested; job %s may still be "
	    "stopping (see 'jobcell status %s')\n",
	    what, id, id);
out:
	http_resp_release(&resp);
}

int
job_interrupted(const struct cli_global *g, struct http *h, const char *what,
    const char *id, bool cancel)
{
	(void) fflush(stdout);
	if (!cancel) {
		fprintf(stderr,
		    "\njobcell: %s: interrupted; job %s keeps "
		    "running\njobcell: %s: reattach with: ",
		    what, id, what);
		print_reattach(g, id);
		fputc('\n', stderr);
		return EXIT_INTERRUPTED;
	}
	fprintf(stderr, "\njobcell: %s: interrupted; cancelling job %s\n", what,
	    id);
	/* the cancel itself must not be aborted */
	cli_interrupt_clear();
	cancel_after_interrupt(h, what, id);
	return EXIT_INTERRUPTED;
}
