/*
 * broker_commit: ops (the writes queued for the next group commit), the
 * committer thread that applies a batch in one store txn, and op_reply,
 * which sends each outcome only after its txn committed.
 */
#include "broker_int.h"

op_t *
bcommit_op_push(broker_t *b, int type)
{
    if (b->n_ops == b->cap_ops) {
        b->cap_ops = b->cap_ops ? b->cap_ops * 2 : 64;
        b->ops = xreallocarray(b->ops, b->cap_ops, sizeof *b->ops);
    }
    op_t *op = &b->ops[b->n_ops++];
    memset(op, 0, sizeof *op);
    op->type = type;
    op->batched = b->cur_batched;
    op->t_us = now_mono_us();
    if (!b->batch_open) {
        b->batch_open = true;
        b->batch_start_us = now_mono_us();
    }
    return op;
}

void
bcommit_op_free(op_t *op)
{
    bout_route_free(&op->route);
    wire_msg_release(&op->msg);
    free(op->key);
    free(op->done_key);
}

/* Does the stored text of job id differ from job's? Read in the open txn;
 * a payload that cannot be read counts as not differing (the Accepted is
 * what it was before the flag existed). */
static bool
text_differs(broker_t *b, uint64_t id, const wire_job_t *job)
{
    const uint8_t *stored, *text;
    size_t stored_len, text_len;
    if (store_payload_raw(b->store, id, &stored, &stored_len) ||
        wire_submit_text(stored, stored_len, &text, &text_len))
        return false;
    return text_len != job->text_len || memcmp(text, job->text, text_len);
}

/* Apply one op inside the open txn; sets op->rc. */
static void
op_apply(broker_t *b, op_t *op, uint64_t now)
{
    switch (op->type) {
    case OP_SUBMIT: {
        wire_job_t job = op->msg.u.submit.job;
        if (op->key)
            job.key = op->key;
        job.id = op->assigned;
        op->rc = store_submit(b->store, &job, now, &op->id, &op->dup);
        if (op->rc == 0 && op->dup)
            op->differs = text_differs(b, op->id, &job);
        break;
    }
    case OP_DONE: {
        store_done_t d;
        op->rc =
            store_done(b->store, op->job_id, op->attempt, op->msg.u.done.result,
                       op->msg.u.done.result_len, NULL, now, &d);
        if (op->rc == 0) {
            op->seq = d.seq;
            op->done_key = d.key;
            op->extract_us = d.extract_us;
            op->total_us = d.total_us;
            break;
        }
        if (op->rc != ERR_INVAL)
            break;
        /* the result bytes do not parse (store_done wrote nothing): the
         * attempt failed */
        log_warn("broker undecodable result job=%llu attempt=%u",
                 (unsigned long long)op->job_id, op->attempt);
        op->type = OP_FAILED;
        op->reason = "worker sent an undecodable result";
        op->permanent = false;
        op->bad_result = true;
    }
        /* fall through */
    case OP_FAILED:
    case OP_EXPIRE:
        /* an undecodable result is the worker's fault, and that worker
         * gets no more jobs (op_reply): it never dead-letters the job */
        op->rc = store_fail(
            b->store, op->job_id, op->attempt, op->reason, op->permanent,
            op->bad_result ? UINT32_MAX : (uint32_t)b->cfg.max_attempts,
            now + op->delay_ms, now, &op->state);
        break;
    case OP_DEAD_REQUEUE:
    case OP_DEAD_PURGE: {
        bool rq = op->type == OP_DEAD_REQUEUE;
        if (op->msg.u.dead_ids.all) {
            op->rc = rq ? store_dead_requeue_all(b->store, now, &op->count)
                        : store_dead_purge_all(b->store, &op->count);
            break;
        }
        op->rc = 0;
        for (size_t i = 0; i < op->msg.u.dead_ids.n; i++) {
            uint64_t id = op->msg.u.dead_ids.job_ids[i];
            int rc = rq ? store_dead_requeue(b->store, id, now)
                        : store_dead_purge(b->store, id);
            if (rc == 0) {
                op->count++;
            } else if (rc != ERR_NOTFOUND) {
                op->rc = rc;
                break;
            }
        }
        break;
    }
    }
}

