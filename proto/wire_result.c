/*
 * wire_result: the worker's Done envelope, serialised straight from a
 * result_t: one pass sizes every message bottom-up, a second writes the
 * bytes. No protobuf-c structs, no packing through protobuf-c, and every
 * string is measured once. The output is byte for byte what protobuf-c
 * packs for the same message (wire_result_encode is the reference).
 */
#include "wire.h"

#include "../common/err.h"
#include "../common/xalloc.h"
#include "pbraw.h"
#include "tags.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Keys (field number << 3 | wire type) of proto/tags.h, all one byte.
 * protobuf-c's proto3 rules, which the bytes must match: a scalar equal
 * to 0 (a double comparing equal to 0.0, so -0.0 too) and an empty or
 * NULL string are left out; int32 and enum values are sign-extended to
 * 64 bits (a negative one takes 10 bytes); a double is 8 little-endian
 * bytes; a present submessage (each repeated element, the Result's
 * Timings, the Envelope's Done) is written even when its body is empty.
 */
enum {
    T_ENV_VERSION = TAG_KEY(TAG_ENVELOPE_VERSION, PBRAW_VARINT), /* varint */
    T_ENV_DONE = TAG_KEY(TAG_ENVELOPE_DONE, PBRAW_LEN),          /* message */

    T_DONE_JOB_ID = TAG_KEY(TAG_DONE_JOB_ID, PBRAW_VARINT),
    T_DONE_ATTEMPT = TAG_KEY(TAG_DONE_ATTEMPT, PBRAW_VARINT),
    T_DONE_RESULT = TAG_KEY(TAG_DONE_RESULT, PBRAW_LEN), /* bytes */

    T_RES_JOB_ID = TAG_KEY(TAG_RESULT_JOB_ID, PBRAW_VARINT),
    T_RES_SEQ = TAG_KEY(TAG_RESULT_SEQ, PBRAW_VARINT),
    T_RES_SPEAKER =
        TAG_KEY(TAG_RESULT_SPEAKERS, PBRAW_LEN), /* repeated message */
    T_RES_TURN = TAG_KEY(TAG_RESULT_TURNS, PBRAW_LEN),
    T_RES_ENTITY = TAG_KEY(TAG_RESULT_ENTITIES, PBRAW_LEN),
    T_RES_FIGURE = TAG_KEY(TAG_RESULT_FIGURES, PBRAW_LEN),
    T_RES_VERSION = TAG_KEY(TAG_RESULT_EXTRACTOR_VERSION, PBRAW_LEN),
    T_RES_TIMINGS = TAG_KEY(TAG_RESULT_TIMINGS, PBRAW_LEN), /* message */
    T_RES_SOURCE = TAG_KEY(TAG_RESULT_SOURCE, PBRAW_LEN),
    T_TIM_EXTRACT = TAG_KEY(TAG_TIMINGS_EXTRACT_US, PBRAW_VARINT),

    T_SPK_NAME = TAG_KEY(TAG_SPEAKER_NAME, PBRAW_LEN),
    T_SPK_TITLE = TAG_KEY(TAG_SPEAKER_TITLE, PBRAW_LEN),
    T_SPK_TURNS = TAG_KEY(TAG_SPEAKER_TURNS, PBRAW_VARINT),

    T_TURN_SPEAKER = TAG_KEY(TAG_TURN_SPEAKER, PBRAW_VARINT), /* int32 */
    T_TURN_START = TAG_KEY(TAG_TURN_START, PBRAW_VARINT),
    T_TURN_END = TAG_KEY(TAG_TURN_END, PBRAW_VARINT),
    T_TURN_BODY = TAG_KEY(TAG_TURN_BODY, PBRAW_VARINT),

    T_MEN_TEXT = TAG_KEY(TAG_MENTION_TEXT, PBRAW_LEN),
    T_MEN_START = TAG_KEY(TAG_MENTION_START, PBRAW_VARINT),
    T_MEN_END = TAG_KEY(TAG_MENTION_END, PBRAW_VARINT),
    T_MEN_TURN = TAG_KEY(TAG_MENTION_TURN, PBRAW_VARINT), /* int32 */

    T_ENT_TYPE = TAG_KEY(TAG_ENTITY_TYPE, PBRAW_VARINT), /* enum */
    T_ENT_NAME = TAG_KEY(TAG_ENTITY_NAME, PBRAW_LEN),
    T_ENT_ROLE = TAG_KEY(TAG_ENTITY_ROLE, PBRAW_LEN),
    T_ENT_MENTION =
        TAG_KEY(TAG_ENTITY_MENTIONS, PBRAW_LEN), /* repeated message */

    T_FIG_TYPE = TAG_KEY(TAG_FIGURE_TYPE, PBRAW_VARINT), /* enum */
    T_FIG_TEXT = TAG_KEY(TAG_FIGURE_TEXT, PBRAW_LEN),
    T_FIG_VALUE = TAG_KEY(TAG_FIGURE_VALUE, PBRAW_I64), /* double (fixed64) */
    T_FIG_HAS = TAG_KEY(TAG_FIGURE_HAS_VALUE, PBRAW_VARINT), /* bool */
    T_FIG_ISO = TAG_KEY(TAG_FIGURE_ISO, PBRAW_LEN),
    T_FIG_UNIT = TAG_KEY(TAG_FIGURE_UNIT, PBRAW_LEN),
    T_FIG_START = TAG_KEY(TAG_FIGURE_START, PBRAW_VARINT),
    T_FIG_END = TAG_KEY(TAG_FIGURE_END, PBRAW_VARINT),
    T_FIG_TURN = TAG_KEY(TAG_FIGURE_TURN, PBRAW_VARINT) /* int32 */
};

/* ------------------------------------------------------------ sizes */

static inline size_t
vlen(uint64_t v)
{
    /* 7 bits per byte: 1 byte for 0..127, 10 for 2^63 and above */
    return (size_t)(70 - __builtin_clzll(v | 1)) / 7;
}

/* Bytes of a varint field (tag + value), 0 when left out. */
static inline size_t
f_uint(uint64_t v)
{
    return v ? 1 + vlen(v) : 0;
}

/* An int32 or enum field: negative values are sign-extended. */
static inline size_t
f_int(int32_t v)
{
    return v ? 1 + vlen((uint64_t)(int64_t)v) : 0;
}

/* A string of n bytes. */
static inline size_t
f_str(size_t n)
{
    return n ? 1 + vlen(n) + n : 0;
}

/* A submessage with a body of n bytes (always written). */
static inline size_t
f_sub(size_t n)
{
    return 1 + vlen(n) + n;
}

static inline size_t
slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Body sizes of each message, from the string lengths the size pass
 * measured. The write pass calls the speaker's and turn's again (there
 * are few); the others it reads back from the lengths array. */
static inline size_t
speaker_size(const result_speaker_t *s, size_t name, size_t title)
{
    return f_str(name) + f_str(title) + f_uint(s->turns);
}

static inline size_t
turn_size(const result_turn_t *t)
{
    return f_int(t->speaker) + f_uint(t->start) + f_uint(t->end) +
           f_uint(t->body);
}

static inline size_t
mention_size(const result_mention_t *m, size_t text)
{
    return f_str(text) + f_uint(m->start) + f_uint(m->end) + f_int(m->turn);
}

static inline size_t
figure_size(const result_figure_t *f, size_t text, size_t iso, size_t unit)
{
    return f_int((int32_t)f->type) + f_str(text) + (f->value != 0.0 ? 9 : 0) +
           (f->has_value ? 2 : 0) + f_str(iso) + f_str(unit) +
           f_uint(f->start) + f_uint(f->end) + f_int(f->turn);
}

/* String lengths and the body sizes of entities, mentions and figures,
 * in the order the write pass consumes them. Most results fit the array
 * on the stack. */
#define LENS_STACK 1024

/* How many entries sizing r records. */
static size_t
lens_needed(const result_t *r)
{
    size_t n = 2 + 2 * r->n_speakers + 3 * r->n_entities + 4 * r->n_figures;
    for (size_t i = 0; i < r->n_entities; i++)
        n += 2 * r->entities[i].n_mentions;
    return n;
}

/* The Result's encoded size; fills lens. */
static size_t
result_size(const result_t *r, size_t *lens)
{
    size_t *l = lens;
    size_t total = f_uint(r->job_id) + f_uint(r->seq);
    for (size_t i = 0; i < r->n_speakers; i++) {
        const result_speaker_t *s = &r->speakers[i];
        size_t name = *l++ = slen(s->name);
        size_t title = *l++ = slen(s->title);
        total += f_sub(speaker_size(s, name, title));
    }
    for (size_t i = 0; i < r->n_turns; i++)
        total += f_sub(turn_size(&r->turns[i]));
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        size_t name = *l++ = slen(e->name);
        size_t role = *l++ = slen(e->role);
        size_t *body = l++;
        size_t n = f_int((int32_t)e->type) + f_str(name) + f_str(role);
        for (size_t k = 0; k < e->n_mentions; k++) {
            size_t text = *l++ = slen(e->mentions[k].text);
            size_t ms = *l++ = mention_size(&e->mentions[k], text);
            n += f_sub(ms);
        }
        *body = n;
        total += f_sub(n);
    }
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *f = &r->figures[i];
        size_t text = *l++ = slen(f->text);
        size_t iso = *l++ = slen(f->iso);
        size_t unit = *l++ = slen(f->unit);
        size_t fs = *l++ = figure_size(f, text, iso, unit);
        total += f_sub(fs);
    }
    size_t version = *l++ = slen(r->version);
    size_t source = *l++ = slen(r->source);
    total += f_str(version) + f_sub(f_uint(r->extract_us)) + f_str(source);
    return total;
}

