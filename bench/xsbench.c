/* xsbench, driving our xenstored beside the reference daemons and the floor: options, group selection, main. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/xsbench.h"
#include "tests/lib/xst_daemon.h"

/* ---------------------------------------------------------------- options */

struct xsb_opts xsb_opt = {
	.scale = 1.0,
	.reps = 3,
	.use = {1, 1, 1, 1},
	.groups = ~0u,
	.timeout_ms = 20000,
	.loop_cap_s = 120.0,
	.domains = 1000,
};

unsigned xsb_scaled(unsigned n)
{
	double v = n * xsb_opt.scale;

	return v < 1 ? 1 : (unsigned)v;
}

static const char *const pin_name[] = {"auto", "none", "same", "split"};

/* ---------------------------------------------------------------- groups */

const char *const xsb_grp_name[G_COUNT] = {
	"serial", "dirpart", "bigdir", "pipeline", "concurrent", "cpu",
	"memory", "watch",   "fanout", "watchload", "txn",       "txnconc",
	"domstorm", "domcreate", "attacks", "client", "recovery", "liveupdate"};

/* Names for several groups at once in --only. */
static const struct {
	const char *name;
	unsigned mask;
} grp_alias[] = {
	{"watches", 1u << G_WATCH | 1u << G_FANOUT | 1u << G_WLOAD},
	{"txns", 1u << G_TXN | 1u << G_TXNCONC},
	{"domains", 1u << G_DOMSTORM | 1u << G_DOMCREATE},
};

static xsb_group_fn *const grp_fn[G_COUNT] = {
	xsb_grp_serial, xsb_grp_dirpart, xsb_grp_bigdir, xsb_grp_pipe,   xsb_grp_conc,
	xsb_grp_cpu,    xsb_grp_mem,     xsb_grp_watch,  xsb_grp_fanout, xsb_grp_wload,
	xsb_grp_txn,    xsb_grp_txnconc, xsb_grp_domstorm, xsb_grp_domcreate, xsb_grp_attacks,
	xsb_grp_client, xsb_grp_recovery, xsb_grp_liveupdate,
};

/* ---------------------------------------------------------------- main */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: xsbench [--quick] [--scale=F] [--reps=N] [--daemons=ours,c,ox,floor]\n"
		"               [--only=GROUP,...] [--tmpdir=DIR] [--timeout=SEC]\n"
		"               [--mem-layout=flat|tree] [--pin=auto|none|same|split] [--keep] [-v]\n"
		"               [--domains=N] [--baseline=DAEMON]\n"
		"Runs every workload group on a fresh daemon of each kind and prints a table,\n"
		"one 'XSBENCH figure=...' line per figure and the PASS/MISS targets.\n"
		"  --quick         counts x0.1 (a smoke run of a few seconds per daemon)\n"
		"  --scale=F       multiply every count by F\n"
		"  --reps=N        repetitions of the short workloads, median reported (default 3)\n"
		"  --daemons=LIST  ours, c (C xenstored), ox (oxenstored), floor (bench/xsfloor:\n"
		"                  answers with no store, for the watch, fan-out and txn groups,\n"
		"                  to show what the sockets alone allow); default all four\n"
		"  --only=LIST     groups: serial dirpart bigdir pipeline concurrent cpu memory\n"
		"                  watch fanout watchload txn txnconc domstorm domcreate\n"
		"                  attacks (hostile guests: dom0 latency, memory, accounting)\n"
		"                  client (the xsl_ library: in flight, libxenstore, watches);\n"
		"                  recovery (our daemon's restart at a million nodes: after a\n"
		"                  clean stop, kill -9 under load, kill -9 amid a big RM);\n"
		"                  liveupdate (CONTROL live-update at a million nodes with\n"
		"                  --domains guests attached: dom0's longest READ meanwhile);\n"
		"                  watches = the three watch groups, txns = the two\n"
		"                  transaction groups, domains = domstorm and domcreate\n"
		"  --domains=N     domains of the domain groups, guests of liveupdate\n"
		"                  (default 1000, scaled too)\n"
		"  --baseline=DAEMON  attacks: our daemon built before accounting, whose CPU per\n"
		"                  request is the 'before' of the accounting figure\n"
		"  --tmpdir=DIR    run directories (default /dev/shm, a tmpfs like /var/run)\n"
		"  --mem-layout    flat: /bench/mem/nNNNNNN (default); tree: /bench/mem/dNNN/nNN\n"
		"  --keep          keep the run directories (store file, daemon.log) afterwards\n"
		"  --pin=MODE      CPU placement: same (client and daemon on one CPU), split (two\n"
		"                  CPUs), none, auto (default: same for serial, dirpart, txn and\n"
		"                  the watch group's latency phase, split otherwise)\n"
		"Our daemon is $XST_DAEMON or the build's daemon/xenstored.\n");
}

static int parse_list(const char *arg, const char *const *names, int count, unsigned *mask)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	*mask = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = 0; k < count && strcmp(tok, names[k]) != 0; k++)
			;
		if (k == count) {
			fprintf(stderr, "xsbench: unknown name '%s'\n", tok);
			return -1;
		}
		*mask |= 1u << k;
	}
	return 0;
}

