/* xsbench's memory group: the daemon's resident memory and store file before and after loading many nodes. */
#include <stdlib.h>

#include "bench/xsbench.h"
#include "tests/lib/xst_wire.h"

static int gen_mem(void *vctx, unsigned long i, struct xsb_preq *r)
{
	(void)vctx;
	return xsb_gen_node64("/bench/mem", xsb_opt.mem_tree, i, r);
}

/* Resident memory before and after loading 100,000 nodes of 64-byte values. */
int xsb_grp_mem(struct xst_daemon *d, int dk)
{
	unsigned long n = xsb_scaled(100000);
	struct xst_msg *m = malloc(sizeof(*m));
	struct xst_wire *c = xsb_connect(d);
	long rss0, rss1, anon0, anon1, file0, file1;
	int rc = -1;

	if (!c || !m)
		goto out;
	/* One request first so lazily set-up state is in the "before" figure. */
	if (xsb_write(c, "/bench/mem-warmup", "x", 1, m) < 0)
		goto out;
	xsb_sleep_s(0.2);
	rss0 = xst_daemon_rss_kb(d);
	anon0 = xsb_rss_anon_kb(d);
	file0 = xsb_tdb_files_kb(d);
	/*
	 * The C daemon rewrites the whole parent record per create, so a flat
	 * load is quadratic there: allow it more than other loops.
	 */
	double cap = xsb_opt.loop_cap_s;

	xsb_opt.loop_cap_s = 3 * cap;
	rc = xsb_pipeline(c, 0, n, 32, gen_mem, NULL);
	xsb_opt.loop_cap_s = cap;
	if (rc < 0)
		goto out;
	rc = -1;
	/* A READ round trip: every write has been processed before we look. */
	{
		char buf[256];
		int len = xsb_build(buf, sizeof(buf),
				    xsb_opt.mem_tree ? "/bench/mem/d000/n00" : "/bench/mem/n000000",
				    NULL, 0);

		if (xsb_call(c, XS_READ, buf, len, m) < 0)
			goto out;
		if (m->hdr.len != 64) {
			xsb_fail("READ after memory load: %u bytes, expected 64", m->hdr.len);
			goto out;
		}
	}
	xsb_sleep_s(0.5);
	rss1 = xst_daemon_rss_kb(d);
	anon1 = xsb_rss_anon_kb(d);
	file1 = xsb_tdb_files_kb(d);
	if (rss0 < 0 || rss1 < 0) {
		xsb_fail("cannot read /proc/%d/status", (int)d->pid);
		goto out;
	}
	if (xsb_opt.verbose)
		xsb_progress("    RSS %ld -> %ld KiB, anon %ld -> %ld KiB, tdb %ld -> %ld KiB\n",
			     rss0, rss1, anon0, anon1, file0, file1);
	xsb_fig_set(F_MEM_RSS_BEFORE, dk, (double)rss0);
	xsb_fig_set(F_MEM_RSS_AFTER, dk, (double)rss1);
	if (file1 > 0 || file0 > 0)
		xsb_fig_set(F_MEM_FILE, dk, (double)file1);
	else
		xsb_fig_state(F_MEM_FILE, dk, ST_NA, "no *.tdb in run dir");
	xsb_fig_set(F_MEM_DELTA, dk, (double)((rss1 + file1) - (rss0 + file0)));
	xsb_fig_set(F_MEM_PER_NODE, dk,
		    (double)((rss1 + file1) - (rss0 + file0)) * 1024.0 / (double)n);
	if (anon0 >= 0 && anon1 >= 0)
		xsb_fig_set(F_MEM_ANON_PER_NODE, dk,
			    (double)((anon1 + file1) - (anon0 + file0)) * 1024.0 / (double)n);
	rc = 0;
out:
	xst_wire_close(c);
	free(m);
	return rc;
}