static void
op_reset(op_t *op)
{
    if (op->final)
        return;
    op->rc = 0;
    op->id = 0;
    op->dup = false;
    op->differs = false;
    op->seq = 0;
    free(op->done_key);
    op->done_key = NULL;
    op->count = 0;
}

/* The committer is the pipeline's one serial stage (its fsync): once it
 * is free, finish its group and hand it the next one at once, from inside
 * long stretches of loop work too (reading a backlog, dispatching). */
void
bcommit_service_commit(broker_t *b)
{
    if (!b->committing ||
        !atomic_load_explicit(&b->c_finished, memory_order_acquire))
        return;
    bcommit_reap_commit(b, false);
    if (!b->committing && b->batch_open && bcommit_batch_due(b, now_mono_us()))
        bcommit_start_commit(b);
}

static void
count_commit(broker_t *b)
{
    b->committed_total++;
}

static void
send_done_ack(broker_t *b, op_t *op, int code)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DONE_ACK;
    m.request_id = op->rid;
    m.u.done_ack.job_id = op->job_id;
    m.u.done_ack.attempt = op->attempt;
    m.u.done_ack.code = code;
    (void)bout_send_msg(b, b->back, &op->route, &m);
}

static int
code_of_store(int rc)
{
    switch (rc) {
    case ERR_FULL:
    case ERR_NOSPACE:
        return WIRE_CODE_STORE_FULL;
    case ERR_STALE:
    case ERR_NOTFOUND:
    case ERR_EXISTS:
        return WIRE_CODE_NOT_FOUND;
    case ERR_INVAL:
        return WIRE_CODE_INVALID;
    default:
        return WIRE_CODE_INTERNAL;
    }
}

/* The worker that sent op's undecodable result is broken (a bad build,
 * memory corruption, a forger): it keeps its connection and its other
 * leases but gets no further job, so it cannot burn jobs' attempts. */
static void
quarantine(broker_t *b, const op_t *op)
{
    worker_t *w = blease_worker_find(b, &op->route);
    if (!w || w->quarantined)
        return;
    w->quarantined = true;
    log_error("broker worker quarantined worker=%s key=%s job=%llu "
              "reason=\"undecodable result\": it gets no more jobs until it "
              "reconnects",
              w->name, w->id, (unsigned long long)op->job_id);
}

