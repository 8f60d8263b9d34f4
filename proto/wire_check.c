/*
 * wire_check: wire_result_check, a Result checked as its consumers will
 * read it, in one pass over the bytes, without decoding or allocating.
 *
 * The walk is driven by protobuf-c's own descriptors, so it follows
 * proto/excerpt.proto without a table of its own: every known field must
 * carry the wire type protobuf-c expects for it (a repeated scalar may be
 * packed), every nested message must be well-formed in turn, and every
 * string must be valid UTF-8 (Python's protobuf refuses it otherwise, and
 * JSON cannot carry it). Unknown fields are skipped, as protobuf does.
 * On top of the wire format come the checks of wire_result_decode():
 * start <= end in a Turn, Mention and Figure, and a Turn's speaker an
 * index into the Result's speakers (or negative). Finally the memory
 * protobuf-c will allocate is bounded from above and must fit in the
 * budget wire_result_decode() grants, so that a result the
 * broker commits always decodes for its consumers. The same pass reports
 * each entity and the worker's extract_us to a caller that asks
 * (wire_result_check_visit), so the store reads the bytes once.
 */
#include "wire.h"

#include "../common/err.h"
#include "../common/utf8.h"
#include "excerpt.pb-c.h"
#include "pbraw.h"
#include "tags.h"

#include <stdbool.h>
#include <stdint.h>

/* What one walk gathers besides the verdict. */
typedef struct check {
    size_t cost;             /* upper bound of protobuf-c's allocations */
    uint64_t n_speakers;     /* Result.speakers elements */
    int64_t max_speaker;     /* highest Turn.speaker seen, -1 when none */
    uint64_t start, end;     /* last start/end of the message being walked */
    int64_t speaker;         /* last Turn.speaker of the Turn being walked */
    bool has_start_end;      /* it is a Turn, Mention or Figure */
    bool is_turn;            /* the message being walked is a Turn */
    wire_visit_t *visit;     /* what the caller wants to hear of, or NULL */
    int ent_type;            /* the Entity being walked: last type ... */
    const uint8_t *ent_name; /* ... and last name seen */
    size_t ent_name_len;
} check_t;

/* wire_result_decode's arena rounds each allocation up to 16 bytes. */
#define ALLOC_COST(n) ((size_t)(n) + 15)

static int
wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PBRAW_I32;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PBRAW_I64;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PBRAW_LEN;
    default:
        return PBRAW_VARINT;
    }
}

/* A packed run of scalars of wire type wt: whole elements only. Returns
 * their count, or -1 when malformed. */
static int64_t
packed_count(const uint8_t *p, size_t len, int wt)
{
    if (wt == PBRAW_I32 || wt == PBRAW_I64) {
        size_t w = wt == PBRAW_I32 ? 4 : 8;
        return len % w ? -1 : (int64_t)(len / w);
    }
    const uint8_t *end = p + len;
    int64_t n = 0;
    uint64_t v;
    while (p < end) {
        if (pbraw_varint(&p, end, &v))
            return -1;
        n++;
    }
    return n;
}

/* The wire_result_decode() rules that are not wire format, for the field
 * just read in a message of descriptor d (start/end are checked when the
 * message ends). */
static void
note_value(check_t *c, const ProtobufCMessageDescriptor *d,
           const pbraw_field_t *f)
{
    uint32_t start_tag = 0, end_tag = 0;
    if (d == &excerpt__v1__entity__descriptor) {
        if (f->num == TAG_ENTITY_TYPE)
            c->ent_type = (int)(f->v & 0xff);
        return;
    }
    if (d == &excerpt__v1__timings__descriptor) {
        if (f->num == TAG_TIMINGS_EXTRACT_US && c->visit)
            c->visit->extract_us = f->v;
        return;
    }
    if (d == &excerpt__v1__turn__descriptor) {
        start_tag = TAG_TURN_START;
        end_tag = TAG_TURN_END;
        /* int32, sign-extended on the wire; the last value counts */
        if (f->num == TAG_TURN_SPEAKER)
            c->speaker = (int32_t)(uint32_t)f->v;
    } else if (d == &excerpt__v1__mention__descriptor) {
        start_tag = TAG_MENTION_START;
        end_tag = TAG_MENTION_END;
    } else if (d == &excerpt__v1__figure__descriptor) {
        start_tag = TAG_FIGURE_START;
        end_tag = TAG_FIGURE_END;
    } else {
        return;
    }
    /* uint32 on the wire is truncated to 32 bits by protobuf-c */
    if (f->num == start_tag)
        c->start = (uint32_t)f->v;
    else if (f->num == end_tag)
        c->end = (uint32_t)f->v;
}

static int check_msg(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                     size_t len, check_t *c);

/* Bytes of the varint at p (1..max), or 0 when it runs longer or past
 * end. protobuf-c reads a field's key and a length prefix in at most 5
 * bytes, and refuses a key whose first byte holds field number 0. */
static size_t
varint_size(const uint8_t *p, const uint8_t *end, size_t max)
{
    for (size_t i = 0; i < max && p + i < end; i++)
        if (!(p[i] & 0x80))
            return i + 1;
    return 0;
}

