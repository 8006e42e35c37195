/* Domains known to the daemon: existence as the hypervisor reports it, and introduced domains. */
#ifndef XSD_DOMAIN_H
#define XSD_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

/* Does the hypervisor know this domain? Decides whether permission entries naming it count. */
bool domain_exists(uint32_t domid);
/* Has it been introduced (has a ring connection)? */
bool domain_is_introduced(uint32_t domid);

#endif