/* Send the outcome of one op after the commit (or its failure). */
static void
op_reply(broker_t *b, op_t *op)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.request_id = op->rid;
    b->cur_batched = op->batched;
    switch (op->type) {
    case OP_SUBMIT:
        if (op->rc == 0) {
            m.kind = WIRE_ACCEPTED;
            m.u.accepted.job_id = op->id;
            m.u.accepted.duplicate = op->dup;
            m.u.accepted.text_differs = op->differs;
            if (!op->dup)
                b->submitted_total++;
            metrics_accepted(b->metrics, op->dup, now_mono_us() - op->t_us);
            log_debug("broker accepted job=%llu dup=%d differs=%d",
                      (unsigned long long)op->id, op->dup, op->differs);
            (void)bout_send_msg(b, b->front, &op->route, &m);
        } else if (op->rc == ERR_FULL) {
            bout_reject(b, b->front, &op->route, op->rid, WIRE_CODE_STORE_FULL,
                        "store at its map size limit", RETRY_STORE_FULL_MS);
        } else if (op->rc == ERR_NOSPACE) {
            bout_reject(b, b->front, &op->route, op->rid, WIRE_CODE_STORE_FULL,
                        "filesystem full", RETRY_STORE_FULL_MS);
        } else {
            bout_reject(b, b->front, &op->route, op->rid, code_of_store(op->rc),
                        err_str(op->rc),
                        code_of_store(op->rc) == WIRE_CODE_INTERNAL
                            ? RETRY_INTERNAL_MS
                            : 0);
        }
        break;
    case OP_DONE:
        if (op->rc == 0) {
            count_commit(b);
            metrics_result(b->metrics, op->extract_us, op->total_us);
            log_debug("broker committed job=%llu attempt=%u seq=%llu",
                      (unsigned long long)op->job_id, op->attempt,
                      (unsigned long long)op->seq);
        } else if (op->rc == ERR_STALE || op->rc == ERR_NOTFOUND ||
                   op->rc == ERR_EXISTS) {
            log_info("broker done not counted job=%llu attempt=%u: %s",
                     (unsigned long long)op->job_id, op->attempt,
                     err_str(op->rc));
        } else {
            unsigned long long n = 0;
            if (log_rate_allow(&b->done_log, 10000, &n))
                log_warn("broker done not committed job=%llu attempt=%u: %s "
                         "(%llu more since the last such line)",
                         (unsigned long long)op->job_id, op->attempt,
                         err_str(op->rc), n);
        }
        send_done_ack(b, op,
                      op->rc == 0 ? WIRE_CODE_OK : code_of_store(op->rc));
        break;
    case OP_FAILED:
        if (op->bad_result)
            quarantine(b, op);
        if (op->rc == 0)
            metrics_failed(b->metrics, op->state == STORE_DEAD);
        if (op->rc == 0)
            log_info("broker job failed job=%llu attempt=%u state=%s "
                     "reason=\"%s\"",
                     (unsigned long long)op->job_id, op->attempt,
                     wire_job_state_name(op->state), op->reason);
        /* a Done turned into a failure was not stored: say so */
        send_done_ack(b, op,
                      op->rc != 0      ? code_of_store(op->rc)
                      : op->bad_result ? WIRE_CODE_INVALID
                                       : WIRE_CODE_OK);
        break;
    case OP_EXPIRE:
        if (op->rc == 0)
            metrics_failed(b->metrics, op->state == STORE_DEAD);
        if (op->rc == 0 && op->state == STORE_DEAD)
            log_warn("broker job dead-lettered job=%llu attempt=%u",
                     (unsigned long long)op->job_id, op->attempt);
        break;
    case OP_DEAD_REQUEUE:
    case OP_DEAD_PURGE:
        log_info("broker admin action=%s done count=%llu rc=%s",
                 op->type == OP_DEAD_REQUEUE ? "requeue" : "purge",
                 (unsigned long long)op->count, err_str(op->rc));
        if (op->rc == 0) {
            m.kind = WIRE_DEAD_REPLY;
            m.u.dead_reply.count = op->count;
            (void)bout_send_msg(b, b->front, &op->route, &m);
        } else {
            bout_reject(b, b->front, &op->route, op->rid, code_of_store(op->rc),
                        err_str(op->rc), RETRY_STORE_FULL_MS);
        }
        break;
    }
    b->cur_batched = false;
}

/* Committer thread: apply the handed-over batch (and due promotions) in
 * one txn and commit it, redoing it while the map grows. At the map limit
 * it retries without the new jobs so that results still land. The first
 * try runs flat (no nested txn per op, see store_txn_begin_flat); if an op
 * fails after writing, the group is redone with one nested txn per op so
 * that the op fails alone. */
