/* Raw wire access for tests and benchmarks: bytes as given to a store, its messages back as framed, nothing interpreted. */
#include "xst_wire.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client/xsl_transport.h"
#include "proto/ring.h"

/* A ring producer waits this long for room before giving up. */
#define XST_RING_SEND_MS 5000

struct xst_wire {
	int fd;               /* the socket, or the eventfd the store signals */
	struct xs_ring *ring; /* NULL for a socket */
	struct xsl_simdom *dom; /* a ring: the domain, whose port notifies the store */
	struct xs_framer framer;
	unsigned char inbuf[8192];
	size_t in_off, in_len;
};

long long xst_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds until deadline for poll(): -1 without one, 0 once passed. */
static int ms_left(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - xst_now_ms();
	return left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int xst_payload(char *buf, size_t size, int raw_last, const char *const *args)
{
	size_t len = 0;

	for (unsigned i = 0; args[i]; i++) {
		size_t n = strlen(args[i]);
		int with_nul = !(raw_last && !args[i + 1]);

		if (len + n + (size_t)with_nul > size)
			return -1;
		memcpy(buf + len, args[i], n);
		len += n;
		if (with_nul)
			buf[len++] = '\0';
	}
	return (int)len;
}

struct xst_wire *xst_wire_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xst_wire *w;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	if (!(w = calloc(1, sizeof(*w))))
		return NULL;
	w->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w->fd < 0 || connect(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (w->fd >= 0)
			close(w->fd);
		free(w);
		errno = e;
		return NULL;
	}
	xs_framer_init(&w->framer);
	return w;
}

struct xst_wire *xst_wire_ring(struct xsl_simdom *d)
{
	struct xst_wire *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->dom = d;
	w->ring = xsl_simdom_ring(d, NULL, &w->fd);
	xs_framer_init(&w->framer);
	return w;
}

void xst_wire_close(struct xst_wire *w)
{
	if (!w)
		return;
	if (!w->ring)
		close(w->fd);
	free(w);
}

int xst_wire_fd(const struct xst_wire *w)
{
	return w->fd;
}

static void ring_notify(struct xst_wire *w)
{
	xsl_simdom_notify(w->dom);
}

/* Wait for the store's next notification, then clear it. 0, or -1 with errno (ETIMEDOUT). */
static int ring_wait(struct xst_wire *w, int timeout_ms)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	uint64_t v;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;
	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

/* A store that stopped serving this ring says why in its error field. */
static int ring_broken(const struct xst_wire *w)
{
	if (xs_ring_load(&w->ring->error) == XS_RING_ERR_NONE)
		return 0;
	errno = ECONNRESET;
	return 1;
}

static int ring_send(struct xst_wire *w, const char *p, size_t len)
{
	long long deadline = xst_now_ms() + XST_RING_SEND_MS;

	while (len > 0) {
		int n;

		if (ring_broken(w))
			return -1;
		n = xs_ring_produce(w->ring->req, &w->ring->req_cons, &w->ring->req_prod, p, len);
		if (n < 0) {
			errno = EPROTO;
			return -1;
		}
		if (n > 0) {
			ring_notify(w);
			p += n;
			len -= (size_t)n;
			continue;
		}
		/* Full: the store notifies when it has taken some. */
		if (ring_wait(w, ms_left(deadline)) < 0)
			return -1;
	}
	return 0;
}

static int socket_send(struct xst_wire *w, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(w->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xst_wire_send(struct xst_wire *w, const void *buf, size_t len)
{
	return w->ring ? ring_send(w, buf, len) : socket_send(w, buf, len);
}

int xst_wire_send_msg(struct xst_wire *w, uint32_t type, uint32_t req_id, uint32_t tx_id,
		      const void *payload, size_t len)
{
	unsigned char buf[XS_MSG_MAX];
	struct xs_header h = {type, req_id, tx_id, (uint32_t)len};

	if (len > XS_PAYLOAD_MAX) {
		errno = E2BIG;
		return -1;
	}
	xs_header_encode(&h, buf);
	if (len)
		memcpy(buf + XS_HEADER_SIZE, payload, len);
	return xst_wire_send(w, buf, XS_HEADER_SIZE + len);
}

/* Bytes into inbuf: > 0, or -1 with errno (ETIMEDOUT when nothing came in time). */
static ssize_t fill(struct xst_wire *w, long long deadline)
{
	for (;;) {
		if (w->ring) {
			struct xs_ring *r = w->ring;
			int n = xs_ring_consume(r->rsp, &r->rsp_cons, &r->rsp_prod, w->inbuf,
						sizeof(w->inbuf));

			if (n < 0) {
				errno = EPROTO;
				return -1;
			}
			if (n > 0) {
				ring_notify(w); /* room for more replies */
				return n;
			}
			if (ring_broken(w))
				return -1;
			if (ms_left(deadline) == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			/* A notification after our look wakes us; one before it was for what we took. */
			if (ring_wait(w, ms_left(deadline)) < 0 && errno != ETIMEDOUT)
				return -1;
			continue;
		}
		struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
		int r = poll(&pfd, 1, ms_left(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t n = recv(w->fd, w->inbuf, sizeof(w->inbuf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ECONNRESET;
		return n > 0 ? n : -1;
	}
}

int xst_wire_recv(struct xst_wire *w, struct xst_msg *m, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : xst_now_ms() + timeout_ms;

	for (;;) {
		while (w->in_off < w->in_len) {
			size_t used;
			enum xs_framer_state st = xs_framer_feed(&w->framer, w->inbuf + w->in_off,
								 w->in_len - w->in_off, &used);

			w->in_off += used;
			if (st == XS_FRAMER_OVERSIZE) {
				errno = EPROTO;
				return -1;
			}
			if (st == XS_FRAMER_MESSAGE) {
				m->hdr = w->framer.hdr;
				memcpy(m->payload, xs_framer_payload(&w->framer), m->hdr.len);
				m->payload[m->hdr.len] = '\0';
				return 0;
			}
		}
		ssize_t n = fill(w, deadline);

		if (n < 0)
			return -1;
		w->in_off = 0;
		w->in_len = (size_t)n;
	}
}
