/*
 * wire_splice: build an envelope around protobuf bytes that are already
 * encoded, without decoding and re-encoding them. The broker keeps each
 * job as the encoded Submit envelope it accepted; dispatching it then
 * copies the Job bytes into a Dispatch instead of unpacking the job
 * (allocations, UTF-8 checks of the whole text) and packing it again.
 */
#ifndef EXCERPT_WIRE_SPLICE_H
#define EXCERPT_WIRE_SPLICE_H

#include "wire_batch.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Encode Envelope{version, request_id, Dispatch{job, attempt, lease_ms}}
 * into a new malloc'd *out (caller frees) where job is the Job inside
 * submit, an encoded Envelope{Submit{job}} as wire_encode() writes it.
 * The result has the same bytes wire_encode() gives for that Dispatch.
 * Errors: ERR_PROTO (submit is not an encoded Submit with a job).
 */
int wire_splice_dispatch(const uint8_t *submit, size_t len, uint64_t request_id,
                         uint32_t attempt, uint32_t lease_ms, uint8_t **out,
                         size_t *out_len);

/* As wire_splice_dispatch, the envelope appended to batch b as one more
 * item instead of into a new buffer (one copy of the Job in all). */
int wire_splice_dispatch_batch(const uint8_t *submit, size_t len,
                               uint64_t request_id, uint32_t attempt,
                               uint32_t lease_ms, wire_batch_t *b);

/*
 * The text of the Job inside submit, an encoded Envelope{Submit{job}} as
 * the store keeps it: *text points into submit (no copy). Errors:
 * ERR_PROTO (not an encoded Submit with a job and a text).
 */
int wire_submit_text(const uint8_t *submit, size_t len, const uint8_t **text,
                     size_t *text_len);

#endif