static void
commit_ops(broker_t *b)
{
    int rc = 0;
    uint64_t t0 = now_mono_us();
    size_t submits = b->c_submits;
    for (int tries = 0; tries < MAX_FLUSH_TRIES; tries++) {
        uint64_t now = bloop_clock_ms(b);
        rc = tries == 0 ? store_txn_begin_flat(b->store)
                        : store_txn_begin(b->store);
        if (rc)
            break;
        bool again = false;
        for (size_t i = 0; i < b->n_cops && !again; i++) {
            op_t *op = &b->cops[i];
            if (op->final)
                continue;
            op_apply(b, op, now);
            again = op->rc == ERR_AGAIN;
        }
        if (!again && b->c_reserve) {
            int rrc = store_reserve_ids(b->store, b->c_reserve);
            again = rrc == ERR_AGAIN;
            if (rrc && !again) {
                log_warn("broker id reservation failed: %s", err_str(rrc));
                b->c_reserve = 0;
            }
        }
        if (!again && b->c_promote) {
            int prc = store_promote_due(b->store, now, PROMOTE_PER_FLUSH, NULL);
            again = prc == ERR_AGAIN;
        }
        if (again) {
            store_txn_abort(b->store);
            for (size_t i = 0; i < b->n_cops; i++)
                op_reset(&b->cops[i]);
            continue;
        }
        rc = store_txn_commit(b->store);
        bool full = rc == ERR_FULL || rc == ERR_NOSPACE;
        if (rc == ERR_AGAIN || (full && submits > 0)) {
            for (size_t i = 0; i < b->n_cops; i++) {
                op_t *op = &b->cops[i];
                op_reset(op);
                if (full && op->type == OP_SUBMIT) {
                    op->final = true;
                    op->rc = rc;
                }
            }
            if (full)
                submits = 0;
            continue;
        }
        break;
    }
    if (rc) {
        for (size_t i = 0; i < b->n_cops; i++) {
            op_t *op = &b->cops[i];
            if (!op->final) {
                op_reset(op);
                op->rc = rc == ERR_AGAIN ? ERR_INTERNAL : rc;
            }
        }
    }
    b->c_rc = rc;
    b->c_us = now_mono_us() - t0;
    store_counts(b->store, &b->c_counts);
}

void *
bcommit_committer_main(void *arg)
{
    broker_t *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (!b->work && !b->quit)
            pthread_cond_wait(&b->cv, &b->mu);
        if (!b->work) {
            pthread_mutex_unlock(&b->mu);
            return NULL;
        }
        pthread_mutex_unlock(&b->mu);
        commit_ops(b);
        pthread_mutex_lock(&b->mu);
        b->work = false;
        pthread_mutex_unlock(&b->mu);
        ssize_t w;
        do {
            w = write(b->wake[1], "c", 1);
        } while (w < 0 && errno == EINTR);
        atomic_store_explicit(&b->c_finished, true, memory_order_release);
    }
}

/* Does the committed group leave every READY entry before ready_from
 * leased? Submits of a priority no higher than its entry's and Dones that
 * committed only remove entries or add them after it; anything else (a
 * failed op or group, Failed, expiry, requeue, promotion) may free one
 * before it or add one there. */
static bool
ready_from_holds(const broker_t *b)
{
    if (!b->ready_from_ok || b->c_rc || b->c_promote)
        return false;
    int prio = store_ready_pos_priority(&b->ready_from);
    for (size_t i = 0; i < b->n_cops; i++) {
        const op_t *op = &b->cops[i];
        if (op->rc != 0)
            return false;
        if (op->type == OP_SUBMIT) {
            if (op->msg.u.submit.job.priority > prio)
                return false;
        } else if (op->type != OP_DONE) {
            return false;
        }
    }
    return true;
}

/* Loop: send every reply, notification and lease update of the batch the
 * committer finished. */
