/* Logging (stderr in the foreground, syslog when daemonised), fatal exits, and the trace file in the C daemon's format. */
#ifndef XSD_LOG_H
#define XSD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Until it is called, messages go to stderr (start-up errors, the settings' complaints). */
void log_init(bool to_syslog, bool verbose);

/*
 * OpenSMTPD's convention: the plain name appends ": <strerror(errno)>", the
 * x-suffixed one does not. errno is left as it was found. Control characters
 * in the message (a client's path or string) are escaped, so that a message
 * is always one line.
 */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failures: log (fatal with the errno text) and exit with status 1. */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void fatalx(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * At most a line a period (default a second) from one place (a client can
 * cause one per request): whether to log now; if so *unsaid is how many
 * were not since.
 */
struct log_limit {
	long period; /* seconds between lines; 0: 1 */
	long last;   /* the second of the last line */
	unsigned long quiet;
};
bool log_limited(struct log_limit *l, unsigned long *unsaid);

/*
 * Escape len bytes of src into dst (at most size - 1 bytes and a NUL): a
 * backslash as "\\", \n \r \t as such, any other byte below 0x20 and 0x7f
 * as \xHH; a NUL as a space if nul_as_space (the C daemon's trace of a
 * payload), else as \x00. Bytes of 0x80 and above are kept. Returns the
 * length written; what does not fit is cut at a whole escape.
 */
size_t log_escape(char *dst, size_t size, const void *src, size_t len, bool nul_as_space);

/*
 * The trace file (-T, CONTROL logfile, log on/off), in the C daemon's
 * format (docs/OPERATIONS.md). A relative path is under LOG_TRACE_DIR, as there.
 */
#define LOG_TRACE_DIR "/var/lib/xen/xenstore"
/* Open the trace file (an empty path closes it; NULL reopens the last one); 0, or -1 with errno. */
int log_trace_open(const char *path);
void log_trace_close(void);
bool log_tracing(void);
/* The trace file's path as opened (relative names resolved), "" if none was ever given. */
const char *log_trace_path(void);

/* Trace classes, the C daemon's switches (CONTROL log +obj/-io ...); obj and io are on at start. */
enum log_trace_class {
	LOG_TRACE_OBJ, /* connections created and destroyed */
	LOG_TRACE_IO,  /* every message in and out, with its payload */
	LOG_TRACE_WRL, /* write rate limiting: accepted, never written (there is none) */
	LOG_TRACE_ACC, /* accounting changes: accepted, never written */
	LOG_TRACE_TDB, /* store records: accepted, never written */
	LOG_TRACE_CLASSES,
};
const char *log_trace_class_name(enum log_trace_class c);
bool log_trace_class_on(enum log_trace_class c);
/* "+name" or "-name" of a class: 0; anything else -1. */
int log_trace_switch(const char *arg);
/* Every class's switch as a mask (bit 1 << class), to hand to the next binary at a live update. */
unsigned log_trace_classes(void);
void log_trace_classes_set(unsigned mask);
/* Is the trace file open and the class on? */
bool log_tracing_class(enum log_trace_class c);

/* A free-form line in the trace file, if one is open (escaped as log messages are). */
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The io class: "io: IN 0x1a (d0) 20261202 14:38:20 WRITE (/a/b x\ny)" for
 * one message (dir "IN" or "OUT"), its payload escaped, NULs as spaces.
 */
void log_trace_io(const char *dir, uint64_t conn, unsigned domid, const char *type, const void *payload,
		  size_t len);
/* The obj class: "obj: CREATE connection 0x1a". */
void log_trace_obj(const char *what, const char *kind, uint64_t id);

#endif
