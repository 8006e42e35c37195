/* The simulated hypervisor port: guests in other processes share a memfd ring page and eventfds. */
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../proto/ring.h"
#include "../proto/simhyp.h"
#include "../proto/wire.h"
#include "config.h"
#include "grow.h"
#include "hyp.h"
#include "listener.h"
#include "log.h"

/*
 * A registered domain: what a real hypervisor would hold for it. The
 * registration connection is the domain's life: when it closes, the domain
 * is destroyed, as if the toolstack had destroyed it.
 */
struct sim_domain {
	uint32_t domid;
	int reg_fd;               /* registration connection; -1 once dead */
	struct event *reg_ev;
	int ring_fd, to_store_fd, to_guest_fd;
	enum hyp_domain_state state;
	uint32_t local_port;      /* 0 when unbound */
	struct event *port_ev;
};

static struct event_base *sim_base;
/* Deaths and shutdowns are reported once per pass of the loop, like VIRQ_DOM_EXC coalescing. */
static struct event *sim_virq_ev;
static struct hyp_callbacks sim_cb;
static int sim_listen_fd = -1;
static struct event *sim_listen_ev;
static char sim_socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct sim_domain *sim_domains[XS_DOMID_MAX + 1];
/* Domains that died: they do not exist again until they register anew. */
static uint8_t sim_dead[(XS_DOMID_MAX + 1) / 8];
static struct sim_domain **sim_ports; /* local port -> domain */
static size_t sim_nports;
static uint32_t sim_next_port = 1;

static void sim_close_fds(struct sim_domain *d)
{
	if (d->port_ev)
		event_free(d->port_ev);
	d->port_ev = NULL;
	if (d->reg_ev)
		event_free(d->reg_ev);
	d->reg_ev = NULL;
	if (d->reg_fd >= 0)
		close(d->reg_fd);
	if (d->ring_fd >= 0)
		close(d->ring_fd);
	if (d->to_store_fd >= 0)
		close(d->to_store_fd);
	if (d->to_guest_fd >= 0)
		close(d->to_guest_fd);
	d->reg_fd = d->ring_fd = d->to_store_fd = d->to_guest_fd = -1;
}

static void sim_domain_free(struct sim_domain *d)
{
	if (d->local_port && d->local_port < sim_nports)
		sim_ports[d->local_port] = NULL;
	sim_close_fds(d);
	sim_domains[d->domid] = NULL;
	free(d);
}

/* The guest's "hypervisor" connection: SHUTDOWN messages, or EOF for destruction. */
static void sim_reg_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;
	struct simhyp_msg m;
	ssize_t n;

	(void)what;
	n = recv(fd, &m, sizeof(m), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == (ssize_t)sizeof(m) && m.magic == SIMHYP_MAGIC && m.op == SIMHYP_SHUTDOWN) {
		d->state = HYP_DOM_SHUTDOWN;
		event_active(sim_virq_ev, EV_TIMEOUT, 0);
		return;
	}
	/* Closed (or garbage): the domain is destroyed. */
	log_debug("simhyp: domain %u destroyed", d->domid);
	sim_dead[d->domid / 8] |= (uint8_t)(1u << (d->domid % 8));
	d->state = HYP_DOM_NONE;
	sim_domain_free(d);
	event_active(sim_virq_ev, EV_TIMEOUT, 0);
}

static void sim_virq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sim_cb.domains_changed();
}

static int recv_registration(int fd, struct simhyp_msg *m, int fds[SIMHYP_NFDS])
{
	char cbuf[CMSG_SPACE(sizeof(int) * SIMHYP_NFDS)];
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	int got = 0;

	for (int i = 0; i < SIMHYP_NFDS; i++)
		fds[i] = -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (int i = 0; i < count; i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < SIMHYP_NFDS)
				fds[got++] = f;
			else
				close(f);
		}
	}
	if (n != (ssize_t)sizeof(*m) || got != SIMHYP_NFDS || m->magic != SIMHYP_MAGIC ||
	    m->version != SIMHYP_VERSION || m->op != SIMHYP_REGISTER)
		return EINVAL;
	if (m->domid == 0 || m->domid >= XS_DOMID_SELF)
		return EINVAL;
	return 0;
}