static void
finish_commit(broker_t *b)
{
    unsigned long long n = 0;
    if (b->c_rc && store_is_broken(b->store)) {
        if (!b->fatal)
            log_error("broker exiting: the store is unusable (see the store "
                      "line above); a restart recovers it, nothing committed "
                      "is lost");
        b->fatal = true;
    } else if (b->c_rc && log_rate_allow(&b->commit_log, 10000, &n))
        log_error("broker group commit failed ops=%zu: %s (%llu more failed "
                  "since the last such line)",
                  b->n_cops, err_str(b->c_rc), n);
    else if (!b->c_rc)
        log_debug("broker group commit ops=%zu submits=%zu us=%llu", b->n_cops,
                  b->c_submits, (unsigned long long)b->c_us);
    b->counts = b->c_counts;
    metrics_commit(b->metrics, b->n_cops, b->c_us, b->c_rc);
    if (b->c_rc)
        b->id_asked = b->id_durable; /* ask again with the next batch */
    else if (b->c_reserve > b->id_durable)
        b->id_durable = b->c_reserve;
    for (size_t i = 0; i < b->n_cops; i++) {
        const op_t *op = &b->cops[i];
        if (op->type != OP_SUBMIT)
            continue;
        if (op->predispatched && b->n_early)
            b->n_early--;
    }
    for (size_t i = 0; i < b->n_cops; i++)
        op_reply(b, &b->cops[i]);
    bpub_publish(b);
    if (!ready_from_holds(b))
        b->ready_from_ok = false;
    /* committed (or refused): the store now tells these jobs' state */
    for (size_t i = 0; i < b->n_cops; i++) {
        op_t *op = &b->cops[i];
        if (op->type != OP_DONE && op->type != OP_FAILED &&
            op->type != OP_EXPIRE)
            continue;
        lease_t *l = blease_lt_find(&b->leases, op->job_id);
        if (!l || !l->finishing || l->attempt != op->attempt)
            continue;
        if (op->rc == 0 || op->rc == ERR_STALE || op->rc == ERR_NOTFOUND ||
            op->rc == ERR_EXISTS)
            blease_lt_remove(&b->leases, l);
        else
            blease_lease_hold(b, l);
    }
    for (size_t i = 0; i < b->n_cops; i++)
        bcommit_op_free(&b->cops[i]);
    b->n_cops = 0;
    b->c_submits = 0;
    b->committing = false;
}

/* Loop: hand the current batch to the committer. */
void
bcommit_start_commit(broker_t *b)
{
    assert(!b->committing);
    if (b->n_ops == 0 && !b->promote_due) {
        b->batch_open = false;
        return;
    }
    op_t *t = b->cops;
    size_t cap = b->cap_cops;
    b->cops = b->ops;
    b->cap_cops = b->cap_ops;
    b->n_cops = b->n_ops;
    b->ops = t;
    b->cap_ops = cap;
    b->n_ops = 0;
    b->c_submits = b->n_submits;
    b->c_promote = b->promote_due && b->counts.delayed > 0;
    b->c_reserve = 0;
    if (b->next_id + ID_BLOCK / 2 > b->id_asked) {
        b->c_reserve = b->next_id + ID_BLOCK;
        b->id_asked = b->c_reserve;
    }
    b->promote_due = false;
    b->n_submits = 0;
    b->batch_bytes = 0;
    b->batch_open = false;
    b->batch_gen++;
    b->batch_early = 0;
    b->committing = true;
    atomic_store_explicit(&b->c_finished, false, memory_order_relaxed);
    pthread_mutex_lock(&b->mu);
    b->work = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Loop: consume the committer's wake-ups and finish its batch. */
void
bcommit_reap_commit(broker_t *b, bool block)
{
    char buf[16];
    if (!b->committing)
        return;
    if (block) {
        struct pollfd p = { b->wake[0], POLLIN, 0 };
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
    }
    if (read(b->wake[0], buf, sizeof buf) <= 0)
        return;
    /* the mutex orders the committer's writes before our reads */
    pthread_mutex_lock(&b->mu);
    bool done = !b->work;
    pthread_mutex_unlock(&b->mu);
    if (done)
        finish_commit(b);
}

bool
bcommit_batch_full(const broker_t *b)
{
    return b->n_ops >= (size_t)b->cfg.commit_batch ||
           b->batch_bytes >= BATCH_BYTES;
}

/* When the open batch should be committed: commit-delay-us after its
 * first item, or up to early-wait-us while jobs sent to workers before
 * their Submit committed may still answer (submit and result then share
 * one group commit instead of two). */
uint64_t
bcommit_batch_due_at(const broker_t *b)
{
    uint64_t wait = (uint64_t)b->cfg.commit_delay_us;
    if (b->batch_early > 0 && (uint64_t)b->cfg.early_wait_us > wait)
        wait = (uint64_t)b->cfg.early_wait_us;
    return b->batch_start_us + wait;
}

bool
bcommit_batch_due(broker_t *b, uint64_t now_us)
{
    if (bcommit_batch_full(b))
        return true;
    if (!b->batch_open)
        return false;
    return now_us >= bcommit_batch_due_at(b);
}
