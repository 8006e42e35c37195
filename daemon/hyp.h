/* The hypervisor port: the few things the daemon needs from Xen, behind one narrow interface. */
#ifndef XSD_HYP_H
#define XSD_HYP_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct xs_ring;

/* What the hypervisor says about a domain. */
enum hyp_domain_state {
	HYP_DOM_NONE = 0,  /* no such domain (never was, or gone) */
	HYP_DOM_RUNNING,
	HYP_DOM_SHUTDOWN,  /* shut down (crashed, powered off): still there */
	HYP_DOM_DYING,     /* being destroyed */
};

struct hyp_callbacks {
	/* An event channel bound with bind() was notified (notifications coalesce). */
	void (*port_ready)(uint32_t local_port);
	/* Some domain changed state (VIRQ_DOM_EXC): look at the domains of interest. */
	void (*domains_changed)(void);
};

struct hyp_ops {
	const char *name;
	/* 0, or -1 with errno. */
	int (*open)(struct event_base *base, const struct hyp_callbacks *cb);
	void (*close)(void);
	/* Map a domain's store ring (grant reference 1), or NULL with errno. */
	struct xs_ring *(*map_ring)(uint32_t domid);
	void (*unmap_ring)(uint32_t domid, struct xs_ring *ring);
	/* Bind an interdomain event channel: 0 and *local_port, or -1 with errno. */
	int (*bind)(uint32_t domid, uint32_t remote_port, uint32_t *local_port);
	void (*unbind)(uint32_t local_port);
	/*
	 * Optional (NULL: map_ring, then bind): both at once, the ring or NULL
	 * with errno (nothing left mapped or bound then).
	 */
	struct xs_ring *(*map_and_bind)(uint32_t domid, uint32_t remote_port, uint32_t *local_port);
	void (*notify)(uint32_t local_port);
	enum hyp_domain_state (*domain_state)(uint32_t domid);
	/*
	 * Which life of the domain this is, asked afresh (a restarted daemon
	 * taking up the domains it served): 0 and *incarnation (a number never
	 * the same for a domid reused; 0 if the port cannot tell) for a domain
	 * that is there and not dying; -1 with errno ENOENT for none, ENOTCONN
	 * when the hypervisor cannot be asked now.
	 */
	int (*identify)(uint32_t domid, uint64_t *incarnation);
	/*
	 * The daemon's own domain's ring and port where the system offers them
	 * (/proc/xen/xsd_kva and xsd_port on Linux dom0): 0, or -1 if none.
	 */
	int (*own_ring)(struct xs_ring **ring, uint32_t *port);
};

extern const struct hyp_ops hyp_xen; /* hyp_xen.c: libxengnttab, libxenevtchn, libxenctrl */
extern const struct hyp_ops hyp_sim; /* hyp_sim.c: shared memory and eventfds between processes */

/* Whether this host runs on Xen (the Xen port is usable). */
bool hyp_xen_present(void);

#endif