/* A registration, read when its message arrives (or dropped after a second of silence). */
static void sim_register_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event **self = arg;
	struct simhyp_msg m;
	int fds[SIMHYP_NFDS] = {-1, -1, -1};
	int32_t status = ETIMEDOUT;
	struct sim_domain *d = NULL;
	struct stat st;

	event_free(*self);
	free(self);
	if (what & EV_READ)
		status = recv_registration(fd, &m, fds);
	if (!status && (fstat(fds[SIMHYP_FD_RING], &st) < 0 || st.st_size < (off_t)XS_RING_PAGE))
		status = EINVAL;
	/*
	 * The page must stay a page: a guest that shrank its file under the
	 * daemon's mapping would make the daemon's next access fault (SIGBUS).
	 * The seal binds the guest too; a file that cannot be sealed is refused.
	 */
	if (!status && fcntl(fds[SIMHYP_FD_RING], F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		log_info("simhyp: domain %u: ring file cannot be sealed against shrinking: %s",
			 m.domid, strerror(errno));
		status = EINVAL;
	}
	if (!status && sim_domains[m.domid])
		status = EEXIST;
	if (!status && !(d = calloc(1, sizeof(*d))))
		status = ENOMEM;
	if (d) {
		d->domid = m.domid;
		d->reg_fd = fd;
		d->ring_fd = fds[SIMHYP_FD_RING];
		d->to_store_fd = fds[SIMHYP_FD_TO_STORE];
		d->to_guest_fd = fds[SIMHYP_FD_TO_GUEST];
		d->state = HYP_DOM_RUNNING;
		d->reg_ev = event_new(sim_base, fd, EV_READ | EV_PERSIST, sim_reg_cb, d);
		if (!d->reg_ev || event_add(d->reg_ev, NULL) < 0) {
			status = ENOMEM;
			d->reg_fd = -1; /* closed below */
			sim_close_fds(d);
			free(d);
			d = NULL;
		} else {
			sim_domains[m.domid] = d;
			sim_dead[m.domid / 8] &= (uint8_t) ~(1u << (m.domid % 8));
			log_debug("simhyp: domain %u registered", m.domid);
		}
	} else {
		for (int i = 0; i < SIMHYP_NFDS; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	if (send(fd, &status, sizeof(status), MSG_NOSIGNAL | MSG_DONTWAIT) != sizeof(status) && d) {
		sim_domain_free(d);
		return;
	}
	if (!d)
		close(fd);
}

static void sim_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval tv = {1, 0};
	struct event **ev;
	int fd;

	(void)what;
	(void)arg;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	/* The registration message follows the connection; never wait for it in place. */
	ev = malloc(sizeof(*ev));
	if (ev)
		*ev = event_new(sim_base, fd, EV_READ, sim_register_cb, ev);
	if (!ev || !*ev || event_add(*ev, &tv) < 0) {
		if (ev && *ev)
			event_free(*ev);
		free(ev);
		close(fd);
	}
}

static int sim_open(struct event_base *base, const struct hyp_callbacks *cb)
{
	int n;

	sim_base = base;
	sim_cb = *cb;
	sim_virq_ev = event_new(base, -1, 0, sim_virq_cb, NULL);
	if (!sim_virq_ev)
		return -1;
	n = snprintf(sim_socket_path, sizeof(sim_socket_path), "%s/%s", cfg.run_dir, SIMHYP_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(sim_socket_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	sim_listen_fd = listener_unix(sim_socket_path, 0600, SOMAXCONN);
	if (sim_listen_fd < 0)
		return -1;
	sim_listen_ev = event_new(base, sim_listen_fd, EV_READ | EV_PERSIST, sim_accept_cb, NULL);
	if (!sim_listen_ev || event_add(sim_listen_ev, NULL) < 0)
		return -1;
	log_info("simulated hypervisor on %s", sim_socket_path);
	return 0;
}

static void sim_close(void)
{
	for (uint32_t i = 0; i <= XS_DOMID_MAX; i++)
		if (sim_domains[i])
			sim_domain_free(sim_domains[i]);
	if (sim_listen_ev)
		event_free(sim_listen_ev);
	if (sim_virq_ev)
		event_free(sim_virq_ev);
	sim_listen_ev = sim_virq_ev = NULL;
	if (sim_listen_fd >= 0) {
		close(sim_listen_fd);
		unlink(sim_socket_path);
	}
	sim_listen_fd = -1;
	free(sim_ports);
	sim_ports = NULL;
	sim_nports = 0;
}

static struct xs_ring *sim_map_ring(uint32_t domid)
{
	struct sim_domain *d = domid <= XS_DOMID_MAX ? sim_domains[domid] : NULL;
	void *p;

	if (!d) {
		errno = ENOENT;
		return NULL;
	}
	p = mmap(NULL, XS_RING_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, d->ring_fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void sim_unmap_ring(uint32_t domid, struct xs_ring *ring)
{
	(void)domid;
	munmap(ring, XS_RING_PAGE);
}

static void sim_port_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;
	uint64_t v;

	(void)what;
	/* Reading the counter takes every pending notification at once: they coalesce. */
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	sim_cb.port_ready(d->local_port);
}

static int sim_bind(uint32_t domid, uint32_t remote_port, uint32_t *local_port)
{
	struct sim_domain *d = domid <= XS_DOMID_MAX ? sim_domains[domid] : NULL;

	(void)remote_port;
	if (!d) {
		errno = ENOENT;
		return -1;
	}
	if (d->local_port) {
		errno = EBUSY;
		return -1;
	}
	if (sim_next_port >= sim_nports) {
		size_t old = sim_nports;

		if (!GROW(sim_ports, sim_nports, (size_t)sim_next_port + 1, 64))
			return -1;
		memset(sim_ports + old, 0, (sim_nports - old) * sizeof(*sim_ports));
	}
	d->port_ev = event_new(sim_base, d->to_store_fd, EV_READ | EV_PERSIST, sim_port_cb, d);
	if (!d->port_ev || event_add(d->port_ev, NULL) < 0)
		return -1;
	d->local_port = sim_next_port++;
	sim_ports[d->local_port] = d;
	*local_port = d->local_port;
	return 0;
}

static void sim_unbind(uint32_t local_port)
{
	struct sim_domain *d = local_port < sim_nports ? sim_ports[local_port] : NULL;

	if (!d)
		return;
	sim_ports[local_port] = NULL;
	d->local_port = 0;
	if (d->port_ev)
		event_free(d->port_ev);
	d->port_ev = NULL;
}

static void sim_notify(uint32_t local_port)
{
	struct sim_domain *d = local_port < sim_nports ? sim_ports[local_port] : NULL;
	uint64_t one = 1;

	if (d && write(d->to_guest_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("simhyp: notify domain %u: %s", d->domid, strerror(errno));
}

static enum hyp_domain_state sim_domain_state(uint32_t domid)
{
	if (domid > XS_DOMID_MAX)
		return HYP_DOM_NONE;
	if (sim_domains[domid])
		return sim_domains[domid]->state;
	/*
	 * A domain never registered is taken to exist, so that a toolstack on a
	 * machine without Xen can name any domain in permissions (as the
	 * reference does under XSSHIM_DOMAINS=all); one that died does not.
	 */
	if (domid >= XS_DOMID_SELF || (sim_dead[domid / 8] & (1u << (domid % 8))))
		return HYP_DOM_NONE;
	return HYP_DOM_RUNNING;
}

static int sim_own_ring(struct xs_ring **ring, uint32_t *port)
{
	(void)ring;
	(void)port;
	return -1;
}

const struct hyp_ops hyp_sim = {
	.name = "simulated",
	.open = sim_open,
	.close = sim_close,
	.map_ring = sim_map_ring,
	.unmap_ring = sim_unmap_ring,
	.bind = sim_bind,
	.unbind = sim_unbind,
	.notify = sim_notify,
	.domain_state = sim_domain_state,
	.own_ring = sim_own_ring,
};
