/* The daemon's unix socket (accepting, pausing at the limits) and the one way any unix socket is set up to listen. */
#ifndef XSD_LISTENER_H
#define XSD_LISTENER_H

#include <sys/types.h>

struct event_base;

/*
 * Whether path is free to listen on (0): absent, a socket left by a daemon
 * that died, or another file, which is replaced as the C daemon does. -1 with
 * errno EADDRINUSE if a daemon accepts there. Touches nothing.
 */
int listener_stale(const char *path);

/*
 * A listening, non-blocking unix socket at path with the given file mode; a
 * stale file is replaced, a socket a daemon listens on is left alone
 * (EADDRINUSE). The descriptor, or -1 with errno set (a path too long for
 * sun_path is ENAMETOOLONG). Logs nothing: callers say what for.
 */
int listener_unix(const char *path, mode_t mode, int backlog);

/* Bind and listen (a stale socket file is replaced); 0 or -1 with a logged reason. */
int listener_open(struct event_base *base, const char *path);
void listener_close(void);
/* A live update: the socket the last daemon listened on (inherited across exec), served at path. */
int listener_adopt(struct event_base *base, const char *path, int fd);
/* The listening socket's descriptor, -1 if none. */
int listener_fd(void);

/*
 * The descriptor reserve (fd-reserve): held open so that accept fails while
 * they are still there. Given back for a moment around work that needs
 * descriptors (introducing a domain), then taken again as far as it can be.
 */
void listener_reserve_release(void);
void listener_reserve_restore(void);

#endif
