/* Logging: stderr in the foreground, syslog when daemonised, and an optional trace file. */
#ifndef XSD_LOG_H
#define XSD_LOG_H

#include <stdbool.h>

void log_init(bool to_syslog, int verbose);
/* Open (or reopen, on SIGHUP) the trace file; NULL closes it. 0 or -1. */
int log_trace_open(const char *path);
void log_trace_close(void);
bool log_tracing(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line in the trace file, if one is open. */
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
