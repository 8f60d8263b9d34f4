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
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define PB_VARINT 0u /* wire types */
#define PB_LEN 2u
#define FIELD_SUBMIT 10u   /* Envelope.submit */
#define FIELD_DISPATCH 14u /* Envelope.dispatch */
#define FIELD_JOB 1u       /* Submit.job and Dispatch.job */
#define FIELD_ATTEMPT 2u   /* Dispatch.attempt */
#define FIELD_LEASE 3u     /* Dispatch.lease_ms */

static int
get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return ERR_PROTO;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t
varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Find length-delimited field number want among the fields in [p, end),
 * skipping the others; the last occurrence wins, as in protobuf. */
static int
find_len_field(const uint8_t *p, const uint8_t *end, uint64_t want,
               const uint8_t **data, size_t *len)
{
    int found = 0;
    while (p < end) {
        uint64_t key, v;
        if (get_varint(&p, end, &key))
            return ERR_PROTO;
        switch (key & 7) {
        case PB_VARINT:
            if (get_varint(&p, end, &v))
                return ERR_PROTO;
            break;
        case 1: /* 64-bit */
            if (end - p < 8)
                return ERR_PROTO;
            p += 8;
            break;
        case 5: /* 32-bit */
            if (end - p < 4)
                return ERR_PROTO;
            p += 4;
            break;
        case PB_LEN:
            if (get_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return ERR_PROTO;
            if ((key >> 3) == want) {
                *data = p;
                *len = (size_t)v;
                found = 1;
            }
            p += v;
            break;
        default:
            return ERR_PROTO;
        }
    }
    return found ? 0 : ERR_PROTO;
}

int
wire_splice_dispatch(const uint8_t *submit, size_t len, uint64_t request_id,
                     uint32_t attempt, uint32_t lease_ms, uint8_t **out,
                     size_t *out_len)
{
    const uint8_t *body, *job;
    size_t body_len, job_len;
    if (!submit ||
        find_len_field(submit, submit + len, FIELD_SUBMIT, &body, &body_len) ||
        find_len_field(body, body + body_len, FIELD_JOB, &job, &job_len))
        return ERR_PROTO;
    Excerpt__V1__Envelope env = EXCERPT__V1__ENVELOPE__INIT;
    env.version = WIRE_PROTOCOL_VERSION;
    env.request_id = request_id;
    size_t head = excerpt__v1__envelope__get_packed_size(&env);
    size_t inner = 1 + varint_len(job_len) + job_len;
    if (attempt)
        inner += 1 + varint_len(attempt);
    if (lease_ms)
        inner += 1 + varint_len(lease_ms);
    size_t total = head + 1 + varint_len(inner) + inner;
    uint8_t *buf = xmalloc(total);
    size_t n = excerpt__v1__envelope__pack(&env, buf);
    buf[n++] = (uint8_t)(FIELD_DISPATCH << 3 | PB_LEN);
    n += put_varint(buf + n, inner);
    buf[n++] = (uint8_t)(FIELD_JOB << 3 | PB_LEN);
    n += put_varint(buf + n, job_len);
    memcpy(buf + n, job, job_len);
    n += job_len;
    if (attempt) {
        buf[n++] = (uint8_t)(FIELD_ATTEMPT << 3 | PB_VARINT);
        n += put_varint(buf + n, attempt);
    }
    if (lease_ms) {
        buf[n++] = (uint8_t)(FIELD_LEASE << 3 | PB_VARINT);
        n += put_varint(buf + n, lease_ms);
    }
    if (n != total) {
        free(buf);
        return ERR_INTERNAL;
    }
    *out = buf;
    *out_len = total;
    return ERR_OK;
}
