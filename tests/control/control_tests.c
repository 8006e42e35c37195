/*
 * Operations: every xenstore-control command through Debian's own
 * xenstore-control, against ours and against the reference C xenstored
 * where it answers; the trace file of a scripted session beside the
 * reference's; control characters in the trace and the log; SIGHUP and the
 * trace commands; the watch event timeout; stats; the notable log lines.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/xst_daemon.h"
#include "tests/lib/xst_wire.h"

#define XC_BIN "/usr/lib/xen-4.17/bin/xenstore-control"
#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#else
#define ASAN 0
#endif
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- helpers ---- */

static void start(struct xst_daemon *d, enum xst_kind kind, const char *const *args)
{
	ck_assert_msg(xst_daemon_start(d, kind, NULL, args) == 0, "%s did not start", xst_kind_name(kind));
}

/* A fresh run directory, so that a file in it can be named on the command line. */
static void make_dir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/xst-control.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Start with -T <its directory>/trace.log; the trace's path in trace. */
static void start_traced(struct xst_daemon *d, enum xst_kind kind, char *trace, size_t size,
			 const char *const *more)
{
	char dir[256];
	const char *args[8] = {"-T", trace};
	unsigned n = 2;

	make_dir(dir, sizeof(dir));
	snprintf(trace, size, "%s/trace.log", dir);
	for (unsigned i = 0; more && more[i] && n < 7; i++)
		args[n++] = more[i];
	args[n] = NULL;
	ck_assert_msg(xst_daemon_start(d, kind, dir, args) == 0, "%s did not start", xst_kind_name(kind));
	d->own_dir = 1;
}

