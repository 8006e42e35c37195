/* Handlers of the session and administration types: transactions, domain queries, CONTROL. */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cleanup.h"
#include "config.h"
#include "conn.h"
#include "dirindex.h"
#include "domain.h"
#include "liveupdate.h"
#include "log.h"
#include "ops.h"
#include "pack.h"
#include "quota.h"
#include "regions.h"
#include "session.h"
#include "store.h"
#include "txn.h"
#include "watch.h"

enum xs_err op_transaction_start(struct req *r)
{
	struct txn *t;
	char id[11];

	enum xs_err err;

	if (r->acc.txn)
		return XSE_EBUSY;
	err = txn_start(session_txns(r->session), &t);
	if (err)
		return err;
	reply_string(r, xs_utoa(id, txn_id(t)));
	return XSE_OK;
}

static void reap(struct req *r)
{
	(void)r;
	txn_reap();
}

enum xs_err op_transaction_end(struct req *r)
{
	const char *arg = r->argv[0];
	bool held_writers;
	enum xs_err err;

	/* A malformed argument keeps the transaction open. */
	if (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0)
		return XSE_EINVAL;
	if (!r->acc.txn)
		return XSE_ENOENT;
	held_writers = txn_is_protected(r->acc.txn);
	err = txn_end(r->acc.txn, arg[0] == 'T');
	r->acc.txn = NULL;
	if (held_writers)
		session_wake_deferred();
	r->after_reply = reap;
	return err == XSE_OK ? reply_ok(r) : err;
}

enum xs_err op_get_domain_path(struct req *r)
{
	unsigned domid;
	char path[32];

	if (xs_parse_domid(r->argv[0], &domid) < 0)
		return XSE_EINVAL;
	xs_path_home(domid, path, sizeof(path));
	reply_string(r, path);
	return XSE_OK;
}

enum xs_err op_is_domain_introduced(struct req *r)
{
	unsigned domid;

	if (xs_parse_domid(r->argv[0], &domid) < 0)
		return XSE_EINVAL;
	/*
	 * A gone domain stays until its clean-up ends, as in the C daemon (its
	 * domain is freed with the clean-up done): "F" means gone and clean.
	 */
	reply_string(r, domid == XS_DOMID_SELF || domain_is_introduced(domid) || cleanup_pending(domid) ? "T"
														: "F");
	return XSE_OK;
}

enum xs_err op_introduce(struct req *r)
{
	unsigned domid;
	int port = atoi(r->argv[2]);

	/* The frame number (argv[1]) is not used: the ring is found through its grant. */
	if (xs_parse_domid(r->argv[0], &domid) < 0 || port <= 0)
		return XSE_EINVAL;
	if (domid >= XS_DOMID_SELF)
		return XSE_EINVAL;
	enum xs_err err = domain_introduce(domid, (uint32_t)port);

	return err == XSE_OK ? reply_ok(r) : err;
}

/* RELEASE and RESUME share their argument rules. */
static enum xs_err domain_arg(struct req *r, unsigned *domid)
{
	if (xs_parse_domid(r->argv[0], domid) < 0)
		return XSE_EINVAL;
	if (*domid == cfg.priv_domid || *domid == cfg.master_domid)
		return XSE_EINVAL;
	return XSE_OK;
}

enum xs_err op_release(struct req *r)
{
	unsigned domid;
	enum xs_err err = domain_arg(r, &domid);

	if (err == XSE_OK)
		err = domain_release(domid);
	return err == XSE_OK ? reply_ok(r) : err;
}

enum xs_err op_resume(struct req *r)
{
	unsigned domid;
	enum xs_err err = domain_arg(r, &domid);

	if (err == XSE_OK)
		err = domain_resume(domid);
	return err == XSE_OK ? reply_ok(r) : err;
}

enum xs_err op_set_target(struct req *r)
{
	unsigned domid, tdomid;
	enum xs_err err;

	if (xs_parse_domid(r->argv[0], &domid) < 0 || xs_parse_domid(r->argv[1], &tdomid) < 0)
		return XSE_EINVAL;
	err = domain_set_target(domid, tdomid);
	return err == XSE_OK ? reply_ok(r) : err;
}

/* CONTROL sub-commands. */
struct control_cmd {
	const char *name;
	const char *synopsis;
	enum xs_err (*run)(struct req *r, unsigned argc, const char *const *argv);
};

struct op_counts op_counts;

void op_counts_pack(struct pack *b)
{
	pack_u32(b, XS_TYPE_COUNT + 1);
	for (unsigned t = 0; t <= XS_TYPE_COUNT; t++) {
		pack_u64(b, op_counts.requests[t]);
		pack_u64(b, op_counts.errors[t]);
	}
}

