/* xsbench's big-directory groups: dirpart (DIRECTORY_PART listings of a big directory) and bigdir (creates into it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/xsbench.h"
#include "tests/lib/xst_wire.h"

/* Fill a directory with `n` children named c00000.. (empty values), pipelined. */
static int fill_dir(struct xst_wire *c, const char *dir, unsigned n)
{
	char fmt[160];

	snprintf(fmt, sizeof(fmt), "%s/c%%05u", dir);
	return xsb_pipe_run(c, XS_WRITE, fmt, 0, 0, 0, n);
}

/*
 * Read a whole directory with DIRECTORY_PART the way libxenstore does: chunks
 * from offset 0, next offset = bytes gathered so far, stop when the data ends
 * in an empty string, restart from 0 if the generation changes. Returns the
 * number of children, -2 if the daemon does not implement DIRECTORY_PART
 * (xsb_err says how it answered), -1 on error. *nreq counts requests.
 */
static long dirpart_list(struct xst_wire *c, const char *path, struct xst_msg *m, char **acc,
			 size_t *cap, unsigned *nreq)
{
	char gen[32] = "";
	size_t off = 0;
	int restarts = 0;

	for (;;) {
		char buf[256];
		int pl = snprintf(buf, sizeof(buf), "%s%c%zu", path, '\0', off);

		if (pl < 0 || (size_t)pl + 1 > sizeof(buf)) {
			xsb_fail("DIRECTORY_PART: path too long");
			return -1;
		}
		if (xsb_exchange(c, XS_DIRECTORY_PART, 0, buf, (size_t)pl + 1, m,
			     xsb_opt.timeout_ms) < 0) {
			xsb_fail("DIRECTORY_PART %s: %s", path, strerror(errno));
			return -1;
		}
		(*nreq)++;
		if (m->hdr.type == XS_ERROR) {
			xsb_fail("DIRECTORY_PART -> %s", m->payload);
			return off == 0 ? -2 : -1;
		}
		if (m->hdr.type != XS_DIRECTORY_PART) {
			xsb_fail("DIRECTORY_PART -> %s", xsb_type_str(m->hdr.type));
			return -1;
		}
		size_t glen = strnlen(m->payload, m->hdr.len);

		if (glen >= m->hdr.len || glen >= sizeof(gen)) {
			xsb_fail("DIRECTORY_PART: malformed generation");
			return -1;
		}
		if (off == 0) {
			memcpy(gen, m->payload, glen + 1);
		} else if (strcmp(gen, m->payload) != 0) {
			if (++restarts > 10) {
				xsb_fail("DIRECTORY_PART: generation keeps changing");
				return -1;
			}
			off = 0;
			continue;
		}
		size_t clen = m->hdr.len - glen - 1;

		if (off + clen > *cap) {
			size_t ncap = (off + clen) * 2;
			char *p = realloc(*acc, ncap);

			if (!p) {
				xsb_fail("out of memory");
				return -1;
			}
			*acc = p;
			*cap = ncap;
		}
		memcpy(*acc + off, m->payload + glen + 1, clen);
		off += clen;
		if (off <= 1 || (*acc)[off - 2] == '\0')
			break;
		if (clen == 0) {
			xsb_fail("DIRECTORY_PART: empty chunk before the end");
			return -1;
		}
	}
	/* Drop the terminating empty string, then count the names. */
	long count = 0;

	if (off > 1)
		off--;
	for (size_t i = 0; i < off; i++)
		count += (*acc)[i] == '\0';
	return count;
}

