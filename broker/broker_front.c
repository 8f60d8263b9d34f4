/*
 * broker_front: frontend requests: the peer in hand and its roles, reads
 * (Get, Since, Query, DeadList), Submit with pre-dispatch, dead-letter
 * writes, and the frontend dispatch by message kind.
 */
#include "broker_int.h"

/* Record who sent env: the key its handshake proved and that key's role
 * now (a reload may have dropped it); every role without keys. */
void
bfront_peer_of(broker_t *b, const zmq_msg_t *env)
{
    b->cur_env = env;
    if (!b->auth) {
        b->cur_role = AUTH_ANY;
        b->cur_key[0] = '\0';
        snprintf(b->cur_id, sizeof b->cur_id, "local");
        return;
    }
    const char *key = zmq_msg_gets((zmq_msg_t *)env, "User-Id");
    if (!key || strlen(key) != CURVE_KEY_Z85 - 1) {
        b->cur_role = 0;
        b->cur_key[0] = '\0';
        snprintf(b->cur_id, sizeof b->cur_id, "-");
        return;
    }
    memcpy(b->cur_key, key, CURVE_KEY_Z85);
    b->cur_role = auth_role_of(b->auth, key, b->cur_id);
}

/* The address of the peer in hand, for logs ("?" where ZeroMQ has none,
 * as for ipc). */
const char *
bfront_peer_addr(const broker_t *b)
{
    const char *a = b->cur_env
                        ? zmq_msg_gets((zmq_msg_t *)b->cur_env, "Peer-Address")
                        : NULL;
    return a && *a ? a : "?";
}

/* Refuse a request its sender's role does not allow; logged with the key
 * so that an operator sees who tried what. */
void
bfront_refuse_role(broker_t *b, void *sock, const route_t *rt,
                   const wire_msg_t *m, const char *why)
{
    log_warn("broker refused key=%s role=%s address=%s socket=%s kind=%s "
             "reason=\"%s\"",
             b->cur_id, auth_role_name(b->cur_role), bfront_peer_addr(b),
             sock == b->front ? "frontend" : "backend", wire_kind_name(m->kind),
             why);
    bout_reject(b, sock, rt, m->request_id, WIRE_CODE_UNAUTHORIZED, why, 0);
}

/* The roles that may send a frontend request of kind (0: none). */
static int
front_roles(int kind)
{
    switch (kind) {
    case WIRE_SUBMIT:
    case WIRE_GET:
    case WIRE_STATS:
        return AUTH_CLIENT | AUTH_ADMIN;
    case WIRE_SINCE:
    case WIRE_QUERY:
        return AUTH_CLIENT | AUTH_CONSUMER | AUTH_ADMIN;
    case WIRE_DEAD_LIST:
    case WIRE_DEAD_REQUEUE:
    case WIRE_DEAD_PURGE:
        return AUTH_ADMIN;
    default:
        return AUTH_ANY; /* refused below as not a frontend message */
    }
}

static void
info_fill(wire_job_info_t *ji, const store_job_t *j)
{
    memset(ji, 0, sizeof *ji);
    ji->id = j->id;
    ji->key = j->key;
    ji->state = j->state;
    ji->attempts = j->attempt;
    ji->priority = j->priority;
    ji->submitted_ms = j->submitted_ms;
    ji->finished_ms = j->finished_ms;
    ji->seq = j->seq;
    ji->last_error = j->last_error;
    ji->source_url = j->source_url;
    ji->title = j->title;
    ji->text_bytes = j->text_bytes;
}

/* Encode inside the read txn (pointers are borrowed from it), then send. */
void
bfront_reply_read(broker_t *b, const route_t *rt, const wire_msg_t *m)
{
    (void)bout_send_msg(b, b->front, rt, m);
}