bool op_counts_unpack(struct unpack *r)
{
	uint32_t n = unpack_u32(r);

	/* The last is the old binary's "no number of its own", as is any type this one does not know. */
	for (uint32_t t = 0; t < n && !r->bad; t++) {
		uint64_t req = unpack_u64(r), err = unpack_u64(r);
		unsigned k = t == n - 1 || t >= XS_TYPE_COUNT ? XS_TYPE_COUNT : t;

		if (!r->bad) {
			op_counts.requests[k] += req;
			op_counts.errors[k] += err;
		}
	}
	return !r->bad;
}

/* The process's start, for uptime: before main runs. */
static struct timespec started;

__attribute__((constructor)) static void note_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &started);
}

static enum xs_err ctl_help(struct req *r, unsigned argc, const char *const *argv);

/* Append one formatted line to the reply (overflowing 4096 bytes makes it E2BIG). */
static void reply_line(struct req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_line(struct req *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		reply_bytes(r, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/*
 * A full structural check of the store: OK, or the first fault found. The
 * trace file gets the C daemon's two lines around it.
 */
static enum xs_err ctl_check(struct req *r, unsigned argc, const char *const *argv)
{
	const char *fault;

	(void)argv;
	if (argc != 0)
		return XSE_EINVAL;
	log_trace("Checking store ...");
	fault = store_check();
	if (!fault)
		fault = domain_check();
	log_trace("Checking store complete.");
	if (!fault)
		return reply_ok(r);
	log_warnx("check: %s", fault);
	reply_string(r, fault);
	return XSE_OK;
}

/*
 * log: the trace classes and whether each is on; log on|off: reopen or
 * close the trace file (OK even when it cannot be opened, as the C daemon;
 * the failure is logged); log +name|-name: a class on or off.
 */
static enum xs_err ctl_log(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc == 0) {
		reply_line(r, "Log switch settings:\n");
		for (int c = 0; c < LOG_TRACE_CLASSES; c++)
			reply_line(r, "%-8s: %s\n", log_trace_class_name(c),
				   log_trace_class_on(c) ? "on" : "off");
		reply_bytes(r, "", 1);
		return XSE_OK;
	}
	if (argc != 1)
		return XSE_EINVAL;
	if (strcmp(argv[0], "on") == 0) {
		if (log_trace_open(NULL) < 0)
			log_warn("cannot open trace file %s", log_trace_path());
	} else if (strcmp(argv[0], "off") == 0) {
		log_trace_close();
	} else if (log_trace_switch(argv[0]) < 0) {
		return XSE_EINVAL;
	}
	return reply_ok(r);
}

/* logfile <file>: trace to another file from now on (SIGHUP reopens this one); OK as log on. */
static enum xs_err ctl_logfile(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc != 1 || strlen(argv[0]) >= sizeof(cfg.trace_file))
		return XSE_EINVAL;
	snprintf(cfg.trace_file, sizeof(cfg.trace_file), "%s", argv[0]);
	if (log_trace_open(cfg.trace_file) < 0)
		log_warn("cannot open trace file %s", log_trace_path());
	return reply_ok(r);
}

/* Bytes the allocator holds for the daemon (mallinfo2): in use, in its arena and mapped. */
static void heap_usage(size_t *in_use, size_t *arena_free)
{
	struct mallinfo2 mi = mallinfo2();

	*in_use = mi.uordblks + mi.hblkhd;
	*arena_free = mi.fordblks;
}

/*
 * memreport [<file>]: what the daemon's memory holds, appended to the file
 * (relative: under LOG_TRACE_DIR) or to the trace file. No file at all, or
 * one that cannot be opened: EINVAL (the C daemon's EBADF, untranslatable
 * on the wire, becomes EINVAL there too).
 */
static enum xs_err ctl_memreport(struct req *r, unsigned argc, const char *const *argv)
{
	char path[4096];
	struct conn_totals t;
	size_t in_use, arena_free;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	if (argc > 1)
		return XSE_EINVAL;
	if (argc == 0)
		snprintf(path, sizeof(path), "%s", log_trace_path());
	else if (argv[0][0] == '/')
		snprintf(path, sizeof(path), "%s", argv[0]);
	else
		snprintf(path, sizeof(path), "%s/%s", LOG_TRACE_DIR, argv[0]);
	if (!path[0] || !(f = fopen(path, "a")))
		return XSE_EINVAL;
	conn_totals(&t);
	heap_usage(&in_use, &arena_free);
	localtime_r(&now, &tm);
	fprintf(f, "memory report %04d%02d%02d %02d:%02d:%02d\n", tm.tm_year + 1900, tm.tm_mon + 1,
		tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	fprintf(f, "heap-bytes: %zu (free in the arena: %zu)\n", in_use, arena_free);
	fprintf(f, "connections: %u (rings: %u)\n", t.connections, t.rings);
	fprintf(f, "output-queued-bytes: %llu in %llu messages\n", (unsigned long long)t.out_bytes,
		(unsigned long long)t.out_msgs);
	fprintf(f, "watches: %u\ntransactions: %u\ndomains: %u\n", watch_count(), txn_open_count(),
		domain_count());
	fprintf(f, "dirindex-bytes: %zu\n", dirindex_bytes());
	fclose(f);
	return reply_ok(r);
}

/* print <string>: a line "control: <string>" in the log and the trace file. */
static enum xs_err ctl_print(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc != 1)
		return XSE_EINVAL;
	log_info("control: %s", argv[0]);
	log_trace("control: %s", argv[0]);
	return reply_ok(r);
}

/* The tree file's size on disk; 0 if it cannot be read. */
static unsigned long long store_bytes(void)
{
	struct stat st;

	return stat(cfg.store_file, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

/* The global counters (docs/OPERATIONS.md: names and meanings; a name, once there, keeps its meaning). */
static enum xs_err stats_global(struct req *r)
{
	struct conn_totals t;
	struct cleanup_stats cs;
	struct store_space sp;
	struct timespec now;
	size_t in_use, arena_free;
	unsigned long long up;

	conn_totals(&t);
	heap_usage(&in_use, &arena_free);
	clock_gettime(CLOCK_MONOTONIC, &now);
	up = (unsigned long long)(now.tv_sec - started.tv_sec);
	reply_line(r, "uptime-seconds: %llu\n", up);
	reply_line(r, "connections: %u\n", t.connections);
	reply_line(r, "connections-ring: %u\n", t.rings);
	reply_line(r, "domains: %u\n", domain_count());
	reply_line(r, "watches: %u\n", watch_count());
	reply_line(r, "transactions: %u\n", txn_open_count());
	reply_line(r, "heap-bytes: %zu\n", in_use);
	reply_line(r, "store-bytes: %llu\n", store_bytes());
	store_space(&sp);
	reply_line(r, "store-free-bytes: %llu\n", (unsigned long long)sp.free_bytes);
	reply_line(r, "compactions: %llu\n", (unsigned long long)sp.compactions);
	reply_line(r, "compaction-bytes-given-back: %llu\n", (unsigned long long)sp.given_back);
	reply_line(r, "generation: %llu\n", (unsigned long long)store_generation());
	reply_line(r, "dirindex-bytes: %zu\n", dirindex_bytes());
	/* Read without finishing the start-up walk: a look at the numbers must not stall every client. */
	reply_line(r, "store-walk-done: %d\n", store_settled() ? 1 : 0);
	reply_line(r, "regions-trusted: %d\n", store_settled() && regions_trusted() ? 1 : 0);
	cleanup_stats(&cs);
	reply_line(r, "cleanups-pending: %zu\n", cs.pending);
	reply_line(r, "cleanup-slices: %llu\n", (unsigned long long)cs.slices);
	reply_line(r, "memory-short: %d\n", quota_memory_is_short() ? 1 : 0);
	reply_line(r, "events-sent: %llu\n", (unsigned long long)t.events_sent);
	reply_line(r, "events-dropped: %llu\n", (unsigned long long)t.events_dropped);
	reply_line(r, "events-coalesced: %llu\n", (unsigned long long)t.events_coalesced);
	reply_line(r, "events-timed-out: %llu\n", (unsigned long long)t.events_expired);
	reply_line(r, "output-queued-bytes: %llu\n", (unsigned long long)t.out_bytes);
	reply_line(r, "output-queued-messages: %llu\n", (unsigned long long)t.out_msgs);
	reply_line(r, "reply-reserve-free: %u\n", t.reserve_free);
	reply_line(r, "reply-reserve-used: %llu\n", (unsigned long long)t.reserve_used);
	reply_line(r, "replies-without-memory: %llu\n", (unsigned long long)t.reserve_refused);
	for (int pass = 0; pass < 2; pass++) {
		const uint64_t *n = pass ? op_counts.errors : op_counts.requests;

		for (unsigned type = 0; type <= XS_TYPE_COUNT; type++) {
			const char *name = type < XS_TYPE_COUNT ? xs_type_name(type) : "other";

			if (name)
				reply_line(r, "%s %s: %llu\n", pass ? "errors" : "requests", name,
					   (unsigned long long)n[type]);
		}
	}
	reply_bytes(r, "", 1);
	return XSE_OK;
}

/* The quotas a domain is charged against as it goes; the others are per item (docs/OPERATIONS.md). */
static const enum quota_id stats_quotas[] = {QUOTA_NODES, QUOTA_WATCHES, QUOTA_MEMORY,
					       QUOTA_TRANSACTIONS};
#define STATS_QUOTAS (sizeof(stats_quotas) / sizeof(stats_quotas[0]))

/*
 * stats domains [<from>]: per domain with quota values, from domid <from>,
 * its usage against its quotas; as many whole domains as fit in a reply,
 * then "next: <domid>" if more follow.
 */
static enum xs_err stats_domains(struct req *r, unsigned argc, const char *const *argv)
{
	char lines[STATS_QUOTAS][96];
	unsigned from = 0;

	if (argc > 1 || (argc == 1 && xs_parse_domid(argv[0], &from) < 0))
		return XSE_EINVAL;
	for (uint32_t id = quota_next_domain(from); id != QUOTA_GLOBAL; id = quota_next_domain(id + 1)) {
		size_t need = 0;
		int n;

		for (size_t i = 0; i < STATS_QUOTAS; i++) {
			n = snprintf(lines[i], sizeof(lines[i]), "domain %u %s: %u/%u\n", id,
				     quota_name(stats_quotas[i]), quota_used(id, stats_quotas[i]),
				     quota_value(id, stats_quotas[i], false));
			need += (size_t)n;
		}
		/* Room for this domain, a "next:" line after it and the NUL. */
		if (r->reply_len + need + 16 > XS_PAYLOAD_MAX) {
			reply_line(r, "next: %u\n", id);
			break;
		}
		for (size_t i = 0; i < STATS_QUOTAS; i++)
			reply_bytes(r, lines[i], strlen(lines[i]));
	}
	reply_bytes(r, "", 1);
	return XSE_OK;
}

/* stats: counters a monitoring system can scrape; stats domains [<from>]: per domain. */
static enum xs_err ctl_stats(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc == 0)
		return stats_global(r);
	if (strcmp(argv[0], "domains") == 0)
		return stats_domains(r, argc - 1, argv + 1);
	return XSE_EINVAL;
}

/* Ours: drop this connection, for good, to the rights of an unprivileged domain. */
static enum xs_err ctl_restrict(struct req *r, unsigned argc, const char *const *argv)
{
	unsigned domid;

	if (argc != 1 || xs_parse_domid(argv[0], &domid) < 0 || domid == cfg.priv_domid ||
	    domid >= XS_DOMID_SELF)
		return XSE_EINVAL;
	session_restrict(r->session, domid);
	return reply_ok(r);
}

/* The C daemon's steps, answered in text as it does; -s is answered by the daemon taking over. */
static enum xs_err ctl_live_update(struct req *r, unsigned argc, const char *const *argv)
{
	const char *text;
	bool later;
	enum xs_err err = lu_control(r->session, r->hdr.req_id, r->hdr.tx_id, argc, argv, &text, &later);

	if (err)
		return err;
	if (later)
		r->later = true;
	else
		reply_string(r, text);
	return XSE_OK;
}

/* The C daemon's commands, in its order and with its synopses (Xen HEAD), then ours, then help. */
static const struct control_cmd control_cmds[] = {
	{"check", "", ctl_check},
	{"log", "[on|off|+<switch>|-<switch>]", ctl_log},
	{"live-update", "[-c <cmdline>] [-F] [-t <timeout>] <file>\n    Default timeout is 60 seconds.", ctl_live_update},
	{"logfile", "<file>", ctl_logfile},
	{"memreport", "[<file>]", ctl_memreport},
	{"print", "<string>", ctl_print},
	{"quota", "[set <name> <val>|<domid>|max [-r]]", ctl_quota},
	{"quota-soft", "[set <name> <val>]", ctl_quota_soft},
	{"stats", "[domains [<from>]]", ctl_stats},
	{"restrict", "<domid>", ctl_restrict},
	{"help", "", ctl_help},
};

static enum xs_err ctl_help(struct req *r, unsigned argc, const char *const *argv)
{
	char line[128];

	(void)argv;
	if (argc != 0)
		return XSE_EINVAL;
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++) {
		int n = snprintf(line, sizeof(line), "%-15s %s\n", control_cmds[i].name,
				 control_cmds[i].synopsis);

		reply_bytes(r, line, (size_t)n);
	}
	reply_bytes(r, "", 1);
	return XSE_OK;
}

enum xs_err op_control(struct req *r)
{
	unsigned argc = r->argc < REQ_MAX_ARGS ? r->argc : REQ_MAX_ARGS;

	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (strcmp(r->argv[0], control_cmds[i].name) == 0)
			return control_cmds[i].run(r, argc - 1, r->argv + 1);
	return XSE_EINVAL;
}