/* Stop; ours must exit 0 (its log on stderr if not). The directory goes. */
static void stop(struct xst_daemon *d)
{
	char cmd[600];
	int status = xst_daemon_stop(d, 1);
	int clean = d->kind != XST_OURS || (WIFEXITED(status) && WEXITSTATUS(status) == 0);

	if (!clean) {
		snprintf(cmd, sizeof(cmd), "cat %s/daemon.log >&2", d->dir);
		ck_assert_int_ge(system(cmd), 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(clean, "daemon exit status %d", status);
}

/* Whether the Debian tools (and, with ref, the reference daemon) are here; if not, say so once. */
static int have(int ref)
{
	int ok = access(XC_BIN, X_OK) == 0 && (!ref || xst_kind_available(XST_REF_C));
	const char *req = getenv("XS_REQUIRE_REFERENCE");

	if (ok)
		return 1;
	ck_assert_msg(!req || strcmp(req, "1") != 0, "%s missing (XS_REQUIRE_REFERENCE=1)",
		      ref ? "the reference C xenstored or xenstore-control" : XC_BIN);
	fprintf(stderr, "control: %s not installed (xen-utils-4.17): skipped\n",
		ref ? "the reference C xenstored" : XC_BIN);
	return 0;
}

/*
 * A test's connection: raw frames (tests/lib/xst_wire.h), as the traces
 * compared here hold the tokens and transaction ids as sent, and the
 * watchers of the event timeout must not read. Watch events met while
 * waiting for a reply are counted for next_event to take first (no test
 * looks inside one).
 */
struct conn {
	struct xst_wire *w;
	unsigned early_events;
};

/* A request and its reply (the next message that is not a watch event): 0, or -1 with errno. */
static int exchange(struct conn *c, uint32_t type, uint32_t tx, const void *payload, size_t len,
		    struct xst_msg *m, int timeout_ms)
{
	if (xst_wire_send_msg(c->w, type, 0, tx, payload, len) < 0)
		return -1;
	for (;;) {
		if (xst_wire_recv(c->w, m, timeout_ms) < 0)
			return -1;
		if (m->hdr.type != XS_WATCH_EVENT)
			return 0;
		c->early_events++;
	}
}

/* The next watch event, within timeout_ms: 0, or -1 with errno (EPROTO: a reply came). */
static int next_event(struct conn *c, struct xst_msg *m, int timeout_ms)
{
	if (c->early_events) {
		c->early_events--;
		return 0;
	}
	if (xst_wire_recv(c->w, m, timeout_ms) < 0)
		return -1;
	if (m->hdr.type != XS_WATCH_EVENT) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	xst_wire_close(c->w);
	free(c);
}

/* Send a request, wait for its reply; returns the reply's payload (static), "E:<name>" for an error. */
static const char *call(struct conn *c, uint32_t type, int raw_last, const char *const *args)
{
	static struct xst_msg m;
	static char err[64];
	char buf[XS_PAYLOAD_MAX];
	int len = xst_payload(buf, sizeof(buf), raw_last, args);

	ck_assert_int_ge(len, 0);
	ck_assert_msg(exchange(c, type, 0, buf, (size_t)len, &m, 10000) == 0, "%s: no reply: %s",
		      xs_type_name(type), strerror(errno));
	if (m.hdr.type == XS_ERROR) {
		snprintf(err, sizeof(err), "E:%.60s", m.payload);
		return err;
	}
	ck_assert_uint_eq(m.hdr.type, type);
	return m.payload;
}

static void must(struct conn *c, uint32_t type, int raw_last, const char *const *args, const char *want)
{
	const char *got = call(c, type, raw_last, args);

	ck_assert_msg(strcmp(got, want) == 0, "%s %s: got '%s', want '%s'", xs_type_name(type), args[0], got,
		      want);
}

static struct conn *connect_to(const struct xst_daemon *d)
{
	struct conn *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->w = xst_wire_socket(d->socket);
	ck_assert_msg(c->w != NULL, "connect %s: %s", d->socket, strerror(errno));
	return c;
}

static struct conn *restricted(const struct xst_daemon *d, const char *domid)
{
	struct conn *c = connect_to(d);

	must(c, XS_CONTROL, 0, ARGS("restrict", domid), "OK");
	return c;
}

/* A whole file, NUL-terminated (malloc'd); "" if it does not exist. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	n = (long)fread(s, 1, (size_t)n, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void path_in(char *buf, size_t size, const struct xst_daemon *d, const char *name)
{
	snprintf(buf, size, "%s/%s", d->dir, name);
}

/* Run Debian's xenstore-control against a socket: its exit status, stdout and stderr. */
static int run_xc(const char *socket, const char *const *args, char *out, size_t outsize, char *err,
		  size_t errsize)
{
	const char *argv[16];
	int po[2], pe[2], st;
	size_t no = 0, ne = 0;
	pid_t p;
	unsigned n = 0;

	argv[n++] = XC_BIN;
	for (unsigned i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ck_assert_int_eq(pipe(po), 0);
	ck_assert_int_eq(pipe(pe), 0);
	p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(po[0]);
		close(pe[0]);
		setenv("XENSTORED_PATH", socket, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* Small outputs: read one pipe to its end, then the other. */
	for (ssize_t r; no + 1 < outsize && (r = read(po[0], out + no, outsize - 1 - no)) > 0;)
		no += (size_t)r;
	for (ssize_t r; ne + 1 < errsize && (r = read(pe[0], err + ne, errsize - 1 - ne)) > 0;)
		ne += (size_t)r;
	out[no] = '\0';
	err[ne] = '\0';
	close(po[0]);
	close(pe[0]);
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- every xenstore-control command, ours ---- */

static const char help_text[] =
	"check           \n"
	"log             [on|off|+<switch>|-<switch>]\n"
	"live-update     [-c <cmdline>] [-F] [-t <timeout>] <file>\n"
	"    Default timeout is 60 seconds.\n"
	"logfile         <file>\n"
	"memreport       [<file>]\n"
	"print           <string>\n"
	"quota           [set <name> <val>|<domid>|max [-r]]\n"
	"quota-soft      [set <name> <val>]\n"
	"stats           [domains [<from>]]\n"
	"restrict        <domid>\n"
	"help            \n\n";

static const char log_default[] = "Log switch settings:\nobj     : on\nio      : on\nwrl     : off\n"
				  "acc     : off\ntdb     : off\n\n";

static void xc_must(const struct xst_daemon *d, const char *const *args, int want_rc, const char *want_out)
{
	char out[8192], err[8192];
	int rc = run_xc(d->socket, args, out, sizeof(out), err, sizeof(err));

	ck_assert_msg(rc == want_rc, "xenstore-control %s: exit %d, want %d (stderr: %s)", args[0], rc, want_rc,
		      err);
	if (want_out)
		ck_assert_msg(strcmp(out, want_out) == 0, "xenstore-control %s %s: got '%s', want '%s'", args[0],
			      args[1] ? args[1] : "", out, want_out);
	/* A refused command: xenstore-control asks for help and lists it. */
	if (want_rc == 3)
		ck_assert_msg(strstr(err, "Command not supported") && strstr(err, "stats           [domains"),
			      "xenstore-control %s: stderr '%s'", args[0], err);
}

START_TEST(xenstore_control_every_command)
{
	struct xst_daemon d;
	char trace[300], report[300], arg[400], out[8192], err[8192];
	char *text;

	if (!have(0))
		return;
	start(&d, XST_OURS, NULL);
	path_in(trace, sizeof(trace), &d, "trace.log");
	path_in(report, sizeof(report), &d, "report.txt");
	xc_must(&d, ARGS("help"), 0, help_text);
	xc_must(&d, ARGS("help", "x"), 3, "");
	xc_must(&d, ARGS("check"), 0, "OK\n");
	xc_must(&d, ARGS("check", "x"), 3, "");
	xc_must(&d, ARGS("log"), 0, log_default);
	xc_must(&d, ARGS("log", "+acc"), 0, "OK\n");
	xc_must(&d, ARGS("log", "-obj"), 0, "OK\n");
	xc_must(&d, ARGS("log"), 0,
		"Log switch settings:\nobj     : off\nio      : on\nwrl     : off\nacc     : on\ntdb     : off\n\n");
	xc_must(&d, ARGS("log", "-acc"), 0, "OK\n");
	xc_must(&d, ARGS("log", "+obj"), 0, "OK\n");
	xc_must(&d, ARGS("log", "+nosuch"), 3, "");
	xc_must(&d, ARGS("log", "sideways"), 3, "");
	xc_must(&d, ARGS("log", "on", "off"), 3, "");
	/* No trace file yet: on and off answer OK and do nothing; memreport has nowhere to write. */
	xc_must(&d, ARGS("log", "on"), 0, "OK\n");
	xc_must(&d, ARGS("log", "off"), 0, "OK\n");
	xc_must(&d, ARGS("memreport"), 3, "");
	xc_must(&d, ARGS("memreport", report), 0, "OK\n");
	text = slurp(report);
	ck_assert_msg(strstr(text, "memory report ") && strstr(text, "heap-bytes: ") &&
			      strstr(text, "connections: 1 (rings: "),
		      "memreport wrote '%s'", text);
	free(text);
	xc_must(&d, ARGS("memreport", "/nonexistent-dir/report"), 3, "");
	xc_must(&d, ARGS("logfile"), 3, "");
	xc_must(&d, ARGS("logfile", trace), 0, "OK\n");
	xc_must(&d, ARGS("memreport"), 0, "OK\n");
	xc_must(&d, ARGS("print", "hello from the test"), 0, "OK\n");
	xc_must(&d, ARGS("print"), 3, "");
	xc_must(&d, ARGS("print", "a", "b"), 3, "");
	/* log off: nothing more is traced; log on: the same file again. */
	xc_must(&d, ARGS("log", "off"), 0, "OK\n");
	xc_must(&d, ARGS("print", "while off"), 0, "OK\n");
	xc_must(&d, ARGS("log", "on"), 0, "OK\n");
	xc_must(&d, ARGS("print", "on again"), 0, "OK\n");
	text = slurp(trace);
	ck_assert_msg(strstr(text, "memory report ") && strstr(text, "control: hello from the test\n") &&
			      !strstr(text, "while off") && strstr(text, "control: on again\n") &&
			      count_of(text, "\n***\n") == 2,
		      "trace: '%s'", text);
	free(text);
	xc_must(&d, ARGS("quota"), 0,
		"Quota settings:\n"
		"nodes            :     1000 Nodes per domain\n"
		"watches          :      128 Watches per domain\n"
		"outstanding      :       20 Outstanding requests per domain\n"
		"memory           :  2621440 Total Xenstore memory per domain\n"
		"transactions     :       10 Active transactions per domain\n"
		"transaction-nodes:     1024 Max. number of accessed nodes per transaction\n"
		"node-permissions :        5 Max. number of permissions per node\n"
		"path-max         :     2048 Max. length of a node path\n"
		"node-size        :     2048 Max. size of a node\n\n");
	xc_must(&d, ARGS("quota-soft"), 0,
		"Quota settings:\nmemory           :  2097152 Total Xenstore memory per domain\n\n");
	xc_must(&d, ARGS("quota", "set", "watches", "64"), 0, "OK\n");
	xc_must(&d, ARGS("quota-soft", "set", "memory", "4096"), 0, "OK\n");
	xc_must(&d, ARGS("quota", "0"), 0, NULL);
	xc_must(&d, ARGS("quota", "max", "-r"), 0, NULL);
	/* Another error than EINVAL: the tool says its number. */
	ck_assert_int_eq(run_xc(d.socket, ARGS("quota", "9"), out, sizeof(out), err, sizeof(err)), 3);
	ck_assert_msg(strcmp(err, "Error 2 when trying to execute command.\n") == 0, "quota 9: '%s'", err);
	xc_must(&d, ARGS("stats", "domains"), 0, "domain 0 nodes: 3/1000\ndomain 0 watches: 0/128\ndomain 0 memory: 0/2621440\n"
		"domain 0 transactions: 0/10\n\n");
	xc_must(&d, ARGS("stats", "nosuch"), 3, "");
	ck_assert_int_eq(run_xc(d.socket, ARGS("stats"), out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_msg(strncmp(out, "uptime-seconds: ", 16) == 0 && strstr(out, "\nrequests CONTROL: ") &&
			      strstr(out, "\nerrors CONTROL: "),
		      "stats: '%s'", out);
	/* restrict: the tool's own connection, then it exits. */
	xc_must(&d, ARGS("restrict", "5"), 0, "OK\n");
	xc_must(&d, ARGS("restrict", "0"), 3, "");
	/* live-update, driven by the tool: a binary that cannot take over is refused at the start step ... */
	ck_assert_int_eq(run_xc(d.socket, ARGS("live-update", "/bin/true"), out, sizeof(out), err, sizeof(err)),
			 3);
	ck_assert_msg(strstr(err, "Starting live update failed") && strstr(err, "cannot take over"),
		      "live-update: '%s'", err);
	/* ... ours takes over, and the same daemon (process) serves on. */
	ck_assert_int_eq(run_xc(d.socket, ARGS("live-update", XST_DAEMON_BIN), out, sizeof(out), err, sizeof(err)),
			 0);
	ck_assert_int_eq(kill(d.pid, 0), 0);
	xc_must(&d, ARGS("check"), 0, "OK\n");
	xc_must(&d, ARGS("nosuch"), 3, "");
	snprintf(arg, sizeof(arg), "%s/daemon.log", d.dir);
	text = slurp(arg);
	ck_assert_msg(strstr(text, "control: hello from the test\n"), "log: '%s'", text);
	free(text);
	stop(&d);
}
END_TEST

/* ---- the same commands against the reference where it has them ---- */

START_TEST(xenstore_control_like_the_reference)
{
	/* {args}: the exit status and stdout must be the reference's. */
	static const char *const cmds[][4] = {
		{"check"}, {"check", "x"}, {"log", "on"}, {"log", "off"}, {"log", "on"},
		{"log", "on", "off"}, {"memreport"}, {"memreport", "/nonexistent-dir/x"},
		{"memreport", "/dev/null"}, {"logfile"}, {"logfile", "/dev/null"}, {"memreport"},
		{"log", "off"}, {"memreport"}, {"log", "on"}, {"print", "hello"}, {"print"},
		{"print", "a", "b"}, {"quota", "set", "nodes", "0"}, {"quota", "set", "nodes", "900"},
		{"quota-soft", "set", "memory", "100"}, {"quota-soft", "x"}, {"help", "x"}, {"nosuch"},
	};
	struct xst_daemon ours, ref;
	char oo[8192], oe[8192], ro[8192], re[8192];

	if (!have(1))
		return;
	start(&ours, XST_OURS, NULL);
	start(&ref, XST_REF_C, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int orc = run_xc(ours.socket, cmds[i], oo, sizeof(oo), oe, sizeof(oe));
		int rrc = run_xc(ref.socket, cmds[i], ro, sizeof(ro), re, sizeof(re));

		ck_assert_msg(orc == rrc && strcmp(oo, ro) == 0,
			      "xenstore-control %s %s: ours exit %d '%s', reference exit %d '%s'", cmds[i][0],
			      cmds[i][1] ? cmds[i][1] : "", orc, oo, rrc, ro);
	}
	stop(&ref);
	stop(&ours);
}
END_TEST

/* ---- the trace of a scripted session beside the reference's ---- */

/*
 * The session: two connections, most request types, errors, a transaction,
 * a watch and its events, CONTROL. No control characters: the reference
 * writes them raw, and its line would break.
 */
static void session(const struct xst_daemon *d)
{
	struct conn *a = connect_to(d), *b;
	struct xst_msg m;
	char tx[16], buf[64];
	int len;

	must(a, XS_WRITE, 1, ARGS("/t/a", "hello world"), "OK");
	must(a, XS_READ, 0, ARGS("/t/a"), "hello world");
	must(a, XS_READ, 0, ARGS("/t/none"), "E:ENOENT");
	must(a, XS_MKDIR, 0, ARGS("/t/d"), "OK");
	must(a, XS_DIRECTORY, 0, ARGS("/t"), "a");
	must(a, XS_SET_PERMS, 0, ARGS("/t/a", "n0", "r5"), "OK");
	must(a, XS_GET_DOMAIN_PATH, 0, ARGS("3"), "/local/domain/3");
	must(a, XS_WRITE, 1, ARGS("bad//path", "x"), "E:EINVAL");
	snprintf(tx, sizeof(tx), "%s", call(a, XS_TRANSACTION_START, 0, ARGS("")));
	len = xst_payload(buf, sizeof(buf), 1, ARGS("/t/tx", "in"));
	ck_assert_int_eq(exchange(a, XS_WRITE, (uint32_t)atoi(tx), buf, (size_t)len, &m, 10000), 0);
	len = xst_payload(buf, sizeof(buf), 0, ARGS("T"));
	ck_assert_int_eq(exchange(a, XS_TRANSACTION_END, (uint32_t)atoi(tx), buf, (size_t)len, &m, 10000), 0);
	must(a, XS_WATCH, 0, ARGS("/t", "tok"), "OK");
	ck_assert_int_eq(next_event(a, &m, 5000), 0);
	b = connect_to(d);
	must(b, XS_WRITE, 1, ARGS("/t/b", "1"), "OK");
	ck_assert_int_eq(next_event(a, &m, 5000), 0);
	must(b, XS_RM, 0, ARGS("/t/b"), "OK");
	ck_assert_int_eq(next_event(a, &m, 5000), 0);
	must(b, XS_CONTROL, 0, ARGS("check"), "OK");
	must(b, XS_CONTROL, 0, ARGS("nosuch"), "E:EINVAL");
	conn_close(b);
	must(a, XS_UNWATCH, 0, ARGS("/t", "tok"), "OK");
	must(a, XS_RM, 0, ARGS("/t"), "OK");
	conn_close(a);
}

#define MAX_CONNS 16
#define MAX_LINES 256

/* One connection's lines, its token masked, in the order written. */
struct conn_lines {
	char token[40];
	char *lines[MAX_LINES];
	unsigned n;
	int has_in;
};

/*
 * Bring a trace line to a form both daemons share: "IN <T> READ (/a )",
 * "CREATE connection"; the token is returned apart. Ours carries the Xen
 * HEAD classes ("io: ", "obj: ") and the domain ("(d0) "), checked here and
 * removed; 4.17 has neither. Lines that are not a connection's: NULL.
 */
static char *normalise(char *line, int ours, char *token, size_t tsize)
{
	static regex_t io_ours, io_ref, obj;
	static int ready;
	regmatch_t mm[6];
	char *out;

	if (!ready) {
		ck_assert_int_eq(regcomp(&io_ours,
					 "^io: (IN|OUT) (0x[0-9a-f]+) \\(d[0-9]+\\) [0-9]{8} [0-9]{2}:[0-9]{2}:[0-9]{2} (.*)$",
					 REG_EXTENDED),
				 0);
		ck_assert_int_eq(regcomp(&io_ref,
					 "^(IN|OUT) (0x[0-9a-f]+) [0-9]{8} [0-9]{2}:[0-9]{2}:[0-9]{2} (.*)$",
					 REG_EXTENDED),
				 0);
		ck_assert_int_eq(regcomp(&obj, "^(obj: )?(CREATE|DESTROY) connection (0x[0-9a-f]+)$", REG_EXTENDED),
				 0);
		ready = 1;
	}
	if (regexec(ours ? &io_ours : &io_ref, line, 4, mm, 0) == 0) {
		snprintf(token, tsize, "%.*s", (int)(mm[2].rm_eo - mm[2].rm_so), line + mm[2].rm_so);
		ck_assert_int_ge(asprintf(&out, "%.*s <T> %s", (int)(mm[1].rm_eo - mm[1].rm_so), line + mm[1].rm_so,
					  line + mm[3].rm_so),
				 0);
		return out;
	}
	if (regexec(&obj, line, 4, mm, 0) == 0) {
		ck_assert_msg(!ours || mm[1].rm_so >= 0, "ours without its class: '%s'", line);
		snprintf(token, tsize, "%.*s", (int)(mm[3].rm_eo - mm[3].rm_so), line + mm[3].rm_so);
		ck_assert_int_ge(asprintf(&out, "%.*s connection", (int)(mm[2].rm_eo - mm[2].rm_so),
					  line + mm[2].rm_so),
				 0);
		return out;
	}
	ck_assert_msg(!ours || strncmp(line, "io: ", 4) != 0, "ours, unparsed: '%s'", line);
	return NULL;
}

/* A trace file as connections, in the order each first appears; the reference reuses pointers. */
static unsigned split_trace(char *text, int ours, struct conn_lines *conns)
{
	unsigned n = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char token[40];
		char *norm = normalise(line, ours, token, sizeof(token));
		struct conn_lines *c = NULL;

		if (!norm)
			continue;
		/* A CREATE starts a new connection even if the token was seen (a freed pointer reused). */
		for (unsigned i = n; i-- > 0 && strncmp(norm, "CREATE", 6) != 0;)
			if (strcmp(conns[i].token, token) == 0) {
				c = &conns[i];
				break;
			}
		if (!c) {
			ck_assert_uint_lt(n, MAX_CONNS);
			c = &conns[n++];
			memset(c, 0, sizeof(*c));
			snprintf(c->token, sizeof(c->token), "%s", token);
		}
		ck_assert_uint_lt(c->n, MAX_LINES);
		c->lines[c->n++] = norm;
		if (strncmp(norm, "IN ", 3) == 0)
			c->has_in = 1;
	}
	return n;
}

static void free_conns(struct conn_lines *conns, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < conns[i].n; j++)
			free(conns[i].lines[j]);
}

START_TEST(trace_like_the_reference)
{
	struct xst_daemon ours, ref;
	char otrace[300], rtrace[300];
	struct conn_lines oc[MAX_CONNS], rc[MAX_CONNS];
	unsigned on, rn, oi = 0, ri = 0, compared = 0, lines = 0;
	char *otext, *rtext;

	if (!have(1))
		return;
	start_traced(&ours, XST_OURS, otrace, sizeof(otrace), NULL);
	start_traced(&ref, XST_REF_C, rtrace, sizeof(rtrace), NULL);

	session(&ours);
	session(&ref);
	/* Each connection's last lines are written as it closes: let both see the closes. */
	usleep(300 * 1000);
	otext = slurp(otrace);
	rtext = slurp(rtrace);
	stop(&ref);
	stop(&ours);
	ck_assert_msg(strncmp(otext, "\n***\n", 5) == 0, "ours does not start with ***: '%.40s'", otext);
	on = split_trace(otext, 1, oc);
	rn = split_trace(rtext, 0, rc);
	/* Connections that made requests, in order; the reference's own (dom0's ring) made none. */
	for (;;) {
		while (oi < on && !oc[oi].has_in)
			oi++;
		while (ri < rn && !rc[ri].has_in)
			ri++;
		if (oi == on || ri == rn)
			break;
		for (unsigned j = 0; j < oc[oi].n || j < rc[ri].n; j++)
			ck_assert_msg(j < oc[oi].n && j < rc[ri].n && strcmp(oc[oi].lines[j], rc[ri].lines[j]) == 0,
				      "connection %u, line %u: ours '%s', reference '%s'", oi, j,
				      j < oc[oi].n ? oc[oi].lines[j] : "(none)",
				      j < rc[ri].n ? rc[ri].lines[j] : "(none)");
		lines += oc[oi].n;
		compared++;
		oi++;
		ri++;
	}
	ck_assert_msg(oi == on && ri == rn, "ours has %u connections, the reference %u", on, rn);
	ck_assert_msg(compared == 2 && lines >= 40, "%u connections, %u lines compared", compared, lines);
	fprintf(stderr, "trace: %u connections, %u lines alike\n", compared, lines);
	free_conns(oc, on);
	free_conns(rc, rn);
	free(otext);
	free(rtext);
}
END_TEST

/* ---- issue 12: a request's values cannot forge lines of the trace or the log ---- */

START_TEST(trace_escapes_control_characters)
{
	static const char forged[] = "x\nio: IN 0xdead (d0) 20260101 00:00:00 WRITE (/forged x)\r\t\x1b[31m\\";
	struct xst_daemon d;
	char trace[300], logp[300];
	struct conn *c;
	char *text, *line;
	int lines = 0;

	start(&d, XST_OURS, NULL);
	path_in(trace, sizeof(trace), &d, "trace.log");
	c = connect_to(&d);
	must(c, XS_CONTROL, 0, ARGS("logfile", trace), "OK");
	must(c, XS_WRITE, 1, ARGS("/e", forged), "OK");
	must(c, XS_READ, 0, ARGS("/e"), forged);
	must(c, XS_WATCH, 0, ARGS("/e", "tok\nio: OUT forged"), "OK");
	must(c, XS_CONTROL, 0, ARGS("print", "line one\nxenstored: forged log line"), "OK");
	conn_close(c);
	usleep(100 * 1000);
	text = slurp(trace);
	ck_assert_msg(strstr(text, "WRITE (/e x\\nio: IN 0xdead (d0) 20260101 00:00:00 WRITE (/forged "
				   "x)\\r\\t\\x1b[31m\\\\)\n"),
		      "the WRITE is not escaped: '%s'", text);
	ck_assert_msg(strstr(text, "READ (x\\nio: IN 0xdead"), "the READ reply is not escaped: '%s'", text);
	ck_assert_msg(strstr(text, "WATCH_EVENT (/e tok\\nio: OUT forged )\n"), "the event is not escaped: '%s'",
		      text);
	ck_assert_msg(strstr(text, "control: line one\\nxenstored: forged log line\n"), "print: '%s'", text);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		lines++;
		ck_assert_msg(strncmp(line, "io: ", 4) == 0 || strncmp(line, "obj: ", 5) == 0 ||
				      strcmp(line, "***") == 0 || strncmp(line, "control: ", 9) == 0,
			      "a line no daemon wrote: '%s'", line);
	}
	ck_assert_int_ge(lines, 8);
	free(text);
	path_in(logp, sizeof(logp), &d, "daemon.log");
	text = slurp(logp);
	ck_assert_msg(strstr(text, "xenstored: control: line one\\nxenstored: forged log line\n") &&
			      !strstr(text, "\nxenstored: forged log line"),
		      "log: '%s'", text);
	free(text);
	stop(&d);
}
END_TEST

/* ---- SIGHUP reopens; logfile, log off/on and the switches ---- */

START_TEST(trace_reopen_and_switches)
{
	struct xst_daemon d;
	char trace[300], rotated[310], other[310];
	struct conn *c;
	char *text;

	start_traced(&d, XST_OURS, trace, sizeof(trace), NULL);
	snprintf(rotated, sizeof(rotated), "%s.1", trace);
	snprintf(other, sizeof(other), "%s.other", trace);
	c = connect_to(&d);
	must(c, XS_WRITE, 1, ARGS("/r/one", "1"), "OK");
	/* logrotate: rename, then SIGHUP; the daemon goes on in a new file under the old name. */
	ck_assert_int_eq(rename(trace, rotated), 0);
	must(c, XS_WRITE, 1, ARGS("/r/two", "2"), "OK");
	kill(d.pid, SIGHUP);
	usleep(200 * 1000);
	must(c, XS_WRITE, 1, ARGS("/r/three", "3"), "OK");
	text = slurp(rotated);
	ck_assert_msg(strstr(text, "WRITE (/r/one 1)") && strstr(text, "WRITE (/r/two 2)") &&
			      !strstr(text, "/r/three"),
		      "rotated: '%s'", text);
	free(text);
	text = slurp(trace);
	ck_assert_msg(strncmp(text, "\n***\n", 5) == 0 && strstr(text, "WRITE (/r/three 3)") &&
			      !strstr(text, "/r/two"),
		      "reopened: '%s'", text);
	free(text);
	/* -io: no more messages; -obj: no more connections. */
	must(c, XS_CONTROL, 0, ARGS("log", "-io"), "OK");
	must(c, XS_WRITE, 1, ARGS("/r/quiet", "q"), "OK");
	must(c, XS_CONTROL, 0, ARGS("log", "-obj"), "OK");
	conn_close(connect_to(&d));
	must(c, XS_CONTROL, 0, ARGS("log", "+io"), "OK");
	must(c, XS_CONTROL, 0, ARGS("log", "+obj"), "OK");
	must(c, XS_WRITE, 1, ARGS("/r/loud", "l"), "OK");
	text = slurp(trace);
	ck_assert_msg(!strstr(text, "/r/quiet") && strstr(text, "WRITE (/r/loud l)") &&
			      count_of(text, "obj: CREATE connection") == 0,
		      "switches: '%s'", text);
	free(text);
	/* logfile: another file; SIGHUP reopens that one, not the -T one. */
	must(c, XS_CONTROL, 0, ARGS("logfile", other), "OK");
	kill(d.pid, SIGHUP);
	usleep(200 * 1000);
	must(c, XS_WRITE, 1, ARGS("/r/other", "o"), "OK");
	text = slurp(other);
	ck_assert_msg(count_of(text, "\n***\n") == 2 && strstr(text, "WRITE (/r/other o)"), "other: '%s'", text);
	free(text);
	text = slurp(trace);
	ck_assert_msg(!strstr(text, "/r/other"), "-T file after logfile: '%s'", text);
	free(text);
	conn_close(c);
	stop(&d);
}
END_TEST

/* ---- -w watch-event=N ---- */

/* Read events until none comes for ms; how many. */
static int drain_events(struct conn *c, int ms)
{
	struct xst_msg m;
	int n = 0;

	while (next_event(c, &m, ms) == 0)
		n++;
	return n;
}

/* One number of CONTROL stats. */
static long long stat_of(struct conn *c, const char *name)
{
	const char *s = call(c, XS_CONTROL, 0, ARGS("stats"));
	char key[80];
	const char *p;

	snprintf(key, sizeof(key), "\n%s: ", name);
	p = strstr(s, key);
	ck_assert_msg(p != NULL, "no %s in stats", name);
	return atoll(p + strlen(key));
}

START_TEST(watch_event_timeout)
{
	struct xst_daemon d;
	int nodes = 0;
	char trace[300], path[1600], token[2100];
	struct conn *a, *u, *p;
	long long expired;
	int got_u, got_p;
	char *text;

	start_traced(&d, XST_OURS, trace, sizeof(trace), ARGS("-w", "watch-event=1"));
	a = connect_to(&d);
	must(a, XS_CONTROL, 0, ARGS("log", "-io"), "OK");
	must(a, XS_MKDIR, 0, ARGS("/big"), "OK");
	must(a, XS_SET_PERMS, 0, ARGS("/big", "n5"), "OK");
	memset(token, 't', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	/* An unprivileged watcher and a privileged one; neither reads until the end. */
	u = restricted(&d, "5");
	must(u, XS_WATCH, 0, ARGS("/big", token), "OK");
	p = connect_to(&d);
	must(p, XS_WATCH, 0, ARGS("/big", token), "OK");
	/* Events of some 3.6 KB, until the sockets are full and some wait in the daemon's queues. */
	while (nodes < 600) {
		for (int i = 0; i < 25; i++, nodes++) {
			int n = snprintf(path, sizeof(path), "/big/%04d", nodes);

			memset(path + n, 'n', 1500 - (size_t)n);
			path[1500] = '\0';
			must(a, XS_WRITE, 1, ARGS(path, "v"), "OK");
		}
		if (stat_of(a, "output-queued-messages") >= 40)
			break;
	}
	ck_assert_int_ge(stat_of(a, "output-queued-messages"), 40);
	usleep(1700 * 1000);
	expired = stat_of(a, "events-timed-out");
	ck_assert_msg(expired > 0, "no event timed out");
	got_u = drain_events(u, 500);
	got_p = drain_events(p, 500);
	/* The privileged watcher gets everything; the other loses exactly what timed out. */
	fprintf(stderr, "event timeout: %lld of %d events timed out\n", expired, nodes + 1);
	ck_assert_int_eq(got_p, nodes + 1);
	ck_assert_int_eq(got_u + expired, nodes + 1);
	ck_assert_int_eq(stat_of(a, "events-dropped"), 0);
	text = slurp(trace);
	ck_assert_int_eq(count_of(text, " for domain 5 timed out\n"), expired);
	free(text);
	conn_close(u);
	conn_close(p);
	conn_close(a);
	stop(&d);
}
END_TEST

/* ---- stats: the format, and every domain through its pages ---- */

START_TEST(stats_format_and_pages)
{
	enum { DOMAINS = 120 };
	struct xst_daemon d;
	struct conn *a, *u[DOMAINS];
	regex_t line_re;
	const char *s;
	char copy[XS_PAYLOAD_MAX + 1], from[16] = "0";
	int seen[DOMAINS + 1] = {0}, pages = 0;
	static const char *const keys[] = {
		"uptime-seconds", "connections", "connections-ring", "domains", "watches", "transactions",
		"heap-bytes", "store-bytes", "generation", "events-sent", "events-dropped", "events-coalesced",
		"events-timed-out", "output-queued-bytes", "requests READ", "errors READ", "requests other",
	};

	start(&d, XST_OURS, NULL);
	a = connect_to(&d);
	ck_assert_int_eq(regcomp(&line_re, "^[a-z][a-z-]*( [A-Z_a-z]+)?: [0-9]+$", REG_EXTENDED | REG_NOSUB), 0);
	s = call(a, XS_CONTROL, 0, ARGS("stats"));
	snprintf(copy, sizeof(copy), "%s", s);
	for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"))
		ck_assert_msg(regexec(&line_re, line, 0, NULL, 0) == 0, "stats line '%s'", line);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char key[64];

		snprintf(key, sizeof(key), "\n%s: ", keys[i]);
		ck_assert_msg(strstr(s, key) || strncmp(s, key + 1, strlen(key) - 1) == 0, "no '%s' in stats",
			      keys[i]);
	}
	/* AddressSanitizer's allocator is not the one mallinfo2 reports on (the request counts the same). */
	if (!ASAN)
		ck_assert_int_gt(stat_of(a, "heap-bytes"), 0);
	ck_assert_int_gt(stat_of(a, "store-bytes"), 0);
	ck_assert_int_eq(stat_of(a, "connections"), 1);
	for (int i = 0; i < DOMAINS; i++) {
		char id[16];

		snprintf(id, sizeof(id), "%d", i + 1);
		u[i] = restricted(&d, id);
	}
	ck_assert_int_eq(stat_of(a, "connections"), DOMAINS + 1);
	ck_assert_int_eq(stat_of(a, "requests CONTROL"), DOMAINS + 4 + !ASAN);
	/* Every domain once, page by page, each line "domain D name: used/limit". */
	regfree(&line_re);
	ck_assert_int_eq(regcomp(&line_re, "^(domain ([0-9]+) (nodes|watches|memory|transactions): [0-9]+/[0-9]+|next: [0-9]+)$",
				 REG_EXTENDED),
			 0);
	for (;;) {
		char *next = NULL;

		s = call(a, XS_CONTROL, 0, ARGS("stats", "domains", from));
		ck_assert_uint_lt(strlen(s), XS_PAYLOAD_MAX);
		pages++;
		snprintf(copy, sizeof(copy), "%s", s);
		for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
			regmatch_t mm[3];

			ck_assert_msg(regexec(&line_re, line, 3, mm, 0) == 0, "stats domains line '%s'", line);
			if (strncmp(line, "next: ", 6) == 0) {
				next = line + 6;
				continue;
			}
			if (strstr(line, " watches: "))
				seen[atoi(line + mm[2].rm_so)]++;
		}
		if (!next)
			break;
		snprintf(from, sizeof(from), "%s", next);
	}
	ck_assert_int_gt(pages, 1);
	for (int i = 0; i <= DOMAINS; i++)
		ck_assert_msg(seen[i] == 1, "domain %d listed %d times", i, seen[i]);
	regfree(&line_re);
	for (int i = 0; i < DOMAINS; i++)
		conn_close(u[i]);
	conn_close(a);
	stop(&d);
}
END_TEST

/* ---- the notable events in the log ---- */

START_TEST(log_lines_of_notable_events)
{
	struct xst_daemon d;
	char logp[300], hdr[16] = {0};
	struct conn *a, *u, *x;
	struct xst_msg m;
	char *text;
	uint32_t len = 5000;

	start(&d, XST_OURS, NULL);
	a = connect_to(&d);
	u = restricted(&d, "6");
	for (int i = 0; i < 9; i++)
		ck_assert_msg(strncmp(call(u, XS_TRANSACTION_START, 0, ARGS("")), "E:", 2) != 0, "tx %d", i);
	must(u, XS_TRANSACTION_START, 0, ARGS(""), "E:ENOSPC");
	/* A message over 4096 bytes: the connection is dropped, and the log says why. */
	x = connect_to(&d);
	memcpy(hdr, &(uint32_t){XS_READ}, 4);
	memcpy(hdr + 12, &len, 4);
	ck_assert_int_eq(xst_wire_send(x->w, hdr, sizeof(hdr)), 0);
	ck_assert_int_eq(xst_wire_recv(x->w, &m, 5000), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	conn_close(x);
	must(a, XS_READ, 0, ARGS("/tool"), "");
	path_in(logp, sizeof(logp), &d, "daemon.log");
	text = slurp(logp);
	ck_assert_msg(strstr(text, "xenstored: listening on "), "no start line: '%s'", text);
	ck_assert_msg(strstr(text, "domain 6: TRANSACTION_START refused: over quota (ENOSPC)\n"),
		      "no quota line: '%s'", text);
	ck_assert_msg(strstr(text, "(domain 0): dropped: message length over 4096\n"), "no drop line: '%s'",
		      text);
	free(text);
	conn_close(u);
	conn_close(a);
	xst_daemon_stop(&d, 1);
	text = slurp(logp);
	ck_assert_msg(strstr(text, "shutting down"), "no stop line: '%s'", text);
	free(text);
	d.pid = -1;
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", d.dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("control");
	SRunner *sr;
	int failed, run;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, xenstore_control_every_command);
	tcase_add_test(tc, xenstore_control_like_the_reference);
	tcase_add_test(tc, trace_like_the_reference);
	tcase_add_test(tc, trace_escapes_control_characters);
	tcase_add_test(tc, trace_reopen_and_switches);
	tcase_add_test(tc, watch_event_timeout);
	tcase_add_test(tc, stats_format_and_pages);
	tcase_add_test(tc, log_lines_of_notable_events);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	return failed || !run ? 1 : 0;
}
