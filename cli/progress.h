/*
 * progress: a one-line progress bar on a terminal (stderr), redrawn at
 * most ten times a second; silent when the stream is not a terminal.
 */
#ifndef EXCERPT_PROGRESS_H
#define EXCERPT_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef struct progress progress_t;

/* New bar for total items on out, labelled (copied). Returns NULL when out
 * is not a terminal or total < min_total; every call accepts NULL. */
progress_t *progress_new(FILE *out, const char *label, size_t total,
                         size_t min_total);

/* Report done items (failed of them failed); redraws if due. */
void progress_update(progress_t *p, size_t done, size_t failed);

/* Erase the bar before printing other lines to the same terminal. */
void progress_clear(progress_t *p);

/* Draw the final state, end the line and free; sets *p = NULL. */
void progress_finish(progress_t **p);

#endif
