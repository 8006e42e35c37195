/* Request dispatch: the message-type table and every generic check, before a handler runs. */
#ifndef XSD_DISPATCH_H
#define XSD_DISPATCH_H

#include "../proto/wire.h"

struct session;

/* Handle one complete message of a session; queues the reply. */
void dispatch_request(struct session *s, const struct xs_header *h, const char *payload);

#endif
