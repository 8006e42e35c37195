/* Domain-side "hypercalls" of the simulated hypervisor: one request, one reply, over its SOCK_SEQPACKET socket. */
#include "simhyp_call.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint32_t call_seq;

int simhyp_default_path(char *buf, size_t size)
{
	const char *dir = getenv("XENSTORED_RUNDIR");
	int n = snprintf(buf, size, "%s/%s", dir && *dir ? dir : "/var/run/xenstored", SIMHYP_SOCKET_NAME);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int simhyp_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char def[sizeof(sa.sun_path)];
	int fd;

	if (!path) {
		if (simhyp_default_path(def, sizeof(def)) < 0)
			return -ENAMETOOLONG;
		path = def;
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	/* A reply is waited for in recvmsg itself (one system call), at most this long. */
	{
		struct timeval tv = {SIMHYP_CALL_TIMEOUT_MS / 1000, (SIMHYP_CALL_TIMEOUT_MS % 1000) * 1000};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

ssize_t simhyp_send_raw(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (nfds > 8)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t recv_flags(int fd, void *buf, size_t size, int *fds, unsigned *nfds, bool *trunc, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SIMHYP_FDS_MAX)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	unsigned max = *nfds, got = 0;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < max)
				fds[got++] = f;
			else
				close(f);
		}
	}
	*nfds = got;
	*trunc = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	return n;
}

ssize_t simhyp_recv_raw(int fd, void *buf, size_t size, int *fds, unsigned *nfds, bool *trunc)
{
	return recv_flags(fd, buf, size, fds, nfds, trunc, MSG_DONTWAIT);
}

/* One datagram whole, or -EPROTO (its descriptors closed); waiting for it unless flags say not. */
static ssize_t recv_whole(int fd, void *buf, size_t size, int *fds, unsigned *nfds, int flags)
{
	bool trunc;
	ssize_t n = recv_flags(fd, buf, size, fds, nfds, &trunc, flags);

	if (n >= 0 && trunc) {
		for (unsigned i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return n;
}

int simhyp_send_req(int fd, uint16_t op, void *req, size_t reqlen, const int *fds, unsigned nfds)
{
	struct simhyp_hdr *h = req;
	ssize_t n;

	if (reqlen < sizeof(*h) || reqlen > SIMHYP_MSG_MAX)
		return -EINVAL;
	h->magic = SIMHYP_MAGIC;
	h->version = SIMHYP_VERSION;
	h->op = op;
	h->len = (uint32_t)reqlen;
	h->seq = __atomic_add_fetch(&call_seq, 1, __ATOMIC_RELAXED);
	n = simhyp_send_raw(fd, req, reqlen, fds, nfds);
	if (n < 0)
		return n == -EPIPE ? -ECONNRESET : (int)n;
	return 0;
}

int simhyp_recv_reply(int fd, const void *req, void *rep, size_t repmax, int *rfds, unsigned *nrfds)
{
	const struct simhyp_hdr *h = req;
	struct simhyp_reply_hdr *r = rep;
	unsigned got = rfds && nrfds ? SIMHYP_FDS_MAX : 0;
	ssize_t n;

	if (nrfds)
		*nrfds = 0;
	if (repmax < sizeof(*r))
		return -EINVAL;
	n = recv_whole(fd, rep, repmax, rfds, &got, 0);
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return -ETIMEDOUT; /* SO_RCVTIMEO ran out */
	if (n < 0)
		return n == -ECONNREFUSED ? -ECONNRESET : (int)n;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n < sizeof(*r) || r->h.magic != SIMHYP_MAGIC || r->h.op != (h->op | SIMHYP_REPLY) ||
	    r->h.seq != h->seq || r->h.len != (uint32_t)n || r->status < 0 || (r->status && got)) {
		for (unsigned i = 0; i < got; i++)
			close(rfds[i]);
		return -EPROTO;
	}
	if (r->status)
		return -r->status;
	if (nrfds)
		*nrfds = got;
	else
		for (unsigned i = 0; i < got; i++)
			close(rfds[i]);
	return (int)n;
}

int simhyp_recv_discard(int fd, bool wait)
{
	union {
		unsigned char b[SIMHYP_MSG_MAX];
		struct simhyp_reply_hdr r;
	} m;
	int fds[SIMHYP_FDS_MAX];
	unsigned n = SIMHYP_FDS_MAX;
	ssize_t len = recv_whole(fd, m.b, sizeof(m.b), fds, &n, wait ? 0 : MSG_DONTWAIT);

	for (unsigned i = 0; len > 0 && i < n; i++)
		close(fds[i]);
	if (len == -EAGAIN || len == -EWOULDBLOCK)
		return wait ? -ETIMEDOUT : -EAGAIN;
	if (len <= 0)
		return len == 0 ? -ECONNRESET : (int)len;
	if ((size_t)len < sizeof(m.r) || m.r.h.magic != SIMHYP_MAGIC || !(m.r.h.op & SIMHYP_REPLY))
		return -EPROTO;
	return 0;
}

int simhyp_call(int fd, uint16_t op, void *req, size_t reqlen, const int *fds, unsigned nfds,
		void *rep, size_t repmax, int *rfds, unsigned *nrfds)
{
	int rc;

	if (nrfds)
		*nrfds = 0;
	if (repmax < sizeof(struct simhyp_reply_hdr))
		return -EINVAL;
	rc = simhyp_send_req(fd, op, req, reqlen, fds, nfds);
	return rc < 0 ? rc : simhyp_recv_reply(fd, req, rep, repmax, rfds, nrfds);
}

ssize_t simhyp_recv_notice(int fd, void *buf, size_t size)
{
	int fds[SIMHYP_FDS_MAX];
	unsigned got = SIMHYP_FDS_MAX;
	ssize_t n = recv_whole(fd, buf, size, fds, &got, MSG_DONTWAIT);

	if (n > 0 && got) {
		for (unsigned i = 0; i < got; i++)
			close(fds[i]);
		return -EPROTO;
	}
	return n;
}
