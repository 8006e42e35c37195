/* Transactions: start and end, tied to the connection they began on, and the run-with-retry helper. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "xsl_handle.h"

#define XSL_TXN_ATTEMPTS_DEFAULT 16u
/* Backoff before attempt n+1: doubling from 1 ms up to 256 ms, a random part of it (half to all). */
#define XSL_TXN_BACKOFF_FIRST_MS 1u
#define XSL_TXN_BACKOFF_MAX_MS 256u

/* A transaction names its connection (epoch) and its id: one from before a reconnection is dead. */
static xsl_txn_t make_txn(uint32_t epoch, uint32_t id)
{
	return ((xsl_txn_t)epoch << 32) | id;
}

int xsl_txn_start(struct xsl *h, xsl_txn_t *t)
{
	struct xsl_arg empty = {"", 0, true};
	struct xsl_reply *rep;
	unsigned long long id;
	uint32_t epoch;
	int err;

	if (!h || !t)
		return -EINVAL;
	if (!(rep = malloc(sizeof(*rep))))
		return -ENOMEM;
	/* The connection the transaction lives on: checked again once the id is known. */
	epoch = xsl_epoch(h);
	err = xsl_call(h, 0, XS_TRANSACTION_START, &empty, 1, rep);
	if (!err && (xsl_codec_uint(rep->data, rep->len, 0xffffffffULL, &id) < 0 || id == 0))
		err = -EPROTO;
	if (!err && xsl_epoch(h) != epoch) {
		/* Begun on a newer connection than we thought: end it there and let the caller retry. */
		xsl_txn_end(h, make_txn(xsl_epoch(h), (uint32_t)id), 0);
		err = -EAGAIN;
	}
	if (!err)
		*t = make_txn(epoch, (uint32_t)id);
	free(rep);
	return err;
}

int xsl_txn_end(struct xsl *h, xsl_txn_t t, int commit)
{
	struct xsl_arg arg = XSL_STR(commit ? "T" : "F");
	int err;

	if (!h || t == XSL_TXN_NONE)
		return -EINVAL;
	err = xsl_call(h, t, XS_TRANSACTION_END, &arg, 1, NULL);
	/* The store forgot it with its connection: an abort has nothing left to do. */
	if (!commit && (err == -EAGAIN || err == -ECONNRESET || err == -ENOTCONN))
		err = 0;
	return err;
}

static void backoff(struct xsl *h, unsigned attempt)
{
	unsigned ms = XSL_TXN_BACKOFF_FIRST_MS << (attempt < 9 ? attempt : 8);
	struct timespec ts;

	if (ms > XSL_TXN_BACKOFF_MAX_MS)
		ms = XSL_TXN_BACKOFF_MAX_MS;
	/* Jitter: contenders that collided once do not collide again in step. */
	ms = ms / 2 + xsl_random(h) % (ms / 2 + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int xsl_txn_run(struct xsl *h, xsl_txn_fn *fn, void *arg, unsigned max_attempts)
{
	unsigned attempts = max_attempts ? max_attempts : XSL_TXN_ATTEMPTS_DEFAULT;

	if (!h || !fn)
		return -EINVAL;
	for (unsigned i = 0; i < attempts; i++) {
		xsl_txn_t t;
		int err;

		if (i)
			backoff(h, i - 1);
		if ((err = xsl_txn_start(h, &t)) < 0) {
			if (err == -EAGAIN)
				continue;
			return err;
		}
		err = fn(h, t, arg);
		if (err) {
			xsl_txn_end(h, t, 0); /* always ended; an abort's own error changes nothing */
			if (err != -EAGAIN)
				return err;
			continue;
		}
		err = xsl_txn_end(h, t, 1);
		if (err != -EAGAIN)
			return err;
	}
	return -EAGAIN;
}
