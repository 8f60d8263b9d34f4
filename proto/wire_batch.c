/* wire_batch: see wire_batch.h. */
#include "wire_batch.h"

#include "../common/err.h"
#include "../common/xalloc.h"
#include "pbraw.h"
#include "tags.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define HEAD_ROOM 16u    /* version (2) + batch tag (2) + length (<= 10) */
#define FIRST_CAP 65536u /* first allocation; grows 4x as items come */

int
wire_batch_open(const uint8_t *env, size_t len, wire_batch_iter_t *it)
{
    const uint8_t *p = env, *end = env + len;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    uint64_t version = 0;
    uint32_t last_body = 0;
    pbraw_field_t f;
    int rc;
    it->p = it->end = env;
    it->single = 0;
    if (!env)
        return ERR_PROTO;
    while ((rc = pbraw_next(&p, end, &f)) == 1) {
        if (f.num == TAG_ENVELOPE_VERSION && f.wt == PBRAW_VARINT)
            version = f.v;
        if (f.num < TAG_ENVELOPE_BODY_MIN)
            continue;
        last_body = f.num; /* a oneof: the last body field wins */
        if (f.num == TAG_ENVELOPE_BATCH) {
            if (f.wt != PBRAW_LEN)
                return ERR_PROTO;
            body = f.buf;
            body_len = f.len;
        }
    }
    if (rc != 0)
        return ERR_PROTO;
    if (last_body != TAG_ENVELOPE_BATCH) {
        it->end = env + len;
        it->single = 1;
        return 0;
    }
    if (version != WIRE_PROTOCOL_VERSION)
        return ERR_VERSION;
    it->p = body;
    it->end = body + body_len;
    return 1;
}

int
wire_batch_next(wire_batch_iter_t *it, const uint8_t **item, size_t *len)
{
    pbraw_field_t f;
    int rc;
    if (it->single) {
        it->single = 0;
        *item = it->p;
        *len = (size_t)(it->end - it->p);
        it->p = it->end;
        return 1;
    }
    while ((rc = pbraw_next(&it->p, it->end, &f)) == 1) {
        if (f.num != TAG_BATCH_ITEMS)
            continue; /* a field added later: ignored */
        if (f.wt != PBRAW_LEN)
            break;
        wire_batch_iter_t inner;
        if (wire_batch_open(f.buf, f.len, &inner) == 1)
            break; /* no Batch inside a Batch */
        *item = f.buf;
        *len = f.len;
        return 1;
    }
    it->p = it->end; /* a malformed body ends the walk */
    return rc == 0 ? 0 : ERR_PROTO;
}

void
wire_batch_init(wire_batch_t *b)
{
    memset(b, 0, sizeof *b);
}

uint8_t *
wire_batch_reserve(wire_batch_t *b, size_t len)
{
    size_t need = 1 + pbraw_varint_len(len) + len;
    if (!b->buf) {
        b->cap = HEAD_ROOM + (need > FIRST_CAP ? need : FIRST_CAP);
        b->buf = xmalloc(b->cap);
        b->len = HEAD_ROOM;
    } else if (b->cap - b->len < need) {
        size_t cap = b->cap * 4; /* few copies of a growing frame */
        if (cap - b->len < need)
            cap = b->len + need;
        b->buf = xreallocarray(b->buf, cap, 1);
        b->cap = cap;
    }
    uint8_t *p = b->buf + b->len;
    *p++ = (uint8_t)TAG_KEY(TAG_BATCH_ITEMS, PBRAW_LEN);
    p += pbraw_put_varint(p, len);
    if (b->n == 0) {
        b->first_off = (size_t)(p - b->buf);
        b->first_len = len;
    }
    b->len = (size_t)(p - b->buf) + len;
    b->n++;
    return p;
}

void
wire_batch_add(wire_batch_t *b, const uint8_t *env, size_t len)
{
    memcpy(wire_batch_reserve(b, len), env, len);
}

size_t
wire_batch_bytes(const wire_batch_t *b)
{
    return b->buf ? b->len - HEAD_ROOM : 0;
}

int
wire_batch_take(wire_batch_t *b, uint8_t **mem, size_t *off, size_t *len)
{
    if (b->n == 0)
        return ERR_INVAL;
    if (b->n == 1) {
        *off = b->first_off;
        *len = b->first_len;
    } else {
        size_t body = b->len - HEAD_ROOM;
        uint8_t head[HEAD_ROOM];
        size_t h = 0;
        head[h++] = (uint8_t)TAG_KEY(TAG_ENVELOPE_VERSION, PBRAW_VARINT);
        h += pbraw_put_varint(head + h, WIRE_PROTOCOL_VERSION);
        h += pbraw_put_varint(head + h, TAG_KEY(TAG_ENVELOPE_BATCH, PBRAW_LEN));
        h += pbraw_put_varint(head + h, body);
        memcpy(b->buf + HEAD_ROOM - h, head, h);
        *off = HEAD_ROOM - h;
        *len = h + body;
    }
    *mem = b->buf;
    wire_batch_init(b);
    return ERR_OK;
}

int
wire_batch_finish(wire_batch_t *b, uint8_t **out, size_t *out_len)
{
    size_t off;
    int rc = wire_batch_take(b, out, &off, out_len);
    if (rc == ERR_OK && off > 0)
        memmove(*out, *out + off, *out_len);
    return rc;
}

void
wire_batch_free(wire_batch_t *b)
{
    free(b->buf);
    wire_batch_init(b);
}
