/* Handlers of quotas and features: GET_QUOTA, SET_QUOTA, GET_FEATURE, SET_FEATURE, and CONTROL quota and quota-soft. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "ops.h"
#include "quota.h"
#include "session.h"

static void reply_uint(struct req *r, unsigned v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	reply_string(r, buf);
}

/* The leading domid of GET_QUOTA/SET_QUOTA/GET_FEATURE/SET_FEATURE: a number, then a domain that exists. */
static enum xs_err domain_arg(const char *arg, unsigned *domid)
{
	if (xs_parse_domid(arg, domid) < 0)
		return XSE_EINVAL;
	return domain_exists(*domid) ? XSE_OK : XSE_ENOENT;
}

/* No argument: the caller's own (a ring: its domain's; a socket: everything supported). */
enum xs_err op_get_feature(struct req *r)
{
	unsigned domid;
	enum xs_err err;

	if (r->argc == 0) {
		reply_uint(r, session_is_ring(r->session) ? domain_features(r->acc.who->domid)
							  : domain_features_supported());
		return XSE_OK;
	}
	err = domain_arg(r->argv[0], &domid);
	if (err)
		return err;
	reply_uint(r, domain_features(domid));
	return XSE_OK;
}

enum xs_err op_set_feature(struct req *r)
{
	unsigned domid, features;
	enum xs_err err = domain_arg(r->argv[0], &domid);

	if (err)
		return err;
	/* Not a number: refused where an unsupported bit is (after ENOENT and EBUSY). */
	if (!quota_parse_value(r->argv[1], UINT_MAX, &features))
		features = UINT_MAX;
	err = domain_set_features(domid, features);
	return err == XSE_OK ? reply_ok(r) : err;
}

/* "[domid] name": whose values (QUOTA_GLOBAL without a domid), and which one. */
static enum xs_err quota_args(struct req *r, unsigned named, uint32_t *domid, enum quota_id *q, bool *soft)
{
	unsigned id;

	*domid = QUOTA_GLOBAL;
	if (r->argc > named) {
		enum xs_err err = domain_arg(r->argv[0], &id);

		if (err)
			return err;
		*domid = id;
	}
	return quota_parse_name(r->argv[r->argc - named], q, soft) ? XSE_OK : XSE_EINVAL;
}

enum xs_err op_get_quota(struct req *r)
{
	uint32_t domid;
	enum quota_id q;
	bool soft;
	enum xs_err err;

	if (r->argc == 0) {
		/* Every name, space-separated, soft ones after their hard one. */
		for (int i = 0; i < QUOTA_COUNT; i++) {
			if (i)
				reply_bytes(r, " ", 1);
			reply_bytes(r, quota_name(i), strlen(quota_name(i)));
			if (quota_has_soft(i)) {
				reply_bytes(r, " soft-", 6);
				reply_bytes(r, quota_name(i), strlen(quota_name(i)));
			}
		}
		reply_bytes(r, "", 1);
		return XSE_OK;
	}
	err = quota_args(r, 1, &domid, &q, &soft);
	if (err)
		return err;
	reply_uint(r, quota_value(domid, q, soft));
	return XSE_OK;
}

enum xs_err op_set_quota(struct req *r)
{
	uint32_t domid;
	enum quota_id q;
	bool soft;
	unsigned v;
	enum xs_err err = quota_args(r, 2, &domid, &q, &soft);

	if (err)
		return err;
	/* 0 is unlimited; UINT_MAX is the C daemon's "disabled", not a value. */
	if (!quota_parse_value(r->argv[r->argc - 1], UINT_MAX - 1, &v))
		return XSE_EINVAL;
	unsigned before = quota_value(domid, q, soft);

	if (!quota_set_value(domid, q, soft, v))
		return XSE_ENOMEM;
	/* A served domain's own values are kept for a restart: not set unless kept. */
	if (domid != QUOTA_GLOBAL && (err = domain_kept_changed(domid)) != XSE_OK) {
		quota_set_value(domid, q, soft, before);
		return err;
	}
	return reply_ok(r);
}

/* CONTROL: "Quota settings:" and one line per value of the global defaults. */
static enum xs_err show_values(struct req *r, bool soft)
{
	char line[128];

	reply_bytes(r, "Quota settings:\n", 16);
	for (int q = 0; q < QUOTA_COUNT; q++) {
		if (soft && !quota_has_soft(q))
			continue;
		int n = snprintf(line, sizeof(line), "%-17s: %8u %s\n", quota_name(q),
				 quota_value(QUOTA_GLOBAL, q, soft), quota_description(q));

		reply_bytes(r, line, (size_t)n);
	}
	reply_bytes(r, "", 1);
	return XSE_OK;
}

/* CONTROL quota[-soft] set <name> <val>: a global default, for domains to come; at least 1. */
static enum xs_err set_value(struct req *r, unsigned argc, const char *const *argv, bool soft)
{
	int q;
	unsigned v;

	if (argc != 2 || !quota_parse_value(argv[1], INT_MAX, &v) || v < 1)
		return XSE_EINVAL;
	q = quota_lookup(argv[0]);
	if (q < 0 || (soft && !quota_has_soft(q)))
		return XSE_EINVAL;
	quota_set_value(QUOTA_GLOBAL, q, soft, v);
	return reply_ok(r);
}

/* CONTROL quota <domid>: what the domain holds now and the most it held. */
static enum xs_err show_domain(struct req *r, const char *arg)
{
	char line[128];
	unsigned domid;
	int n;

	if (xs_parse_domid(arg, &domid) < 0)
		return XSE_EINVAL;
	if (!quota_domain_known(domid))
		return XSE_ENOENT;
	n = snprintf(line, sizeof(line), "Domain %u:\n", domid);
	reply_bytes(r, line, (size_t)n);
	for (int q = 0; q < QUOTA_COUNT; q++) {
		n = snprintf(line, sizeof(line), "%-17s: %8u (max %8u)\n", quota_name(q), quota_used(domid, q),
			     quota_max(domid, q));
		reply_bytes(r, line, (size_t)n);
	}
	reply_bytes(r, "", 1);
	return XSE_OK;
}

/* CONTROL quota max [-r]: the most any unprivileged domain held; -r starts afresh first. */
static enum xs_err show_max(struct req *r, unsigned argc, const char *const *argv)
{
	char line[128];

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "-r") != 0))
		return XSE_EINVAL;
	if (argc == 1)
		quota_max_reset();
	reply_bytes(r, "Max. seen accounting values:\n", 29);
	for (int q = 0; q < QUOTA_COUNT; q++) {
		int n = snprintf(line, sizeof(line), "%-17s: %8u\n", quota_name(q), quota_max(QUOTA_GLOBAL, q));

		reply_bytes(r, line, (size_t)n);
	}
	reply_bytes(r, "", 1);
	return XSE_OK;
}

enum xs_err ctl_quota(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc == 0)
		return show_values(r, false);
	if (strcmp(argv[0], "set") == 0)
		return set_value(r, argc - 1, argv + 1, false);
	if (strcmp(argv[0], "max") == 0)
		return show_max(r, argc - 1, argv + 1);
	return argc == 1 ? show_domain(r, argv[0]) : XSE_EINVAL;
}

enum xs_err ctl_quota_soft(struct req *r, unsigned argc, const char *const *argv)
{
	if (argc == 0)
		return show_values(r, true);
	if (strcmp(argv[0], "set") == 0)
		return set_value(r, argc - 1, argv + 1, true);
	return XSE_EINVAL;
}
