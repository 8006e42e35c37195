/* xs-simguest: be a simulated guest domain, talking to the store over its own shared ring (through the client library). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proto/simhyp.h"
#include "xenstore_client.h"

/* Domain ids a guest can have: 0 is the store's own domain, 0x7FF0 and above are reserved. */
#define DOMID_GUEST_MAX 0x7FEFu
#define TIMEOUT_DEFAULT_MS 5000
#define MAX_WORDS 64
#define MAX_WATCHES 64

#define SYNOPSIS "Usage: xs-simguest [OPTION]... DOMID [COMMAND [ARG]...]\n"

/* After a usage error: the synopsis, and where the rest is. */
static void usage_error(void)
{
	fprintf(stderr, SYNOPSIS "Try 'xs-simguest --help' for the commands and options.\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		SYNOPSIS
		"Creates domain DOMID (1 to 32751) in the simulated hypervisor (xs-simhyp), has it\n"
		"introduced as a toolstack would (its home /local/domain/DOMID owned by it, then\n"
		"INTRODUCE, over the privileged socket), then runs commands as that guest over\n"
		"its ring: the arguments after DOMID as one command, else one command per line of\n"
		"standard input. The domain lives until the commands are done.\n"
		"\n"
		"Commands (relative paths are under /local/domain/DOMID):\n"
		"  read PATH                print the value\n"
		"  write PATH VALUE         VALUE is one word: quote a value with blanks\n"
		"  mkdir PATH | rm PATH\n"
		"  ls PATH                  print the children, one per line\n"
		"  getperms PATH            print the permissions, one per line (n5, r0, ...)\n"
		"  setperms PATH PERM...    the first names the owner (n5), the rest b/r/w/nDOMID\n"
		"  watch PATH NAME          watch PATH; its events are named NAME\n"
		"  unwatch NAME\n"
		"  event [MS]               wait for a watch event, print \"event PATH NAME\"\n"
		"  wait PATH [VALUE]        wait until PATH exists (has VALUE), with a watch\n"
		"  start | commit | abort   a transaction: the commands in between run in it\n"
		"  shutdown                 report the domain shut down (it lives on)\n"
		"  sleep MS\n"
		"  !SHELL-COMMAND           the rest of the line, run by sh (the guest lives on)\n"
		"\n"
		"Input lines are split into words as by a shell: blanks separate words, '...'\n"
		"quotes literally, \"...\" quotes with \\\" \\\\ \\n \\t escapes, a backslash outside\n"
		"quotes takes the next character as it is, # starts a comment. Output is line\n"
		"buffered; errors go to standard error, naming the line and the command.\n"
		"\n"
		"Options:\n"
		"  -s, --store PATH    the store's socket (default $XENSTORED_PATH, else\n"
		"                      $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket)\n"
		"  -H, --simhyp PATH   the simulated hypervisor's socket (default: beside the store's)\n"
		"  -n, --no-introduce  do not introduce the domain (someone else does)\n"
		"  -t, --timeout MS    how long one command may wait (a reply, event, wait);\n"
		"                      default 5000, 0 for ever\n"
		"  -k, --keep-going    run every command even after one fails\n"
		"  -h, --help\n"
		"\n"
		"Exit status: 0 if every command succeeded; 1 at the first that failed (with -k:\n"
		"after the last, if any failed); 2 for a usage error.\n");
}

/* A watch the commands made, and the events it got that no `event` took yet. */
struct event {
	struct event *next;
	char *path;
	const char *name;
};

struct named_watch {
	struct xsl_watch *w;
	char name[64];
};

struct guest {
	struct xsl *h;
	struct xsl_simdom *dom;
	xsl_txn_t tx;
	int timeout_ms;
	struct named_watch watches[MAX_WATCHES];
	struct event *ev_head, *ev_tail;
	const char *where; /* "line N" or "arguments", for messages */
};

