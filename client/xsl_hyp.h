/* The hypervisor handle (xsl_hyp_*, xsl_gnt_*, xsl_evt_*): one table of operations, two implementations. */
#ifndef XSL_HYP_H
#define XSL_HYP_H

#include <stdint.h>

#include "xenstore_client.h"

struct xsl_hyp_ops {
	void (*close)(struct xsl_hyp *h);
	void *(*gnt_share)(struct xsl_hyp *h, unsigned domid, unsigned count, int writable, uint32_t *refs,
			   int *err);
	int (*gnt_unshare)(struct xsl_hyp *h, void *area, unsigned count);
	void *(*gnt_alloc)(struct xsl_hyp *h, unsigned count, int *err);
	void (*gnt_free)(struct xsl_hyp *h, void *area, unsigned count);
	int (*gnt_grant)(struct xsl_hyp *h, unsigned domid, void *page, int readonly, uint32_t *ref);
	int (*gnt_end)(struct xsl_hyp *h, uint32_t ref);
	void *(*gnt_map)(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs,
			 int writable, int *err);
	int (*gnt_unmap)(struct xsl_hyp *h, void *area, unsigned count);
	struct xsl_gnt_pages *(*gnt_map_pages)(struct xsl_hyp *h, unsigned domid, unsigned count,
					       const uint32_t *refs, int writable, void **pages, int *err);
	int (*gnt_unmap_pages)(struct xsl_hyp *h, struct xsl_gnt_pages *m);
	int (*evt_alloc_unbound)(struct xsl_hyp *h, unsigned remote_domid, uint32_t *port);
	int (*evt_bind)(struct xsl_hyp *h, unsigned remote_domid, uint32_t remote_port, uint32_t *local_port);
	int (*evt_notify)(struct xsl_hyp *h, uint32_t port);
	int (*evt_fd)(struct xsl_hyp *h, uint32_t port);
	void (*evt_ack)(struct xsl_hyp *h, uint32_t port);
	int (*evt_close)(struct xsl_hyp *h, uint32_t port);
};

/* Each implementation embeds this first. */
struct xsl_hyp {
	const struct xsl_hyp_ops *ops;
	unsigned domid;
};

/* Xen: 0, -ENOENT without Xen's devices (or -ENOSYS without its libraries' support). */
int xsl_hyp_xen_open(struct xsl_hyp **out, const struct xsl_hyp_opts *opts);
/* Whether /dev/xen/evtchn can be opened. */
int xsl_hyp_xen_present(void);

/* The simulated hypervisor (xsl_hyp_sim.c). */
struct sim_mem;
int xsl_hyp_sim_open(struct xsl_hyp **out, const struct xsl_hyp_opts *opts);
/*
 * A new domain (CREATE; the handle's life is the domain's) with mem_pages of
 * memory and a grant table; store_port not NULL: its store port made with it,
 * unbound for dom0 (as a toolstack does). Or (ATTACH) a handle acting for an
 * existing one; mem: the simulated domain's memory, shared with this handle.
 */
int xsl_hyp_sim_create(const char *path, unsigned domid, unsigned mem_pages, uint32_t *store_port,
		       struct xsl_hyp **out);
int xsl_hyp_sim_attach(const char *path, unsigned domid, struct sim_mem *mem, struct xsl_hyp **out);
/* The domain's memory of a handle that has one (a reference taken by attach), or NULL. */
struct sim_mem *xsl_hyp_sim_mem(struct xsl_hyp *h);
/* Grant page frame to domid at reference ref (chosen by the caller: the reserved ones). */
int xsl_hyp_sim_grant_ref(struct xsl_hyp *h, uint32_t ref, unsigned domid, void *page, int readonly);
int xsl_hyp_sim_shutdown(struct xsl_hyp *h, unsigned reason);
/* A handle acting for a simulated domain, sharing its memory (xsl_simdom.c). */
int xsl_simdom_hyp(struct xsl_simdom *d, struct xsl_hyp **out);
/* The peer's eventfd of a port as of now (refreshed when its generation moved), or -1. */
int xsl_hyp_sim_peer_fd(struct xsl_hyp *h, uint32_t port);

#endif
