/* log.h — the daemon's log: one line per event on stderr.
 *
 *   2025-11-27T21:04:05.123Z resweepd[4242] info: listening on /run/.../resweepd.sock
 *
 * Thread-safe: each line is formatted into a local buffer and written with
 * one write(2) under a mutex, so lines from workers, the store thread and
 * the loop never interleave. Lines longer than LOG_LINE_MAX are truncated.
 * The level is a process-wide setting read atomically.
 */
#ifndef RESWEEP_LOG_H
#define RESWEEP_LOG_H

#include <stdbool.h>

/* Not LOG_INFO/LOG_DEBUG: <syslog.h> defines those as macros. */
enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

#define LOG_LINE_MAX 2048

/* Program name shown in each line (borrowed; default "resweep"). Call
 * before any thread logs. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

/* "error", "warn", "info", "debug" -> level: 0, or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Writes one line if level is enabled; a trailing newline is added. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