static void
on_get(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    store_job_t j;
    wire_msg_t m, text;
    memset(&m, 0, sizeof m);
    memset(&text, 0, sizeof text);
    if (!req->u.get.job_id && (!req->u.get.key || !*req->u.get.key)) {
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_INVALID,
                    "Get needs job_id or key", 0);
        return;
    }
    int rc = store_read_begin(b->store);
    if (rc) {
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
                    "store busy", RETRY_INTERNAL_MS);
        return;
    }
    if (req->u.get.job_id)
        rc = store_get(b->store, req->u.get.job_id, &j);
    else
        rc =
            store_get_key(b->store, req->u.get.key, strlen(req->u.get.key), &j);
    if (rc == 0) {
        m.kind = WIRE_GET_REPLY;
        m.request_id = req->request_id;
        info_fill(&m.u.get_reply.job, &j);
        lease_t *l = blease_lt_find(&b->leases, j.id);
        if (l && j.state == STORE_READY) {
            m.u.get_reply.job.state = WIRE_JOB_LEASED;
            m.u.get_reply.job.attempts = l->attempt;
        }
        if (j.state == STORE_DONE)
            rc = store_result(b->store, j.id, &m.u.get_reply.result,
                              &m.u.get_reply.result_len);
        if (rc == 0 && req->u.get.with_text &&
            store_payload(b->store, j.id, &text) == 0) {
            m.u.get_reply.text = text.u.submit.job.text;
            m.u.get_reply.text_len = text.u.submit.job.text_len;
        }
    }
    if (rc == 0)
        bfront_reply_read(b, rt, &m);
    store_read_end(b->store);
    wire_msg_release(&text);
    if (rc == ERR_NOTFOUND)
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_NOT_FOUND,
                    "no such job", 0);
    else if (rc)
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
                    err_str(rc), RETRY_INTERNAL_MS);
}

typedef struct since_acc {
    wire_committed_t *items; /* collected */
    size_t n;                /* count */
    size_t bytes;            /* result bytes so far */
} since_acc_t;

static int
since_cb(void *arg, const store_item_t *it)
{
    since_acc_t *a = arg;
    if (a->n > 0 && a->bytes + it->result_len > SINCE_BYTES)
        return 1; /* the rest comes with the next Since */
    wire_committed_t *c = &a->items[a->n++];
    c->seq = it->seq;
    c->job_id = it->job_id;
    c->key = it->key;
    c->result = it->result;
    c->result_len = it->result_len;
    a->bytes += it->result_len;
    return 0;
}

static void
on_since(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    size_t limit = req->u.since.limit ? req->u.since.limit : 100;
    if (limit > WIRE_MAX_BATCH)
        limit = WIRE_MAX_BATCH;
    since_acc_t a = { xcalloc(limit, sizeof *a.items), 0, 0 };
    int rc = store_read_begin(b->store);
    if (rc == 0) {
        rc = store_since(b->store, req->u.since.after_seq, limit,
                         req->u.since.with_result, since_cb, &a);
        if (rc >= 0) {
            store_counts_t c = b->counts;
            if (a.n && a.items[a.n - 1].seq > c.last_seq)
                c.last_seq = a.items[a.n - 1].seq;
            wire_msg_t m;
            memset(&m, 0, sizeof m);
            m.kind = WIRE_SINCE_REPLY;
            m.request_id = req->request_id;
            m.u.since_reply.items = a.items;
            m.u.since_reply.n = a.n;
            m.u.since_reply.last_seq = c.last_seq;
            bfront_reply_read(b, rt, &m);
            rc = 0;
        }
        store_read_end(b->store);
    }
    free(a.items);
    if (rc)
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
                    err_str(rc), RETRY_INTERNAL_MS);
}

/* Query: the store answers (storage/store_query.c); PROTOCOL.md "Queries" */
static void
on_query(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    const char *why = NULL;
    if (store_query_check(&req->u.query, &why)) {
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_INVALID, why,
                    0);
        return;
    }
    store_query_reply_t page;
    int rc = store_read_begin(b->store);
    if (rc == 0) {
        rc = store_query_run(b->store, &req->u.query, &page);
        if (rc == 0) {
            wire_msg_t m;
            store_query_reply_msg(&page, req->request_id, &m);
            bfront_reply_read(b, rt, &m);
            store_query_reply_free(&page);
        }
        store_read_end(b->store);
    }
    if (rc)
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
                    err_str(rc), RETRY_INTERNAL_MS);
}

typedef struct dead_acc {
    wire_dead_t *items;  /* collected */
    char **hist_bufs;    /* owned copies of each history */
    const char ***lines; /* owned line arrays */
    size_t n;            /* count */
} dead_acc_t;

static int
dead_cb(void *arg, const store_job_t *j, const char *reason)
{
    dead_acc_t *a = arg;
    wire_dead_t *d = &a->items[a->n];
    info_fill(&d->job, j);
    d->reason = reason;
    char *h = xstrdup(j->history);
    const char **lines = xcalloc(j->n_history + 1, sizeof *lines);
    size_t nl = 0;
    for (char *p = h; *p && nl < j->n_history;) {
        char *e = strchr(p, '\n');
        lines[nl++] = p;
        if (!e)
            break;
        *e = '\0';
        p = e + 1;
    }
    d->history = lines;
    d->n_history = nl;
    a->hist_bufs[a->n] = h;
    a->lines[a->n] = lines;
    a->n++;
    return 0;
}

