/*
 * store_rec: the job record (a fixed header plus NUL-terminated strings):
 * parse, load and store it, and its index keys: READY, DELAYED, the
 * per-state indexes and the idempotency-key dedup entries.
 */
#include "store_int.h"

static const char *
take_str(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    if (!nul)
        return NULL;
    const char *s = (const char *)*p;
    *p = nul + 1;
    return s;
}

/* Parse a record into borrowed fields. ERR_IO if malformed. */
int
srec_rec_parse(uint64_t id, const MDB_val *v, store_job_t *j, uint64_t *qseq)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < REC_HEADER || p[0] != REC_VERSION) {
        log_error("store corrupt job record job=%llu size=%zu",
                  (unsigned long long)id, v->mv_size);
        return ERR_IO;
    }
    memset(j, 0, sizeof *j);
    j->id = id;
    j->state = p[1];
    j->priority = p[2];
    memcpy(&j->attempt, p + 4, 4);
    memcpy(&j->tries, p + 8, 4);
    memcpy(&j->n_history, p + 12, 4);
    memcpy(&j->submitted_ms, p + 16, 8);
    memcpy(&j->finished_ms, p + 24, 8);
    memcpy(&j->seq, p + 32, 8);
    memcpy(&j->text_bytes, p + 40, 8);
    memcpy(qseq, p + 48, 8);
    memcpy(&j->not_before_ms, p + 56, 8);
    memcpy(&j->enqueued_ms, p + 64, 8);
    memcpy(&j->leased_ms, p + 72, 8);
    memcpy(&j->attempt_run, p + 80, 8);
    const uint8_t *q = p + REC_HEADER, *end = p + v->mv_size;
    const char **strs[] = { &j->key, &j->last_error, &j->source_url, &j->title,
                            &j->history };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        *strs[i] = take_str(&q, end);
        if (!*strs[i]) {
            log_error("store corrupt job record job=%llu",
                      (unsigned long long)id);
            return ERR_IO;
        }
    }
    if (j->state < STORE_READY || j->state > STORE_DEAD)
        return ERR_IO;
    return ERR_OK;
}

void
srec_rec_free(rec_t *r)
{
    free(r->buf);
    free(r->hist_own);
    free(r->err_own);
    memset(r, 0, sizeof *r);
}

/* Load job id into an owned copy. ERR_NOTFOUND, ERR_IO. */
int
srec_rec_load(store_t *s, MDB_txn *txn, uint64_t id, rec_t *r)
{
    uint8_t k[8];
    sdb_put_be64(k, id);
    MDB_val key = sdb_mval(k, 8), v;
    memset(r, 0, sizeof *r);
    int rc = mdb_get(txn, s->dbi[DB_JOBS], &key, &v);
    if (rc)
        return sdb_err_from_mdb(rc);
    store_job_t b;
    uint64_t qseq;
    rc = srec_rec_parse(id, &v, &b, &qseq);
    if (rc)
        return rc;
    size_t n = v.mv_size - REC_HEADER;
    r->buf = xmalloc(n);
    memcpy(r->buf, (const uint8_t *)v.mv_data + REC_HEADER, n);
    r->j = b;
    r->qseq = qseq;
    /* re-point strings into the owned copy */
    const char *base = (const char *)v.mv_data + REC_HEADER;
    r->j.key = r->buf + (b.key - base);
    r->j.last_error = r->buf + (b.last_error - base);
    r->j.source_url = r->buf + (b.source_url - base);
    r->j.title = r->buf + (b.title - base);
    r->j.history = r->buf + (b.history - base);
    return ERR_OK;
}

int
srec_rec_store(store_t *s, MDB_txn *txn, const store_job_t *j, uint64_t qseq)
{
    const char *strs[] = { j->key, j->last_error, j->source_url, j->title,
                           j->history };
    size_t lens[5], n = REC_HEADER;
    for (size_t i = 0; i < 5; i++) {
        lens[i] = strs[i] ? strlen(strs[i]) : 0;
        n += lens[i] + 1;
    }
    uint8_t *p = xcalloc(1, n);
    p[0] = REC_VERSION;
    p[1] = (uint8_t)j->state;
    p[2] = (uint8_t)j->priority;
    memcpy(p + 4, &j->attempt, 4);
    memcpy(p + 8, &j->tries, 4);
    memcpy(p + 12, &j->n_history, 4);
    memcpy(p + 16, &j->submitted_ms, 8);
    memcpy(p + 24, &j->finished_ms, 8);
    memcpy(p + 32, &j->seq, 8);
    memcpy(p + 40, &j->text_bytes, 8);
    memcpy(p + 48, &qseq, 8);
    memcpy(p + 56, &j->not_before_ms, 8);
    memcpy(p + 64, &j->enqueued_ms, 8);
    memcpy(p + 72, &j->leased_ms, 8);
    memcpy(p + 80, &j->attempt_run, 8);
    uint8_t *q = p + REC_HEADER;
    for (size_t i = 0; i < 5; i++) {
        if (lens[i])
            memcpy(q, strs[i], lens[i]);
        q += lens[i] + 1;
    }
    uint8_t k[8];
    sdb_put_be64(k, j->id);
    MDB_val key = sdb_mval(k, 8), v = sdb_mval(p, n);
    int rc = mdb_put(txn, s->dbi[DB_JOBS], &key, &v, 0);
    free(p);
    return rc;
}

