/* xs-blkback: the block backend of dom0, serving disk image files to frontends over blkif rings (as NetBSD's xbdback, Linux's blkback). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "drivers/blk.h"
#include "proto/simhyp.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: xs-blkback [OPTION]...\n"
		"Serves the vbd devices of the store's backend/vbd directory of this domain\n"
		"(dom0): each device's params (a disk image file) in its mode, over the blkif\n"
		"ring its frontend grants, until SIGTERM or SIGINT. SIGUSR1 prints the counters.\n"
		"Devices are attached with xs-block(1) or any toolstack.\n"
		"\n"
		"  -s, --store PATH    the store's socket (default $XENSTORED_PATH, else\n"
		"                      $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket)\n"
		"  -H, --simhyp PATH   the simulated hypervisor's socket (default: beside the\n"
		"                      store's); with --sim\n"
		"  -x, --xen           use Xen (grant mapping, event channels) even if ...\n"
		"  -S, --sim           ... the simulated hypervisor (default: Xen when\n"
		"                      /dev/xen/evtchn works, else simulated)\n"
		"  -v, --verbose       log every state change of every device\n"
		"  -q, --quiet         log errors only\n"
		"  -h, --help\n");
}

static int quiet;
static char simhyp[4096];

static void log_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "xs-blkback: %s\n", line);
}

static struct xsl *store;

static void print_stats(struct blkback_server *s)
{
	struct blkback_stats st;
	struct xsl_stats xs;
	unsigned devs, conn;

	blkback_server_stats(s, &st);
	blkback_server_counts(s, &devs, &conn);
	xsl_stats(store, &xs);
	fprintf(stderr,
		"xs-blkback: store requests %llu; devices %u connected %u; requests read %" PRIu64 " write %" PRIu64
		" flush %" PRIu64 " discard %" PRIu64 " indirect %" PRIu64 "; sectors read %" PRIu64
		" written %" PRIu64 "; errors %" PRIu64 " (bad requests %" PRIu64 ", bad grants %" PRIu64
		", I/O %" PRIu64 "), unsupported %" PRIu64 "; fdatasync %" PRIu64 "; batches %" PRIu64
		", map calls %" PRIu64 ", notifications %" PRIu64 "\n",
		(unsigned long long)xs.requests, devs, conn, st.rd_req, st.wr_req, st.flush_req, st.discard_req, st.indirect_req,
		st.rd_sect, st.wr_sect, st.err_req, st.bad_req, st.bad_grant, st.io_err, st.unsupported,
		st.fdatasyncs, st.passes, st.map_calls, st.notifies);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"store", required_argument, NULL, 's'}, {"simhyp", required_argument, NULL, 'H'},
		{"xen", no_argument, NULL, 'x'},         {"sim", no_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},     {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .timeout_ms = 10000};
	struct xsl_hyp_opts ho = {.kind = XSL_HYP_AUTO};
	struct blkback_server_opts so = {.log = log_line};
	struct blkback_server *s;
	struct xsl_hyp *hyp;
	struct xsl *h;
	sigset_t mask;
	int opt, err, sfd;

	while ((opt = getopt_long(argc, argv, "s:H:xSvqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': oo.path = optarg; break;
		case 'H': ho.simhyp_path = optarg; ho.kind = XSL_HYP_SIM; break;
		case 'x': ho.kind = XSL_HYP_XEN; break;
		case 'S': ho.kind = XSL_HYP_SIM; break;
		case 'v': so.verbose = 1; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* The simulated hypervisor's socket: beside the store's, as the daemon's default is. */
	if (!ho.simhyp_path && ho.kind != XSL_HYP_XEN) {
		const char *p = oo.path ? oo.path : getenv("XENSTORED_PATH");
		const char *dir = getenv("XENSTORED_RUNDIR");

		if (p && *p && strrchr(p, '/'))
			snprintf(simhyp, sizeof(simhyp), "%.*s/%s", (int)(strrchr(p, '/') - p), p,
				 SIMHYP_SOCKET_NAME);
		else
			snprintf(simhyp, sizeof(simhyp), "%s/%s", dir && *dir ? dir : "/var/run/xenstored",
				 SIMHYP_SOCKET_NAME);
		ho.simhyp_path = simhyp;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		perror("xs-blkback: signalfd");
		return 1;
	}
	if ((err = xsl_open(&h, &oo)) < 0) {
		fprintf(stderr, "xs-blkback: the store: %s\n", strerror(-err));
		return 1;
	}
	if ((err = xsl_hyp_open(&hyp, &ho)) < 0) {
		fprintf(stderr, "xs-blkback: the hypervisor: %s\n", strerror(-err));
		xsl_close(h);
		return 1;
	}
	so.h = h;
	so.hyp = hyp;
	store = h;
	if ((err = blkback_server_open(&s, &so)) < 0) {
		fprintf(stderr, "xs-blkback: the bus: %s\n", strerror(-err));
		xsl_hyp_close(hyp);
		xsl_close(h);
		return 1;
	}
	if (!quiet)
		fprintf(stderr, "xs-blkback: serving backend/vbd of domain %u\n", xsl_hyp_domid(hyp));
	for (;;) {
		struct signalfd_siginfo si;

		err = blkback_server_run(s, sfd, -1);
		if (err < 0) {
			fprintf(stderr, "xs-blkback: the store: %s\n", strerror(-err));
			break;
		}
		if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		if (si.ssi_signo == SIGUSR1) {
			print_stats(s);
			continue;
		}
		break;
	}
	if (!quiet)
		print_stats(s);
	blkback_server_close(s);
	xsl_hyp_close(hyp);
	xsl_close(h);
	close(sfd);
	return err < 0 ? 1 : 0;
}