static void
on_dead_list(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    size_t limit = req->u.dead_list.limit ? req->u.dead_list.limit : 100;
    if (limit > WIRE_MAX_BATCH)
        limit = WIRE_MAX_BATCH;
    dead_acc_t a = { xcalloc(limit, sizeof *a.items),
                     xcalloc(limit, sizeof *a.hist_bufs),
                     xcalloc(limit, sizeof *a.lines), 0 };
    int rc = store_read_begin(b->store);
    if (rc == 0) {
        rc = store_dead_list(b->store, req->u.dead_list.after_job_id, limit,
                             dead_cb, &a);
        if (rc >= 0) {
            wire_msg_t m;
            memset(&m, 0, sizeof m);
            m.kind = WIRE_DEAD_LIST_REPLY;
            m.request_id = req->request_id;
            m.u.dead_list_reply.items = a.items;
            m.u.dead_list_reply.n = a.n;
            bfront_reply_read(b, rt, &m);
            rc = 0;
        }
        store_read_end(b->store);
    }
    for (size_t i = 0; i < a.n; i++) {
        free(a.hist_bufs[i]);
        free((void *)a.lines[i]);
    }
    free(a.items);
    free(a.hist_bufs);
    free(a.lines);
    if (rc)
        bout_reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
                    err_str(rc), RETRY_INTERNAL_MS);
}

/* Is the Submit's idempotency key (given or default) committed already?
 * Asked only when the queue is full: a duplicate adds no job, so it gets
 * Accepted{duplicate} rather than QUEUE_FULL (DESIGN.md guarantee 4). */
static bool
key_committed(broker_t *b, const char *key)
{
    bool found = false;
    store_job_t job;
    if (store_read_begin(b->store) == 0) {
        found = store_get_key(b->store, key, strlen(key), &job) == 0;
        store_read_end(b->store);
    }
    return found;
}

static bool
key_exists(broker_t *b, const wire_msg_t *m)
{
    const wire_job_t *j = &m->u.submit.job;
    char *own = NULL;
    const char *key = j->key;
    if (!key || !*key)
        key = own = store_key_default(j->text, j->text_len);
    bool found = key_committed(b, key);
    free(own);
    return found;
}

/* Send a just-arrived Submit's job to a worker before its commit, when it
 * would be the next job dispatched anyway: no committed job is waiting
 * and a worker has credit (an earlier Submit still waiting for its commit
 * cannot be dispatched before it, so it loses nothing).
 * Its id must be reserved (see next_id). The Submit is still answered
 * only after its commit; the result commits in the same group or a later
 * one, never before the job. A job that then fails to commit (duplicate
 * key in the same batch, store full) leaves a Done that finds no job.
 * This takes one group commit off the submit-to-result path. */
static bool
predispatch(broker_t *b, op_t *op)
{
    if (b->draining || op->assigned > b->id_durable || blease_available(b) > 0)
        return false;
    worker_t *w = blease_next_worker(b);
    if (!w)
        return false;
    const wire_job_t *j = &op->msg.u.submit.job;
    const char *key = op->key ? op->key : j->key;
    if (key_committed(b, key))
        return false; /* a resubmission: no work to do */
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DISPATCH;
    m.request_id = ++b->out_rid;
    m.u.dispatch.job = *j;
    m.u.dispatch.job.id = op->assigned;
    m.u.dispatch.job.key = key;
    m.u.dispatch.attempt = 1;
    m.u.dispatch.lease_ms = (uint32_t)b->cfg.lease_ms;
    uint8_t *buf = NULL;
    size_t len = 0;
    route_t rt = blease_worker_route(w);
    room_t r = { b, b->back, &rt };
    if ((w->batch ? wire_encode_into(&m, bout_room_of, &r)
                  : wire_encode(&m, &buf, &len)) != ERR_OK)
        return false; /* it goes out after its commit instead */
    lease_t *l = blease_lease_out(b, w, op->assigned, 1, j->text_len, buf, len);
    l->early_gen = b->batch_gen;
    b->batch_early++;
    return true;
}

