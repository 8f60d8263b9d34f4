/*
 * log: one line per event on stderr, key=value context, printf-checked.
 * Arguments are not evaluated below the active level.
 */
#ifndef EXCERPT_LOG_H
#define EXCERPT_LOG_H

#include <stdbool.h>

enum {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3
};

/* The active level; read by the macros. Set it with log_set_level(). */
extern int log_level_active;

/* Set the program name printed on each line (copied, at most 31 bytes). */
void log_set_name(const char *name);
/* Set the active level (LOG_LEVEL_*); out-of-range values are clamped. */
void log_set_level(int level);
/* Parse "error", "warn", "info" or "debug"; returns the level or -1. */
int log_level_parse(const char *s);
/* Write one line at level; use the macros instead. */
void log_emit(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A rate limit for one kind of line (a call site), so a fault that
 * repeats at every request cannot grow the log without bound. Zero it
 * before use; one thread per limit. */
typedef struct log_rate {
    unsigned long long next_ms;    /* monotonic ms before which lines wait */
    unsigned long long suppressed; /* lines held back since the last one */
} log_rate_t;

/* True when a line limited by r may be written now (at most one per
 * interval_ms); *suppressed then gets how many were held back since the
 * previous one (say so in the line). False: skip the line. */
bool log_rate_allow(log_rate_t *r, unsigned interval_ms,
                    unsigned long long *suppressed);

#define log_at(lvl, ...)                                                       \
    do {                                                                       \
        if ((lvl) <= log_level_active)                                         \
            log_emit((lvl), __VA_ARGS__);                                      \
    } while (0)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
