/* A fake /dev/xen/xenbus with Linux's semantics, from a socketpair: the "kernel" is a thread speaking to the daemon as the guest. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"

/*
 * What Linux's xenbus_dev_frontend does, and this imitates: a write()
 * collects bytes until one whole message is there and then handles it
 * (bytes after it in the same write are lost: counted here as
 * violations); WATCH and UNWATCH are done by the kernel with tokens of
 * its own, answered with a reply it makes up (its header copied from the
 * request; old kernels put req_id 0 in it), and events come back with the
 * user's token; every other request is forwarded with a kernel req_id and
 * answered with the user's; TRANSACTION_END of a transaction this file did
 * not start is ENOENT. Deviation: a refused WATCH is an ERROR reply here,
 * where Linux fails the write() (a socket cannot fail a peer's write).
 * The kernel's own connection is the daemon's socket restricted to the
 * guest's domid, so paths, permissions and quotas are the guest's.
 */

#define FX_WATCHES 128
#define FX_PENDING 256
#define FX_TXNS 16

enum { P_FREE, P_FORWARD, P_WATCH, P_IGNORE };

struct fx_watch {
	bool used, active;
	char *upath, *utoken;
	char ktoken[32];
};

struct fx_pending {
	int kind;
	uint32_t kid;
	struct xs_header uhdr;
	int widx;
};

struct fake_xenbus {
	int kfd, dfd, stopfd;
	bool old_kernel;
	pthread_t thread;
	unsigned violations;
	uint32_t next_kid;
	unsigned wseq;
	struct fx_watch w[FX_WATCHES];
	struct fx_pending p[FX_PENDING];
	uint32_t txns[FX_TXNS];
	unsigned char ubuf[XS_MSG_MAX];
	size_t ulen;
	struct xs_framer dfr;
};

static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return; /* the other side went: the thread notices on its next read */
		p += n;
		len -= (size_t)n;
	}
}

static void send_msg(int fd, const struct xs_header *h, const void *payload)
{
	unsigned char buf[XS_MSG_MAX];

	xs_header_encode(h, buf);
	memcpy(buf + XS_HEADER_SIZE, payload, h->len);
	send_all(fd, buf, XS_HEADER_SIZE + h->len); /* one packet: one message */
}

static void to_user(struct fake_xenbus *fx, const struct xs_header *uh, uint32_t type,
		    const void *payload, size_t len)
{
	struct xs_header h = {type, uh->req_id, uh->tx_id, (uint32_t)len};

	send_msg(fx->kfd, &h, payload);
}

static void to_daemon(struct fake_xenbus *fx, int kind, const struct xs_header *uh, int widx,
		      uint32_t type, const void *payload, size_t len)
{
	struct xs_header h = {type, ++fx->next_kid, uh ? uh->tx_id : 0, (uint32_t)len};

	for (int i = 0; i < FX_PENDING; i++) {
		if (fx->p[i].kind != P_FREE)
			continue;
		fx->p[i].kind = kind;
		fx->p[i].kid = h.req_id;
		if (uh)
			fx->p[i].uhdr = *uh;
		fx->p[i].widx = widx;
		send_msg(fx->dfd, &h, payload);
		return;
	}
	fx->violations++; /* more in flight than a test should ever have */
}

static size_t two_strings(const char *a, const char *b, char *buf)
{
	size_t la = strlen(a) + 1, lb = strlen(b) + 1;

	memcpy(buf, a, la);
	memcpy(buf + la, b, lb);
	return la + lb;
}

