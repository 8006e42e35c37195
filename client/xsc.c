/* A small synchronous XenStore client over a unix socket: requests, replies, queued watch events. */
#include "xsc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Events kept while waiting for a reply; more are dropped (a test client, not a library). */
#define XSC_EVENT_QUEUE 256

struct xsc {
	const struct xsc_transport *tr;
	void *tr_state;
	int fd;
	struct xs_framer framer;
	unsigned char inbuf[8192];
	size_t in_off, in_len;
	struct xsc_msg *events[XSC_EVENT_QUEUE];
	unsigned ev_head, ev_count;
};

static int socket_send(struct xsc *c, const void *buf, size_t len);
static ssize_t socket_recv(struct xsc *c, void *buf, size_t len, int timeout_ms);

static const struct xsc_transport socket_transport = {socket_send, socket_recv, NULL};

struct xsc *xsc_open(const char *socket_path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xsc *c;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, socket_path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (c->fd >= 0)
			close(c->fd);
		free(c);
		errno = e;
		return NULL;
	}
	xs_framer_init(&c->framer);
	c->tr = &socket_transport;
	return c;
}

struct xsc *xsc_open_transport(const struct xsc_transport *tr, void *state)
{
	struct xsc *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->tr = tr;
	c->tr_state = state;
	xs_framer_init(&c->framer);
	return c;
}

void *xsc_transport_state(const struct xsc *c)
{
	return c->tr_state;
}

void xsc_close(struct xsc *c)
{
	if (!c)
		return;
	if (c->tr->close)
		c->tr->close(c->tr_state);
	if (c->fd >= 0)
		close(c->fd);
	for (unsigned i = 0; i < c->ev_count; i++)
		free(c->events[(c->ev_head + i) % XSC_EVENT_QUEUE]);
	free(c);
}

int xsc_fd(const struct xsc *c)
{
	return c->fd;
}

int xsc_send_raw(struct xsc *c, const void *buf, size_t len)
{
	return c->tr->send(c, buf, len);
}

static int socket_send(struct xsc *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xsc_send(struct xsc *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
	     size_t len)
{
	unsigned char buf[XS_HEADER_SIZE + XS_PAYLOAD_MAX];
	struct xs_header h = {type, req_id, tx_id, (uint32_t)len};

	if (len > XS_PAYLOAD_MAX) {
		errno = E2BIG;
		return -1;
	}
	xs_header_encode(&h, buf);
	if (len)
		memcpy(buf + XS_HEADER_SIZE, payload, len);
	return xsc_send_raw(c, buf, XS_HEADER_SIZE + len);
}

static ssize_t socket_recv(struct xsc *c, void *buf, size_t len, int timeout_ms)
{
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r = poll(&pfd, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t n = recv(c->fd, buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

int xsc_ms_left(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - xsc_now_ms();
	return left > 0 ? (left > 0x7fffffff ? 0x7fffffff : (int)left) : 0;
}

long long xsc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xsc_recv(struct xsc *c, struct xsc_msg *out, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : xsc_now_ms() + timeout_ms;

	for (;;) {
		while (c->in_off < c->in_len) {
			size_t used;
			enum xs_framer_state st = xs_framer_feed(&c->framer, c->inbuf + c->in_off,
								 c->in_len - c->in_off, &used);

			c->in_off += used;
			if (st == XS_FRAMER_OVERSIZE) {
				errno = EPROTO;
				return -1;
			}
			if (st == XS_FRAMER_MESSAGE) {
				out->hdr = c->framer.hdr;
				memcpy(out->payload, xs_framer_payload(&c->framer), out->hdr.len);
				out->payload[out->hdr.len] = '\0';
				return 0;
			}
		}
		/* At least one look, even with no time left: a timeout of 0 polls. */
		int wait = xsc_ms_left(deadline);

		ssize_t n = c->tr->recv(c, c->inbuf, sizeof(c->inbuf), wait);

		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		c->in_off = 0;
		c->in_len = (size_t)n;
	}
}

static void queue_event(struct xsc *c, const struct xsc_msg *m)
{
	struct xsc_msg *copy;

	if (c->ev_count == XSC_EVENT_QUEUE)
		return;
	copy = malloc(sizeof(*copy));
	if (!copy)
		return;
	*copy = *m;
	c->events[(c->ev_head + c->ev_count) % XSC_EVENT_QUEUE] = copy;
	c->ev_count++;
}

int xsc_call(struct xsc *c, uint32_t type, uint32_t tx_id, const void *payload, size_t len,
	     struct xsc_msg *reply, int timeout_ms)
{
	if (xsc_send(c, type, 0, tx_id, payload, len) < 0)
		return -1;
	for (;;) {
		if (xsc_recv(c, reply, timeout_ms) < 0)
			return -1;
		if (reply->hdr.type != XS_WATCH_EVENT)
			return 0;
		queue_event(c, reply);
	}
}

int xsc_next_event(struct xsc *c, struct xsc_msg *out, int timeout_ms)
{
	if (c->ev_count) {
		struct xsc_msg *m = c->events[c->ev_head];

		*out = *m;
		free(m);
		c->ev_head = (c->ev_head + 1) % XSC_EVENT_QUEUE;
		c->ev_count--;
		return 0;
	}
	for (;;) {
		if (xsc_recv(c, out, timeout_ms) < 0)
			return -1;
		if (out->hdr.type == XS_WATCH_EVENT)
			return 0;
		/* A reply nobody waits for: not ours to interpret, skip it. */
	}
}

int xsc_payload(char *buf, size_t size, int raw_last, const char *const *args)
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
