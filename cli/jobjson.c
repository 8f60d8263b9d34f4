/*
 * jobjson: job records as JSON.
 */
#include "jobjson.h"

#include "../client/rjson.h"
#include "../common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
str(const char *s)
{
    return rjson_string(s ? s : "", s ? strlen(s) : 0);
}

json_t *
jobjson_from_info(const wire_job_info_t *j)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)j->id));
    json_object_set_new(o, "key", str(j->key));
    json_object_set_new(o, "state", json_string(wire_job_state_name(j->state)));
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    json_object_set_new(o, "priority", json_integer(j->priority));
    json_object_set_new(o, "submitted_ms",
                        json_integer((json_int_t)j->submitted_ms));
    json_object_set_new(o, "finished_ms",
                        json_integer((json_int_t)j->finished_ms));
    if (j->seq)
        json_object_set_new(o, "seq", json_integer((json_int_t)j->seq));
    if (j->last_error && *j->last_error)
        json_object_set_new(o, "last_error", str(j->last_error));
    json_object_set_new(o, "source_url", str(j->source_url));
    json_object_set_new(o, "title", str(j->title));
    json_object_set_new(o, "text_bytes",
                        json_integer((json_int_t)j->text_bytes));
    return o;
}

json_t *
jobjson_from_dead(const wire_dead_t *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "job", jobjson_from_info(&d->job));
    json_object_set_new(o, "reason", str(d->reason));
    json_t *h = json_array();
    for (size_t i = 0; i < d->n_history; i++)
        json_array_append_new(h, str(d->history[i]));
    json_object_set_new(o, "history", h);
    return o;
}

int
jobjson_print(json_t *o)
{
    int rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return ERR_IO;
    return ERR_OK;
}
