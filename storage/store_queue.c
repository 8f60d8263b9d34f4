/*
 * store_queue: the job queue: Submit, job id reservation, leasing the
 * next READY job, Failed with retry or dead-lettering, requeue of leased
 * and due delayed jobs, and the queue's reads (ready scans, Get, payloads,
 * oldest waiting, counters).
 */
#include "store_int.h"

/* wire_encode_place's room for a stored Submit: its value in "payloads",
 * reserved (appended: ids only grow). rc keeps LMDB's code on failure. */
typedef struct payload_room {
    store_t *s;       /* the store */
    MDB_txn *txn;     /* the op's txn */
    const uint8_t *k; /* job id, 8 bytes BE */
    int rc;           /* mdb_put's code when it refused */
} payload_room_t;

static uint8_t *
payload_room(void *ud, size_t n)
{
    payload_room_t *r = ud;
    MDB_val key = sdb_mval(r->k, 8), v = sdb_mval(NULL, n);
    r->rc = mdb_put(r->txn, r->s->dbi[DB_PAYLOADS], &key, &v,
                    MDB_APPEND | MDB_RESERVE);
    return r->rc ? NULL : v.mv_data;
}

int
store_submit(store_t *s, const wire_job_t *job, uint64_t now_ms, uint64_t *id,
             bool *duplicate)
{
    MDB_txn *txn = NULL;
    meta_t m;
    uint64_t nid = 0;
    if (!job || !job->key || !*job->key || strlen(job->key) > WIRE_MAX_KEY ||
        !job->text || job->text_len == 0 || job->priority < 0 ||
        job->priority > WIRE_MAX_PRIORITY)
        return ERR_INVAL;
    size_t klen = strlen(job->key);
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    uint64_t old;
    rc = srec_dedup_get(s, txn, job->key, klen, &old);
    if (rc == 0) {
        sdb_op_discard(s, txn);
        *id = old;
        *duplicate = true;
        return ERR_OK;
    }
    if (rc != MDB_NOTFOUND) {
        sdb_op_failing_clean(s);
        goto out;
    }
    if (job->id) {
        nid = job->id;
        if (nid > m.last_id)
            m.last_id = nid;
    } else {
        nid = ++m.last_id;
    }
    wire_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = WIRE_SUBMIT;
    msg.u.submit.job = *job;
    msg.u.submit.job.id = nid;
    uint8_t k[8];
    sdb_put_be64(k, nid);
    /* packed straight into the value reserved in the txn's pages */
    payload_room_t room = { s, txn, k, 0 };
    size_t plen;
    rc = wire_encode_place(&msg, payload_room, &room, &plen);
    if (rc == ERR_IO && room.rc)
        rc = room.rc; /* LMDB refused the room: its own code */
    if (rc)
        goto out;
    MDB_val key, v;
    uint8_t dk[DEDUP_DIRECT_MAX + 1];
    size_t dkn;
    srec_dedup_key(job->key, klen, dk, &dkn);
    key = sdb_mval(dk, dkn);
    v = sdb_mval(k, 8);
    rc = mdb_put(txn, s->dbi[DB_DEDUP], &key, &v, MDB_NOOVERWRITE);
    if (rc)
        goto out;
    rec_t r;
    memset(&r, 0, sizeof r);
    r.j.id = nid;
    r.j.priority = job->priority;
    r.j.submitted_ms = now_ms;
    r.j.text_bytes = job->text_len;
    r.j.key = job->key;
    r.j.last_error = "";
    r.j.source_url = job->source_url ? job->source_url : "";
    r.j.title = job->title ? job->title : "";
    r.j.history = "";
    r.j.attempt_run = s->run;
    rc = srec_make_ready(s, txn, &r, &m, now_ms);
out:
    rc = sdb_op_end(s, txn, &m, rc);
    if (rc == 0) {
        *id = nid;
        *duplicate = false;
    }
    return rc;
}

int
store_reserve_ids(store_t *s, uint64_t upto)
{
    MDB_txn *txn = NULL;
    meta_t m;
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    if (upto > m.last_id)
        m.last_id = upto;
    return sdb_op_end(s, txn, &m, 0);
}

