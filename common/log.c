/*
 * log: formats "TIME PROG[PID] LEVEL message" and writes it with one
 * write(2) so lines from several processes do not interleave.
 */
#include "log.h"
#include "now.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_level_active = LOG_LEVEL_INFO;
static char prog[32] = "excerpt";

void
log_set_name(const char *name)
{
    snprintf(prog, sizeof prog, "%s", name);
}

void
log_set_level(int level)
{
    if (level < LOG_LEVEL_ERROR)
        level = LOG_LEVEL_ERROR;
    if (level > LOG_LEVEL_DEBUG)
        level = LOG_LEVEL_DEBUG;
    log_level_active = level;
}

int
log_level_parse(const char *s)
{
    static const char *names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

bool
log_rate_allow(log_rate_t *r, unsigned interval_ms,
               unsigned long long *suppressed)
{
    unsigned long long now = now_mono_ms();
    if (r->next_ms && now < r->next_ms) {
        r->suppressed++;
        return false;
    }
    *suppressed = r->suppressed;
    r->suppressed = 0;
    r->next_ms = now + interval_ms;
    return true;
}

void
log_emit(int level, const char *fmt, ...)
{
    static const char *tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    char line[2048];
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000), prog,
                     (long)getpid(), tags[level & 3]);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nowhere left to report a failed log write */
}