void
srec_ready_key(uint8_t k[READY_KEY], int32_t prio, uint64_t qseq)
{
    k[0] = (uint8_t)(255 - prio);
    sdb_put_be64(k + 1, qseq);
}

void
srec_delayed_key(uint8_t k[DELAYED_KEY], uint64_t when, uint64_t id)
{
    sdb_put_be64(k, when);
    sdb_put_be64(k + 8, id);
}

int
srec_del_key(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t n)
{
    MDB_val key = sdb_mval(k, n);
    int rc = mdb_del(txn, dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Remove job from the index of its current state (READY/DELAYED/LEASED). */
int
srec_unindex(store_t *s, MDB_txn *txn, const rec_t *r, meta_t *m)
{
    uint8_t k[DELAYED_KEY];
    int rc = 0;
    switch (r->j.state) {
    case STORE_READY:
        srec_ready_key(k, r->j.priority, r->qseq);
        rc = srec_del_key(txn, s->dbi[DB_READY], k, READY_KEY);
        break;
    case STORE_DELAYED:
        srec_delayed_key(k, r->j.not_before_ms, r->j.id);
        rc = srec_del_key(txn, s->dbi[DB_DELAYED], k, DELAYED_KEY);
        break;
    case STORE_LEASED:
        sdb_put_be64(k, r->j.id);
        rc = srec_del_key(txn, s->dbi[DB_LEASED], k, 8);
        break;
    case STORE_DEAD:
        sdb_put_be64(k, r->j.id);
        rc = srec_del_key(txn, s->dbi[DB_DEAD], k, 8);
        break;
    default:
        break;
    }
    if (rc == 0 && m->n[r->j.state] > 0)
        m->n[r->j.state]--;
    return rc;
}

/* Queue r as READY with a fresh queue position; writes the record. */
int
srec_make_ready(store_t *s, MDB_txn *txn, rec_t *r, meta_t *m, uint64_t now_ms)
{
    uint8_t k[READY_KEY], idb[8];
    r->qseq = ++m->last_qseq;
    r->j.state = STORE_READY;
    r->j.enqueued_ms = now_ms;
    r->j.not_before_ms = 0;
    srec_ready_key(k, r->j.priority, r->qseq);
    sdb_put_be64(idb, r->j.id);
    MDB_val key = sdb_mval(k, READY_KEY), v = sdb_mval(idb, 8);
    int rc = mdb_put(txn, s->dbi[DB_READY], &key, &v, 0);
    if (rc)
        return rc;
    m->n[STORE_READY]++;
    return srec_rec_store(s, txn, &r->j, r->qseq);
}

void
srec_dedup_key(const char *key, size_t len, uint8_t *out, size_t *out_len)
{
    if (len <= DEDUP_DIRECT_MAX) {
        out[0] = 'k';
        memcpy(out + 1, key, len);
        *out_len = len + 1;
    } else {
        out[0] = 'h';
        crypto_hash_sha256(out + 1, (const unsigned char *)key, len);
        *out_len = 1 + crypto_hash_sha256_BYTES;
    }
}

/* Job id of key, 0 when none. */
int
srec_dedup_get(store_t *s, MDB_txn *txn, const char *key, size_t len,
               uint64_t *id)
{
    uint8_t kb[DEDUP_DIRECT_MAX + 1];
    size_t kn;
    srec_dedup_key(key, len, kb, &kn);
    MDB_val k = sdb_mval(kb, kn), v;
    int rc = mdb_get(txn, s->dbi[DB_DEDUP], &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return ERR_IO;
    *id = sdb_get_be64(v.mv_data);
    return 0;
}
