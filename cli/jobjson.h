/*
 * jobjson: JSON of job records (JobInfo, dead letters) for the CLI, next
 * to client/rjson's JSON of results.
 */
#ifndef EXCERPT_JOBJSON_H
#define EXCERPT_JOBJSON_H

#include "../proto/wire.h"

#include <jansson.h>

/* New JSON object of a job record: id, key, state, attempts, priority,
 * submitted_ms, finished_ms, seq, last_error, source_url, title,
 * text_bytes. Caller json_decref()s. */
json_t *jobjson_from_info(const wire_job_info_t *j);

/* New JSON object of a dead letter: {"job": ..., "reason", "history"}. */
json_t *jobjson_from_dead(const wire_dead_t *d);

/* Print o as one compact line on stdout and drop the reference.
 * Returns 0 or ERR_IO. */
int jobjson_print(json_t *o);

#endif