/* ----------------------------------------------------------- writes */

static inline uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *
put_uint(uint8_t *p, uint8_t tag, uint64_t v)
{
    if (!v)
        return p;
    *p++ = tag;
    return put_varint(p, v);
}

static inline uint8_t *
put_int(uint8_t *p, uint8_t tag, int32_t v)
{
    return put_uint(p, tag, (uint64_t)(int64_t)v);
}

static inline uint8_t *
put_str(uint8_t *p, uint8_t tag, const char *s, size_t n)
{
    if (!n)
        return p;
    *p++ = tag;
    p = put_varint(p, n);
    memcpy(p, s, n);
    return p + n;
}

/* Tag and length of a submessage whose body follows. */
static inline uint8_t *
put_sub(uint8_t *p, uint8_t tag, size_t n)
{
    *p++ = tag;
    return put_varint(p, n);
}

static inline uint8_t *
put_double(uint8_t *p, uint8_t tag, double d)
{
    if (d == 0.0)
        return p;
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    *p++ = tag;
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(u >> (8 * i));
    return p;
}

/* Write the Result at p with the lengths result_size recorded; returns
 * the end. */
static uint8_t *
result_write(uint8_t *p, const result_t *r, const size_t *l)
{
    p = put_uint(p, T_RES_JOB_ID, r->job_id);
    p = put_uint(p, T_RES_SEQ, r->seq);
    for (size_t i = 0; i < r->n_speakers; i++) {
        const result_speaker_t *s = &r->speakers[i];
        size_t name = *l++, title = *l++;
        p = put_sub(p, T_RES_SPEAKER, speaker_size(s, name, title));
        p = put_str(p, T_SPK_NAME, s->name, name);
        p = put_str(p, T_SPK_TITLE, s->title, title);
        p = put_uint(p, T_SPK_TURNS, s->turns);
    }
    for (size_t i = 0; i < r->n_turns; i++) {
        const result_turn_t *t = &r->turns[i];
        p = put_sub(p, T_RES_TURN, turn_size(t));
        p = put_int(p, T_TURN_SPEAKER, t->speaker);
        p = put_uint(p, T_TURN_START, t->start);
        p = put_uint(p, T_TURN_END, t->end);
        p = put_uint(p, T_TURN_BODY, t->body);
    }
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        size_t name = *l++, role = *l++, body = *l++;
        p = put_sub(p, T_RES_ENTITY, body);
        p = put_int(p, T_ENT_TYPE, (int32_t)e->type);
        p = put_str(p, T_ENT_NAME, e->name, name);
        p = put_str(p, T_ENT_ROLE, e->role, role);
        for (size_t k = 0; k < e->n_mentions; k++) {
            const result_mention_t *m = &e->mentions[k];
            size_t text = *l++;
            p = put_sub(p, T_ENT_MENTION, *l++);
            p = put_str(p, T_MEN_TEXT, m->text, text);
            p = put_uint(p, T_MEN_START, m->start);
            p = put_uint(p, T_MEN_END, m->end);
            p = put_int(p, T_MEN_TURN, m->turn);
        }
    }
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *f = &r->figures[i];
        size_t text = *l++, iso = *l++, unit = *l++;
        p = put_sub(p, T_RES_FIGURE, *l++);
        p = put_int(p, T_FIG_TYPE, (int32_t)f->type);
        p = put_str(p, T_FIG_TEXT, f->text, text);
        p = put_double(p, T_FIG_VALUE, f->value);
        p = put_uint(p, T_FIG_HAS, f->has_value);
        p = put_str(p, T_FIG_ISO, f->iso, iso);
        p = put_str(p, T_FIG_UNIT, f->unit, unit);
        p = put_uint(p, T_FIG_START, f->start);
        p = put_uint(p, T_FIG_END, f->end);
        p = put_int(p, T_FIG_TURN, f->turn);
    }
    size_t version = *l++, source = *l++;
    p = put_str(p, T_RES_VERSION, r->version, version);
    p = put_sub(p, T_RES_TIMINGS, f_uint(r->extract_us));
    p = put_uint(p, T_TIM_EXTRACT, r->extract_us);
    p = put_str(p, T_RES_SOURCE, r->source, source);
    return p;
}

