/*
 * broker_back: backend (worker) messages: Ready, Heartbeat, Done and
 * Failed, and the backend dispatch by message kind.
 */
#include "broker_int.h"

/* joined: the first message of this identity. Its credit is then at least
 * its capacity: a worker whose connection was redone (a broker restart, a
 * new socket) may be topping up credit that an earlier broker run or
 * connection knew, and would otherwise run below its capacity for good.
 * Jobs it still holds from before it queues (a worker takes up to twice
 * its capacity) and answers as usual. */
static void
on_ready(broker_t *b, worker_t *w, const wire_msg_t *m, bool joined)
{
    if (m->u.ready.worker_name && *m->u.ready.worker_name)
        snprintf(w->name, sizeof w->name, "%s", m->u.ready.worker_name);
    uint64_t room = (uint64_t)b->cfg.max_credit;
    uint64_t held = w->credit + w->n_leases;
    uint64_t add = m->u.ready.credit;
    if (joined && m->u.ready.capacity > add)
        add = m->u.ready.capacity;
    if (held >= room)
        add = 0;
    else if (add > room - held)
        add = room - held;
    w->credit += add;
    log_debug("broker ready worker=%s credit=%llu", w->name,
              (unsigned long long)w->credit);
}

/* Whether w (the sender in hand, which may be unregistered: NULL) may
 * act on lease l: it holds it, or it is the same key reconnected under a
 * new socket. Without keys every local peer may, as before keys existed. */
static bool
same_holder(const broker_t *b, const lease_t *l, const worker_t *w)
{
    if (!b->auth || (w && l->w == w))
        return true;
    return l->w && l->w->key[0] && !strcmp(l->w->key, b->cur_key);
}

static void
on_heartbeat(broker_t *b, worker_t *w, const route_t *rt, const wire_msg_t *m)
{
    uint64_t deadline = now_mono_ms() + b->cfg.lease_ms;
    for (size_t i = 0; i < m->u.heartbeat.n; i++) {
        lease_t *l = blease_lt_find(&b->leases, m->u.heartbeat.job_ids[i]);
        if (l && !l->finishing && !l->held &&
            (!m->u.heartbeat.attempts ||
             m->u.heartbeat.attempts[i] == l->attempt)) {
            if (l->w != w && !same_holder(b, l, w))
                continue; /* another worker's lease: not this one's to keep */
            l->deadline_ms = deadline;
            if (l->w != w) { /* the holder reconnected under a new id */
                blease_lease_take(l);
                blease_lease_give(l, w, l->bytes);
            }
        }
    }
    wire_msg_t r;
    memset(&r, 0, sizeof r);
    r.kind = WIRE_HEARTBEAT;
    r.request_id = m->request_id;
    (void)bout_send_msg(b, b->back, rt, &r);
}

