/* Handlers of the session and administration types: transactions, domain queries, CONTROL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "dirindex.h"
#include "domain.h"
#include "log.h"
#include "ops.h"
#include "regions.h"
#include "session.h"
#include "store.h"
#include "txn.h"
#include "watch.h"

enum xs_err op_transaction_start(struct req *r)
{
	struct txn *t;
	char id[16];

	enum xs_err err;

	if (r->acc.txn)
		return XSE_EBUSY;
	err = txn_start(session_txns(r->session), &t);
	if (err)
		return err;
	snprintf(id, sizeof(id), "%u", txn_id(t));
	reply_string(r, id);
	return XSE_OK;
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
	reply_string(r, domid == XS_DOMID_SELF || domain_is_introduced(domid) ? "T" : "F");
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

static enum xs_err ctl_help(struct req *r, unsigned argc, const char *const *argv);

/* A full structural check of the store: OK, or the first fault found. */
static enum xs_err ctl_check(struct req *r, unsigned argc, const char *const *argv)
{
	const char *fault;

	(void)argv;
	if (argc != 0)
		return XSE_EINVAL;
	fault = store_check();
	if (!fault)
		return reply_ok(r);
	log_error("check: %s", fault);
	reply_string(r, fault);
	return XSE_OK;
}

static enum xs_err ctl_print(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc != 1)
		return XSE_EINVAL;
	log_info("control: %s", argv[0]);
	log_trace("control: %s", argv[0]);
	return reply_ok(r);
}

static enum xs_err ctl_logfile(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc != 1)
		return XSE_EINVAL;
	return log_trace_open(argv[0]) == 0 ? reply_ok(r) : XSE_EINVAL;
}

/* Counters an operator needs to see what the bounds are doing. */
static enum xs_err ctl_stats(struct req *r, unsigned argc, const char *const *argv)
{
	char line[256];
	struct conn_totals t;
	int n;

	(void)argv;
	if (argc != 0)
		return XSE_EINVAL;
	conn_totals(&t);
	n = snprintf(line, sizeof(line),
		     "connections: %u\ndomains: %u\nwatches: %u\ntransactions: %u\n"
		     "events-dropped: %llu\nevents-coalesced: %llu\ngeneration: %llu\n"
		     "regions-trusted: %d\ndirectory-index-bytes: %zu\n",
		     t.connections, domain_count(), watch_count(), txn_open_count(),
		     (unsigned long long)t.events_dropped, (unsigned long long)t.events_coalesced,
		     (unsigned long long)store_generation(), regions_complete() ? 1 : 0,
		     dirindex_bytes());
	reply_bytes(r, line, (size_t)n);
	reply_bytes(r, "", 1);
	return XSE_OK;
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

static const struct control_cmd control_cmds[] = {
	{"check", "", ctl_check},
	{"help", "", ctl_help},
	{"logfile", "<file>", ctl_logfile},
	{"print", "<string>", ctl_print},
	{"quota", "[set <name> <val>|<domid>|max [-r]]", ctl_quota},
	{"quota-soft", "[set <name> <val>]", ctl_quota_soft},
	{"restrict", "<domid>", ctl_restrict},
	{"stats", "", ctl_stats},
};

static enum xs_err ctl_help(struct req *r, unsigned argc, const char *const *argv)
{
	char line[128];

	(void)argv;
	if (argc != 0)
		return XSE_EINVAL;
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++) {
		int n = snprintf(line, sizeof(line), "%s\t%s\n", control_cmds[i].name,
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