static void
on_submit(broker_t *b, const route_t *rt, wire_msg_t *m)
{
    const wire_job_t *j = &m->u.submit.job;
    if (b->draining) {
        bout_reject(b, b->front, rt, m->request_id, WIRE_CODE_SHUTTING_DOWN,
                    "broker is shutting down", RETRY_SHUTDOWN_MS);
        return;
    }
    if (j->text_len == 0) {
        bout_reject(b, b->front, rt, m->request_id, WIRE_CODE_INVALID,
                    "empty text", 0);
        return;
    }
    if (j->priority < 0 || j->priority > WIRE_MAX_PRIORITY) {
        bout_reject(b, b->front, rt, m->request_id, WIRE_CODE_INVALID,
                    "priority out of range 0..9", 0);
        return;
    }
    const store_counts_t *c = &b->counts;
    if (c->ready + c->leased + c->delayed + b->n_submits + b->c_submits >=
            (uint64_t)b->cfg.max_queued &&
        !key_exists(b, m)) {
        bout_reject(b, b->front, rt, m->request_id, WIRE_CODE_QUEUE_FULL,
                    "queue holds max-queued jobs", RETRY_QUEUE_FULL_MS);
        return;
    }
    op_t *op = bcommit_op_push(b, OP_SUBMIT);
    op->sock = b->front;
    op->rid = m->request_id;
    bout_route_copy(&op->route, rt);
    op->msg = *m;
    memset(m, 0, sizeof *m); /* ownership moved to the op */
    if (!op->msg.u.submit.job.key || !*op->msg.u.submit.job.key)
        op->key = store_key_default(op->msg.u.submit.job.text,
                                    op->msg.u.submit.job.text_len);
    b->n_submits++;
    metrics_submit(b->metrics);
    b->batch_bytes += op->msg.u.submit.job.text_len;
    op->assigned = b->next_id++;
    op->predispatched = predispatch(b, op);
    if (op->predispatched)
        b->n_early++;
}

static void
on_dead_write(broker_t *b, const route_t *rt, wire_msg_t *m)
{
    op_t *op = bcommit_op_push(b, m->kind == WIRE_DEAD_REQUEUE ? OP_DEAD_REQUEUE
                                                               : OP_DEAD_PURGE);
    op->sock = b->front;
    op->rid = m->request_id;
    bout_route_copy(&op->route, rt);
    /* audit: who asked for what (the outcome is logged by op_reply) */
    log_info(
        "broker admin action=%s key=%s role=%s address=%s all=%d "
        "ids=%zu first=%llu",
        m->kind == WIRE_DEAD_REQUEUE ? "requeue" : "purge", b->cur_id,
        auth_role_name(b->cur_role), bfront_peer_addr(b), m->u.dead_ids.all,
        m->u.dead_ids.n,
        (unsigned long long)(m->u.dead_ids.n ? m->u.dead_ids.job_ids[0] : 0));
    op->msg = *m;
    memset(m, 0, sizeof *m);
}

void
bfront_on_frontend(broker_t *b, const route_t *rt, const uint8_t *env,
                   size_t len)
{
    wire_msg_t m;
    int rc = wire_decode(env, len, 0, &m);
    if (rc) {
        log_info("broker bad frontend frame bytes=%zu: %s", len, err_str(rc));
        bout_reject(b, b->front, rt, m.request_id, bout_code_of_decode(rc),
                    m.error ? m.error : bout_reason_of_decode(rc), 0);
        return;
    }
    if (!(front_roles(m.kind) & b->cur_role)) {
        bfront_refuse_role(b, b->front, rt, &m,
                           b->cur_role
                               ? "this key's role may not send this request"
                               : "key not in the allow-list");
        wire_msg_release(&m);
        return;
    }
    switch (m.kind) {
    case WIRE_SUBMIT:
        on_submit(b, rt, &m);
        break;
    case WIRE_GET:
        on_get(b, rt, &m);
        break;
    case WIRE_SINCE:
        on_since(b, rt, &m);
        break;
    case WIRE_QUERY:
        on_query(b, rt, &m);
        break;
    case WIRE_STATS:
        bstats_on_stats(b, rt, &m);
        break;
    case WIRE_DEAD_LIST:
        on_dead_list(b, rt, &m);
        break;
    case WIRE_DEAD_REQUEUE:
    case WIRE_DEAD_PURGE:
        if (b->draining)
            bout_reject(b, b->front, rt, m.request_id, WIRE_CODE_SHUTTING_DOWN,
                        "broker is shutting down", RETRY_SHUTDOWN_MS);
        else
            on_dead_write(b, rt, &m);
        break;
    default:
        bout_reject(b, b->front, rt, m.request_id, WIRE_CODE_INVALID,
                    "message not accepted on the frontend", 0);
        break;
    }
    wire_msg_release(&m);
}
