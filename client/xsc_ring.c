/* The guest side of a store ring: a simulated domain's page and event channel, and the client over them. */
#include "xsc_ring.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../proto/simhyp.h"

static int send_registration(int fd, uint32_t domid, const int fds[SIMHYP_NFDS])
{
	struct simhyp_msg m = {SIMHYP_MAGIC, SIMHYP_VERSION, SIMHYP_REGISTER, domid};
	char cbuf[CMSG_SPACE(sizeof(int) * SIMHYP_NFDS)];
	struct iovec iov = {&m, sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * SIMHYP_NFDS);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * SIMHYP_NFDS);
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

struct xsc_simdom *xsc_simdom_create(const char *simhyp_socket, uint32_t domid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xsc_simdom *d = calloc(1, sizeof(*d));
	int fds[SIMHYP_NFDS] = {-1, -1, -1};
	int32_t status = EIO;
	void *page;
	int e;

	if (!d)
		return NULL;
	d->domid = domid;
	d->reg_fd = -1;
	if (strlen(simhyp_socket) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	strcpy(sa.sun_path, simhyp_socket);
	fds[SIMHYP_FD_RING] = memfd_create("xenstore-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	fds[SIMHYP_FD_TO_STORE] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fds[SIMHYP_FD_TO_GUEST] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || ftruncate(fds[0], XS_RING_PAGE) < 0)
		goto fail;
	page = mmap(NULL, XS_RING_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (page == MAP_FAILED)
		goto fail;
	d->ring = page;
	d->reg_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->reg_fd < 0 || connect(d->reg_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send_registration(d->reg_fd, domid, fds) < 0 ||
	    recv(d->reg_fd, &status, sizeof(status), MSG_WAITALL) != sizeof(status))
		goto fail;
	if (status != 0) {
		errno = status;
		goto fail;
	}
	/* The page is shared now; our copies of the other descriptors are what we keep. */
	close(fds[SIMHYP_FD_RING]);
	d->to_store = fds[SIMHYP_FD_TO_STORE];
	d->to_guest = fds[SIMHYP_FD_TO_GUEST];
	return d;
fail:
	e = errno;
	for (int i = 0; i < SIMHYP_NFDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (d->ring)
		munmap(d->ring, XS_RING_PAGE);
	if (d->reg_fd >= 0)
		close(d->reg_fd);
	free(d);
	errno = e;
	return NULL;
}

int xsc_simdom_shutdown(struct xsc_simdom *d)
{
	struct simhyp_msg m = {SIMHYP_MAGIC, SIMHYP_VERSION, SIMHYP_SHUTDOWN, d->domid};

	return send(d->reg_fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

void xsc_simdom_destroy(struct xsc_simdom *d)
{
	if (!d)
		return;
	close(d->reg_fd);
	close(d->to_store);
	close(d->to_guest);
	munmap(d->ring, XS_RING_PAGE);
	free(d);
}

void xsc_simdom_notify(struct xsc_simdom *d)
{
	uint64_t one = 1;

	if (write(d->to_store, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

/* Wait for the store's next notification (or timeout_ms); clears what has accumulated. */
static int wait_notification(struct xsc_simdom *d, int timeout_ms)
{
	struct pollfd pfd = {.fd = d->to_guest, .events = POLLIN};
	uint64_t v;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (r < 0)
		return -1;
	if (read(d->to_guest, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

/* A store that has stopped serving us says why in the error field. */
static int ring_broken(struct xsc_simdom *d)
{
	if (xs_ring_load(&d->ring->error) != XS_RING_ERR_NONE) {
		errno = EIO;
		return 1;
	}
	return 0;
}

static int ring_send(struct xsc *c, const void *buf, size_t len)
{
	struct xsc_simdom *d = xsc_transport_state(c);
	struct xs_ring *r = d->ring;
	const char *p = buf;

	while (len > 0) {
		int n;

		if (ring_broken(d))
			return -1;
		n = xs_ring_produce(r->req, &r->req_cons, &r->req_prod, p, len);
		if (n < 0) {
			errno = EPROTO;
			return -1;
		}
		if (n > 0) {
			xsc_simdom_notify(d);
			p += n;
			len -= (size_t)n;
			continue;
		}
		/* Full: the store notifies when it has taken some. */
		if (wait_notification(d, 5000) < 0)
			return -1;
	}
	return 0;
}

static ssize_t ring_recv(struct xsc *c, void *buf, size_t len, int timeout_ms)
{
	struct xsc_simdom *d = xsc_transport_state(c);
	struct xs_ring *r = d->ring;
	long long deadline = timeout_ms < 0 ? -1 : xsc_now_ms() + timeout_ms;

	for (;;) {
		int n = xs_ring_consume(r->rsp, &r->rsp_cons, &r->rsp_prod, buf, len);

		if (n < 0) {
			errno = EPROTO;
			return -1;
		}
		if (n > 0) {
			xsc_simdom_notify(d); /* room for more replies */
			return n;
		}
		if (ring_broken(d))
			return -1;
		int wait = xsc_ms_left(deadline);

		if (wait_notification(d, wait) < 0)
			return -1;
		if (wait == 0) {
			/* That was the last look: nothing arrived in time. */
			if (xs_ring_pending(&r->rsp_cons, &r->rsp_prod) > 0)
				continue;
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

static const struct xsc_transport ring_transport = {ring_send, ring_recv, NULL};

struct xsc *xsc_open_ring(struct xsc_simdom *d)
{
	return xsc_open_transport(&ring_transport, d);
}

int xsc_ring_reconnect(struct xsc_simdom *d, int timeout_ms)
{
	long long deadline = xsc_now_ms() + timeout_ms;

	xs_ring_store(&d->ring->connection, XS_RING_RECONNECT);
	xsc_simdom_notify(d);
	while (xs_ring_load(&d->ring->connection) != XS_RING_CONNECTED) {
		long long left = deadline - xsc_now_ms();

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (wait_notification(d, (int)left) < 0 && errno != ETIMEDOUT)
			return -1;
	}
	return 0;
}

static int call_ok(struct xsc *priv, uint32_t type, const char *const *args)
{
	char buf[256];
	struct xsc_msg m;
	int len = xsc_payload(buf, sizeof(buf), 0, args);

	if (len < 0 || xsc_call(priv, type, 0, buf, (size_t)len, &m, 5000) < 0)
		return errno ? errno : EIO;
	if (m.hdr.type == XS_ERROR)
		return xs_err_to_errno(xs_err_from_name(m.payload, m.hdr.len ? m.hdr.len - 1 : 0));
	return 0;
}

int xsc_introduce(struct xsc *priv, uint32_t domid)
{
	char home[32], owner[16], id[16];
	int e;

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(owner, sizeof(owner), "n%u", domid);
	snprintf(id, sizeof(id), "%u", domid);
	if ((e = call_ok(priv, XS_MKDIR, (const char *const[]){home, NULL})) != 0 ||
	    (e = call_ok(priv, XS_SET_PERMS, (const char *const[]){home, owner, NULL})) != 0)
		return e;
	/* The frame number is unused by the store (it maps grant 1); any port above 0 will do. */
	return call_ok(priv, XS_INTRODUCE, (const char *const[]){id, "0", "1", NULL});
}
