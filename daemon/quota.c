/* Quotas: the one table of limits, and the one accounting authority that charges and releases them per domain. */
#include "quota.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static const struct {
	const char *name;
	const char *descr;
} quota_table[QUOTA_COUNT] = {
	[QUOTA_NODES] = {"nodes", "Nodes owned by a domain"},
	[QUOTA_WATCHES] = {"watches", "Watches registered by a domain"},
	[QUOTA_OUTSTANDING] = {"outstanding", "Requests of a domain not yet answered"},
	[QUOTA_MEMORY] = {"memory", "Bytes of memory charged to a domain"},
	[QUOTA_TRANSACTIONS] = {"transactions", "Open transactions of a domain"},
	[QUOTA_TRANSACTION_NODES] = {"transaction-nodes", "Nodes touched by one transaction"},
	[QUOTA_NODE_PERMISSIONS] = {"node-permissions", "Permission entries of one node"},
	[QUOTA_PATH_MAX] = {"path-max", "Length of a path below a domain's home"},
	[QUOTA_NODE_SIZE] = {"node-size", "Bytes of one node (value, perms, child names)"},
};

unsigned quota_hard[QUOTA_COUNT] = {
	[QUOTA_NODES] = 1000,
	[QUOTA_WATCHES] = 128,
	[QUOTA_OUTSTANDING] = 20,
	[QUOTA_MEMORY] = 2560 * 1024,
	[QUOTA_TRANSACTIONS] = 10,
	[QUOTA_TRANSACTION_NODES] = 1024,
	[QUOTA_NODE_PERMISSIONS] = 5,
	[QUOTA_PATH_MAX] = XS_REL_PATH_MAX,
	[QUOTA_NODE_SIZE] = 2048,
};
unsigned quota_soft_memory = 2048 * 1024;

const char *quota_name(enum quota_id q)
{
	return quota_table[q].name;
}

const char *quota_description(enum quota_id q)
{
	return quota_table[q].descr;
}

int quota_lookup(const char *name)
{
	for (int i = 0; i < QUOTA_COUNT; i++)
		if (strcmp(quota_table[i].name, name) == 0)
			return i;
	return -1;
}

bool quota_set(const char *name, const char *value, bool soft)
{
	char *end;
	unsigned long v;
	int q = quota_lookup(name);

	if (q < 0 || !*value)
		return false;
	v = strtoul(value, &end, 10);
	if (*end || v > 0x7fffffffUL)
		return false;
	if (soft) {
		if (q != QUOTA_MEMORY)
			return false;
		quota_soft_memory = (unsigned)v;
		return true;
	}
	/* path-max cannot exceed what the protocol allows for relative paths. */
	if (q == QUOTA_PATH_MAX && (v == 0 || v > XS_REL_PATH_MAX))
		v = XS_REL_PATH_MAX;
	quota_hard[q] = (unsigned)v;
	return true;
}

bool quota_allows(const struct ident *who, enum quota_id q, size_t value)
{
	return who->priv || !quota_hard[q] || value < quota_hard[q];
}

/*
 * Usage per domain id, in pages of 256 domains allocated on first charge:
 * a lookup is two indexings, and a host with few domains pays a few pages.
 */
#define QUOTA_PAGE 256u
struct quota_page {
	unsigned used[QUOTA_PAGE][QUOTA_COUNT];
};
static struct quota_page *quota_pages[(XS_DOMID_MAX + 1) / QUOTA_PAGE];

static unsigned *usage(uint32_t domid, bool create)
{
	struct quota_page **pg;

	if (domid > XS_DOMID_MAX)
		return NULL;
	pg = &quota_pages[domid / QUOTA_PAGE];
	if (!*pg && create)
		*pg = calloc(1, sizeof(**pg));
	return *pg ? (*pg)->used[domid % QUOTA_PAGE] : NULL;
}

enum xs_err quota_charge(const struct ident *who, enum quota_id q, unsigned n)
{
	unsigned *u = usage(who->domid, true);
	unsigned have = u ? u[q] : 0;

	if (!who->priv && quota_hard[q] && (uint64_t)have + n >= quota_hard[q])
		return XSE_ENOSPC;
	if (!u)
		return who->priv ? XSE_OK : XSE_ENOMEM;
	u[q] += n;
	return XSE_OK;
}

void quota_release(const struct ident *who, enum quota_id q, unsigned n)
{
	unsigned *u = usage(who->domid, false);

	if (!u)
		return; /* a privileged charge made while memory was short */
	if (u[q] < n) {
		log_error("quota %s of domain %u released below zero", quota_name(q), who->domid);
		n = u[q];
	}
	u[q] -= n;
}

void quota_transfer(uint32_t from, uint32_t to, enum quota_id q, unsigned n)
{
	unsigned *f = usage(from, false), *t = usage(to, true);

	if (f)
		f[q] -= n < f[q] ? n : f[q];
	if (t)
		t[q] += n;
}

unsigned quota_used(uint32_t domid, enum quota_id q)
{
	unsigned *u = usage(domid, false);

	return u ? u[q] : 0;
}

void quota_fini(void)
{
	for (size_t i = 0; i < sizeof(quota_pages) / sizeof(quota_pages[0]); i++) {
		free(quota_pages[i]);
		quota_pages[i] = NULL;
	}
}
