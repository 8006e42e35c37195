/* Domain-side "hypercalls" of the simulated hypervisor: one request, one reply, over its SOCK_SEQPACKET socket. */
#ifndef SIMHYP_CALL_H
#define SIMHYP_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/simhyp.h"

/* How long a call waits for its reply before giving up (-ETIMEDOUT): the hypervisor never waits on anyone. */
#define SIMHYP_CALL_TIMEOUT_MS 10000

/* The socket's default place: $XENSTORED_RUNDIR/simhyp, else /var/run/xenstored/simhyp. 0 or -ENAMETOOLONG. */
int simhyp_default_path(char *buf, size_t size);
/* A new connection (blocking, close-on-exec): the descriptor, or -errno. path NULL: the default. */
int simhyp_connect(const char *path);
/*
 * One call: req (reqlen bytes, a struct beginning with simhyp_hdr whose
 * magic, version, op, len and seq are filled here) with nfds descriptors;
 * the reply into rep (repmax bytes), up to *nrfds descriptors received into
 * rfds (*nrfds set to how many; extra ones are closed). The reply's length
 * (at least a simhyp_reply_hdr) if its status is 0, else -status; -EPROTO
 * for a malformed reply, -ECONNRESET when the hypervisor closed the
 * connection, another -errno for I/O.
 */
int simhyp_call(int fd, uint16_t op, void *req, size_t reqlen, const int *fds, unsigned nfds,
		void *rep, size_t repmax, int *rfds, unsigned *nrfds);
/*
 * The same in two halves, so that several requests can be on their way at
 * once (replies come in order): send (0 or -errno; req's header filled),
 * then receive the reply to req.
 */
int simhyp_send_req(int fd, uint16_t op, void *req, size_t reqlen, const int *fds, unsigned nfds);
int simhyp_recv_reply(int fd, const void *req, void *rep, size_t repmax, int *rfds, unsigned *nrfds);
/* Receive a reply nobody waits for, and drop it: 0, -EAGAIN (none there, not waiting), or -errno. */
int simhyp_recv_discard(int fd, bool wait);
/*
 * Receive one message without waiting (a subscription's notices): its
 * length, 0 at EOF, -EAGAIN when none is there, -EPROTO for one that is
 * not whole or carries descriptors, another -errno.
 */
ssize_t simhyp_recv_notice(int fd, void *buf, size_t size);
/* Send one message as it is, with nfds (at most 8) descriptors. Bytes sent or -errno. */
ssize_t simhyp_send_raw(int fd, const void *buf, size_t len, const int *fds, unsigned nfds);
/*
 * Receive one message without waiting, and up to *nfds descriptors
 * (*nfds set to how many came; extra ones are closed): its length, 0 at
 * EOF, or -errno (-EAGAIN: none there). *trunc: the message or its
 * descriptors did not fit whole.
 */
ssize_t simhyp_recv_raw(int fd, void *buf, size_t size, int *fds, unsigned *nfds, bool *trunc);

#endif