/* --only: group names and the aliases for several groups. */
static int parse_groups(const char *arg, unsigned *mask)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	*mask = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned one;
		size_t k;

		for (k = 0; k < sizeof(grp_alias) / sizeof(grp_alias[0]); k++)
			if (strcmp(tok, grp_alias[k].name) == 0)
				break;
		if (k < sizeof(grp_alias) / sizeof(grp_alias[0])) {
			*mask |= grp_alias[k].mask;
			continue;
		}
		if (parse_list(tok, xsb_grp_name, G_COUNT, &one) < 0)
			return -1;
		*mask |= one;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(xsb_opt.tmpdir, sizeof(xsb_opt.tmpdir), "%s",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp"));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		unsigned mask;

		if (strcmp(a, "--quick") == 0) {
			xsb_opt.scale = 0.1;
		} else if (strncmp(a, "--scale=", 8) == 0) {
			xsb_opt.scale = atof(a + 8);
			if (xsb_opt.scale <= 0 || xsb_opt.scale > 10) {
				fprintf(stderr, "xsbench: --scale must be in (0, 10]\n");
				return 2;
			}
		} else if (strncmp(a, "--reps=", 7) == 0) {
			xsb_opt.reps = atoi(a + 7);
			if (xsb_opt.reps < 1 || xsb_opt.reps > XSB_MAX_REPS) {
				fprintf(stderr, "xsbench: --reps must be 1..%d\n", XSB_MAX_REPS);
				return 2;
			}
		} else if (strncmp(a, "--daemons=", 10) == 0) {
			if (parse_list(a + 10, xsb_dk_key, D_N, &mask) < 0)
				return 2;
			for (int k = 0; k < D_N; k++)
				xsb_opt.use[k] = !!(mask & (1u << k));
		} else if (strncmp(a, "--only=", 7) == 0) {
			if (parse_groups(a + 7, &xsb_opt.groups) < 0)
				return 2;
		} else if (strncmp(a, "--tmpdir=", 9) == 0) {
			snprintf(xsb_opt.tmpdir, sizeof(xsb_opt.tmpdir), "%s", a + 9);
		} else if (strncmp(a, "--timeout=", 10) == 0) {
			xsb_opt.timeout_ms = atoi(a + 10) * 1000;
			if (xsb_opt.timeout_ms <= 0) {
				fprintf(stderr, "xsbench: bad --timeout\n");
				return 2;
			}
		} else if (strncmp(a, "--mem-layout=", 13) == 0) {
			if (strcmp(a + 13, "tree") != 0 && strcmp(a + 13, "flat") != 0) {
				fprintf(stderr, "xsbench: --mem-layout is flat or tree\n");
				return 2;
			}
			xsb_opt.mem_tree = strcmp(a + 13, "tree") == 0;
		} else if (strncmp(a, "--pin=", 6) == 0) {
			unsigned k;

			for (k = 0; k < 4 && strcmp(a + 6, pin_name[k]) != 0; k++)
				;
			if (k == 4) {
				fprintf(stderr, "xsbench: --pin is auto, none, same or split\n");
				return 2;
			}
			xsb_opt.pin = (int)k;
		} else if (strncmp(a, "--domains=", 10) == 0) {
			xsb_opt.domains = (unsigned)atoi(a + 10);
			if (xsb_opt.domains < 1 || xsb_opt.domains > 30000) {
				fprintf(stderr, "xsbench: --domains must be 1..30000\n");
				return 2;
			}
		} else if (strncmp(a, "--baseline=", 11) == 0) {
			char *abs = realpath(a + 11, NULL);

			if (!abs || access(abs, X_OK) != 0 || strlen(abs) >= sizeof(xsb_opt.baseline)) {
				fprintf(stderr, "xsbench: --baseline: %s is not an executable\n", a + 11);
				free(abs);
				return 2;
			}
			snprintf(xsb_opt.baseline, sizeof(xsb_opt.baseline), "%s", abs);
			free(abs);
		} else if (strcmp(a, "--keep") == 0) {
			xsb_opt.keep = 1;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			xsb_opt.verbose = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/*
	 * The fan-out group holds 1,000 watcher sockets; the daemons, started
	 * by us, inherit the limit too. Raised within the hard limit only.
	 */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
			rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	xsb_daemons_setup();
	xsb_set_titles();

	double t0 = xsb_now_s();

	xsb_progress(
		"xsbench: scale %g, %d reps, run dirs in %s, pin %s (daemon CPU %d, client CPU %d),"
		" daemons:",
		xsb_opt.scale, xsb_opt.reps, xsb_opt.tmpdir, pin_name[xsb_opt.pin], xsb_cpu_daemon,
		xsb_cpu_client);
	for (int k = 0; k < D_N; k++)
		if (xsb_opt.use[k])
			xsb_progress(" %s%s", xst_kind_name(xsb_dk_kind[k]),
				     xst_kind_available(xsb_dk_kind[k]) ? "" : " (missing)");
	xsb_progress("\n");
	for (int g = 0; g < G_COUNT; g++) {
		if (!(xsb_opt.groups & (1u << g)))
			continue;
		for (int k = 0; k < D_N; k++)
			if (xsb_opt.use[k])
				xsb_run_group(g, k, grp_fn[g]);
	}
	xsb_progress("xsbench: %.0f s in all\n", xsb_now_s() - t0);
	xsb_print_table();
	xsb_print_summary();
	xsb_print_targets();
	/* A daemon failing under load fails the run; missed targets and missing daemons do not. */
	return xsb_print_errors() ? 1 : 0;
}