static void user_watch(struct fake_xenbus *fx, const struct xs_header *h, const char *p)
{
	const char *token = memchr(p, '\0', h->len);
	char buf[XS_PAYLOAD_MAX];
	int i;

	if (!token || !memchr(token + 1, '\0', h->len - (size_t)(token + 1 - p))) {
		to_user(fx, h, XS_ERROR, "EINVAL", 7);
		return;
	}
	token++;
	if (h->type == XS_UNWATCH) {
		for (i = 0; i < FX_WATCHES; i++) {
			struct fx_watch *w = &fx->w[i];

			if (!w->used || strcmp(w->upath, p) || strcmp(w->utoken, token))
				continue;
			to_daemon(fx, P_IGNORE, NULL, -1, XS_UNWATCH, buf, two_strings(w->upath, w->ktoken, buf));
			free(w->upath);
			free(w->utoken);
			memset(w, 0, sizeof(*w));
			break;
		}
		/* Linux says OK whether or not it knew the watch. */
		goto ok;
	}
	for (i = 0; i < FX_WATCHES && fx->w[i].used; i++)
		;
	if (i == FX_WATCHES) {
		to_user(fx, h, XS_ERROR, "ENOSPC", 7);
		return;
	}
	fx->w[i].used = true;
	fx->w[i].upath = strdup(p);
	fx->w[i].utoken = strdup(token);
	snprintf(fx->w[i].ktoken, sizeof(fx->w[i].ktoken), "fk%u", ++fx->wseq);
	/* Any depth the user sent is ignored, as Linux does. */
	to_daemon(fx, P_WATCH, h, i, XS_WATCH, buf, two_strings(p, fx->w[i].ktoken, buf));
	return;
ok:
	{
		struct xs_header ack = *h;

		if (fx->old_kernel)
			ack.req_id = 0;
		to_user(fx, &ack, h->type, "OK", 3);
	}
}

static bool known_txn(struct fake_xenbus *fx, uint32_t id, bool forget)
{
	for (int i = 0; i < FX_TXNS; i++)
		if (id && fx->txns[i] == id) {
			if (forget)
				fx->txns[i] = 0;
			return true;
		}
	return false;
}

static void user_message(struct fake_xenbus *fx, const struct xs_header *h, const char *p)
{
	switch (h->type) {
	case XS_WATCH:
	case XS_UNWATCH:
		user_watch(fx, h, p);
		return;
	case XS_TRANSACTION_END:
		if (!known_txn(fx, h->tx_id, true)) {
			to_user(fx, h, XS_ERROR, "ENOENT", 7);
			return;
		}
		break;
	default:
		break;
	}
	to_daemon(fx, P_FORWARD, h, -1, h->type, p, h->len);
}

/* Linux's xenbus_file_write, one write() (here: one packet) at a time. */
static void user_packet(struct fake_xenbus *fx, const unsigned char *buf, size_t n)
{
	struct xs_header h;

	if (n > sizeof(fx->ubuf) - fx->ulen) {
		fx->violations++;
		fx->ulen = 0;
		return;
	}
	memcpy(fx->ubuf + fx->ulen, buf, n);
	fx->ulen += n;
	if (fx->ulen < XS_HEADER_SIZE)
		return;
	xs_header_decode(fx->ubuf, &h);
	if (h.len > XS_PAYLOAD_MAX) {
		fx->violations++;
		fx->ulen = 0;
		return;
	}
	if (fx->ulen < XS_HEADER_SIZE + h.len)
		return;
	if (fx->ulen > XS_HEADER_SIZE + h.len)
		fx->violations++; /* the rest of that write is lost on Linux */
	user_message(fx, &h, (const char *)fx->ubuf + XS_HEADER_SIZE);
	fx->ulen = 0;
}

static void daemon_message(struct fake_xenbus *fx, const struct xs_header *h, const char *p)
{
	if (h->type == XS_WATCH_EVENT) {
		const char *tok = memchr(p, '\0', h->len);
		char buf[XS_PAYLOAD_MAX];

		if (!tok)
			return;
		for (int i = 0; i < FX_WATCHES; i++)
			if (fx->w[i].used && fx->w[i].active && strcmp(fx->w[i].ktoken, tok + 1) == 0) {
				struct xs_header eh = {XS_WATCH_EVENT, 0, 0, 0};

				eh.len = (uint32_t)two_strings(p, fx->w[i].utoken, buf);
				send_msg(fx->kfd, &eh, buf);
			}
		return;
	}
	for (int i = 0; i < FX_PENDING; i++) {
		struct fx_pending *pd = &fx->p[i];

		if (pd->kind == P_FREE || pd->kid != h->req_id)
			continue;
		if (pd->kind == P_WATCH) {
			struct fx_watch *w = &fx->w[pd->widx];

			if (h->type == XS_ERROR) {
				to_user(fx, &pd->uhdr, XS_ERROR, p, h->len);
				free(w->upath);
				free(w->utoken);
				memset(w, 0, sizeof(*w));
			} else {
				struct xs_header ack = pd->uhdr;

				w->active = true;
				if (fx->old_kernel)
					ack.req_id = 0;
				to_user(fx, &ack, XS_WATCH, "OK", 3);
			}
		} else if (pd->kind == P_FORWARD) {
			if (pd->uhdr.type == XS_TRANSACTION_START && h->type == XS_TRANSACTION_START) {
				unsigned long id = strtoul(p, NULL, 10);

				for (int k = 0; k < FX_TXNS; k++)
					if (!fx->txns[k]) {
						fx->txns[k] = (uint32_t)id;
						break;
					}
			}
			to_user(fx, &pd->uhdr, h->type, p, h->len);
		}
		pd->kind = P_FREE;
		return;
	}
}

