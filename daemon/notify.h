/* Telling the service manager how we are: the sd_notify datagram to $NOTIFY_SOCKET, without libsystemd. */
#ifndef XSD_NOTIFY_H
#define XSD_NOTIFY_H

/*
 * Send state ("READY=1", "STOPPING=1", newline-separated assignments) to
 * the unix datagram socket named by $NOTIFY_SOCKET: a path, or "@name" for
 * an abstract one. Returns 1 when sent, 0 when no manager asked (the
 * variable is unset or empty), -1 with errno on failure.
 */
int notify_send(const char *state);

#endif