static void
on_done_or_failed(broker_t *b, const route_t *rt, worker_t *w, wire_msg_t *m)
{
    bool done = m->kind == WIRE_DONE;
    uint64_t id = done ? m->u.done.job_id : m->u.failed.job_id;
    uint32_t att = done ? m->u.done.attempt : m->u.failed.attempt;
    bool fenced = false;
    lease_t *l = blease_lt_find(&b->leases, id);
    if (l && !l->finishing && !l->held && l->attempt == att &&
        !same_holder(b, l, w)) {
        /* a forged or misrouted answer for a lease another key holds:
         * nothing changes, the holder's own answer still counts */
        log_warn("broker refused key=%s address=%s kind=%s job=%llu "
                 "attempt=%u holder=%s reason=\"not the lease holder\"",
                 b->cur_id, bfront_peer_addr(b), wire_kind_name(m->kind),
                 (unsigned long long)id, att, l->w ? l->w->id : "-");
        bout_reject(b, b->back, rt, m->request_id, WIRE_CODE_UNAUTHORIZED,
                    "this job is leased to another worker", 0);
        return;
    }
    uint32_t tries = l ? l->tries : 0;
    if (l && l->attempt != att) {
        fenced = true; /* another attempt holds the job */
    } else if (l) {
        blease_lease_finish(b, l);
    } else {
        /* not leased by this broker run (e.g. it restarted): keep the job
         * from being dispatched while this op waits for its commit */
        l = blease_lt_insert(&b->leases, id);
        l->attempt = att;
        l->finishing = true;
    }
    /* The result bytes are checked where they are read, in the committer
     * (store_done): one that does not parse turns into a failed attempt. */
    op_t *op = bcommit_op_push(b, done ? OP_DONE : OP_FAILED);
    op->sock = b->back;
    op->rid = m->request_id;
    bout_route_copy(&op->route, rt);
    op->job_id = id;
    op->attempt = att;
    op->delay_ms = blease_backoff_ms(b, tries + 1);
    op->msg = *m;
    memset(m, 0, sizeof *m);
    if (fenced) {
        op->final = true;
        op->rc = ERR_STALE;
    }
    if (op->msg.kind == WIRE_FAILED) {
        op->reason = op->msg.u.failed.reason ? op->msg.u.failed.reason : "";
        op->permanent = op->msg.u.failed.permanent;
    } else if (!fenced) {
        b->batch_bytes += op->msg.u.done.result_len;
    }
}

void
bback_on_backend(broker_t *b, const route_t *rt, const uint8_t *env, size_t len)
{
    wire_msg_t m;
    if (rt->n == 0)
        return; /* ROUTER always adds the identity; nothing to answer */
    int rc = wire_decode(env, len, 0, &m);
    worker_t *w = blease_worker_find(b, rt);
    if (w)
        w->last_ms = now_mono_ms();
    if (rc) {
        log_info("broker bad backend frame bytes=%zu: %s", len, err_str(rc));
        bout_reject(b, b->back, rt, m.request_id, bout_code_of_decode(rc),
                    m.error ? m.error : bout_reason_of_decode(rc), 0);
        return;
    }
    if (!(b->cur_role & AUTH_WORKER)) {
        /* the handshake admitted it as a worker, so its key was removed
         * or changed role since: it loses its leases and its place */
        if (w && !w->lost) {
            log_warn("broker worker lost worker=%s key=%s reason=\"key no "
                     "longer has the worker role\"",
                     w->name, w->id);
            w->lost = true;
        }
        bfront_refuse_role(b, b->back, rt, &m, "key not allowed as a worker");
        wire_msg_release(&m);
        return;
    }
    switch (m.kind) {
    case WIRE_READY: {
        bool joined = !w;
        if (joined) {
            w = blease_worker_add(b, rt);
            memcpy(w->key, b->cur_key, sizeof w->key);
            memcpy(w->id, b->cur_id, sizeof w->id);
            log_info("broker worker joined worker=%s key=%s address=%s",
                     m.u.ready.worker_name ? m.u.ready.worker_name : "?", w->id,
                     bfront_peer_addr(b));
        }
        w->batch = m.u.ready.batch;
        on_ready(b, w, &m, joined);
        break;
    }
    case WIRE_DONE:
    case WIRE_FAILED:
        /* An unknown peer's result still counts (work finished across a
         * restart is kept), but it does not register the peer: with no
         * credit it would never be dispatched to, and its next Heartbeat
         * must get "unknown worker" so that it sends Ready again. */
        on_done_or_failed(b, rt, w, &m);
        break;
    case WIRE_HEARTBEAT:
        if (w)
            on_heartbeat(b, w, rt, &m);
        else
            bout_reject(b, b->back, rt, m.request_id, WIRE_CODE_NOT_FOUND,
                        "unknown worker", 0);
        break;
    default:
        if (w)
            bout_reject(b, b->back, rt, m.request_id, WIRE_CODE_INVALID,
                        "message not accepted on the backend", 0);
        else
            bout_reject(b, b->back, rt, m.request_id, WIRE_CODE_NOT_FOUND,
                        "unknown worker", 0);
        break;
    }
    wire_msg_release(&m);
}
