/*
 * rjson: result_t -> JSON. Values: numbers for numeric figures, ISO 8601
 * strings for DATE and TIME; units only where they exist.
 */
#include "rjson.h"

#include "jsonw.h"

#include "../common/err.h"
#include "../common/utf8.h"
#include "../common/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

json_t *
rjson_string(const char *s, size_t n)
{
    if (utf8_is_valid(s, n) && !memchr(s, '\0', n))
        return json_stringn(s, n);
    /* repair: each invalid byte becomes U+FFFD (3 bytes) */
    char *buf = xmalloc(n * 3 + 1);
    size_t k = 0, i = 0;
    while (i < n) {
        size_t bad = i + utf8_first_invalid(s + i, n - i);
        for (size_t j = i; j < bad; j++)
            if (s[j] != '\0')
                buf[k++] = s[j];
        if (bad >= n)
            break;
        memcpy(buf + k, "\xEF\xBF\xBD", 3);
        k += 3;
        i = bad + 1;
    }
    json_t *j = json_stringn(buf, k);
    free(buf);
    return j;
}

static json_t *
str(const char *s)
{
    return rjson_string(s ? s : "", s ? strlen(s) : 0);
}

static json_t *
figure_json(const result_figure_t *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "type",
                        json_string(result_figure_type_name(f->type)));
    json_object_set_new(o, "text", str(f->text));
    if (f->iso && *f->iso)
        json_object_set_new(o, "value", str(f->iso));
    else if (f->has_value && f->value < 9007199254740992.0 &&
             f->value > -9007199254740992.0 &&
             f->value == (double)(json_int_t)f->value)
        json_object_set_new(o, "value", json_integer((json_int_t)f->value));
    else if (f->has_value && isfinite(f->value))
        json_object_set_new(o, "value", json_real(f->value));
    else
        json_object_set_new(o, "value", json_null());
    if (f->unit && *f->unit)
        json_object_set_new(o, "unit", str(f->unit));
    json_object_set_new(o, "start", json_integer(f->start));
    json_object_set_new(o, "end", json_integer(f->end));
    json_object_set_new(o, "turn", json_integer(f->turn));
    return o;
}

json_t *
rjson_from_result(const result_t *r, const char *source)
{
    json_t *o = json_object();
    json_object_set_new(o, "source", str(source ? source : r->source));
    if (r->job_id)
        json_object_set_new(o, "job_id", json_integer((json_int_t)r->job_id));
    if (r->seq)
        json_object_set_new(o, "seq", json_integer((json_int_t)r->seq));
    json_object_set_new(o, "extractor", str(r->version));

    json_t *sp = json_array();
    for (size_t i = 0; i < r->n_speakers; i++) {
        const result_speaker_t *s = &r->speakers[i];
        json_t *x = json_object();
        json_object_set_new(x, "name", str(s->name));
        json_object_set_new(x, "title", str(s->title));
        json_object_set_new(x, "turns", json_integer(s->turns));
        json_array_append_new(sp, x);
    }
    json_object_set_new(o, "speakers", sp);

    json_t *tu = json_array();
    for (size_t i = 0; i < r->n_turns; i++) {
        const result_turn_t *t = &r->turns[i];
        json_t *x = json_object();
        json_object_set_new(x, "speaker",
                            t->speaker >= 0 &&
                                    (size_t)t->speaker < r->n_speakers
                                ? str(r->speakers[t->speaker].name)
                                : json_null());
        json_object_set_new(x, "start", json_integer(t->start));
        json_object_set_new(x, "end", json_integer(t->end));
        json_array_append_new(tu, x);
    }
    json_object_set_new(o, "turns", tu);

    json_t *en = json_array();
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        json_t *x = json_object();
        json_object_set_new(x, "type",
                            json_string(result_entity_type_name(e->type)));
        json_object_set_new(x, "name", str(e->name));
        if (e->role && *e->role)
            json_object_set_new(x, "role", str(e->role));
        json_t *ms = json_array();
        for (size_t k = 0; k < e->n_mentions; k++) {
            const result_mention_t *m = &e->mentions[k];
            json_t *y = json_object();
            json_object_set_new(y, "text", str(m->text));
            json_object_set_new(y, "start", json_integer(m->start));
            json_object_set_new(y, "end", json_integer(m->end));
            json_object_set_new(y, "turn", json_integer(m->turn));
            json_array_append_new(ms, y);
        }
        json_object_set_new(x, "mentions", ms);
        json_array_append_new(en, x);
    }
    json_object_set_new(o, "entities", en);

    json_t *fi = json_array();
    for (size_t i = 0; i < r->n_figures; i++)
        json_array_append_new(fi, figure_json(&r->figures[i]));
    json_object_set_new(o, "figures", fi);
    return o;
}

/* The bytes come from client/jsonw, which writes the same document as
 * json_dumpf() of rjson_from_result() without building it. */
int
rjson_write_line(const result_t *r, const char *source, FILE *out)
{
    jsonw_t *w = jsonw_new();
    int rc = jsonw_write_result(w, r, source, out);
    jsonw_destroy(&w);
    return rc;
}

json_t *
rjson_figure(const result_figure_t *f)
{
    return figure_json(f);
}
