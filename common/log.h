/*
 * log: one line per event on stderr, key=value context, printf-checked.
 * Arguments are not evaluated below the active level.
 */
#ifndef EXCERPT_LOG_H
#define EXCERPT_LOG_H

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
