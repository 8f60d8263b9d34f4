/*
 * wire_splice: see wire_splice.h. The envelope's own fields are packed by
 * protobuf-c; only the framing of the spliced submessage (a tag and a
 * length, the two varint fields beside the job) is written here, in the
 * order protobuf-c writes fields, so the bytes match wire_encode().
 */
#include "wire_splice.h"

#include "../common/err.h"
#include "../common/xalloc.h"
#include "excerpt.pb-c.h"
#include "pbraw.h"
#include "tags.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* Find length-delimited field number want among the fields in [p, end),
 * skipping the others; the last occurrence wins, as in protobuf. */
static int
find_len_field(const uint8_t *p, const uint8_t *end, uint64_t want,
               const uint8_t **data, size_t *len)
{
    int found = 0, rc;
    pbraw_field_t f;
    while ((rc = pbraw_next(&p, end, &f)) == 1) {
        if (f.num == want && f.wt == PBRAW_LEN) {
            *data = f.buf;
            *len = f.len;
            found = 1;
        }
    }
    return rc == 0 && found ? 0 : ERR_PROTO;
}

/* A Dispatch being spliced: the stored Job and the sizes around it. */
typedef struct plan {
    const uint8_t *job; /* Job bytes inside the stored Submit */
    size_t job_len;     /* their count */
    size_t inner;       /* Dispatch body bytes */
    size_t total;       /* Envelope bytes */
} plan_t;

static int
plan_make(const uint8_t *submit, size_t len, uint64_t request_id,
          uint32_t attempt, uint32_t lease_ms, plan_t *pl)
{
    const uint8_t *body = NULL;
    size_t body_len = 0;
    if (!submit ||
        find_len_field(submit, submit + len, TAG_ENVELOPE_SUBMIT, &body,
                       &body_len) ||
        find_len_field(body, body + body_len, TAG_SUBMIT_JOB, &pl->job,
                       &pl->job_len))
        return ERR_PROTO;
    Excerpt__V1__Envelope env = EXCERPT__V1__ENVELOPE__INIT;
    env.version = WIRE_PROTOCOL_VERSION;
    env.request_id = request_id;
    size_t head = excerpt__v1__envelope__get_packed_size(&env);
    pl->inner = 1 + pbraw_varint_len(pl->job_len) + pl->job_len;
    if (attempt)
        pl->inner += 1 + pbraw_varint_len(attempt);
    if (lease_ms)
        pl->inner += 1 + pbraw_varint_len(lease_ms);
    pl->total = head + 1 + pbraw_varint_len(pl->inner) + pl->inner;
    return ERR_OK;
}

/* Write the planned envelope into buf (pl->total bytes); returns the
 * bytes written. */
static size_t
plan_write(const plan_t *pl, uint64_t request_id, uint32_t attempt,
           uint32_t lease_ms, uint8_t *buf)
{
    Excerpt__V1__Envelope env = EXCERPT__V1__ENVELOPE__INIT;
    env.version = WIRE_PROTOCOL_VERSION;
    env.request_id = request_id;
    size_t n = excerpt__v1__envelope__pack(&env, buf);
    buf[n++] = (uint8_t)TAG_KEY(TAG_ENVELOPE_DISPATCH, PBRAW_LEN);
    n += pbraw_put_varint(buf + n, pl->inner);
    buf[n++] = (uint8_t)TAG_KEY(TAG_DISPATCH_JOB, PBRAW_LEN);
    n += pbraw_put_varint(buf + n, pl->job_len);
    memcpy(buf + n, pl->job, pl->job_len);
    n += pl->job_len;
    if (attempt) {
        buf[n++] = (uint8_t)TAG_KEY(TAG_DISPATCH_ATTEMPT, PBRAW_VARINT);
        n += pbraw_put_varint(buf + n, attempt);
    }
    if (lease_ms) {
        buf[n++] = (uint8_t)TAG_KEY(TAG_DISPATCH_LEASE_MS, PBRAW_VARINT);
        n += pbraw_put_varint(buf + n, lease_ms);
    }
    return n;
}

int
wire_splice_dispatch(const uint8_t *submit, size_t len, uint64_t request_id,
                     uint32_t attempt, uint32_t lease_ms, uint8_t **out,
                     size_t *out_len)
{
    plan_t pl;
    if (plan_make(submit, len, request_id, attempt, lease_ms, &pl))
        return ERR_PROTO;
    uint8_t *buf = xmalloc(pl.total);
    if (plan_write(&pl, request_id, attempt, lease_ms, buf) != pl.total) {
        free(buf);
        return ERR_INTERNAL;
    }
    *out = buf;
    *out_len = pl.total;
    return ERR_OK;
}

int
wire_splice_dispatch_batch(const uint8_t *submit, size_t len,
                           uint64_t request_id, uint32_t attempt,
                           uint32_t lease_ms, wire_batch_t *b)
{
    plan_t pl;
    if (plan_make(submit, len, request_id, attempt, lease_ms, &pl))
        return ERR_PROTO;
    uint8_t *at = wire_batch_reserve(b, pl.total);
    if (plan_write(&pl, request_id, attempt, lease_ms, at) != pl.total)
        abort(); /* the plan is wrong: the batch's heap is already damaged */
    return ERR_OK;
}

int
wire_submit_text(const uint8_t *submit, size_t len, const uint8_t **text,
                 size_t *text_len)
{
    const uint8_t *body = NULL, *job = NULL;
    size_t body_len = 0, job_len = 0;
    if (!submit ||
        find_len_field(submit, submit + len, TAG_ENVELOPE_SUBMIT, &body,
                       &body_len) ||
        find_len_field(body, body + body_len, TAG_SUBMIT_JOB, &job, &job_len) ||
        find_len_field(job, job + job_len, TAG_JOB_TEXT, text, text_len))
        return ERR_PROTO;
    return ERR_OK;
}
