/*
 * store_results: results and the commit log: checking a serialised
 * Result, Done (result, log entry and entity keys in one op), and reading
 * results back (store_result, store_since, store_results_scan).
 */
#include "store_int.h"

#include "../proto/wire.h"

int
store_result_check(const uint8_t *buf, size_t len)
{
    return wire_result_check(buf, len);
}

int
store_done(store_t *s, uint64_t id, uint32_t attempt, const uint8_t *result,
           size_t result_len, const result_t *res, uint64_t now_ms,
           store_done_t *out)
{
    MDB_txn *txn = NULL;
    meta_t m;
    rec_t r;
    size_t ents_mark = s->ents.n_pairs;
    memset(out, 0, sizeof *out);
    if (!result && result_len)
        return ERR_INVAL;
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = sdb_load_unfenced(s, txn, id, attempt, &r);
    if (rc)
        goto out;
    /* One walk checks the bytes and collects the entity keys; a flat group
     * writes them at commit (sent_ents_flush), a nested op below. */
    uint64_t extract_us = res ? res->extract_us : 0;
    ent_collect_t ec = { &s->ents, id };
    if (res) {
        for (size_t i = 0; i < res->n_entities; i++) {
            const result_entity_t *e = &res->entities[i];
            sent_entity_collect(&ec, e->type, e->name ? e->name : "", SIZE_MAX);
        }
    } else {
        wire_visit_t v = { sent_entity_collect, &ec, 0 };
        if (wire_result_check_visit(result, result_len, &v) != ERR_OK) {
            sdb_op_failing_clean(s);
            rc = ERR_INVAL;
            goto out;
        }
        extract_us = v.extract_us;
    }
    rc = srec_unindex(s, txn, &r, &m);
    if (rc)
        goto out;
    uint64_t seq = ++m.last_seq;
    /* Appended scalar fields override earlier values, so job_id and seq
     * need no re-encode. protobuf-c replaces an embedded message instead
     * of merging it, so the appended Timings carries the worker's
     * extract_us too. */
    uint8_t tail[96], tim[40];
    size_t tn = 0, tl = 0;
    uint64_t queue_us = r.j.leased_ms > r.j.enqueued_ms
                            ? (r.j.leased_ms - r.j.enqueued_ms) * 1000
                            : 0;
    uint64_t total_us =
        now_ms > r.j.submitted_ms ? (now_ms - r.j.submitted_ms) * 1000 : 0;
    tail[tn++] = TAG_KEY(TAG_RESULT_JOB_ID, PBRAW_VARINT);
    tn += pbraw_put_varint(tail + tn, id);
    tail[tn++] = TAG_KEY(TAG_RESULT_SEQ, PBRAW_VARINT);
    tn += pbraw_put_varint(tail + tn, seq);
    if (extract_us) {
        tim[tl++] = TAG_KEY(TAG_TIMINGS_EXTRACT_US, PBRAW_VARINT);
        tl += pbraw_put_varint(tim + tl, extract_us);
    }
    tim[tl++] = TAG_KEY(TAG_TIMINGS_QUEUE_US, PBRAW_VARINT);
    tl += pbraw_put_varint(tim + tl, queue_us);
    tim[tl++] = TAG_KEY(TAG_TIMINGS_TOTAL_US, PBRAW_VARINT);
    tl += pbraw_put_varint(tim + tl, total_us);
    tail[tn++] = TAG_KEY(TAG_RESULT_TIMINGS, PBRAW_LEN);
    tail[tn++] = (uint8_t)tl;
    memcpy(tail + tn, tim, tl);
    tn += tl;
    uint8_t k[8], sk[8];
    sdb_put_be64(k, id);
    sdb_put_be64(sk, seq);
    /* Reserved in place: the bytes are copied once, into the txn's page. */
    MDB_val key = sdb_mval(k, 8), v = sdb_mval(NULL, result_len + tn);
    rc = mdb_put(txn, s->dbi[DB_RESULTS], &key, &v,
                 MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc)
        goto out;
    if (result_len)
        memcpy(v.mv_data, result, result_len);
    memcpy((uint8_t *)v.mv_data + result_len, tail, tn);
    key = sdb_mval(sk, 8);
    v = sdb_mval(k, 8);
    rc = mdb_put(txn, s->dbi[DB_LOG], &key, &v, MDB_APPEND);
    if (rc)
        goto out;
    if (!s->flat) {
        rc = sent_ents_put_direct(s, txn, ents_mark);
        s->ents.n_pairs = ents_mark;
        if (rc)
            goto out;
    }
    r.j.state = STORE_DONE;
    r.j.attempt = attempt;
    r.j.attempt_run = s->run;
    r.j.seq = seq;
    r.j.finished_ms = now_ms;
    rc = srec_rec_store(s, txn, &r.j, 0);
    if (rc)
        goto out;
    m.n[STORE_DONE]++;
    out->seq = seq;
    out->key = xstrdup(r.j.key);
    out->extract_us = extract_us;
    out->total_us = total_us;
out:
    srec_rec_free(&r);
    if (rc)
        s->ents.n_pairs = ents_mark;
    rc = sdb_op_end(s, txn, &m, rc);
    if (rc) {
        free(out->key);
        out->key = NULL;
    }
    return rc;
}

int
store_result(store_t *s, uint64_t id, const uint8_t **buf, size_t *len)
{
    return squeue_get_by_id(s, DB_RESULTS, id, buf, len);
}

int
store_since(store_t *s, uint64_t after_seq, size_t limit, bool with_result,
            store_item_fn fn, void *arg)
{
    MDB_txn *txn = sdb_cur_txn(s);
    MDB_cursor *cur = NULL;
    uint8_t sk[8];
    int n = 0;
    if (after_seq == UINT64_MAX)
        return 0;
    sdb_put_be64(sk, after_seq + 1);
    MDB_val key = sdb_mval(sk, 8), v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_LOG], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && (size_t)n < limit && n < INT32_MAX) {
        if (key.mv_size != 8 || v.mv_size != 8) {
            rc = ERR_IO;
            break;
        }
        store_item_t it;
        store_job_t j;
        memset(&it, 0, sizeof it);
        it.seq = sdb_get_be64(key.mv_data);
        it.job_id = sdb_get_be64(v.mv_data);
        rc = store_get(s, it.job_id, &j);
        if (rc)
            break;
        it.key = j.key;
        if (with_result) {
            rc = store_result(s, it.job_id, &it.result, &it.result_len);
            if (rc)
                break;
        }
        if (fn(arg, &it) != 0)
            break;
        n++;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    return rc ? sdb_err_from_mdb(rc) : n;
}

int
store_results_scan(store_t *s, uint64_t after_id, store_result_fn fn, void *arg)
{
    MDB_txn *txn = sdb_cur_txn(s);
    MDB_cursor *cur = NULL;
    uint8_t k[8];
    int n = 0;
    if (after_id == UINT64_MAX)
        return 0;
    sdb_put_be64(k, after_id + 1);
    MDB_val key = sdb_mval(k, 8), v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_RESULTS], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && n < INT32_MAX) {
        if (key.mv_size != 8) {
            rc = ERR_IO;
            break;
        }
        if (fn(arg, sdb_get_be64(key.mv_data), v.mv_data, v.mv_size) != 0)
            break;
        n++;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    return rc ? sdb_err_from_mdb(rc) : n;
}
