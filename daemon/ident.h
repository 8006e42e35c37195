/* Whose rights a client acts with: the identity that sessions own and the lower layers read. */
#ifndef XSD_IDENT_H
#define XSD_IDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../proto/path.h"
#include "../proto/wire.h"

struct ident {
	uint32_t domid;  /* whose rights the client has (and whose quotas it uses) */
	uint32_t target; /* SET_TARGET: the domain it may act for, or XS_DOMID_INVALID */
	bool priv;
	char home[32];   /* "/local/domain/<domid>", the base of relative paths */
};

static inline void ident_set(struct ident *id, uint32_t domid, bool priv)
{
	id->domid = domid;
	id->priv = priv;
	xs_path_home(domid, id->home, sizeof(id->home));
}

#endif
