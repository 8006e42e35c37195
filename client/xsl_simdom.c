/* Simulated domains: a memfd ring page and two eventfds registered with the daemon's simulated hypervisor. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../proto/simhyp.h"
#include "xenstore_client.h"
#include "xsl_transport.h"

struct xsl_simdom {
	uint32_t domid;
	struct xs_ring *ring;
	int reg_fd;           /* the registration: the domain's life */
	int to_store;         /* eventfd we signal */
	struct xsl_evtchn ev; /* ev.fd: the eventfd the store signals */
};

static void sim_notify(struct xsl_evtchn *e)
{
	struct xsl_simdom *d = (struct xsl_simdom *)((char *)e - offsetof(struct xsl_simdom, ev));
	uint64_t one = 1;

	/* EAGAIN: the counter is saturated, the store will look anyway. */
	if (write(d->to_store, &one, sizeof(one)) < 0)
		return;
}

static void sim_ack(struct xsl_evtchn *e)
{
	uint64_t v;

	if (read(e->fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing was pending */
}

/* REGISTER with the page and both eventfds, then the daemon's int32 status. */
static int sim_register(int sock, uint32_t domid, const int fds[SIMHYP_NFDS])
{
	struct simhyp_msg m = {SIMHYP_MAGIC, SIMHYP_VERSION, SIMHYP_REGISTER, domid};
	union {
		char buf[CMSG_SPACE(sizeof(int) * SIMHYP_NFDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {&m, sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm;
	int32_t status;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * SIMHYP_NFDS);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * SIMHYP_NFDS);
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return -errno;
	if (recv(sock, &status, sizeof(status), MSG_WAITALL) != (ssize_t)sizeof(status))
		return -EIO;
	return status > 0 ? -status : (status < 0 ? -EIO : 0);
}

int xsl_simdom_create(const char *simhyp_path, unsigned domid, struct xsl_simdom **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fds[SIMHYP_NFDS] = {-1, -1, -1};
	struct xsl_simdom *d;
	void *page = MAP_FAILED;
	int err = 0;

	if (!simhyp_path || !out || domid > 0xffff)
		return -EINVAL;
	if (strlen(simhyp_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, simhyp_path);
	if (!(d = calloc(1, sizeof(*d))))
		return -ENOMEM;
	d->domid = domid;
	fds[SIMHYP_FD_RING] = memfd_create("xenstore-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	fds[SIMHYP_FD_TO_STORE] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fds[SIMHYP_FD_TO_GUEST] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->reg_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || d->reg_fd < 0 ||
	    ftruncate(fds[SIMHYP_FD_RING], XS_RING_PAGE) < 0)
		err = -errno;
	if (!err) {
		page = mmap(NULL, XS_RING_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[SIMHYP_FD_RING], 0);
		if (page == MAP_FAILED)
			err = -errno;
	}
	if (!err && connect(d->reg_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = -errno;
	if (!err)
		err = sim_register(d->reg_fd, domid, fds);
	/* The store holds the page now; we keep our mapping and the two eventfds. */
	if (fds[SIMHYP_FD_RING] >= 0)
		close(fds[SIMHYP_FD_RING]);
	if (err) {
		if (page != MAP_FAILED)
			munmap(page, XS_RING_PAGE);
		for (int i = SIMHYP_FD_TO_STORE; i < SIMHYP_NFDS; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (d->reg_fd >= 0)
			close(d->reg_fd);
		free(d);
		return err;
	}
	d->ring = page;
	d->to_store = fds[SIMHYP_FD_TO_STORE];
	d->ev.fd = fds[SIMHYP_FD_TO_GUEST];
	d->ev.notify = sim_notify;
	d->ev.ack = sim_ack;
	d->ev.close = NULL; /* the domain keeps its event channel across handles */
	*out = d;
	return 0;
}

int xsl_simdom_shutdown(struct xsl_simdom *d)
{
	struct simhyp_msg m = {SIMHYP_MAGIC, SIMHYP_VERSION, SIMHYP_SHUTDOWN, d->domid};

	return send(d->reg_fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -errno;
}

void xsl_simdom_destroy(struct xsl_simdom *d)
{
	if (!d)
		return;
	close(d->reg_fd);
	close(d->to_store);
	close(d->ev.fd);
	munmap(d->ring, XS_RING_PAGE);
	free(d);
}

int xsl_tr_simring_open(struct xsl_simdom *d, struct xsl_transport **out)
{
	if (!d)
		return -EINVAL;
	return xsl_tr_ring_open(d->ring, &d->ev, NULL, out);
}

struct xs_ring *xsl_simdom_ring(struct xsl_simdom *d, int *to_store, int *to_guest)
{
	if (to_store)
		*to_store = d->to_store;
	if (to_guest)
		*to_guest = d->ev.fd;
	return d->ring;
}
