/*
 * broker_out: routing frames, per-peer outboxes that leave as one Batch
 * frame per loop pass, sending and receiving messages, and reject (the
 * Error reply with its codes for undecodable requests).
 */
#include "broker_int.h"

void
bout_route_free(route_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->data[i]);
    r->n = 0;
}

void
bout_route_copy(route_t *dst, const route_t *src)
{
    dst->n = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->len[i] = src->len[i];
        dst->data[i] = xmalloc(src->len[i] ? src->len[i] : 1);
        memcpy(dst->data[i], src->data[i], src->len[i]);
    }
}

/* Log a failed send (errno tells why); returns its ERR_* code. */
static int
send_failed(int kind)
{
    int e = errno;
    log_warn("broker send failed kind=%s: %s", wire_kind_name(kind),
             zmq_strerror(e));
    return e == EHOSTUNREACH ? ERR_CLOSED : e == EAGAIN ? ERR_AGAIN : ERR_IO;
}

/* Send route frames then the len bytes at mem + off, an encoded envelope
 * of kind (for logs); mem is malloc'd and its ownership passes to this
 * call. Returns 0 or ERR_CLOSED (peer gone) / ERR_AGAIN (queue full) /
 * ERR_IO; logs. */
static int
send_at(void *sock, const route_t *rt, uint8_t *mem, size_t off, size_t len,
        int kind)
{
    for (size_t i = 0; i < rt->n; i++) {
        if (zmq_send(sock, rt->data[i], rt->len[i],
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            int rc = send_failed(kind);
            free(mem);
            return rc;
        }
    }
    if (wire_zsend(sock, mem, off, len, ZMQ_DONTWAIT) != ERR_OK)
        return send_failed(kind);
    return ERR_OK;
}

static bool
route_equal(const route_t *a, const route_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->len[i] != b->len[i] || memcmp(a->data[i], b->data[i], a->len[i]))
            return false;
    return true;
}

/* Whether the peer at rt on sock reads Batch envelopes: a worker whose
 * Ready said so, or a client whose request in hand came in a Batch. */
static bool
peer_batches(broker_t *b, void *sock, const route_t *rt)
{
    if (sock == b->back) {
        worker_t *w = blease_worker_find(b, rt);
        return w && w->batch;
    }
    return b->cur_batched;
}

/* send_at for a whole buffer. */
int
bout_send_buf(void *sock, const route_t *rt, uint8_t *buf, size_t len, int kind)
{
    return send_at(sock, rt, buf, 0, len, kind);
}

/* Send what o holds as one frame and empty it. A worker that cannot be
 * reached is marked lost (its leases expire at the next tick). */
static void
outbox_send(broker_t *b, outbox_t *o)
{
    if (o->batch.n == 0)
        return;
    uint8_t *mem = NULL;
    size_t off = 0, len = 0;
    int kind = o->batch.n > 1 ? WIRE_BATCH : WIRE_NONE;
    if (wire_batch_take(&o->batch, &mem, &off, &len) != ERR_OK)
        return;
    if (send_at(o->sock, &o->route, mem, off, len, kind) != ERR_OK &&
        o->sock == b->back) {
        worker_t *w = blease_worker_find(b, &o->route);
        if (w)
            w->lost = true;
    }
}

/* End of a loop pass: send every outbox. */
void
bout_flush_out(broker_t *b)
{
    for (size_t i = 0; i < b->n_out; i++) {
        outbox_send(b, &b->out[i]);
        bout_route_free(&b->out[i].route);
    }
    b->n_out = 0;
}

/* The outbox of the peer at rt on sock, with room for a message of len
 * bytes (what it held goes out first if the frame would pass OUT_BYTES). */
