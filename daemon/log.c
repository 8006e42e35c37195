/* Logging: stderr in the foreground, syslog when daemonised, and an optional trace file. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static bool log_syslog;
static int log_verbose;
static FILE *trace_file;
static char trace_path[4096];

void log_init(bool to_syslog, int verbose)
{
	log_syslog = to_syslog;
	log_verbose = verbose;
	if (to_syslog)
		openlog("xenstored", LOG_PID, LOG_DAEMON);
}

static void vlog(int prio, const char *fmt, va_list ap)
{
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
		return;
	}
	fprintf(stderr, "xenstored: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

int log_trace_open(const char *path)
{
	if (path && path != trace_path)
		snprintf(trace_path, sizeof(trace_path), "%s", path);
	log_trace_close();
	if (!trace_path[0])
		return 0;
	trace_file = fopen(trace_path, "a");
	if (!trace_file)
		return -1;
	setvbuf(trace_file, NULL, _IOLBF, 0);
	return 0;
}

void log_trace_close(void)
{
	if (trace_file)
		fclose(trace_file);
	trace_file = NULL;
}

bool log_tracing(void)
{
	return trace_file != NULL;
}

void log_trace(const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	if (!trace_file)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(trace_file, "%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vfprintf(trace_file, fmt, ap);
	va_end(ap);
	fputc('\n', trace_file);
}
