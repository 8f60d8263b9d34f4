/*
 * wire_batch: several encoded Envelopes in one frame (PROTOCOL.md
 * "Batches"). A Batch is Envelope{version, batch = Batch{items}} whose
 * items are serialised Envelopes; it saves the per-message costs of
 * ZeroMQ (a message, a pipe write, often a thread wake-up and a syscall
 * on each side) when many small messages go to the same peer at once.
 * Reading walks the frame in place (no copy, no protobuf-c unpack of the
 * items); each item is then decoded with wire_decode() on its own.
 */
#ifndef EXCERPT_WIRE_BATCH_H
#define EXCERPT_WIRE_BATCH_H

#include <stddef.h>
#include <stdint.h>

/* Reading position inside one frame. */
typedef struct wire_batch_iter {
    const uint8_t *p;   /* next unread byte of the Batch body (or the
                         * frame, when single) */
    const uint8_t *end; /* one past it */
    int single;         /* the frame is one message, not yet returned */
} wire_batch_iter_t;

/*
 * Look at a frame, an encoded Envelope, and set *it to read its messages
 * with wire_batch_next: the items of a Batch, or the frame itself once.
 * Returns 1 (a Batch), 0 (one message), or ERR_VERSION (a Batch whose
 * Envelope.version is not the protocol's) or ERR_PROTO (not a protobuf
 * message, or a Batch field that is not a message); *it then yields
 * nothing. Cheap: it reads the top-level field tags only.
 */
int wire_batch_open(const uint8_t *env, size_t len, wire_batch_iter_t *it);

/*
 * The next message of the frame: 1 (*item, *len point into the frame;
 * decode it with wire_decode), 0 (no more) or ERR_PROTO (a malformed Batch
 * body or an item that is itself a Batch; the rest of the frame is lost).
 */
int wire_batch_next(wire_batch_iter_t *it, const uint8_t **item, size_t *len);

/* A Batch being built: items are appended as they are encoded, after room
 * kept for the frame header, so the frame is one allocation. */
typedef struct wire_batch {
    uint8_t *buf;     /* header room, then the Batch body */
    size_t len;       /* bytes used, header room included */
    size_t cap;       /* bytes allocated */
    size_t n;         /* items */
    size_t first_off; /* offset of the first item's bytes */
    size_t first_len; /* and their count */
} wire_batch_t;

/* An empty batch; no allocation until the first item. */
void wire_batch_init(wire_batch_t *b);

/* Append a copy of env (one encoded Envelope, not a Batch). */
void wire_batch_add(wire_batch_t *b, const uint8_t *env, size_t len);

/* Append an item of exactly len bytes and return where they go; the
 * caller writes them there before the next call on b. */
uint8_t *wire_batch_reserve(wire_batch_t *b, size_t len);

/* Body bytes the batch holds (what its frame costs, within 16 bytes). */
size_t wire_batch_bytes(const wire_batch_t *b);

/*
 * Hand over the frame to send: with one item, that item's own bytes (no
 * Batch around a single message); with more, Envelope{version, Batch}.
 * *out is malloc'd (caller frees) and b is empty again. Returns 0, or
 * ERR_INVAL if b holds no item.
 */
int wire_batch_finish(wire_batch_t *b, uint8_t **out, size_t *out_len);

/*
 * As wire_batch_finish, without moving the bytes: the frame is the len
 * bytes at mem + off, and mem is what to free. For senders that can hand
 * over a pointer and a separate block to free (zmq_msg_init_data).
 */
int wire_batch_take(wire_batch_t *b, uint8_t **mem, size_t *off, size_t *len);

/* Free what b holds; b is empty again. */
void wire_batch_free(wire_batch_t *b);

#endif