/* One known field f of a message of descriptor d. */
static int
check_field(const ProtobufCMessageDescriptor *d,
            const ProtobufCFieldDescriptor *fd, const pbraw_field_t *f,
            check_t *c)
{
    int want = wire_type_of(fd->type);
    bool repeated = fd->label == PROTOBUF_C_LABEL_REPEATED;
    if (f->wt != want) {
        /* a repeated scalar may come packed */
        if (!repeated || f->wt != PBRAW_LEN || want == PBRAW_LEN)
            return ERR_PROTO;
        int64_t n = packed_count(f->buf, f->len, want);
        if (n < 0)
            return ERR_PROTO;
        c->cost += (size_t)n * 8;
        return ERR_OK;
    }
    if (repeated) /* its slot in the field's array, a pointer or a scalar */
        c->cost += 8;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!utf8_is_valid((const char *)f->buf, f->len))
            return ERR_PROTO;
        if (d == &excerpt__v1__entity__descriptor &&
            f->num == TAG_ENTITY_NAME) {
            c->ent_name = f->buf;
            c->ent_name_len = f->len;
        }
        c->cost += ALLOC_COST(f->len + 1);
        return ERR_OK;
    case PROTOBUF_C_TYPE_BYTES:
        c->cost += ALLOC_COST(f->len);
        return ERR_OK;
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (d == &excerpt__v1__result__descriptor &&
            f->num == TAG_RESULT_SPEAKERS)
            c->n_speakers++;
        check_t inner = *c;
        inner.start = inner.end = 0;
        inner.speaker = 0; /* proto3: an absent speaker is 0 */
        inner.ent_type = 0;
        inner.ent_name = NULL;
        inner.ent_name_len = 0;
        inner.is_turn = fd->descriptor == &excerpt__v1__turn__descriptor;
        inner.has_start_end =
            inner.is_turn ||
            fd->descriptor == &excerpt__v1__mention__descriptor ||
            fd->descriptor == &excerpt__v1__figure__descriptor;
        int rc = check_msg(fd->descriptor, f->buf, f->len, &inner);
        if (rc)
            return rc;
        /* a non-repeated message field that comes again (Timings) is
         * merged into the first: count its allocations twice */
        c->cost = repeated ? inner.cost : 2 * inner.cost - c->cost;
        c->n_speakers = inner.n_speakers;
        c->max_speaker = inner.max_speaker;
        if (d == &excerpt__v1__result__descriptor &&
            f->num == TAG_RESULT_ENTITIES && inner.ent_name && c->visit &&
            c->visit->entity)
            return c->visit->entity(c->visit->arg, inner.ent_type,
                                    (const char *)inner.ent_name,
                                    inner.ent_name_len);
        return ERR_OK;
    }
    default:
        note_value(c, d, f);
        return ERR_OK;
    }
}

static int
check_msg(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
          check_t *c)
{
    /* an empty message may come as (NULL, 0): no arithmetic on NULL */
    const uint8_t *p = buf, *end = len ? buf + len : buf;
    pbraw_field_t f;
    int rc;
    /* the struct, and the rounding of each repeated field's array */
    c->cost += ALLOC_COST(d->sizeof_message) + 15 * d->n_fields;
    while (p < end) {
        const uint8_t *at = p;
        size_t key = varint_size(p, end, 5);
        if (!key || !(p[0] & 0xf8) || pbraw_next(&p, end, &f) != 1)
            return ERR_PROTO;
        if (f.wt == PBRAW_LEN && !varint_size(at + key, end, 5))
            return ERR_PROTO;
        /* fields numbered 1..n in order (all of excerpt.proto's) are
         * found by index, the rest by protobuf-c's search */
        const ProtobufCFieldDescriptor *fd =
            f.num - 1 < d->n_fields && d->fields[f.num - 1].id == f.num
                ? &d->fields[f.num - 1]
                : protobuf_c_message_descriptor_get_field(d, f.num);
        if (!fd) {
            /* kept by protobuf-c: an entry and a copy of its bytes */
            size_t data = f.wt == PBRAW_LEN   ? f.len
                          : f.wt == PBRAW_I64 ? 8
                          : f.wt == PBRAW_I32 ? 4
                                              : 10;
            c->cost += ALLOC_COST(sizeof(ProtobufCMessageUnknownField)) +
                       ALLOC_COST(data);
            continue;
        }
        if ((rc = check_field(d, fd, &f, c)) != ERR_OK)
            return rc;
    }
    if (c->has_start_end && c->start > c->end)
        return ERR_PROTO;
    if (c->is_turn && c->speaker > c->max_speaker)
        c->max_speaker = c->speaker;
    return ERR_OK;
}

int
wire_result_check(const uint8_t *buf, size_t len)
{
    return wire_result_check_visit(buf, len, NULL);
}

int
wire_result_check_visit(const uint8_t *buf, size_t len, wire_visit_t *v)
{
    if (v)
        v->extract_us = 0;
    if (!buf && len)
        return ERR_INVAL;
    if (len > WIRE_MAX_FRAME)
        return ERR_PROTO;
    check_t c = { .max_speaker = -1, .visit = v };
    int rc = check_msg(&excerpt__v1__result__descriptor, buf, len, &c);
    if (rc)
        return rc;
    if (c.max_speaker >= 0 && (uint64_t)c.max_speaker >= c.n_speakers)
        return ERR_PROTO;
    if (c.cost > wire_decode_budget(len))
        return ERR_PROTO;
    return ERR_OK;
}