int
store_lease_next(store_t *s, uint64_t now_ms, store_lease_t *out)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    meta_t m;
    rec_t r;
    memset(&r, 0, sizeof r);
    memset(out, 0, sizeof *out);
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    for (;;) {
        rc = mdb_cursor_open(txn, s->dbi[DB_READY], &cur);
        if (rc)
            goto out;
        MDB_val key, v;
        rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
        mdb_cursor_close(cur);
        cur = NULL;
        if (rc)
            goto out;
        if (v.mv_size != 8) {
            rc = ERR_IO;
            goto out;
        }
        uint64_t id = sdb_get_be64(v.mv_data);
        srec_rec_free(&r);
        rc = srec_rec_load(s, txn, id, &r);
        if (rc)
            goto out;
        rc = srec_unindex(s, txn, &r, &m);
        if (rc)
            goto out;
        uint8_t k[8];
        sdb_put_be64(k, id);
        key = sdb_mval(k, 8);
        rc = mdb_get(txn, s->dbi[DB_PAYLOADS], &key, &v);
        if (rc == 0)
            rc = wire_decode(v.mv_data, v.mv_size, 0, &out->msg);
        if (rc == 0 && out->msg.kind != WIRE_SUBMIT) {
            wire_msg_release(&out->msg);
            rc = ERR_PROTO;
        }
        if (rc) {
            log_error("store payload unreadable job=%llu: %s",
                      (unsigned long long)id, err_str(sdb_err_from_mdb(rc)));
            memset(&out->msg, 0, sizeof out->msg);
            rc = sdead_make_dead(s, txn, &r, &m, "payload unreadable", now_ms);
            if (rc)
                goto out;
            continue;
        }
        r.j.state = STORE_LEASED;
        r.j.attempt = store_lease_attempt(s, &r.j);
        r.j.attempt_run = s->run;
        r.j.leased_ms = now_ms;
        uint32_t att = r.j.attempt;
        v = sdb_mval(&att, 4);
        rc = mdb_put(txn, s->dbi[DB_LEASED], &key, &v, 0);
        if (rc == 0)
            rc = srec_rec_store(s, txn, &r.j, 0);
        if (rc)
            goto out;
        m.n[STORE_LEASED]++;
        out->id = id;
        out->attempt = att;
        out->queued_ms =
            now_ms > r.j.enqueued_ms ? now_ms - r.j.enqueued_ms : 0;
        break;
    }
out:
    srec_rec_free(&r);
    rc = sdb_op_end(s, txn, &m, rc);
    if (rc)
        wire_msg_release(&out->msg);
    return rc;
}

