/* Domains: the hypervisor port in use, introduced domains and their rings, release and death. */
#ifndef XSD_DOMAIN_H
#define XSD_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "../proto/wire.h"

struct event_base;

/* Which hypervisor port to use: the real one when on Xen, else the simulated one. */
enum domain_hyp_choice { DOMAIN_HYP_AUTO, DOMAIN_HYP_XEN, DOMAIN_HYP_SIM, DOMAIN_HYP_NONE };

/* Open the hypervisor port and, on Xen, serve the daemon's own domain's ring. 0 or -1. */
int domain_init(struct event_base *base, enum domain_hyp_choice choice);
void domain_fini(void);
const char *domain_hyp_name(void);

/* Does the hypervisor know this domain? Decides whether permission entries naming it count. */
bool domain_exists(uint32_t domid);
/* Has it been introduced (has a ring connection)? */
bool domain_is_introduced(uint32_t domid);

/* The handlers' operations; arguments already parsed and privilege checked. */
enum xs_err domain_introduce(uint32_t domid, uint32_t port);
/*
 * Before an INTRODUCE of domid: if the life of it we serve has ended and the
 * hypervisor's notice is still on its way, it is gone now (its clean-up
 * queued), so that the new life is not taken for a reconnection of the old.
 */
void domain_notice_death(uint32_t domid);
enum xs_err domain_release(uint32_t domid);
enum xs_err domain_resume(uint32_t domid);
enum xs_err domain_set_target(uint32_t domid, uint32_t target);
unsigned domain_count(void);

/* A quota value of the domain's own was set (SET_QUOTA): kept, if it is served (the store's error). */
enum xs_err domain_kept_changed(uint32_t domid);
/* CONTROL check: what is kept of the domains agrees with the store and with the domains served. NULL, or the fault. */
const char *domain_check(void);

/* Ring features (XS_RING_F_*): all the daemon supports; a domain's (its server_features from INTRODUCE on). */
unsigned domain_features_supported(void);
unsigned domain_features(uint32_t domid);
/* SET_FEATURE: ENOENT for no such domain, EBUSY once introduced, EINVAL for an unsupported bit. */
enum xs_err domain_set_features(uint32_t domid, unsigned features);

#endif
