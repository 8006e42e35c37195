/* Quota settings: the one table of limits, their names, defaults and values. */
#include "quota.h"

#include <stdlib.h>
#include <string.h>

#include "../proto/wire.h"

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
