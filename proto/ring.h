/* The shared ring page: its layout, index rules and the copy algorithm both sides use. */
#ifndef XS_PROTO_RING_H
#define XS_PROTO_RING_H

#include <stddef.h>
#include <stdint.h>

#define XS_RING_SIZE 1024u
#define XS_RING_PAGE 4096u

/* server_features bits. */
#define XS_RING_F_RECONNECTION 1u
#define XS_RING_F_ERROR 2u
#define XS_RING_F_WATCHDEPTH 4u
#define XS_RING_F_DOMID_ANY 8u

/* connection values: only the guest sets RECONNECT, only the server sets CONNECTED. */
#define XS_RING_CONNECTED 0u
#define XS_RING_RECONNECT 1u

/* error values the server writes when it stops serving a ring. */
#define XS_RING_ERR_NONE 0u
#define XS_RING_ERR_COMM 1u
#define XS_RING_ERR_RINGIDX 2u
#define XS_RING_ERR_PROTO 3u

/* One 4 KiB page shared by a guest and the store (xs_wire.h's xenstore_domain_interface). */
struct xs_ring {
	char req[XS_RING_SIZE]; /* guest -> server */
	char rsp[XS_RING_SIZE]; /* server -> guest: replies and events */
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
	uint32_t server_features;
	uint32_t connection;
	uint32_t error;
	uint32_t evtchn_port;
};

/*
 * Copy out up to len bytes that the peer produced into buf (a ring half),
 * advancing our consumer index: read prod, barrier, copy (in up to two
 * pieces across the end), barrier, publish cons. Indices are free-running
 * 32-bit counters. Returns the bytes copied (0 if empty), or -1 if the
 * indices are corrupt (prod - cons > XS_RING_SIZE), which is fatal for the
 * connection. The caller notifies the peer if it copied anything.
 */
int xs_ring_consume(const char *buf, uint32_t *cons, const uint32_t *prod, void *out, size_t len);
/* Copy in up to len bytes, advancing our producer index (same rules). */
int xs_ring_produce(char *buf, const uint32_t *cons, uint32_t *prod, const void *in, size_t len);
/* Bytes waiting to be consumed, or -1 if the indices are corrupt. */
int xs_ring_pending(const uint32_t *cons, const uint32_t *prod);
/* Room left for the producer, or -1 if the indices are corrupt. */
int xs_ring_space(const uint32_t *cons, const uint32_t *prod);

/* Shared-memory access with the orderings 9.3 asks for. */
static inline uint32_t xs_ring_load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void xs_ring_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#endif
