/* xs-simguest: be a simulated guest domain, talking to the store over its own shared ring. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../proto/simhyp.h"
#include "xsc.h"
#include "xsc_ring.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: xs-simguest [-s STORE_SOCKET] [-H SIMHYP_SOCKET] [-n] DOMID [COMMAND ...]\n"
		"Creates domain DOMID in the daemon's simulated hypervisor, has it introduced\n"
		"(as a toolstack would, over the privileged socket), then runs the commands as\n"
		"that guest over its ring: the arguments as one command, else one per line of\n"
		"standard input. The domain lives until the commands are done.\n"
		"  read PATH | write PATH VALUE | mkdir PATH | rm PATH | ls PATH\n"
		"  getperms PATH | setperms PATH PERM... | watch PATH TOKEN | unwatch PATH TOKEN\n"
		"  event [MS]        wait for a watch event and print it\n"
		"  start | commit | abort   a transaction (later commands run inside it)\n"
		"  shutdown | sleep MS | !SHELL-COMMAND (runs while the guest lives)\n"
		"  -n  do not introduce (someone else does)\n"
		"Sockets default to $XENSTORED_PATH (else $XENSTORED_RUNDIR/socket, else\n"
		"/var/run/xenstored/socket) and simhyp beside it.\n");
}

static const struct {
	const char *name;
	uint32_t type;
	int min_args, raw_last;
} cmds[] = {
	{"read", XS_READ, 1, 0},     {"write", XS_WRITE, 2, 1},    {"mkdir", XS_MKDIR, 1, 0},
	{"rm", XS_RM, 1, 0},         {"ls", XS_DIRECTORY, 1, 0},   {"getperms", XS_GET_PERMS, 1, 0},
	{"setperms", XS_SET_PERMS, 2, 0}, {"watch", XS_WATCH, 2, 0}, {"unwatch", XS_UNWATCH, 2, 0},
};

/* Print a payload of NUL-separated strings one per line. */
static void print_strings(const struct xsc_msg *m)
{
	for (uint32_t i = 0; i < m->hdr.len;) {
		const char *s = m->payload + i;

		printf("%s\n", s);
		i += (uint32_t)strlen(s) + 1;
	}
}

static int run(struct xsc *c, struct xsc_simdom *d, uint32_t *tx, int argc, char **argv)
{
	struct xsc_msg m;
	char buf[XS_PAYLOAD_MAX];

	if (argc == 0)
		return 0;
	if (argv[0][0] == '!') {
		fflush(stdout);
		return system(argv[0] + 1) == 0 ? 0 : 1;
	}
	if (!strcmp(argv[0], "sleep") && argc == 2) {
		struct timespec ts = {atoi(argv[1]) / 1000, (long)(atoi(argv[1]) % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		return 0;
	}
	if (!strcmp(argv[0], "shutdown"))
		return xsc_simdom_shutdown(d) == 0 ? 0 : 1;
	if (!strcmp(argv[0], "event")) {
		if (xsc_next_event(c, &m, argc > 1 ? atoi(argv[1]) : 5000) < 0) {
			printf("no event: %s\n", strerror(errno));
			return 1;
		}
		printf("event %s %s\n", m.payload, m.payload + strlen(m.payload) + 1);
		return 0;
	}
	if (!strcmp(argv[0], "start") || !strcmp(argv[0], "commit") || !strcmp(argv[0], "abort")) {
		int start = argv[0][0] == 's';
		const char *arg = start ? "" : argv[0][0] == 'c' ? "T" : "F";

		if (xsc_call(c, start ? XS_TRANSACTION_START : XS_TRANSACTION_END, start ? 0 : *tx,
			     arg, strlen(arg) + 1, &m, 5000) < 0) {
			perror("xs-simguest");
			return 1;
		}
		if (m.hdr.type == XS_ERROR) {
			printf("error: %s\n", m.payload);
			if (!start && strcmp(m.payload, "EINVAL") != 0)
				*tx = 0;
			return 1;
		}
		*tx = start ? (uint32_t)strtoul(m.payload, NULL, 10) : 0;
		if (start)
			printf("transaction %u\n", *tx);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].name) != 0)
			continue;
		if (argc - 1 < cmds[i].min_args) {
			fprintf(stderr, "%s: needs %d arguments\n", argv[0], cmds[i].min_args);
			return 1;
		}
		int len = xsc_payload(buf, sizeof(buf), cmds[i].raw_last, (const char *const *)argv + 1);

		if (len < 0 || xsc_call(c, cmds[i].type, *tx, buf, (size_t)len, &m, 5000) < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], len < 0 ? "too long" : strerror(errno));
			return 1;
		}
		if (m.hdr.type == XS_ERROR) {
			printf("error: %s\n", m.payload);
			return 1;
		}
		if (cmds[i].type == XS_READ)
			printf("%.*s\n", (int)m.hdr.len, m.payload);
		else if (cmds[i].type == XS_DIRECTORY || cmds[i].type == XS_GET_PERMS)
			print_strings(&m);
		return 0;
	}
	fprintf(stderr, "unknown command: %s\n", argv[0]);
	return 1;
}

int main(int argc, char **argv)
{
	const char *store = getenv("XENSTORED_PATH"), *simhyp = NULL;
	char store_buf[512], simhyp_buf[600], line[XS_PAYLOAD_MAX];
	int introduce = 1, opt, failures = 0;
	unsigned domid;
	uint32_t tx = 0;

	while ((opt = getopt(argc, argv, "s:H:nh")) != -1) {
		switch (opt) {
		case 's': store = optarg; break;
		case 'H': simhyp = optarg; break;
		case 'n': introduce = 0; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || xs_parse_domid(argv[optind], &domid) < 0 || domid == 0) {
		usage(stderr);
		return 2;
	}
	if (!store || !*store) {
		const char *rd = getenv("XENSTORED_RUNDIR");

		snprintf(store_buf, sizeof(store_buf), "%s/socket", rd && *rd ? rd : "/var/run/xenstored");
		store = store_buf;
	}
	if (!simhyp) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s", store);
		snprintf(simhyp_buf, sizeof(simhyp_buf), "%s/%s", dirname(tmp), SIMHYP_SOCKET_NAME);
		simhyp = simhyp_buf;
	}
	struct xsc_simdom *d = xsc_simdom_create(simhyp, domid);

	if (!d) {
		fprintf(stderr, "xs-simguest: cannot create domain %u at %s: %s\n", domid, simhyp,
			strerror(errno));
		return 1;
	}
	if (introduce) {
		struct xsc *priv = xsc_open(store);
		int e = priv ? xsc_introduce(priv, domid) : errno;

		xsc_close(priv);
		if (e) {
			fprintf(stderr, "xs-simguest: introducing domain %u: %s\n", domid, strerror(e));
			xsc_simdom_destroy(d);
			return 1;
		}
	}
	struct xsc *c = xsc_open_ring(d);

	if (optind + 1 < argc) {
		failures += run(c, d, &tx, argc - optind - 1, argv + optind + 1);
	} else {
		while (fgets(line, sizeof(line), stdin)) {
			char *args[64];
			int n = 0;

			line[strcspn(line, "\n")] = '\0';
			if (line[0] == '!') {
				args[n++] = line;
			} else {
				for (char *t = strtok(line, " \t"); t && n < 63; t = strtok(NULL, " \t"))
					args[n++] = t;
			}
			args[n] = NULL;
			failures += run(c, d, &tx, n, args);
		}
	}
	xsc_close(c);
	xsc_simdom_destroy(d);
	return failures ? 1 : 0;
}
