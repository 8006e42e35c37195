/* Quota settings: the one table of limits, their names, defaults and values. */
#ifndef XSD_QUOTA_H
#define XSD_QUOTA_H

#include <stdbool.h>

/* Order is the C daemon's GET_QUOTA listing order. */
enum quota_id {
	QUOTA_NODES,
	QUOTA_WATCHES,
	QUOTA_OUTSTANDING,
	QUOTA_MEMORY,
	QUOTA_TRANSACTIONS,
	QUOTA_TRANSACTION_NODES,
	QUOTA_NODE_PERMISSIONS,
	QUOTA_PATH_MAX,
	QUOTA_NODE_SIZE,
	QUOTA_COUNT,
};

/* Current global hard values (0 = unlimited) and the soft memory quota. */
extern unsigned quota_hard[QUOTA_COUNT];
extern unsigned quota_soft_memory;

const char *quota_name(enum quota_id q);
const char *quota_description(enum quota_id q);
/* Look up a quota by its C-daemon name; -1 if unknown. */
int quota_lookup(const char *name);
/* Set by name from a decimal string; false on an unknown name or bad number. */
bool quota_set(const char *name, const char *value, bool soft);

#endif
