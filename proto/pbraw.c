/* pbraw: see pbraw.h. */
#include "pbraw.h"

#include "../common/err.h"

int
pbraw_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return ERR_PROTO;
}

int
pbraw_next(const uint8_t **p, const uint8_t *end, pbraw_field_t *f)
{
    uint64_t tag;
    if (*p >= end)
        return 0;
    if (pbraw_varint(p, end, &tag) || (tag >> 3) == 0 ||
        (tag >> 3) > UINT32_MAX)
        return ERR_PROTO;
    f->num = (uint32_t)(tag >> 3);
    f->wt = (int)(tag & 7);
    switch (f->wt) {
    case PBRAW_VARINT:
        return pbraw_varint(p, end, &f->v) ? ERR_PROTO : 1;
    case PBRAW_I64:
    case PBRAW_I32: {
        size_t n = f->wt == PBRAW_I64 ? 8 : 4;
        if ((size_t)(end - *p) < n)
            return ERR_PROTO;
        *p += n;
        return 1;
    }
    case PBRAW_LEN:
        if (pbraw_varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
            return ERR_PROTO;
        f->buf = *p;
        f->len = (size_t)f->v;
        *p += f->len;
        return 1;
    default:
        return ERR_PROTO;
    }
}

size_t
pbraw_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t
pbraw_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
