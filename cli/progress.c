/*
 * progress: terminal progress bar for long submissions.
 */
#include "progress.h"

#include "../common/now.h"
#include "../common/xalloc.h"

#include <stdlib.h>
#include <unistd.h>

#define BAR_WIDTH 30
#define REDRAW_US 100000u

struct progress {
    FILE *out;         /* a terminal */
    char *label;       /* shown before the bar */
    size_t total;      /* items expected */
    size_t done;       /* items finished */
    size_t failed;     /* of them failed */
    uint64_t start_us; /* monotonic start */
    uint64_t drawn_us; /* last redraw */
    int drawn;         /* a line is on screen */
};

progress_t *
progress_new(FILE *out, const char *label, size_t total, size_t min_total)
{
    if (!out || total < min_total || !isatty(fileno(out)))
        return NULL;
    progress_t *p = xcalloc(1, sizeof *p);
    p->out = out;
    p->label = xstrdup(label ? label : "");
    p->total = total;
    p->start_us = now_mono_us();
    return p;
}

static void
draw(progress_t *p)
{
    size_t fill = p->total ? p->done * BAR_WIDTH / p->total : BAR_WIDTH;
    char bar[BAR_WIDTH + 1];
    for (size_t i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    double secs = (double)(now_mono_us() - p->start_us) / 1e6;
    double rate = secs > 0 ? (double)p->done / secs : 0.0;
    fprintf(p->out, "\r%s [%s] %zu/%zu", p->label, bar, p->done, p->total);
    if (p->failed)
        fprintf(p->out, " (%zu failed)", p->failed);
    fprintf(p->out, " %.0f/s\033[K", rate);
    fflush(p->out);
    p->drawn = 1;
    p->drawn_us = now_mono_us();
}

void
progress_update(progress_t *p, size_t done, size_t failed)
{
    if (!p)
        return;
    p->done = done;
    p->failed = failed;
    if (!p->drawn || now_mono_us() - p->drawn_us >= REDRAW_US)
        draw(p);
}

void
progress_clear(progress_t *p)
{
    if (!p || !p->drawn)
        return;
    fprintf(p->out, "\r\033[K");
    fflush(p->out);
    p->drawn = 0;
}

void
progress_finish(progress_t **pp)
{
    if (!pp || !*pp)
        return;
    progress_t *p = *pp;
    draw(p);
    fputc('\n', p->out);
    fflush(p->out);
    free(p->label);
    free(p);
    *pp = NULL;
}
