/* Random requests built from the protocol's pieces, for the fuzz tests over sockets and rings. */
#ifndef XST_FUZZ_H
#define XST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "tests/lib/xst_wire.h"

/*
 * Half the requests are shaped as their type expects (valid paths under
 * /f, permission lists, tokens, open transaction ids), so that they reach
 * the handlers; the others are made of types (valid ones mostly),
 * transaction ids (0, open ones, garbage) and arguments drawn from paths,
 * permission strings, numbers and words the handlers look for, plus random
 * bytes and strings too long for any limit, with or without the final NUL.
 * None declares more than 4096 bytes, so none is a protocol violation.
 */
struct xst_fuzz {
	uint64_t state;
	unsigned requests;
	unsigned accepted; /* answered without an error: past the checks */
	unsigned events;   /* watch events that came meanwhile */
};

struct xst_fuzz_conn {
	struct xst_wire *w; /* raw: the requests are malformed on purpose, their req_ids checked */
	int privileged; /* keep it so: no CONTROL restrict on it */
	uint32_t tx[8]; /* transactions it opened and has not ended */
	unsigned ntx;
};

/* The seed from XST_FUZZ_SEED, else a fixed one (so a run is repeatable). */
uint64_t xst_fuzz_env_seed(void);
void xst_fuzz_seed(struct xst_fuzz *f, uint64_t seed);
uint32_t xst_fuzz_rand(struct xst_fuzz *f);
unsigned xst_fuzz_pick(struct xst_fuzz *f, unsigned n);
/*
 * Send one request on fc and take its reply (watch events are counted and
 * skipped). 0, or -1 with what went wrong in err: no reply within
 * timeout_ms, the connection lost, or a reply for another req_id.
 */
int xst_fuzz_one(struct xst_fuzz *f, struct xst_fuzz_conn *fc, struct xst_msg *m, int timeout_ms,
		 char *err, size_t errlen);

#endif