/* A 10,000-entry directory read fully with DIRECTORY_PART, repeatedly. */
int xsb_grp_dirpart(struct xst_daemon *d, int dk)
{
	unsigned big = xsb_scaled(10000);
	double lr[XSB_MAX_REPS];
	struct xst_msg *m = malloc(sizeof(*m));
	struct xst_wire *c = xsb_connect(d);
	char *acc = NULL;
	size_t cap = 0;
	int rc = -1;

	if (!c || !m)
		goto out;
	if (fill_dir(c, "/bench/big", big) < 0)
		goto out;
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		/* One listing is short: repeat for at least 0.5 s to time it well. */
		double t0 = xsb_now_s(), t;
		unsigned lists = 0, nreq = 0;

		do {
			long got = dirpart_list(c, "/bench/big", m, &acc, &cap, &nreq);

			if (got == -2) {
				xsb_fig_state(F_DIRPART, dk, ST_NA, xsb_err);
				rc = 0;
				goto out;
			}
			if (got < 0)
				goto out;
			if (got != (long)big) {
				xsb_fail("DIRECTORY_PART listing has %ld entries, expected %u", got,
					 big);
				goto out;
			}
			lists++;
			t = xsb_now_s() - t0;
			if (xsb_over_cap(t0, lists, lists, "DIRECTORY_PART listing"))
				goto out;
		} while (t < 0.5 || lists < 5);
		lr[rep] = xsb_rate(lists, t);
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: %.1f listings/s, %u requests per listing\n", rep,
				     lr[rep], nreq / lists);
	}
	xsb_fig_set(F_DIRPART, dk, xsb_median(lr, xsb_opt.reps));
	rc = 0;
out:
	free(acc);
	xst_wire_close(c);
	free(m);
	return rc;
}

/*
 * Rate of pipelined creates of `n` new nodes (pattern fmt) into a directory,
 * in rounds that each remove what they created (untimed) so the directory
 * keeps its size: rounds repeat until 0.5 s of creating has been timed.
 */
static int create_rounds(struct xst_wire *c, const char *fmt, const char *rm_dir, unsigned n,
			 double *out)
{
	double busy = 0, t0 = xsb_now_s();
	unsigned long made = 0;

	do {
		double t = xsb_now_s();

		if (xsb_pipe_run(c, XS_WRITE, fmt, 0, 16, 0, n) < 0)
			return -1;
		busy += xsb_now_s() - t;
		made += n;
		/* rm_dir: the whole directory goes in one RM; else each new node. */
		if (rm_dir ? xsb_pipe_run(c, XS_RM, rm_dir, 1, 0, 0, 1) < 0
			   : xsb_pipe_run(c, XS_RM, fmt, 0, 0, 0, n) < 0)
			return -1;
		if (xsb_over_cap(t0, made, made, "creates"))
			return -1;
	} while (busy < 0.5);
	*out = xsb_rate((double)made, busy);
	return 0;
}

/* Creates into a directory holding 10,000 children versus into an empty one. */
int xsb_grp_bigdir(struct xst_daemon *d, int dk)
{
	unsigned big = xsb_scaled(10000), n = xsb_scaled(1000);
	double e[XSB_MAX_REPS], b[XSB_MAX_REPS];
	struct xst_wire *c = xsb_connect(d);
	/* A ratio judged within 5%: at least 5 runs each way, as for the watch load. */
	int reps = xsb_opt.reps < 5 ? 5 : xsb_opt.reps;
	int rc = -1;

	if (!c)
		goto out;
	if (fill_dir(c, "/bench/big", big) < 0)
		goto out;
	for (int rep = 0; rep < reps; rep++) {
		/* Alternate the order so a drift over the run does not favour one side. */
		for (int k = 0; k < 2; k++) {
			int into_big = (k + rep) % 2;

			/* The %.0u prints nothing: the RM pattern names the directory itself. */
			if (into_big ? create_rounds(c, "/bench/big/new%05u", NULL, n, &b[rep]) < 0
				     : create_rounds(c, "/bench/empty/new%05u", "/bench/empty%.0u", n,
						     &e[rep]) < 0)
				goto out;
		}
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: empty %.0f/s big %.0f/s\n", rep, e[rep], b[rep]);
	}
	xsb_fig_set(F_CREATE_EMPTY, dk, xsb_median(e, reps));
	xsb_fig_set(F_CREATE_BIG, dk, xsb_median(b, reps));
	xsb_fig_set(F_CREATE_RATIO, dk,
		    xsb_figs[F_CREATE_BIG].v[dk] / xsb_figs[F_CREATE_EMPTY].v[dk]);
	rc = 0;
out:
	xst_wire_close(c);
	return rc;
}