static void __attribute__((format(printf, 2, 3))) fail(const struct guest *g, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xs-simguest: %s: ", g->where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "ENOENT (No such file or directory)": the store's name and what it means. */
static const char *err_text(int err, char *buf, size_t size)
{
	static const char *const names[] = {
		[EINVAL] = "EINVAL", [EACCES] = "EACCES", [EEXIST] = "EEXIST", [EISDIR] = "EISDIR",
		[ENOENT] = "ENOENT", [ENOMEM] = "ENOMEM", [ENOSPC] = "ENOSPC", [EIO] = "EIO",
		[ENOTEMPTY] = "ENOTEMPTY", [ENOSYS] = "ENOSYS", [EROFS] = "EROFS", [EBUSY] = "EBUSY",
		[EAGAIN] = "EAGAIN", [EISCONN] = "EISCONN", [E2BIG] = "E2BIG", [EPERM] = "EPERM",
	};
	int e = -err;

	if (e > 0 && (size_t)e < sizeof(names) / sizeof(names[0]) && names[e])
		snprintf(buf, size, "%s (%s)", names[e], strerror(e));
	else
		snprintf(buf, size, "%s", strerror(e));
	return buf;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A whole non-negative decimal number that fits an int, or -1. */
static int parse_ms(const char *s)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v > INT_MAX ? -1 : (int)v;
}

/* ---------------------------------------------------------------- words */

/*
 * Split a line into words in place, as a shell would (no expansions).
 * Returns the number of words, or -1 with *err saying what is wrong.
 */
static int split_words(char *line, char **words, int max, const char **err)
{
	char *in = line, *out = line;
	int n = 0;

	for (;;) {
		while (*in == ' ' || *in == '\t')
			in++;
		if (!*in || *in == '#')
			return n;
		if (n == max) {
			*err = "too many words";
			return -1;
		}
		words[n++] = out;
		while (*in && *in != ' ' && *in != '\t') {
			if (*in == '\'') {
				for (in++; *in && *in != '\''; in++)
					*out++ = *in;
				if (!*in) {
					*err = "unterminated '";
					return -1;
				}
				in++;
			} else if (*in == '"') {
				for (in++; *in && *in != '"'; in++) {
					if (*in == '\\' && in[1]) {
						in++;
						*out++ = *in == 'n' ? '\n' : *in == 't' ? '\t' : *in;
					} else {
						*out++ = *in;
					}
				}
				if (!*in) {
					*err = "unterminated \"";
					return -1;
				}
				in++;
			} else if (*in == '\\') {
				if (!in[1]) {
					*err = "a backslash at the end of the line";
					return -1;
				}
				*out++ = in[1];
				in += 2;
			} else {
				*out++ = *in++;
			}
		}
		/* The terminator may overwrite the blank that ended the word, never what is still to read. */
		if (*in)
			in++;
		*out++ = '\0';
	}
}

/* ---------------------------------------------------------------- watches */

static void on_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct guest *g = arg;
	struct event *e = calloc(1, sizeof(*e));

	(void)h;
	if (!e || !(e->path = strdup(ev->path))) {
		free(e);
		return; /* out of memory: the event is lost, as an overflow would lose it */
	}
	for (int i = 0; i < MAX_WATCHES; i++)
		if (g->watches[i].w == w)
			e->name = g->watches[i].name;
	if (!e->name)
		e->name = "?";
	if (g->ev_tail)
		g->ev_tail->next = e;
	else
		g->ev_head = e;
	g->ev_tail = e;
}

static struct named_watch *find_watch(struct guest *g, const char *name)
{
	for (int i = 0; i < MAX_WATCHES; i++)
		if (g->watches[i].w && strcmp(g->watches[i].name, name) == 0)
			return &g->watches[i];
	return NULL;
}

static void drop_events_of(struct guest *g, const char *name)
{
	struct event **p = &g->ev_head, *e;

	g->ev_tail = NULL;
	while ((e = *p)) {
		if (e->name == name) {
			*p = e->next;
			free(e->path);
			free(e);
		} else {
			g->ev_tail = e;
			p = &e->next;
		}
	}
}