outbox_t *
bout_outbox_for(broker_t *b, void *sock, const route_t *rt, size_t len)
{
    outbox_t *o = NULL;
    for (size_t i = 0; i < b->n_out && !o; i++)
        if (b->out[i].sock == sock && route_equal(&b->out[i].route, rt))
            o = &b->out[i];
    if (!o) {
        if (b->n_out == MAX_OUTBOXES)
            bout_flush_out(b);
        o = &b->out[b->n_out++];
        o->sock = sock;
        bout_route_copy(&o->route, rt);
        wire_batch_init(&o->batch);
    }
    if (o->batch.n > 0 && wire_batch_bytes(&o->batch) + len > OUT_BYTES)
        outbox_send(b, o);
    return o;
}

wire_batch_t *
bout_room_of(void *ud, size_t n)
{
    room_t *r = ud;
    return &bout_outbox_for(r->b, r->sock, r->rt, n)->batch;
}

/* Encode m for the peer at rt: straight into its outbox when it reads
 * Batches, else into a buffer sent at once (as bout_send_buf). */
int
bout_send_msg(broker_t *b, void *sock, const route_t *rt, const wire_msg_t *m)
{
    int rc;
    if (peer_batches(b, sock, rt)) {
        room_t r = { b, sock, rt };
        rc = wire_encode_into(m, bout_room_of, &r);
    } else {
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = wire_encode(m, &buf, &len);
        if (rc == ERR_OK)
            return bout_send_buf(sock, rt, buf, len, m->kind);
    }
    if (rc)
        log_error("broker encode failed kind=%s: %s", wire_kind_name(m->kind),
                  err_str(rc));
    return rc;
}

void
bout_reject(broker_t *b, void *sock, const route_t *rt, uint64_t rid, int code,
            const char *reason, uint32_t retry_after_ms)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_REJECTED;
    m.request_id = rid;
    m.u.rejected.code = code;
    m.u.rejected.reason = reason;
    m.u.rejected.retry_after_ms = retry_after_ms;
    m.u.rejected.batch = true; /* tells a peer this broker reads Batches */
    b->rejected_total++;
    metrics_rejected(b->metrics, code);
    log_debug("broker rejected code=%s reason=\"%s\"", wire_code_name(code),
              reason);
    (void)bout_send_msg(b, sock, rt, &m);
}

int
bout_code_of_decode(int rc)
{
    switch (rc) {
    case ERR_VERSION:
        return WIRE_CODE_BAD_VERSION;
    case ERR_TOOBIG:
        return WIRE_CODE_TOO_LARGE;
    case ERR_UTF8:
        return WIRE_CODE_BAD_UTF8;
    default:
        return WIRE_CODE_INVALID;
    }
}

const char *
bout_reason_of_decode(int rc)
{
    switch (rc) {
    case ERR_VERSION:
        return "unsupported protocol version (this broker speaks 1)";
    case ERR_TOOBIG:
        return "message or text over the size limit";
    case ERR_UTF8:
        return "text is not valid UTF-8";
    default:
        return "malformed envelope or message";
    }
}

/* Read one multipart message: route frames and the last frame (the
 * Envelope) into *env (caller closes). Returns 1, 0 (nothing), -1 error.
 * Messages with too many frames are drained and reported as garbage by
 * an empty env. */
int
bout_recv_msg(void *sock, route_t *rt, zmq_msg_t *env)
{
    zmq_msg_t part;
    int more = 0;
    size_t nframes = 0;
    rt->n = 0;
    zmq_msg_init(env);
    for (;;) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, nframes ? 0 : ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            if (nframes == 0 && (e == EAGAIN || e == EINTR))
                return 0;
            bout_route_free(rt);
            log_error("broker recv failed: %s", zmq_strerror(e));
            return -1;
        }
        nframes++;
        more = zmq_msg_more(&part);
        if (!more) {
            zmq_msg_move(env, &part);
            zmq_msg_close(&part);
            return 1;
        }
        if (rt->n < MAX_ROUTE) {
            size_t n = zmq_msg_size(&part);
            rt->len[rt->n] = n;
            rt->data[rt->n] = xmalloc(n ? n : 1);
            memcpy(rt->data[rt->n], zmq_msg_data(&part), n);
            rt->n++;
        }
        zmq_msg_close(&part);
    }
}
