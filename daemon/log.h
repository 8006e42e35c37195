/* Logging (stderr in the foreground, syslog when daemonised), fatal exits, and the optional trace file. */
#ifndef XSD_LOG_H
#define XSD_LOG_H

#include <stdbool.h>

/* Until it is called, messages go to stderr (start-up errors, the settings' complaints). */
void log_init(bool to_syslog, bool verbose);

/*
 * OpenSMTPD's convention: the plain name appends ": <strerror(errno)>", the
 * x-suffixed one does not. errno is left as it was found.
 */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The old name of log_warnx, kept while callers move to it. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failures: log (fatal with the errno text) and exit with status 1. */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void fatalx(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Open the trace file (an empty path closes it; NULL reopens the last one); 0, or -1 with errno. */
int log_trace_open(const char *path);
void log_trace_close(void);
bool log_tracing(void);
/* A line in the trace file, if one is open. */
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