/* Set last_error and append a history line for a failed attempt. */
static void
add_history(rec_t *r, const char *reason)
{
    char line[STORE_MAX_REASON + 32];
    size_t rl = strnlen(reason, STORE_MAX_REASON);
    while (rl > 0 && rl < strlen(reason) &&
           ((unsigned char)reason[rl] & 0xC0) == 0x80)
        rl--; /* cut at a UTF-8 boundary */
    r->err_own = xstrndup(reason, rl);
    for (char *p = r->err_own; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    int n = snprintf(line, sizeof line, "attempt %u: %s\n", r->j.attempt,
                     r->err_own);
    if (n < 0)
        n = 0;
    const char *old = r->j.history;
    uint32_t lines = r->j.n_history;
    while (lines >= STORE_MAX_HISTORY) {
        const char *nl = strchr(old, '\n');
        if (!nl)
            break;
        old = nl + 1;
        lines--;
    }
    size_t ol = strlen(old);
    r->hist_own = xmalloc(ol + (size_t)n + 1);
    memcpy(r->hist_own, old, ol);
    memcpy(r->hist_own + ol, line, (size_t)n + 1);
    r->j.history = r->hist_own;
    r->j.n_history = lines + 1;
    r->j.last_error = r->err_own;
}

int
store_fail(store_t *s, uint64_t id, uint32_t attempt, const char *reason,
           bool permanent, uint32_t max_attempts, uint64_t retry_at_ms,
           uint64_t now_ms, int *state)
{
    MDB_txn *txn = NULL;
    meta_t m;
    rec_t r;
    if (!reason)
        reason = "";
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = sdb_load_unfenced(s, txn, id, attempt, &r);
    if (rc)
        goto out;
    rc = srec_unindex(s, txn, &r, &m);
    if (rc)
        goto out;
    r.j.attempt = attempt;
    r.j.attempt_run = s->run;
    r.j.tries++;
    add_history(&r, reason);
    if (permanent || r.j.tries >= max_attempts) {
        char why[STORE_MAX_REASON + 64];
        snprintf(why, sizeof why, "%s after %u attempt%s: %s",
                 permanent ? "permanent failure" : "gave up", r.j.tries,
                 r.j.tries == 1 ? "" : "s", r.j.last_error);
        rc = sdead_make_dead(s, txn, &r, &m, why, now_ms);
    } else {
        uint8_t k[DELAYED_KEY], idb[8];
        r.j.state = STORE_DELAYED;
        r.j.not_before_ms = retry_at_ms;
        srec_delayed_key(k, retry_at_ms, id);
        sdb_put_be64(idb, id);
        MDB_val key = sdb_mval(k, DELAYED_KEY), v = sdb_mval(idb, 8);
        rc = mdb_put(txn, s->dbi[DB_DELAYED], &key, &v, 0);
        if (rc == 0)
            rc = srec_rec_store(s, txn, &r.j, 0);
        if (rc == 0)
            m.n[STORE_DELAYED]++;
    }
    if (rc == 0 && state)
        *state = r.j.state;
out:
    srec_rec_free(&r);
    return sdb_op_end(s, txn, &m, rc);
}

/* Move jobs listed (as 8-byte BE ids in key or value) in db to READY. */
int
squeue_requeue_from(store_t *s, int db, bool id_in_key, uint64_t now_ms,
                    uint64_t due_before, size_t max, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    meta_t m;
    uint64_t n = 0;
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    while (n < max) {
        MDB_val key, v;
        rec_t r;
        rc = mdb_cursor_open(txn, s->dbi[db], &cur);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
        mdb_cursor_close(cur);
        cur = NULL;
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        const MDB_val *idv = id_in_key ? &key : &v;
        if (idv->mv_size < 8) {
            rc = ERR_IO;
            break;
        }
        if (db == DB_DELAYED && sdb_get_be64(key.mv_data) > due_before)
            break;
        uint64_t id = sdb_get_be64(id_in_key ? (const uint8_t *)key.mv_data
                                             : (const uint8_t *)v.mv_data);
        rc = srec_rec_load(s, txn, id, &r);
        if (rc == 0)
            rc = srec_unindex(s, txn, &r, &m);
        if (rc == 0 && db == DB_DEAD)
            r.j.tries = 0;
        if (rc == 0)
            rc = srec_make_ready(s, txn, &r, &m, now_ms);
        srec_rec_free(&r);
        if (rc == ERR_NOTFOUND || rc == MDB_NOTFOUND) {
            /* index entry without a record: drop it */
            log_warn("store dropping orphan index entry job=%llu",
                     (unsigned long long)id);
            rc = mdb_del(txn, s->dbi[db], &key, NULL);
        } else if (rc == 0) {
            n++;
        }
        if (rc)
            break;
    }
    rc = sdb_op_end(s, txn, &m, rc);
    if (rc == 0 && count)
        *count = n;
    return rc;
}

int
store_requeue_leased(store_t *s, uint64_t now_ms, uint64_t *count)
{
    return squeue_requeue_from(s, DB_LEASED, true, now_ms, 0, SIZE_MAX, count);
}

int
store_promote_due(store_t *s, uint64_t now_ms, size_t max, uint64_t *count)
{
    return squeue_requeue_from(s, DB_DELAYED, false, now_ms, now_ms, max,
                               count);
}

/* store_ready_scan's callback around store_ready_scan_from's. */
typedef struct id_only {
    store_id_fn fn; /* the caller's */
    void *arg;      /* its argument */
} id_only_t;

static int
id_only(void *arg, uint64_t job_id, const store_ready_pos_t *pos)
{
    (void)pos;
    id_only_t *x = arg;
    return x->fn(x->arg, job_id);
}

int
store_ready_scan(store_t *s, store_id_fn fn, void *arg)
{
    id_only_t x = { fn, arg };
    return store_ready_scan_from(s, NULL, id_only, &x);
}

int
store_ready_scan_from(store_t *s, const store_ready_pos_t *from,
                      store_ready_fn fn, void *arg)
{
    _Static_assert(STORE_READY_POS == READY_KEY, "ready position = key");
    MDB_cursor *cur = NULL;
    MDB_val key, v;
    int n = 0;
    int rc = mdb_cursor_open(sdb_cur_txn(s), s->dbi[DB_READY], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    if (from) {
        key = sdb_mval(from->b, READY_KEY);
        rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    } else {
        rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
    }
    store_ready_pos_t pos;
    while (rc == 0 && n < INT32_MAX) {
        if (v.mv_size != 8 || key.mv_size != READY_KEY) {
            rc = ERR_IO;
            break;
        }
        n++;
        memcpy(pos.b, key.mv_data, READY_KEY);
        if (fn(arg, sdb_get_be64(v.mv_data), &pos) != 0)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == ERR_IO)
        return ERR_IO;
    return rc ? sdb_err_from_mdb(rc) : n;
}

int
store_ready_pos_priority(const store_ready_pos_t *pos)
{
    return 255 - (int)pos->b[0]; /* see srec_ready_key */
}

int
store_next_due(store_t *s, uint64_t *when_ms)
{
    MDB_cursor *cur = NULL;
    MDB_val key, v;
    int rc = mdb_cursor_open(sdb_cur_txn(s), s->dbi[DB_DELAYED], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    if (key.mv_size != DELAYED_KEY)
        return ERR_IO;
    *when_ms = sdb_get_be64(key.mv_data);
    return ERR_OK;
}

int
store_get(store_t *s, uint64_t id, store_job_t *out)
{
    uint8_t k[8];
    sdb_put_be64(k, id);
    MDB_val key = sdb_mval(k, 8), v;
    int rc = mdb_get(sdb_cur_txn(s), s->dbi[DB_JOBS], &key, &v);
    if (rc)
        return sdb_err_from_mdb(rc);
    uint64_t qseq;
    return srec_rec_parse(id, &v, out, &qseq);
}

int
store_get_key(store_t *s, const char *key, size_t key_len, store_job_t *out)
{
    uint64_t id;
    if (!key || key_len == 0 || key_len > WIRE_MAX_KEY)
        return ERR_NOTFOUND;
    int rc = srec_dedup_get(s, sdb_cur_txn(s), key, key_len, &id);
    if (rc)
        return sdb_err_from_mdb(rc);
    rc = store_get(s, id, out);
    if (rc)
        return rc;
    if (strlen(out->key) != key_len || memcmp(out->key, key, key_len) != 0)
        return ERR_NOTFOUND; /* hash collision of a long key */
    return ERR_OK;
}

/* The value of job id in database db, borrowed from the current txn. */
int
squeue_get_by_id(store_t *s, int db, uint64_t id, const uint8_t **buf,
                 size_t *len)
{
    uint8_t k[8];
    sdb_put_be64(k, id);
    MDB_val key = sdb_mval(k, 8), v;
    int rc = mdb_get(sdb_cur_txn(s), s->dbi[db], &key, &v);
    if (rc)
        return sdb_err_from_mdb(rc);
    *buf = v.mv_data;
    *len = v.mv_size;
    return ERR_OK;
}

int
store_payload_raw(store_t *s, uint64_t id, const uint8_t **buf, size_t *len)
{
    return squeue_get_by_id(s, DB_PAYLOADS, id, buf, len);
}

int
store_payload(store_t *s, uint64_t id, wire_msg_t *out)
{
    const uint8_t *buf = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = squeue_get_by_id(s, DB_PAYLOADS, id, &buf, &len);
    if (rc)
        return rc;
    rc = wire_decode(buf, len, 0, out);
    if (rc == 0 && out->kind != WIRE_SUBMIT) {
        wire_msg_release(out);
        rc = ERR_PROTO;
    }
    if (rc) {
        log_error("store payload unreadable job=%llu: %s",
                  (unsigned long long)id, err_str(rc));
        memset(out, 0, sizeof *out);
        return ERR_IO;
    }
    return ERR_OK;
}

int
store_oldest_ready(store_t *s, uint64_t *enqueued_ms)
{
    MDB_txn *txn = sdb_cur_txn(s);
    MDB_cursor *cur = NULL;
    uint64_t best = UINT64_MAX;
    bool found = false;
    int rc = mdb_cursor_open(txn, s->dbi[DB_READY], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    /* The oldest job of each priority is first in its band. */
    for (int p = 0; p <= WIRE_MAX_PRIORITY; p++) {
        uint8_t k[READY_KEY];
        srec_ready_key(k, p, 0);
        MDB_val key = sdb_mval(k, READY_KEY), v;
        rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc)
            break;
        if (key.mv_size != READY_KEY || v.mv_size != 8) {
            rc = ERR_IO;
            break;
        }
        if (((const uint8_t *)key.mv_data)[0] != k[0])
            continue;
        store_job_t j;
        rc = store_get(s, sdb_get_be64(v.mv_data), &j);
        if (rc)
            break;
        found = true;
        if (j.enqueued_ms < best)
            best = j.enqueued_ms;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return sdb_err_from_mdb(rc);
    if (!found)
        return ERR_NOTFOUND;
    *enqueued_ms = best;
    return ERR_OK;
}

int
store_oldest_waiting(store_t *s, store_id_fn skip, void *arg,
                     uint64_t *queued_ms)
{
    MDB_txn *txn = sdb_cur_txn(s);
    MDB_cursor *cur = NULL;
    uint64_t best = UINT64_MAX;
    int err = ERR_OK;
    int rc = mdb_cursor_open(txn, s->dbi[DB_READY], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    /* Per priority band, the first entry not skipped is its oldest. */
    for (int p = 0; p <= WIRE_MAX_PRIORITY && !rc && !err; p++) {
        uint8_t k[READY_KEY];
        srec_ready_key(k, p, 0);
        MDB_val key = sdb_mval(k, READY_KEY), v;
        rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
        while (rc == 0 && key.mv_size == READY_KEY && v.mv_size == 8 &&
               ((const uint8_t *)key.mv_data)[0] == k[0] &&
               skip(arg, sdb_get_be64(v.mv_data)))
            rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        if (key.mv_size != READY_KEY || v.mv_size != 8) {
            err = ERR_IO;
            break;
        }
        if (((const uint8_t *)key.mv_data)[0] != k[0])
            continue;
        store_job_t j;
        err = store_get(s, sdb_get_be64(v.mv_data), &j);
        if (err == ERR_OK && j.enqueued_ms < best)
            best = j.enqueued_ms;
    }
    mdb_cursor_close(cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    if (err)
        return err;
    /* the delayed job due first */
    rc = mdb_cursor_open(txn, s->dbi[DB_DELAYED], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    MDB_val key, v;
    rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return sdb_err_from_mdb(rc);
    if (rc == 0) {
        store_job_t j;
        if (v.mv_size != 8)
            return ERR_IO;
        err = store_get(s, sdb_get_be64(v.mv_data), &j);
        if (err)
            return err;
        if (j.enqueued_ms < best)
            best = j.enqueued_ms;
    }
    if (best == UINT64_MAX)
        return ERR_NOTFOUND;
    *queued_ms = best;
    return ERR_OK;
}

void
store_counts(const store_t *s, store_counts_t *out)
{
    out->ready = s->meta.n[STORE_READY];
    out->leased = s->meta.n[STORE_LEASED];
    out->delayed = s->meta.n[STORE_DELAYED];
    out->done = s->meta.n[STORE_DONE];
    out->dead = s->meta.n[STORE_DEAD];
    out->last_seq = s->meta.last_seq;
    out->last_id = s->meta.last_id;
}

void
store_info(store_t *s, store_info_t *out)
{
    MDB_envinfo info;
    MDB_stat st;
    pthread_rwlock_rdlock(&s->remap);
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &st);
    pthread_rwlock_unlock(&s->remap);
    out->map_bytes = info.me_mapsize;
    out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    out->map_limit = s->map_limit;
}

char *
store_key_default(const char *text, size_t len)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    static const char hex[] = "0123456789abcdef";
    char *out = xmalloc(7 + 2 * sizeof h + 1);
    crypto_hash_sha256(h, (const unsigned char *)text, len);
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < sizeof h; i++) {
        out[7 + 2 * i] = hex[h[i] >> 4];
        out[7 + 2 * i + 1] = hex[h[i] & 15];
    }
    out[7 + 2 * sizeof h] = '\0';
    return out;
}
