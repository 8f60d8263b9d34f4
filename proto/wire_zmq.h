/*
 * wire_zmq: hand an encoded frame to ZeroMQ without copying it. Every
 * sender of Batches (broker, worker, client, bench) builds its frame in one
 * malloc'd block (wire_batch_take); ZeroMQ frees it once the frame is
 * written. Copying instead (zmq_send) would cost a second large block per
 * frame, fresh pages each time.
 */
#ifndef EXCERPT_WIRE_ZMQ_H
#define EXCERPT_WIRE_ZMQ_H

#include "wire_batch.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Send the len bytes at mem + off as the last frame of a message on sock
 * (flags: 0 or ZMQ_DONTWAIT; EINTR is retried). mem is malloc'd and this
 * call owns it: ZeroMQ frees it after sending, or this call on failure.
 * Returns 0, ERR_AGAIN (the queue is full), ERR_CLOSED (ROUTER: no such
 * peer) or ERR_IO; errno tells the cause on failure.
 */
int wire_zsend(void *sock, uint8_t *mem, size_t off, size_t len, int flags);

/* Send what b holds (one message, or a Batch of them) as wire_zsend does;
 * b is empty afterwards, also on failure. An empty b sends nothing. */
int wire_batch_zsend(void *sock, wire_batch_t *b, int flags);

#endif