int
wire_done_encode(uint64_t job_id, uint32_t attempt, const result_t *r,
                 uint8_t **buf, size_t *len)
{
    size_t stack[LENS_STACK];
    size_t need = lens_needed(r);
    size_t *lens =
        need <= LENS_STACK ? stack : xreallocarray(NULL, need, sizeof *lens);
    size_t rlen = result_size(r, lens);
    size_t done = f_uint(job_id) + f_uint(attempt) + f_str(rlen);
    size_t n = f_uint(WIRE_PROTOCOL_VERSION) + f_sub(done);
    int rc = ERR_OK;
    if (n > WIRE_MAX_FRAME) {
        *len = n;
        rc = ERR_TOOBIG;
        goto out;
    }
    uint8_t *out = xmalloc(n);
    uint8_t *p = put_uint(out, T_ENV_VERSION, WIRE_PROTOCOL_VERSION);
    p = put_sub(p, T_ENV_DONE, done);
    p = put_uint(p, T_DONE_JOB_ID, job_id);
    p = put_uint(p, T_DONE_ATTEMPT, attempt);
    if (rlen) {
        p = put_sub(p, T_DONE_RESULT, rlen);
        p = result_write(p, r, lens);
    }
    if (p != out + n)
        abort(); /* the sizes disagree with the writes: the heap is damaged */
    *buf = out;
    *len = n;
out:
    if (lens != stack)
        free(lens);
    return rc;
}
