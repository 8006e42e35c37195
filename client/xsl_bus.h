/* The bus's private parts shared by its files: paths, the callback depth, the state read with its reason, error nodes. */
#ifndef XSL_BUS_H
#define XSL_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "xenstore_client.h"

/*
 * Above 0 while this thread runs the bus's own code or a driver's callback
 * (inside xsl_pump, or inside a bus call that probes, resumes, removes):
 * the waits refuse (-EDEADLK), since pumping there would run the bus
 * inside itself.
 */
extern __thread unsigned xbs_depth;

/* "<dir>/<node>" (node "": dir; dir NULL: node) into buf: 0 or -ENAMETOOLONG. */
int xbs_join(char *buf, size_t size, const char *dir, const char *node);

/* Why xsl_xbs_read_bus says what it says. */
enum xbs_why {
	XBS_VALUE,   /* a state 1..8 as stored */
	XBS_GONE,    /* Closed: no state node, and its directory is gone */
	XBS_ZERO,    /* -EINVAL: "0" (Unknown) stored */
	XBS_JUNK,    /* -EINVAL: not a state */
	XBS_NOSTATE, /* -EINVAL: no state node, its directory is there */
	XBS_ERROR,   /* the read's error */
};
/* xsl_xbs_read_bus with the reason, and a printable copy of a junk value in raw (may be NULL). */
int xbs_read_why(struct xsl *h, xsl_txn_t t, const char *dir, enum xbs_why *why, char *raw,
		 size_t raw_size);

/*
 * Write "<|err|> <msg>" to <home>/error/<nodename below home>/error, as
 * Linux's xenbus_dev_error: 0 or -errno.
 */
int xbs_error_at(struct xsl *h, const char *home, const char *nodename, int err, const char *msg);

#endif