/* Pump until cond holds or the command's time runs out: 0, or -ETIMEDOUT / the library's error. */
static int pump_until(struct guest *g, bool (*cond)(void *), void *arg, long long deadline)
{
	while (!cond(arg)) {
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		int r;

		if (deadline >= 0 && left <= 0)
			return -ETIMEDOUT;
		r = xsl_pump(g->h, left < 0 ? -1 : left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool have_event(void *arg)
{
	return ((struct guest *)arg)->ev_head != NULL;
}

static bool flag_set(void *arg)
{
	return *(bool *)arg;
}

static void wait_fired(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	(void)h;
	(void)w;
	(void)ev;
	*(bool *)arg = true;
}

static long long deadline_of(int ms)
{
	return ms > 0 ? now_ms() + ms : -1;
}

/* wait PATH [VALUE]: a watch on PATH, and a read after each of its events until the node is as wanted. */
static int cmd_wait(struct guest *g, const char *path, const char *want)
{
	long long deadline = deadline_of(g->timeout_ms);
	struct xsl_watch *w;
	bool fired = false;
	char buf[160];
	int err;

	if ((err = xsl_watch(g->h, path, NULL, wait_fired, &fired, &w)) < 0) {
		fail(g, "wait %s: %s", path, err_text(err, buf, sizeof(buf)));
		return -1;
	}
	for (;;) {
		char *v = NULL;
		size_t len = 0;

		fired = false;
		err = xsl_read(g->h, XSL_TXN_NONE, path, &v, &len);
		if (err == 0 && (!want || (len == strlen(want) && memcmp(v, want, len) == 0))) {
			free(v);
			break;
		}
		free(v);
		if (err < 0 && err != -ENOENT)
			break;
		if ((err = pump_until(g, flag_set, &fired, deadline)) < 0)
			break;
	}
	xsl_unwatch(g->h, w);
	if (err == -ETIMEDOUT)
		fail(g, "wait %s%s%s: not there after %d ms", path, want ? " " : "", want ? want : "",
		     g->timeout_ms);
	else if (err < 0)
		fail(g, "wait %s: %s", path, err_text(err, buf, sizeof(buf)));
	return err < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- commands */

/* Each command: its name, its word counts (max -1: any), and how to run it. */
struct cmd {
	const char *name;
	int min, max;
	int (*run)(struct guest *g, int argc, char **argv);
	const char *args;
};

static int report(struct guest *g, char **argv, int err)
{
	char buf[160];

	if (err >= 0)
		return 0;
	fail(g, "%s%s%s: %s", argv[0], argv[1] ? " " : "", argv[1] ? argv[1] : "",
	     err_text(err, buf, sizeof(buf)));
	return -1;
}

static int run_read(struct guest *g, int argc, char **argv)
{
	char *v = NULL;
	size_t len = 0;
	int err = xsl_read(g->h, g->tx, argv[1], &v, &len);

	(void)argc;
	if (err == 0) {
		fwrite(v, 1, len, stdout);
		putchar('\n');
	}
	free(v);
	return report(g, argv, err);
}

static int run_write(struct guest *g, int argc, char **argv)
{
	(void)argc;
	return report(g, argv, xsl_write(g->h, g->tx, argv[1], argv[2], strlen(argv[2])));
}

static int run_mkdir(struct guest *g, int argc, char **argv)
{
	(void)argc;
	return report(g, argv, xsl_mkdir(g->h, g->tx, argv[1]));
}

static int run_rm(struct guest *g, int argc, char **argv)
{
	(void)argc;
	return report(g, argv, xsl_rm(g->h, g->tx, argv[1]));
}

static int run_ls(struct guest *g, int argc, char **argv)
{
	char **names = NULL;
	unsigned n = 0;
	int err = xsl_directory(g->h, g->tx, argv[1], &names, &n);

	(void)argc;
	for (unsigned i = 0; err == 0 && i < n; i++)
		printf("%s\n", names[i]);
	free(names);
	return report(g, argv, err);
}

static void format_perm(const struct xsl_perm *p, char *buf, size_t size)
{
	static const char letter[] = {'n', 'r', 'w', 'b'};

	snprintf(buf, size, "%c%u", letter[p->access & 3], p->domid);
}

static int run_getperms(struct guest *g, int argc, char **argv)
{
	struct xsl_perm *perms = NULL;
	unsigned n = 0;
	char buf[24];
	int err = xsl_get_perms(g->h, g->tx, argv[1], &perms, &n);

	(void)argc;
	for (unsigned i = 0; err == 0 && i < n; i++) {
		format_perm(&perms[i], buf, sizeof(buf));
		printf("%s\n", buf);
	}
	free(perms);
	return report(g, argv, err);
}

static int run_setperms(struct guest *g, int argc, char **argv)
{
	struct xsl_perm perms[MAX_WORDS];
	unsigned n = 0;

	for (int i = 2; i < argc; i++, n++) {
		const char *p = strchr("nrwb", argv[i][0]);
		char *end;
		unsigned long id;

		id = argv[i][0] ? strtoul(argv[i] + 1, &end, 10) : 0;
		if (!argv[i][0] || !p || !argv[i][1] || *end || id > 0xFFFF) {
			fail(g, "setperms: bad permission '%s' (n, r, w or b, then a domain id)",
			     argv[i]);
			return -1;
		}
		perms[n].domid = (uint32_t)id;
		perms[n].access = (unsigned)(p - "nrwb");
	}
	return report(g, argv, xsl_set_perms(g->h, g->tx, argv[1], perms, n));
}

static int run_watch(struct guest *g, int argc, char **argv)
{
	struct named_watch *slot = NULL;
	char buf[160];
	int err;

	(void)argc;
	if (find_watch(g, argv[2])) {
		fail(g, "watch: a watch is named %s already", argv[2]);
		return -1;
	}
	for (int i = 0; i < MAX_WATCHES && !slot; i++)
		if (!g->watches[i].w)
			slot = &g->watches[i];
	if (!slot || strlen(argv[2]) >= sizeof(slot->name)) {
		fail(g, "watch: %s", slot ? "the name is too long" : "too many watches");
		return -1;
	}
	snprintf(slot->name, sizeof(slot->name), "%s", argv[2]);
	if ((err = xsl_watch(g->h, argv[1], NULL, on_event, g, &slot->w)) < 0) {
		slot->w = NULL;
		fail(g, "watch %s: %s", argv[1], err_text(err, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

static int run_unwatch(struct guest *g, int argc, char **argv)
{
	struct named_watch *nw = find_watch(g, argv[1]);
	int err;

	(void)argc;
	if (!nw) {
		fail(g, "unwatch: no watch is named %s", argv[1]);
		return -1;
	}
	err = xsl_unwatch(g->h, nw->w);
	nw->w = NULL;
	drop_events_of(g, nw->name);
	return report(g, argv, err);
}

static int run_event(struct guest *g, int argc, char **argv)
{
	int ms = argc > 1 ? parse_ms(argv[1]) : g->timeout_ms;
	struct event *e;
	char buf[160];
	int err;

	if (ms < 0) {
		fail(g, "event: bad time '%s' (milliseconds)", argv[1]);
		return -1;
	}
	if ((err = pump_until(g, have_event, g, deadline_of(ms))) < 0) {
		if (err == -ETIMEDOUT)
			fail(g, "event: none within %d ms", ms);
		else
			fail(g, "event: %s", err_text(err, buf, sizeof(buf)));
		return -1;
	}
	e = g->ev_head;
	g->ev_head = e->next;
	if (!g->ev_head)
		g->ev_tail = NULL;
	printf("event %s %s\n", e->path, e->name);
	free(e->path);
	free(e);
	return 0;
}

static int run_wait(struct guest *g, int argc, char **argv)
{
	return cmd_wait(g, argv[1], argc > 2 ? argv[2] : NULL);
}

static int run_start(struct guest *g, int argc, char **argv)
{
	(void)argc;
	if (g->tx) {
		fail(g, "start: a transaction is open already (commit or abort it)");
		return -1;
	}
	return report(g, argv, xsl_txn_start(g->h, &g->tx));
}

static int run_end(struct guest *g, int argc, char **argv)
{
	int commit = strcmp(argv[0], "commit") == 0, err;

	(void)argc;
	if (!g->tx) {
		fail(g, "%s: no transaction is open", argv[0]);
		return -1;
	}
	err = xsl_txn_end(g->h, g->tx, commit);
	g->tx = XSL_TXN_NONE;
	if (err == -EAGAIN) {
		fail(g, "commit: EAGAIN (the transaction conflicted with another change: nothing of it"
			" was applied)");
		return -1;
	}
	return report(g, argv, err);
}

static int run_shutdown(struct guest *g, int argc, char **argv)
{
	(void)argc;
	return report(g, argv, xsl_simdom_shutdown(g->dom));
}

static int run_sleep(struct guest *g, int argc, char **argv)
{
	int ms = parse_ms(argv[1]);
	struct timespec ts;

	(void)argc;
	if (ms < 0) {
		fail(g, "sleep: bad time '%s' (milliseconds)", argv[1]);
		return -1;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

static const struct cmd cmds[] = {
	{"read", 2, 2, run_read, "PATH"},
	{"write", 3, 3, run_write, "PATH VALUE (quote a value with blanks)"},
	{"mkdir", 2, 2, run_mkdir, "PATH"},
	{"rm", 2, 2, run_rm, "PATH"},
	{"ls", 2, 2, run_ls, "PATH"},
	{"getperms", 2, 2, run_getperms, "PATH"},
	{"setperms", 3, MAX_WORDS, run_setperms, "PATH PERM..."},
	{"watch", 3, 3, run_watch, "PATH NAME"},
	{"unwatch", 2, 2, run_unwatch, "NAME"},
	{"event", 1, 2, run_event, "[MS]"},
	{"wait", 2, 3, run_wait, "PATH [VALUE] (quote a value with blanks)"},
	{"start", 1, 1, run_start, ""},
	{"commit", 1, 1, run_end, ""},
	{"abort", 1, 1, run_end, ""},
	{"shutdown", 1, 1, run_shutdown, ""},
	{"sleep", 2, 2, run_sleep, "MS"},
};

/* One command's words: 0 done, -1 failed (said why). */
static int run(struct guest *g, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const struct cmd *c = &cmds[i];

		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (argc < c->min || argc > c->max) {
			fail(g, "%s: %s; usage: %s%s%s", c->name,
			     argc < c->min ? "missing arguments" : "too many arguments", c->name,
			     *c->args ? " " : "", c->args);
			return -1;
		}
		return c->run(g, argc, argv);
	}
	fail(g, "unknown command '%s' (see xs-simguest --help)", argv[0]);
	return -1;
}

/* A line of input: a shell command, or words. */
static int run_line(struct guest *g, char *line)
{
	char *words[MAX_WORDS + 1];
	const char *err = NULL;
	int n;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '!') {
		int st;

		fflush(stdout);
		st = system(line + 1);
		if (st != 0) {
			fail(g, "!%s: exit status %d", line + 1,
			     st > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			return -1;
		}
		return 0;
	}
	if ((n = split_words(line, words, MAX_WORDS, &err)) < 0) {
		fail(g, "%s", err);
		return -1;
	}
	if (n == 0)
		return 0;
	words[n] = NULL;
	return run(g, n, words);
}

/* ---------------------------------------------------------------- the domain */

/* As a toolstack does: the home, owned by the domain, then INTRODUCE (the store maps grant 1, binds port). */
static int introduce(const char *store, unsigned domid, unsigned port, int timeout_ms)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .path = store, .timeout_ms = timeout_ms};
	struct xsl_perm owner = {domid, XSL_PERM_NONE};
	char home[32], buf[160];
	struct xsl *h;
	int err;

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	if ((err = xsl_open(&h, &o)) < 0) {
		fprintf(stderr, "xs-simguest: cannot connect to the store at %s: %s\n", store,
			err_text(err, buf, sizeof(buf)));
		return -1;
	}
	if ((err = xsl_mkdir(h, XSL_TXN_NONE, home)) == 0 &&
	    (err = xsl_set_perms(h, XSL_TXN_NONE, home, &owner, 1)) == 0)
		err = xsl_introduce(h, domid, 0, port);
	xsl_close(h);
	if (err < 0)
		fprintf(stderr, "xs-simguest: introducing domain %u through %s: %s\n", domid, store,
			err_text(err, buf, sizeof(buf)));
	return err < 0 ? -1 : 0;
}

static void guest_close(struct guest *g)
{
	while (g->ev_head) {
		struct event *e = g->ev_head;

		g->ev_head = e->next;
		free(e->path);
		free(e);
	}
	xsl_close(g->h);
	xsl_simdom_destroy(g->dom);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"store", required_argument, NULL, 's'},   {"simhyp", required_argument, NULL, 'H'},
		{"no-introduce", no_argument, NULL, 'n'},  {"timeout", required_argument, NULL, 't'},
		{"keep-going", no_argument, NULL, 'k'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *store = getenv("XENSTORED_PATH"), *simhyp = NULL;
	char store_buf[512], simhyp_buf[600], tmp[512], buf[160], where[32];
	struct guest g = {.timeout_ms = TIMEOUT_DEFAULT_MS};
	struct xsl_open_opts o = {.transport = XSL_TR_SIMRING};
	int introduce_it = 1, keep_going = 0, opt, failures = 0, err;
	unsigned long domid;
	char *end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "+s:H:nt:kh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': store = optarg; break;
		case 'H': simhyp = optarg; break;
		case 'n': introduce_it = 0; break;
		case 'k': keep_going = 1; break;
		case 'h': usage(stdout); return 0;
		case 't':
			if ((g.timeout_ms = parse_ms(optarg)) < 0) {
				fprintf(stderr, "xs-simguest: bad timeout '%s': milliseconds, 0 for ever\n",
					optarg);
				usage_error();
				return 2;
			}
			break;
		default: usage_error(); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "xs-simguest: no domain id given\n");
		usage_error();
		return 2;
	}
	errno = 0;
	domid = strtoul(argv[optind], &end, 10);
	if (!*argv[optind] || *end || argv[optind][0] == '-' || argv[optind][0] == '+' || errno ||
	    domid == 0 || domid > DOMID_GUEST_MAX) {
		fprintf(stderr,
			"xs-simguest: bad domain id '%s': a guest's is a number from 1 to %u"
			" (0 is the store's own domain)\n",
			argv[optind], DOMID_GUEST_MAX);
		usage_error();
		return 2;
	}
	if (!store || !*store) {
		const char *rd = getenv("XENSTORED_RUNDIR");

		snprintf(store_buf, sizeof(store_buf), "%s/socket", rd && *rd ? rd : "/var/run/xenstored");
		store = store_buf;
	}
	if (!simhyp) {
		snprintf(tmp, sizeof(tmp), "%s", store);
		snprintf(simhyp_buf, sizeof(simhyp_buf), "%s/%s", dirname(tmp), SIMHYP_SOCKET_NAME);
		simhyp = simhyp_buf;
	}
	if ((err = xsl_simdom_create(simhyp, (unsigned)domid, &g.dom)) < 0) {
		fprintf(stderr, "xs-simguest: cannot create domain %lu in the simulated hypervisor at %s:"
			" %s\n", domid, simhyp, err_text(err, buf, sizeof(buf)));
		return 1;
	}
	if (introduce_it && introduce(store, (unsigned)domid, xsl_simdom_port(g.dom), g.timeout_ms) < 0) {
		xsl_simdom_destroy(g.dom);
		return 1;
	}
	o.simdom = g.dom;
	o.timeout_ms = g.timeout_ms;
	if ((err = xsl_open(&g.h, &o)) < 0) {
		fprintf(stderr, "xs-simguest: cannot open domain %lu's ring: %s\n", domid,
			err_text(err, buf, sizeof(buf)));
		xsl_simdom_destroy(g.dom);
		return 1;
	}
	if (optind + 1 < argc) {
		/* The shell split them already: each argument is one word, as it is. */
		g.where = "arguments";
		failures += run(&g, argc - optind - 1, argv + optind + 1) < 0;
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		unsigned lineno = 0;

		while ((len = getline(&line, &cap, stdin)) >= 0) {
			if (len > 0 && line[len - 1] == '\n')
				line[len - 1] = '\0';
			snprintf(where, sizeof(where), "line %u", ++lineno);
			g.where = where;
			if (run_line(&g, line) < 0) {
				failures++;
				if (!keep_going)
					break;
			}
		}
		free(line);
	}
	guest_close(&g);
	return failures ? 1 : 0;
}