static void *fx_main(void *arg)
{
	struct fake_xenbus *fx = arg;
	unsigned char buf[XS_MSG_MAX + 64];

	for (;;) {
		struct pollfd pfd[3] = {{fx->kfd, POLLIN, 0}, {fx->dfd, POLLIN, 0}, {fx->stopfd, POLLIN, 0}};

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[2].revents)
			break;
		if (pfd[0].revents) {
			ssize_t n = recv(fx->kfd, buf, sizeof(buf), 0);

			if (n <= 0)
				break; /* the file was closed */
			user_packet(fx, buf, (size_t)n);
		}
		if (pfd[1].revents) {
			ssize_t n = recv(fx->dfd, buf, sizeof(buf), 0);
			size_t off = 0;

			if (n <= 0)
				break;
			while (off < (size_t)n) {
				size_t used;

				if (xs_framer_feed(&fx->dfr, buf + off, (size_t)n - off, &used) == XS_FRAMER_MESSAGE)
					daemon_message(fx, &fx->dfr.hdr, xs_framer_payload(&fx->dfr));
				off += used;
			}
		}
	}
	/* Closing the file: the kernel's connection goes, and with it the watches and transactions. */
	shutdown(fx->kfd, SHUT_RDWR);
	return NULL;
}

/* CONTROL restrict <domid> on the fresh connection, synchronously. */
static int restrict_to(int fd, unsigned domid)
{
	char payload[32];
	struct xs_header h = {XS_CONTROL, 1, 0, 0};
	struct xs_framer fr;
	unsigned char buf[256];
	int n = snprintf(payload, sizeof(payload), "restrict%c%u", '\0', domid);

	h.len = (uint32_t)n + 1;
	send_msg(fd, &h, payload);
	xs_framer_init(&fr);
	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		size_t off = 0, used;

		if (got <= 0)
			return -EIO;
		while (off < (size_t)got) {
			if (xs_framer_feed(&fr, buf + off, (size_t)got - off, &used) == XS_FRAMER_MESSAGE)
				return fr.hdr.type == XS_CONTROL ? 0 : -EACCES;
			off += used;
		}
	}
}

int fake_xenbus_start(const char *socket_path, unsigned domid, bool old_kernel, int *user_fd,
		      struct fake_xenbus **out)
{
	struct fake_xenbus *fx = calloc(1, sizeof(*fx));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int sv[2];

	if (!fx)
		return -ENOMEM;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	fx->old_kernel = old_kernel;
	fx->dfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fx->dfd < 0 || connect(fx->dfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    restrict_to(fx->dfd, domid) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		if (fx->dfd >= 0)
			close(fx->dfd);
		free(fx);
		return -EIO;
	}
	fx->kfd = sv[0];
	*user_fd = sv[1];
	fx->stopfd = eventfd(0, EFD_CLOEXEC);
	xs_framer_init(&fx->dfr);
	if (pthread_create(&fx->thread, NULL, fx_main, fx) != 0)
		return -EAGAIN;
	*out = fx;
	return 0;
}

unsigned fake_xenbus_stop(struct fake_xenbus *fx)
{
	uint64_t one = 1;
	unsigned violations;

	if (!fx)
		return 0;
	if (write(fx->stopfd, &one, sizeof(one)) < 0)
		perror("fake_xenbus_stop");
	pthread_join(fx->thread, NULL);
	close(fx->stopfd);
	close(fx->kfd);
	close(fx->dfd);
	for (int i = 0; i < FX_WATCHES; i++) {
		free(fx->w[i].upath);
		free(fx->w[i].utoken);
	}
	violations = fx->violations;
	free(fx);
	return violations;
}
