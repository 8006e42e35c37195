/* The unix socket the daemon listens on: creation, permissions, accepting connections. */
#ifndef XSD_LISTENER_H
#define XSD_LISTENER_H

struct event_base;

/* Bind and listen (a stale socket file is replaced); 0 or -1 with a logged reason. */
int listener_open(struct event_base *base, const char *path);
void listener_close(void);

#endif
