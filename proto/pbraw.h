/*
 * pbraw: a minimal reader and writer of the protobuf wire format, for the
 * few places that handle encoded bytes without unpacking them (the store
 * reads a Result's entities, the broker splices stored Job bytes into a
 * Dispatch, the worker writes its Done). Field numbers come from tags.h;
 * everything else goes through protobuf-c (wire.h).
 */
#ifndef EXCERPT_PBRAW_H
#define EXCERPT_PBRAW_H

#include <stddef.h>
#include <stdint.h>

enum { PBRAW_VARINT = 0, PBRAW_I64 = 1, PBRAW_LEN = 2, PBRAW_I32 = 5 };

/* One field: number, wire type, varint value or length-delimited bytes. */
typedef struct pbraw_field {
    uint32_t num;       /* field number */
    int wt;             /* wire type, PBRAW_* */
    uint64_t v;         /* varint value (PBRAW_VARINT) */
    const uint8_t *buf; /* bytes (PBRAW_LEN) */
    size_t len;         /* their count */
} pbraw_field_t;

/* Read a varint at *p (advanced past it). Returns 0 or ERR_PROTO
 * (truncated or longer than 64 bits). */
int pbraw_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Read the next field at *p (advanced past it). Returns 1 (got one), 0
 * (at end) or ERR_PROTO (malformed: bad tag, wire type or length). */
int pbraw_next(const uint8_t **p, const uint8_t *end, pbraw_field_t *f);

/* Write v as a varint at p (room for 10 bytes); returns bytes written. */
size_t pbraw_put_varint(uint8_t *p, uint64_t v);

/* Bytes v takes as a varint (1..10). */
size_t pbraw_varint_len(uint64_t v);

#endif
