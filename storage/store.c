/*
 * store: LMDB-backed job queue and result store (see store.h). Keys that
 * must sort are big-endian; records are a fixed header plus NUL-terminated
 * strings. Each write op is a nested txn so a failure undoes only itself.
 */
#include "store.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/utf8.h"
#include "../common/xalloc.h"
#include "../proto/pbraw.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_VERSION 1u
#define REC_HEADER 88u
#define DEDUP_DIRECT_MAX 400u /* longer keys are stored as their SHA-256 */
#define ENTITY_NAME_MAX 400u
#define READY_KEY 9u
#define DELAYED_KEY 16u

enum {
    DB_JOBS,
    DB_PAYLOADS,
    DB_READY,
    DB_DELAYED,
    DB_LEASED,
    DB_DEDUP,
    DB_RESULTS,
    DB_LOG,
    DB_ENTITIES,
    DB_DEAD,
    DB_META,
    DB_ENTLISTS,
    DB_ENTRECENT,
    DB_COUNT
};

/* "entities" (type + name -> job id, dupsort) is the index of schema 1,
 * read but no longer written; "entity_lists" and "entity_recent" replaced
 * it (see list_prefix and recent_write). */
static const char *const db_names[DB_COUNT] = {
    "jobs",  "payloads",     "ready",        "delayed",  "leased",
    "dedup", "results",      "log",          "entities", "dead",
    "meta",  "entity_lists", "entity_recent"
};

/* One distinct entity index key of a flat group. */
typedef struct ent_key {
    uint32_t off;   /* its bytes in ents_t.kbuf */
    uint32_t len;   /* their count */
    uint32_t hash;  /* FNV-1a of the bytes */
    uint32_t first; /* after ents_sort: its first id in ents_t.ids */
    uint32_t count; /* pairs naming it; after ents_sort: distinct ids */
} ent_key_t;

/* A key to sort, self-contained for qsort. */
typedef struct ent_sort {
    const uint8_t *k; /* its bytes */
    uint32_t len;     /* their count */
    uint32_t key;     /* index into ents_t.keys */
} ent_sort_t;

/* One (entity key, job id) pair of a flat group. */
typedef struct ent_pair {
    uint32_t key; /* index into ents_t.keys */
    uint64_t id;  /* the job id */
} ent_pair_t;

/*
 * The entity index entries of a flat group, written in key order at
 * store_txn_commit instead of one B-tree descent per entity per result:
 * many results name the same entities, so a group's puts mostly land on
 * the same pages. Distinct keys are interned in a hash table.
 */
typedef struct ents {
    uint8_t *kbuf;          /* distinct keys, back to back */
    size_t kbuf_len;        /* bytes used */
    size_t kbuf_cap;        /* bytes allocated */
    ent_key_t *keys;        /* distinct keys */
    size_t n_keys;          /* count */
    size_t cap_keys;        /* allocated */
    uint32_t *table;        /* open addressing: key index + 1, 0 empty */
    size_t table_cap;       /* slots, a power of two (0: none yet) */
    ent_pair_t *pairs;      /* pairs in op order */
    size_t n_pairs;         /* count */
    size_t cap_pairs;       /* allocated */
    uint64_t *ids;          /* flush scratch: ids grouped by key */
    size_t cap_ids;         /* allocated */
    struct ent_sort *order; /* flush scratch: keys in key order */
    size_t cap_order;       /* allocated */
} ents_t;

/* Counters persisted in meta under "counters"; native endian. */
typedef struct meta {
    uint64_t last_id;   /* highest job id issued */
    uint64_t last_seq;  /* highest commit seq */
    uint64_t last_qseq; /* ready-queue order counter */
    uint64_t n[6];      /* jobs by state, indexed by STORE_* */
} meta_t;

struct store {
    MDB_env *env;           /* the environment */
    MDB_dbi dbi[DB_COUNT];  /* named databases */
    MDB_txn *wtxn;          /* open group write txn or NULL */
    MDB_txn *rtxn;          /* read txn (reset when idle) or NULL */
    bool rtxn_live;         /* rtxn is active (not reset) */
    meta_t meta;            /* counters including the open txn */
    meta_t meta_committed;  /* counters as of the last commit */
    uint64_t map_size;      /* current map size */
    uint64_t map_limit;     /* maximum map size */
    bool grow;              /* a write op hit MDB_MAP_FULL below the limit */
    bool flat;              /* ops run in wtxn itself, no nested txn */
    bool op_clean;          /* the failing op wrote nothing (flat mode) */
    pthread_rwlock_t remap; /* read txns (shared) vs map growth (exclusive) */
    bool remap_init;        /* remap is initialised */
    char *dir;              /* data directory */
    int lock_fd;            /* flock'd DIR/lock: one broker per dir, or -1 */
    ents_t ents;            /* entity index entries of the open flat group */
};

static int ents_flush(store_t *s, MDB_txn *txn);
static void ents_reset(ents_t *e);
static void ents_free(ents_t *e);

/* Mutable owned copy of a job record, for write ops. */
typedef struct rec {
    store_job_t j;  /* fields; strings point into buf or static "" */
    char *buf;      /* owned copy of the strings */
    char *hist_own; /* replacement history, owned, or NULL */
    char *err_own;  /* replacement last_error, owned, or NULL */
    uint64_t qseq;  /* ready-queue order when READY */
} rec_t;

static int
err_from_mdb(int rc)
{
    if (rc == 0)
        return ERR_OK;
    if (rc < 0 && rc > -100)
        return rc; /* already one of ours */
    switch (rc) {
    case MDB_NOTFOUND:
        return ERR_NOTFOUND;
    case MDB_KEYEXIST:
        return ERR_EXISTS;
    case MDB_MAP_FULL:
        return ERR_FULL;
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
        return ERR_AGAIN;
    case MDB_VERSION_MISMATCH:
        return ERR_VERSION;
    case MDB_BAD_VALSIZE:
        return ERR_TOOBIG;
    default:
        if (rc > 0)
            return err_from_errno(rc);
        return ERR_IO;
    }
}

static void
put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t
get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static MDB_val
mval(const void *p, size_t n)
{
    MDB_val v = { n, (void *)p };
    return v;
}

/* Reads prefer the read txn: with the broker's committer thread, the
 * write txn belongs to another thread. */
static MDB_txn *
cur_txn(const store_t *s)
{
    if (s->rtxn_live)
        return s->rtxn;
    assert(s->wtxn && "read op outside any txn");
    return s->wtxn;
}

/* ------------------------------------------------------------ records */

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
static int
rec_parse(uint64_t id, const MDB_val *v, store_job_t *j, uint64_t *qseq)
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

static void
rec_free(rec_t *r)
{
    free(r->buf);
    free(r->hist_own);
    free(r->err_own);
    memset(r, 0, sizeof *r);
}

/* Load job id into an owned copy. ERR_NOTFOUND, ERR_IO. */
static int
rec_load(store_t *s, MDB_txn *txn, uint64_t id, rec_t *r)
{
    uint8_t k[8];
    put_be64(k, id);
    MDB_val key = mval(k, 8), v;
    memset(r, 0, sizeof *r);
    int rc = mdb_get(txn, s->dbi[DB_JOBS], &key, &v);
    if (rc)
        return err_from_mdb(rc);
    store_job_t b;
    uint64_t qseq;
    rc = rec_parse(id, &v, &b, &qseq);
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

static int
rec_store(store_t *s, MDB_txn *txn, const store_job_t *j, uint64_t qseq)
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
    uint8_t *q = p + REC_HEADER;
    for (size_t i = 0; i < 5; i++) {
        if (lens[i])
            memcpy(q, strs[i], lens[i]);
        q += lens[i] + 1;
    }
    uint8_t k[8];
    put_be64(k, j->id);
    MDB_val key = mval(k, 8), v = mval(p, n);
    int rc = mdb_put(txn, s->dbi[DB_JOBS], &key, &v, 0);
    free(p);
    return rc;
}

/* ------------------------------------------------------ index helpers */

static void
ready_key(uint8_t k[READY_KEY], int32_t prio, uint64_t qseq)
{
    k[0] = (uint8_t)(255 - prio);
    put_be64(k + 1, qseq);
}

static void
delayed_key(uint8_t k[DELAYED_KEY], uint64_t when, uint64_t id)
{
    put_be64(k, when);
    put_be64(k + 8, id);
}

static int
del_key(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t n)
{
    MDB_val key = mval(k, n);
    int rc = mdb_del(txn, dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Remove job from the index of its current state (READY/DELAYED/LEASED). */
static int
unindex(store_t *s, MDB_txn *txn, const rec_t *r, meta_t *m)
{
    uint8_t k[DELAYED_KEY];
    int rc = 0;
    switch (r->j.state) {
    case STORE_READY:
        ready_key(k, r->j.priority, r->qseq);
        rc = del_key(txn, s->dbi[DB_READY], k, READY_KEY);
        break;
    case STORE_DELAYED:
        delayed_key(k, r->j.not_before_ms, r->j.id);
        rc = del_key(txn, s->dbi[DB_DELAYED], k, DELAYED_KEY);
        break;
    case STORE_LEASED:
        put_be64(k, r->j.id);
        rc = del_key(txn, s->dbi[DB_LEASED], k, 8);
        break;
    case STORE_DEAD:
        put_be64(k, r->j.id);
        rc = del_key(txn, s->dbi[DB_DEAD], k, 8);
        break;
    default:
        break;
    }
    if (rc == 0 && m->n[r->j.state] > 0)
        m->n[r->j.state]--;
    return rc;
}

/* Queue r as READY with a fresh queue position; writes the record. */
static int
make_ready(store_t *s, MDB_txn *txn, rec_t *r, meta_t *m, uint64_t now_ms)
{
    uint8_t k[READY_KEY], idb[8];
    r->qseq = ++m->last_qseq;
    r->j.state = STORE_READY;
    r->j.enqueued_ms = now_ms;
    r->j.not_before_ms = 0;
    ready_key(k, r->j.priority, r->qseq);
    put_be64(idb, r->j.id);
    MDB_val key = mval(k, READY_KEY), v = mval(idb, 8);
    int rc = mdb_put(txn, s->dbi[DB_READY], &key, &v, 0);
    if (rc)
        return rc;
    m->n[STORE_READY]++;
    return rec_store(s, txn, &r->j, r->qseq);
}

static void
dedup_key(const char *key, size_t len, uint8_t *out, size_t *out_len)
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
static int
dedup_get(store_t *s, MDB_txn *txn, const char *key, size_t len, uint64_t *id)
{
    uint8_t kb[DEDUP_DIRECT_MAX + 1];
    size_t kn;
    dedup_key(key, len, kb, &kn);
    MDB_val k = mval(kb, kn), v;
    int rc = mdb_get(txn, s->dbi[DB_DEDUP], &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return ERR_IO;
    *id = get_be64(v.mv_data);
    return 0;
}

/* ------------------------------------------------------ op bracketing */

static int
op_begin(store_t *s, MDB_txn **txn, meta_t *m)
{
    assert(s->wtxn && "write op outside store_txn_begin");
    *m = s->meta;
    s->op_clean = false;
    if (s->flat) {
        *txn = s->wtxn;
        return ERR_OK;
    }
    int rc = mdb_txn_begin(s->env, s->wtxn, 0, txn);
    if (rc) {
        log_error("store nested txn begin failed: %s", mdb_strerror(rc));
        return err_from_mdb(rc);
    }
    return ERR_OK;
}

/* The op is failing before it wrote anything: in flat mode the group txn
 * stays usable. Call right before jumping to op_end with the error. */
static void
op_failing_clean(store_t *s)
{
    s->op_clean = true;
}

/* Load job id for a Done or Failed of attempt: ERR_STALE (fenced) when the
 * job is finished or the attempt is older than the last one issued, the
 * load error otherwise; a failure leaves the op failing cleanly. */
static int
load_unfenced(store_t *s, MDB_txn *txn, uint64_t id, uint32_t attempt, rec_t *r)
{
    int rc = rec_load(s, txn, id, r);
    if (!rc && (r->j.state == STORE_DONE || r->j.state == STORE_DEAD ||
                attempt == 0 || attempt < r->j.attempt))
        rc = ERR_STALE;
    if (rc)
        op_failing_clean(s);
    return rc;
}

/* End an op that wrote nothing and succeeded (e.g. a duplicate). */
static void
op_discard(store_t *s, MDB_txn *txn)
{
    if (!s->flat)
        mdb_txn_abort(txn);
}

/* End a nested txn: commit on rc == 0, else abort; translate rc. In flat
 * mode a failure after a write poisons the group: ERR_AGAIN. */
static int
op_end(store_t *s, MDB_txn *txn, const meta_t *m, int rc)
{
    if (s->flat) {
        if (rc == 0) {
            s->meta = *m;
            return ERR_OK;
        }
        if (!s->op_clean) {
            if (rc == MDB_MAP_FULL && s->map_size < s->map_limit)
                s->grow = true;
            log_debug("store flat group: op failed after writing (%s), "
                      "group to be redone",
                      rc < 0 && rc > -100 ? err_str(rc) : mdb_strerror(rc));
            return ERR_AGAIN;
        }
        return err_from_mdb(rc);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        if (rc == 0) {
            s->meta = *m;
            return ERR_OK;
        }
    } else {
        mdb_txn_abort(txn);
    }
    if (rc == MDB_MAP_FULL) {
        if (s->map_size < s->map_limit) {
            s->grow = true;
            return ERR_AGAIN;
        }
        return ERR_FULL;
    }
    if (rc != MDB_NOTFOUND && rc != MDB_KEYEXIST && (rc >= 0 || rc <= -100))
        log_error("store write failed: %s", mdb_strerror(rc));
    return err_from_mdb(rc);
}

/* --------------------------------------------------------- lifecycle */

static int
meta_load(store_t *s, MDB_txn *txn)
{
    MDB_val k = mval("schema", 6), v;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        uint32_t ver = STORE_SCHEMA_VERSION;
        v = mval(&ver, 4);
        rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
        if (rc)
            return rc;
        memset(&s->meta, 0, sizeof s->meta);
        return 0;
    }
    if (rc)
        return rc;
    uint32_t ver = 0;
    if (v.mv_size == 4)
        memcpy(&ver, v.mv_data, 4);
    if (ver == 1) {
        /* schema 1 differs only in its entity index, which stays readable:
         * mark the store so that an older broker no longer opens it */
        ver = STORE_SCHEMA_VERSION;
        v = mval(&ver, 4);
        rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
        if (rc)
            return rc;
        log_info("store schema upgraded from 1 to %u dir=%s",
                 STORE_SCHEMA_VERSION, s->dir);
    }
    if (ver != STORE_SCHEMA_VERSION) {
        log_error("store schema version %u, expected %u dir=%s", ver,
                  STORE_SCHEMA_VERSION, s->dir);
        return ERR_VERSION;
    }
    k = mval("counters", 8);
    rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        memset(&s->meta, 0, sizeof s->meta);
        return 0;
    }
    if (rc)
        return rc;
    if (v.mv_size != sizeof s->meta) {
        log_error("store corrupt counters dir=%s", s->dir);
        return ERR_IO;
    }
    memcpy(&s->meta, v.mv_data, sizeof s->meta);
    return 0;
}

static int
meta_save(store_t *s, MDB_txn *txn)
{
    MDB_val k = mval("counters", 8), v = mval(&s->meta, sizeof s->meta);
    return mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
}

/* Take an exclusive flock on DIR/lock so that a second process cannot
 * open the same store (LMDB itself would let two writers interleave
 * their group commits and leases). The lock goes with the process, also
 * on kill -9. Returns 0, or ERR_IO (held elsewhere, or the file failed). */
static int
lock_dir(store_t *s)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/lock", s->dir) >= (int)sizeof path) {
        log_error("store open: data dir path too long dir=%s", s->dir);
        return ERR_INVAL;
    }
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        int e = errno;
        log_error("store open: cannot open lock file path=%s: %s", path,
                  strerror(e));
        return err_from_errno(e);
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            log_error("store open: data dir is in use by another broker "
                      "(lock held on %s); stop it or use another data-dir",
                      path);
        else
            log_error("store open: cannot lock path=%s: %s", path, strerror(e));
        return ERR_IO;
    }
    return ERR_OK;
}

int
store_open(store_t **out, const store_cfg_t *cfg)
{
    store_t *s = NULL;
    MDB_txn *txn = NULL;
    int rc = 0;
    if (!cfg || !cfg->dir || !*cfg->dir) {
        log_error("store open: no data dir");
        return ERR_INVAL;
    }
    if (sodium_init() < 0) {
        log_error("store open: libsodium init failed");
        return ERR_INTERNAL;
    }
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        rc = errno;
        log_error("store mkdir failed dir=%s: %s", cfg->dir, strerror(rc));
        return err_from_errno(rc);
    }
    s = xcalloc(1, sizeof *s);
    s->lock_fd = -1;
    s->dir = xstrdup(cfg->dir);
    if (pthread_rwlock_init(&s->remap, NULL) != 0) {
        log_error("store open: rwlock init failed");
        free(s->dir);
        free(s);
        return ERR_INTERNAL;
    }
    s->remap_init = true;
    rc = lock_dir(s);
    if (rc) {
        store_destroy(&s);
        return rc;
    }
    s->map_size = cfg->map_size ? cfg->map_size : 64ull << 20;
    s->map_limit = cfg->map_limit ? cfg->map_limit : s->map_size;
    if (s->map_limit < s->map_size)
        s->map_size = s->map_limit;
    rc = mdb_env_create(&s->env);
    if (rc)
        goto fail;
    if ((rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 2)) ||
        (rc = mdb_env_set_mapsize(s->env, s->map_size)) ||
        (rc = mdb_env_set_maxreaders(s->env, cfg->max_readers ? cfg->max_readers
                                                              : 126)))
        goto fail;
    rc = mdb_env_open(s->env, s->dir, MDB_NOTLS, 0600);
    if (rc)
        goto fail;
    int dead = 0;
    rc = mdb_reader_check(s->env, &dead);
    if (rc)
        goto fail;
    if (dead)
        log_info("store cleared stale readers count=%d", dead);
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    if (s->map_limit < s->map_size)
        s->map_limit = s->map_size; /* an existing bigger file wins */
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        goto fail;
    for (int i = 0; i < DB_COUNT; i++) {
        unsigned fl = MDB_CREATE;
        if (i == DB_ENTITIES)
            fl |= MDB_DUPSORT | MDB_DUPFIXED;
        rc = mdb_dbi_open(txn, db_names[i], fl, &s->dbi[i]);
        if (rc)
            goto fail;
    }
    rc = meta_load(s, txn);
    if (rc)
        goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail;
    s->meta_committed = s->meta;
    log_info("store open dir=%s map=%llu limit=%llu jobs=%llu seq=%llu", s->dir,
             (unsigned long long)s->map_size, (unsigned long long)s->map_limit,
             (unsigned long long)s->meta.last_id,
             (unsigned long long)s->meta.last_seq);
    *out = s;
    return ERR_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (rc != ERR_VERSION && rc != ERR_IO)
        log_error("store open failed dir=%s: %s", cfg->dir, mdb_strerror(rc));
    store_destroy(&s);
    return err_from_mdb(rc);
}

void
store_destroy(store_t **sp)
{
    if (!sp || !*sp)
        return;
    store_t *s = *sp;
    if (s->wtxn)
        mdb_txn_abort(s->wtxn);
    if (s->rtxn)
        mdb_txn_abort(s->rtxn);
    if (s->env)
        mdb_env_close(s->env);
    if (s->remap_init)
        pthread_rwlock_destroy(&s->remap);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    ents_free(&s->ents);
    free(s->dir);
    free(s);
    *sp = NULL;
}

/* ------------------------------------------------------- transactions */

static void
grow_map(store_t *s)
{
    if (!s->grow)
        return;
    s->grow = false;
    uint64_t want = s->map_size * 2;
    if (want > s->map_limit || want < s->map_size)
        want = s->map_limit;
    /* no read txn may be live anywhere in the process while remapping */
    pthread_rwlock_wrlock(&s->remap);
    int rc = mdb_env_set_mapsize(s->env, want);
    pthread_rwlock_unlock(&s->remap);
    if (rc) {
        log_error("store map grow failed size=%llu: %s",
                  (unsigned long long)want, mdb_strerror(rc));
        return;
    }
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    log_info("store map grown size=%llu limit=%llu",
             (unsigned long long)s->map_size, (unsigned long long)s->map_limit);
}

int
store_txn_begin(store_t *s)
{
    assert(s && !s->wtxn);
    grow_map(s);
    int rc = mdb_txn_begin(s->env, NULL, 0, &s->wtxn);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(s->env, 0);
        rc = mdb_txn_begin(s->env, NULL, 0, &s->wtxn);
    }
    if (rc) {
        s->wtxn = NULL;
        log_error("store txn begin failed: %s", mdb_strerror(rc));
        return err_from_mdb(rc);
    }
    s->meta = s->meta_committed;
    s->flat = false;
    ents_reset(&s->ents);
    return ERR_OK;
}

int
store_txn_begin_flat(store_t *s)
{
    int rc = store_txn_begin(s);
    if (rc == ERR_OK)
        s->flat = true;
    return rc;
}

int
store_txn_commit(store_t *s)
{
    assert(s && s->wtxn);
    int rc = 0;
    bool deferred = false;
    if (s->flat && s->ents.n_pairs) {
        rc = ents_flush(s, s->wtxn);
        deferred = rc != 0;
    }
    if (!rc && memcmp(&s->meta, &s->meta_committed, sizeof s->meta) != 0)
        rc = meta_save(s, s->wtxn);
    if (rc) {
        mdb_txn_abort(s->wtxn);
    } else {
        rc = mdb_txn_commit(s->wtxn);
    }
    s->wtxn = NULL;
    s->flat = false;
    ents_reset(&s->ents);
    if (deferred) {
        /* the flat group's deferred entity puts failed: redo it nested,
         * where the op that cannot be written fails alone */
        s->meta = s->meta_committed;
        if (rc == MDB_MAP_FULL && s->map_size < s->map_limit) {
            s->grow = true;
            grow_map(s);
        }
        log_debug("store flat group: entity index write failed (%s), "
                  "group to be redone",
                  rc < 0 && rc > -100 ? err_str(rc) : mdb_strerror(rc));
        return ERR_AGAIN;
    }
    if (rc == 0) {
        s->meta_committed = s->meta;
        return ERR_OK;
    }
    s->meta = s->meta_committed;
    if (rc == MDB_MAP_FULL) {
        if (s->map_size < s->map_limit) {
            s->grow = true;
            grow_map(s);
            return ERR_AGAIN;
        }
        log_warn("store full at commit limit=%llu",
                 (unsigned long long)s->map_limit);
        return ERR_FULL;
    }
    log_error("store commit failed: %s", mdb_strerror(rc));
    return err_from_mdb(rc);
}

void
store_txn_abort(store_t *s)
{
    assert(s);
    if (s->wtxn) {
        mdb_txn_abort(s->wtxn);
        s->wtxn = NULL;
    }
    s->flat = false;
    ents_reset(&s->ents);
    s->meta = s->meta_committed;
    grow_map(s);
}

bool
store_in_txn(const store_t *s)
{
    return s->wtxn != NULL;
}

int
store_read_begin(store_t *s)
{
    assert(s);
    if (s->rtxn_live)
        return ERR_OK;
    int rc;
    pthread_rwlock_rdlock(&s->remap);
    if (s->rtxn) {
        rc = mdb_txn_renew(s->rtxn);
    } else {
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn);
        if (rc)
            s->rtxn = NULL;
    }
    if (rc) {
        pthread_rwlock_unlock(&s->remap);
        log_error("store read txn failed: %s", mdb_strerror(rc));
        return err_from_mdb(rc);
    }
    s->rtxn_live = true;
    return ERR_OK;
}

void
store_read_end(store_t *s)
{
    if (s && s->rtxn_live) {
        mdb_txn_reset(s->rtxn);
        s->rtxn_live = false;
        pthread_rwlock_unlock(&s->remap);
    }
}

/* --------------------------------------------------------- write ops */

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
    MDB_val key = mval(r->k, 8), v = mval(NULL, n);
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
    int rc = op_begin(s, &txn, &m);
    if (rc)
        return rc;
    uint64_t old;
    rc = dedup_get(s, txn, job->key, klen, &old);
    if (rc == 0) {
        op_discard(s, txn);
        *id = old;
        *duplicate = true;
        return ERR_OK;
    }
    if (rc != MDB_NOTFOUND) {
        op_failing_clean(s);
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
    put_be64(k, nid);
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
    dedup_key(job->key, klen, dk, &dkn);
    key = mval(dk, dkn);
    v = mval(k, 8);
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
    rc = make_ready(s, txn, &r, &m, now_ms);
out:
    rc = op_end(s, txn, &m, rc);
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
    int rc = op_begin(s, &txn, &m);
    if (rc)
        return rc;
    if (upto > m.last_id)
        m.last_id = upto;
    return op_end(s, txn, &m, 0);
}

/* Dead-letter r (already unindexed) with reason; writes the record. */
static int
make_dead(store_t *s, MDB_txn *txn, rec_t *r, meta_t *m, const char *reason,
          uint64_t now_ms)
{
    uint8_t k[8];
    put_be64(k, r->j.id);
    MDB_val key = mval(k, 8), v = mval(reason, strlen(reason) + 1);
    int rc = mdb_put(txn, s->dbi[DB_DEAD], &key, &v, 0);
    if (rc)
        return rc;
    r->j.state = STORE_DEAD;
    r->j.finished_ms = now_ms;
    m->n[STORE_DEAD]++;
    return rec_store(s, txn, &r->j, 0);
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
    int rc = op_begin(s, &txn, &m);
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
        uint64_t id = get_be64(v.mv_data);
        rec_free(&r);
        rc = rec_load(s, txn, id, &r);
        if (rc)
            goto out;
        rc = unindex(s, txn, &r, &m);
        if (rc)
            goto out;
        uint8_t k[8];
        put_be64(k, id);
        key = mval(k, 8);
        rc = mdb_get(txn, s->dbi[DB_PAYLOADS], &key, &v);
        if (rc == 0)
            rc = wire_decode(v.mv_data, v.mv_size, 0, &out->msg);
        if (rc == 0 && out->msg.kind != WIRE_SUBMIT) {
            wire_msg_release(&out->msg);
            rc = ERR_PROTO;
        }
        if (rc) {
            log_error("store payload unreadable job=%llu: %s",
                      (unsigned long long)id, err_str(err_from_mdb(rc)));
            memset(&out->msg, 0, sizeof out->msg);
            rc = make_dead(s, txn, &r, &m, "payload unreadable", now_ms);
            if (rc)
                goto out;
            continue;
        }
        r.j.state = STORE_LEASED;
        r.j.attempt++;
        r.j.leased_ms = now_ms;
        uint32_t att = r.j.attempt;
        v = mval(&att, 4);
        rc = mdb_put(txn, s->dbi[DB_LEASED], &key, &v, 0);
        if (rc == 0)
            rc = rec_store(s, txn, &r.j, 0);
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
    rec_free(&r);
    rc = op_end(s, txn, &m, rc);
    if (rc)
        wire_msg_release(&out->msg);
    return rc;
}

/* Normalised entity index key: type byte + case-folded, space-collapsed
 * name (len bytes, or up to its NUL when len is SIZE_MAX), cut at a UTF-8
 * boundary. Returns its length (0: empty name). */
static size_t
entity_key(int type, const char *name, size_t len, uint8_t *out)
{
    size_t n = 0;
    bool space = false;
    out[n++] = (uint8_t)type;
    for (const unsigned char *p = (const unsigned char *)name;
         len == SIZE_MAX ? *p != 0 : p < (const unsigned char *)name + len;
         p++) {
        unsigned char c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = n > 1;
            continue;
        }
        if (n + 2 > ENTITY_NAME_MAX)
            break;
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
    }
    while (n > 1 && (out[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 1 && out[n - 1] >= 0xC0)
        n--;
    return n > 1 ? n : 0;
}

/* ---- a minimal reader of the protobuf wire format, enough to find a
 * serialised Result's entities and extract_us without decoding (and
 * allocating) the whole message: the broker commits thousands per second. */

typedef pbraw_field_t pbf_t;

/* Walk a serialised Result: check its wire format (and that of each
 * Entity and Timings), report each entity's type and name to fn (may be
 * NULL) and the last extract_us. Field numbers from proto/excerpt.proto:
 * Result.entities = 5, Result.timings = 8, Entity.type = 1, Entity.name
 * = 2, Timings.extract_us = 1. */
typedef int (*entity_fn)(void *arg, int type, const char *name, size_t len);

static int
result_walk(const uint8_t *buf, size_t len, entity_fn fn, void *arg,
            uint64_t *extract_us)
{
    /* an empty Result may come as NULL: no arithmetic on a null pointer */
    const uint8_t *p = buf, *end = len ? buf + len : buf;
    pbf_t f;
    int rc;
    *extract_us = 0;
    while ((rc = pbraw_next(&p, end, &f)) == 1) {
        if (f.num != 5 && f.num != 8)
            continue;
        if (f.wt != 2)
            return ERR_PROTO;
        const uint8_t *q = f.buf, *qe = f.buf + f.len;
        pbf_t g;
        int type = 0;
        const char *name = NULL;
        size_t nlen = 0;
        while ((rc = pbraw_next(&q, qe, &g)) == 1) {
            if (f.num == 8 && g.num == 1 && g.wt == 0)
                *extract_us = g.v;
            else if (f.num == 5 && g.num == 1 && g.wt == 0)
                type = (int)(g.v & 0xff);
            else if (f.num == 5 && g.num == 2 && g.wt == 2) {
                name = (const char *)g.buf;
                nlen = g.len;
            }
        }
        if (rc < 0)
            return rc;
        if (f.num == 5) {
            if (name && !utf8_is_valid(name, nlen))
                return ERR_PROTO;
            if (fn && name && (rc = fn(arg, type, name, nlen)) != 0)
                return rc;
        }
    }
    return rc;
}

int
store_result_check(const uint8_t *buf, size_t len)
{
    uint64_t us;
    if (!buf && len)
        return ERR_INVAL;
    return result_walk(buf, len, NULL, NULL, &us) < 0 ? ERR_PROTO : ERR_OK;
}

/* ------------------------------------------- entity index (grouped) */

/*
 * The entity index ("entity_lists"): key = type byte, name length (2 bytes
 * BE), normalised name, then the smallest job id of the value (8 bytes
 * BE); value = job ids (8 bytes BE each, ascending). A group writes one
 * such list per distinct entity, so the ids of one entity are spread over
 * the lists of the groups that named it. The length makes the keys of one
 * entity a contiguous range that no other entity's keys fall into.
 */
#define LIST_KEY_MAX (3 + ENTITY_NAME_MAX + 8)

/* List key prefix of entity key ek (en bytes, from entity_key); returns its
 * length. out holds LIST_KEY_MAX bytes. */
static size_t
list_prefix(const uint8_t *ek, size_t en, uint8_t *out)
{
    out[0] = ek[0];
    out[1] = (uint8_t)((en - 1) >> 8);
    out[2] = (uint8_t)(en - 1);
    memcpy(out + 3, ek + 1, en - 1);
    return en + 2;
}

static uint32_t
ent_hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Grow *buf (holding *cap elements of size sz) to at least want. */
static void *
grow_array(void *buf, size_t *cap, size_t want, size_t sz)
{
    if (want <= *cap)
        return buf;
    size_t n = *cap ? *cap : 64;
    while (n < want)
        n *= 2;
    *cap = n;
    return xreallocarray(buf, n, sz);
}

static void
ents_rehash(ents_t *e)
{
    size_t cap = e->table_cap ? e->table_cap * 2 : 256;
    free(e->table);
    e->table = xcalloc(cap, sizeof *e->table);
    e->table_cap = cap;
    for (size_t i = 0; i < e->n_keys; i++) {
        size_t at = e->keys[i].hash & (cap - 1);
        while (e->table[at])
            at = (at + 1) & (cap - 1);
        e->table[at] = (uint32_t)i + 1;
    }
}

/* Index of entity key k (n bytes) in e->keys, added if new. */
static uint32_t
ents_intern(ents_t *e, const uint8_t *k, size_t n)
{
    uint32_t h = ent_hash(k, n);
    if (2 * (e->n_keys + 1) > e->table_cap)
        ents_rehash(e);
    size_t at = h & (e->table_cap - 1);
    for (;;) {
        uint32_t ki = e->table[at];
        if (!ki)
            break;
        const ent_key_t *x = &e->keys[ki - 1];
        if (x->hash == h && x->len == n && memcmp(e->kbuf + x->off, k, n) == 0)
            return ki - 1;
        at = (at + 1) & (e->table_cap - 1);
    }
    e->kbuf = grow_array(e->kbuf, &e->kbuf_cap, e->kbuf_len + n, 1);
    memcpy(e->kbuf + e->kbuf_len, k, n);
    e->keys = grow_array(e->keys, &e->cap_keys, e->n_keys + 1, sizeof *e->keys);
    ent_key_t *x = &e->keys[e->n_keys++];
    x->off = (uint32_t)e->kbuf_len;
    x->len = (uint32_t)n;
    x->hash = h;
    x->first = 0;
    x->count = 0;
    e->kbuf_len += n;
    e->table[at] = (uint32_t)e->n_keys;
    return (uint32_t)e->n_keys - 1;
}

/* Record that job id names entity key ki. */
static void
ents_pair(ents_t *e, uint32_t ki, uint64_t id)
{
    e->pairs =
        grow_array(e->pairs, &e->cap_pairs, e->n_pairs + 1, sizeof *e->pairs);
    e->pairs[e->n_pairs].key = ki;
    e->pairs[e->n_pairs].id = id;
    e->n_pairs++;
}

/* Record that job id names the entity key k (n bytes). */
static void
ents_add(ents_t *e, const uint8_t *k, size_t n, uint64_t id)
{
    ents_pair(e, ents_intern(e, k, n), id);
}

/* Forget the group's entries (keeps the memory for the next group). */
static void
ents_reset(ents_t *e)
{
    if (e->n_keys && e->table_cap)
        memset(e->table, 0, e->table_cap * sizeof *e->table);
    e->kbuf_len = 0;
    e->n_keys = 0;
    e->n_pairs = 0;
}

static void
ents_free(ents_t *e)
{
    free(e->kbuf);
    free(e->keys);
    free(e->table);
    free(e->pairs);
    free(e->ids);
    free(e->order);
    memset(e, 0, sizeof *e);
}

/* Order of the list keys: type, then name length, then name. */
static int
cmp_ent_key(const void *a, const void *b)
{
    const ent_sort_t *x = a, *y = b;
    if (x->k[0] != y->k[0])
        return x->k[0] < y->k[0] ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->k + 1, y->k + 1, x->len - 1);
}

/* Put one list (ids ascending, n >= 1) of entity key ek. A list of that
 * entity starting at ids[0] can only exist if that job's result was
 * indexed already: then the ids are put one list each, skipping those
 * that exist. Returns an MDB code. */
static int
list_put(MDB_cursor *cur, const uint8_t *ek, size_t en, const uint64_t *ids,
         size_t n)
{
    uint8_t lk[LIST_KEY_MAX];
    size_t pn = list_prefix(ek, en, lk);
    put_be64(lk + pn, ids[0]);
    MDB_val key = mval(lk, pn + 8), v = mval(NULL, n * 8);
    int rc = mdb_cursor_put(cur, &key, &v, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            put_be64((uint8_t *)v.mv_data + 8 * i, ids[i]);
        return 0;
    }
    if (rc != MDB_KEYEXIST)
        return rc;
    rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        uint8_t idb[8];
        put_be64(idb, ids[i]);
        put_be64(lk + pn, ids[i]);
        key = mval(lk, pn + 8);
        v = mval(idb, 8);
        rc = mdb_cursor_put(cur, &key, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            rc = 0;
    }
    return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort the pending entries: e->order by list key order, and each key's
 * ids ascending and distinct at e->ids[first .. first + count). */
static void
ents_sort(ents_t *e)
{
    e->order = grow_array(e->order, &e->cap_order, e->n_keys, sizeof *e->order);
    e->ids = grow_array(e->ids, &e->cap_ids, e->n_pairs, sizeof *e->ids);
    for (size_t i = 0; i < e->n_keys; i++) {
        e->order[i].k = e->kbuf + e->keys[i].off;
        e->order[i].len = e->keys[i].len;
        e->order[i].key = (uint32_t)i;
        e->keys[i].count = 0;
    }
    for (size_t i = 0; i < e->n_pairs; i++)
        e->keys[e->pairs[i].key].count++;
    qsort(e->order, e->n_keys, sizeof *e->order, cmp_ent_key);
    /* counting sort of the pairs by key rank */
    uint32_t at = 0;
    for (size_t r = 0; r < e->n_keys; r++) {
        ent_key_t *x = &e->keys[e->order[r].key];
        x->first = at;
        at += x->count;
        x->count = 0;
    }
    for (size_t i = 0; i < e->n_pairs; i++) {
        ent_key_t *x = &e->keys[e->pairs[i].key];
        e->ids[x->first + x->count++] = e->pairs[i].id;
    }
    for (size_t r = 0; r < e->n_keys; r++) {
        ent_key_t *x = &e->keys[e->order[r].key];
        uint64_t *ids = e->ids + x->first;
        size_t n = x->count;
        if (n == 0)
            continue; /* interned by an op that failed */
        /* ids arrive nearly in order (ops run in job order, a merge adds
         * groups oldest first): insertion sort while that holds */
        size_t moves = 0;
        for (size_t i = 1; i < n && moves <= 8 * n; i++) {
            uint64_t v = ids[i];
            size_t j = i;
            for (; j > 0 && ids[j - 1] > v; j--)
                ids[j] = ids[j - 1];
            ids[j] = v;
            moves += i - j;
        }
        if (moves > 8 * n)
            qsort(ids, n, sizeof *ids, cmp_u64);
        /* drop repeats (a result may name an entity twice) */
        size_t u = 1;
        for (size_t i = 1; i < n; i++)
            if (ids[i] != ids[u - 1])
                ids[u++] = ids[i];
        x->count = (uint32_t)u;
    }
}

/* Write the sorted entries as one list per entity. Returns an MDB code. */
static int
lists_write(store_t *s, MDB_txn *txn)
{
    ents_t *e = &s->ents;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[DB_ENTLISTS], &cur);
    if (rc)
        return rc;
    for (size_t r = 0; r < e->n_keys && rc == 0; r++) {
        const ent_key_t *x = &e->keys[e->order[r].key];
        if (x->count)
            rc = list_put(cur, e->kbuf + x->off, x->len, e->ids + x->first,
                          x->count);
    }
    mdb_cursor_close(cur);
    return rc;
}

/*
 * "entity_recent" holds the entries of the last groups, one value per
 * group (key: the group's last seq, 8 bytes BE), until RECENT_MAX of them
 * are merged into "entity_lists" at once: a group's lists land on one leaf
 * per entity each, scattered over the tree, while one value per group is
 * a few contiguous pages; merging many groups' worth writes each entity's
 * leaf once for all of them. Value: per entity, in list key order, its
 * key length (2 bytes BE), entity key (type + name), id count (4 bytes BE)
 * and ids (8 bytes BE each, ascending).
 */
#define RECENT_MAX 16u

static int
recent_write(store_t *s, MDB_txn *txn)
{
    ents_t *e = &s->ents;
    size_t size = 0;
    for (size_t r = 0; r < e->n_keys; r++) {
        const ent_key_t *x = &e->keys[e->order[r].key];
        if (x->count)
            size += 6 + x->len + 8 * (size_t)x->count;
    }
    if (size == 0)
        return 0;
    uint8_t k[8];
    put_be64(k, s->meta.last_seq);
    MDB_val key = mval(k, 8), v = mval(NULL, size);
    int rc =
        mdb_put(txn, s->dbi[DB_ENTRECENT], &key, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *p = v.mv_data;
    for (size_t r = 0; r < e->n_keys; r++) {
        const ent_key_t *x = &e->keys[e->order[r].key];
        if (!x->count)
            continue;
        p[0] = (uint8_t)(x->len >> 8);
        p[1] = (uint8_t)x->len;
        memcpy(p + 2, e->kbuf + x->off, x->len);
        p += 2 + x->len;
        p[0] = (uint8_t)(x->count >> 24);
        p[1] = (uint8_t)(x->count >> 16);
        p[2] = (uint8_t)(x->count >> 8);
        p[3] = (uint8_t)x->count;
        p += 4;
        for (uint32_t i = 0; i < x->count; i++, p += 8)
            put_be64(p, e->ids[x->first + i]);
    }
    return 0;
}

/* One entity of a recent value: *p advances past it. 1 got one, 0 at the
 * end, ERR_IO when malformed. */
static int
recent_next(const uint8_t **p, const uint8_t *end, const uint8_t **k,
            size_t *kn, const uint8_t **ids, size_t *n)
{
    if (*p == end)
        return 0;
    if (end - *p < 2)
        return ERR_IO;
    *kn = (size_t)(*p)[0] << 8 | (*p)[1];
    if (*kn < 2 || *kn > ENTITY_NAME_MAX || (size_t)(end - *p) < 6 + *kn)
        return ERR_IO;
    *k = *p + 2;
    const uint8_t *c = *p + 2 + *kn;
    *n = (size_t)c[0] << 24 | (size_t)c[1] << 16 | (size_t)c[2] << 8 | c[3];
    if (*n == 0 || (size_t)(end - (c + 4)) / 8 < *n)
        return ERR_IO;
    *ids = c + 4;
    *p = c + 4 + 8 * *n;
    return 1;
}

/* Move every recent value's entries into the pending ones and empty
 * "entity_recent". Returns an MDB code or ERR_IO. */
static int
recent_merge(store_t *s, MDB_txn *txn)
{
    ents_t *e = &s->ents;
    MDB_cursor *cur = NULL;
    MDB_val key, v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_ENTRECENT], &cur);
    if (rc)
        return rc;
    /* the group's own pairs go after the older groups' (ids nearly in
     * order for ents_sort) */
    size_t own = e->n_pairs;
    ent_pair_t *mine = xreallocarray(NULL, own, sizeof *mine);
    memcpy(mine, e->pairs, own * sizeof *mine);
    e->n_pairs = 0;
    rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
    while (rc == 0) {
        const uint8_t *p = v.mv_data, *end = p + v.mv_size, *k, *ids;
        size_t kn, n;
        while ((rc = recent_next(&p, end, &k, &kn, &ids, &n)) == 1) {
            uint32_t ki = ents_intern(e, k, kn);
            for (size_t i = 0; i < n; i++)
                ents_pair(e, ki, get_be64(ids + 8 * i));
        }
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    for (size_t i = 0; i < own; i++)
        ents_pair(e, mine[i].key, mine[i].id);
    free(mine);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return mdb_drop(txn, s->dbi[DB_ENTRECENT], 0);
}

/* Write the group's entity index entries into txn: as one recent value,
 * or, every RECENT_MAX groups, merged with the recent ones into the
 * lists. Returns an MDB code or ERR_IO (a malformed recent value). */
static int
ents_flush(store_t *s, MDB_txn *txn)
{
    MDB_stat st;
    if (!s->ents.n_pairs)
        return 0;
    int rc = mdb_stat(txn, s->dbi[DB_ENTRECENT], &st);
    if (rc)
        return rc;
    if (st.ms_entries + 1 < RECENT_MAX) {
        ents_sort(&s->ents);
        return recent_write(s, txn);
    }
    rc = recent_merge(s, txn);
    if (rc)
        return rc;
    ents_sort(&s->ents);
    return lists_write(s, txn);
}

/* Collects a result's entity keys for job id (entity_fn for store_done). */
typedef struct ent_collect {
    ents_t *e;   /* where they go */
    uint64_t id; /* the job */
} ent_collect_t;

static int
entity_collect(void *arg, int type, const char *name, size_t len)
{
    ent_collect_t *c = arg;
    uint8_t ek[ENTITY_NAME_MAX + 1];
    size_t en = entity_key(type, name, len, ek);
    if (en)
        ents_add(c->e, ek, en, c->id);
    return 0;
}

/* Put the pairs from index first on directly, as a nested op must (a
 * failure has to stay inside its nested txn): they are all one job's, so
 * one list of one id per distinct entity. */
static int
ents_put_direct(store_t *s, MDB_txn *txn, size_t first)
{
    ents_t *e = &s->ents;
    MDB_cursor *cur = NULL;
    if (first >= e->n_pairs)
        return 0;
    int rc = mdb_cursor_open(txn, s->dbi[DB_ENTLISTS], &cur);
    for (size_t i = first; i < e->n_pairs && rc == 0; i++) {
        const ent_key_t *x = &e->keys[e->pairs[i].key];
        rc = list_put(cur, e->kbuf + x->off, x->len, &e->pairs[i].id, 1);
    }
    if (cur)
        mdb_cursor_close(cur);
    return rc;
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
    int rc = op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = load_unfenced(s, txn, id, attempt, &r);
    if (rc)
        goto out;
    /* One walk checks the bytes and collects the entity keys; a flat group
     * writes them at commit (ents_flush), a nested op below. */
    uint64_t extract_us = res ? res->extract_us : 0;
    ent_collect_t ec = { &s->ents, id };
    if (res) {
        for (size_t i = 0; i < res->n_entities; i++) {
            const result_entity_t *e = &res->entities[i];
            entity_collect(&ec, e->type, e->name ? e->name : "", SIZE_MAX);
        }
    } else if (result_walk(result, result_len, entity_collect, &ec,
                           &extract_us) < 0) {
        op_failing_clean(s);
        rc = ERR_INVAL;
        goto out;
    }
    rc = unindex(s, txn, &r, &m);
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
    tail[tn++] = 0x08;
    tn += pbraw_put_varint(tail + tn, id);
    tail[tn++] = 0x10;
    tn += pbraw_put_varint(tail + tn, seq);
    if (extract_us) {
        tim[tl++] = 0x08;
        tl += pbraw_put_varint(tim + tl, extract_us);
    }
    tim[tl++] = 0x10;
    tl += pbraw_put_varint(tim + tl, queue_us);
    tim[tl++] = 0x18;
    tl += pbraw_put_varint(tim + tl, total_us);
    tail[tn++] = 0x42;
    tail[tn++] = (uint8_t)tl;
    memcpy(tail + tn, tim, tl);
    tn += tl;
    uint8_t k[8], sk[8];
    put_be64(k, id);
    put_be64(sk, seq);
    /* Reserved in place: the bytes are copied once, into the txn's page. */
    MDB_val key = mval(k, 8), v = mval(NULL, result_len + tn);
    rc = mdb_put(txn, s->dbi[DB_RESULTS], &key, &v,
                 MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc)
        goto out;
    if (result_len)
        memcpy(v.mv_data, result, result_len);
    memcpy((uint8_t *)v.mv_data + result_len, tail, tn);
    key = mval(sk, 8);
    v = mval(k, 8);
    rc = mdb_put(txn, s->dbi[DB_LOG], &key, &v, MDB_APPEND);
    if (rc)
        goto out;
    if (!s->flat) {
        rc = ents_put_direct(s, txn, ents_mark);
        s->ents.n_pairs = ents_mark;
        if (rc)
            goto out;
    }
    r.j.state = STORE_DONE;
    r.j.attempt = attempt;
    r.j.seq = seq;
    r.j.finished_ms = now_ms;
    rc = rec_store(s, txn, &r.j, 0);
    if (rc)
        goto out;
    m.n[STORE_DONE]++;
    out->seq = seq;
    out->key = xstrdup(r.j.key);
out:
    rec_free(&r);
    if (rc)
        s->ents.n_pairs = ents_mark;
    rc = op_end(s, txn, &m, rc);
    if (rc) {
        free(out->key);
        out->key = NULL;
    }
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
    int rc = op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = load_unfenced(s, txn, id, attempt, &r);
    if (rc)
        goto out;
    rc = unindex(s, txn, &r, &m);
    if (rc)
        goto out;
    r.j.attempt = attempt;
    r.j.tries++;
    add_history(&r, reason);
    if (permanent || r.j.tries >= max_attempts) {
        char why[STORE_MAX_REASON + 64];
        snprintf(why, sizeof why, "%s after %u attempt%s: %s",
                 permanent ? "permanent failure" : "gave up", r.j.tries,
                 r.j.tries == 1 ? "" : "s", r.j.last_error);
        rc = make_dead(s, txn, &r, &m, why, now_ms);
    } else {
        uint8_t k[DELAYED_KEY], idb[8];
        r.j.state = STORE_DELAYED;
        r.j.not_before_ms = retry_at_ms;
        delayed_key(k, retry_at_ms, id);
        put_be64(idb, id);
        MDB_val key = mval(k, DELAYED_KEY), v = mval(idb, 8);
        rc = mdb_put(txn, s->dbi[DB_DELAYED], &key, &v, 0);
        if (rc == 0)
            rc = rec_store(s, txn, &r.j, 0);
        if (rc == 0)
            m.n[STORE_DELAYED]++;
    }
    if (rc == 0 && state)
        *state = r.j.state;
out:
    rec_free(&r);
    return op_end(s, txn, &m, rc);
}

/* Move jobs listed (as 8-byte BE ids in key or value) in db to READY. */
static int
requeue_from(store_t *s, int db, bool id_in_key, uint64_t now_ms,
             uint64_t due_before, size_t max, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    meta_t m;
    uint64_t n = 0;
    int rc = op_begin(s, &txn, &m);
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
        if (db == DB_DELAYED && get_be64(key.mv_data) > due_before)
            break;
        uint64_t id = get_be64(id_in_key ? (const uint8_t *)key.mv_data
                                         : (const uint8_t *)v.mv_data);
        rc = rec_load(s, txn, id, &r);
        if (rc == 0)
            rc = unindex(s, txn, &r, &m);
        if (rc == 0 && db == DB_DEAD)
            r.j.tries = 0;
        if (rc == 0)
            rc = make_ready(s, txn, &r, &m, now_ms);
        rec_free(&r);
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
    rc = op_end(s, txn, &m, rc);
    if (rc == 0 && count)
        *count = n;
    return rc;
}

int
store_requeue_leased(store_t *s, uint64_t now_ms, uint64_t *count)
{
    return requeue_from(s, DB_LEASED, true, now_ms, 0, SIZE_MAX, count);
}

int
store_promote_due(store_t *s, uint64_t now_ms, size_t max, uint64_t *count)
{
    return requeue_from(s, DB_DELAYED, false, now_ms, now_ms, max, count);
}

int
store_dead_requeue_all(store_t *s, uint64_t now_ms, uint64_t *count)
{
    return requeue_from(s, DB_DEAD, true, now_ms, 0, SIZE_MAX, count);
}

int
store_dead_requeue(store_t *s, uint64_t id, uint64_t now_ms)
{
    MDB_txn *txn = NULL;
    meta_t m;
    rec_t r;
    int rc = op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = rec_load(s, txn, id, &r);
    if (rc == 0 && r.j.state != STORE_DEAD)
        rc = ERR_NOTFOUND;
    if (rc == 0)
        rc = unindex(s, txn, &r, &m);
    if (rc == 0) {
        r.j.tries = 0;
        rc = make_ready(s, txn, &r, &m, now_ms);
    }
    rec_free(&r);
    return op_end(s, txn, &m, rc);
}

static int
purge_one(store_t *s, MDB_txn *txn, uint64_t id, meta_t *m)
{
    rec_t r;
    int rc = rec_load(s, txn, id, &r);
    if (rc == 0 && r.j.state != STORE_DEAD)
        rc = ERR_NOTFOUND;
    if (rc == 0)
        rc = unindex(s, txn, &r, m);
    uint8_t k[8];
    put_be64(k, id);
    if (rc == 0)
        rc = del_key(txn, s->dbi[DB_PAYLOADS], k, 8);
    if (rc == 0)
        rc = del_key(txn, s->dbi[DB_JOBS], k, 8);
    uint64_t owner = 0;
    if (rc == 0 && dedup_get(s, txn, r.j.key, strlen(r.j.key), &owner) == 0 &&
        owner == id) {
        uint8_t dk[DEDUP_DIRECT_MAX + 1];
        size_t dkn;
        dedup_key(r.j.key, strlen(r.j.key), dk, &dkn);
        rc = del_key(txn, s->dbi[DB_DEDUP], dk, dkn);
    }
    rec_free(&r);
    return rc;
}

int
store_dead_purge(store_t *s, uint64_t id)
{
    MDB_txn *txn = NULL;
    meta_t m;
    int rc = op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = purge_one(s, txn, id, &m);
    return op_end(s, txn, &m, rc);
}

int
store_dead_purge_all(store_t *s, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    meta_t m;
    uint64_t n = 0;
    int rc = op_begin(s, &txn, &m);
    if (rc)
        return rc;
    for (;;) {
        MDB_val key, v;
        rc = mdb_cursor_open(txn, s->dbi[DB_DEAD], &cur);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        if (key.mv_size != 8) {
            rc = ERR_IO;
            break;
        }
        uint64_t id = get_be64(key.mv_data);
        rc = purge_one(s, txn, id, &m);
        if (rc == ERR_NOTFOUND || rc == MDB_NOTFOUND)
            rc = mdb_del(txn, s->dbi[DB_DEAD], &key, NULL);
        else if (rc == 0)
            n++;
        if (rc)
            break;
    }
    rc = op_end(s, txn, &m, rc);
    if (rc == 0 && count)
        *count = n;
    return rc;
}

/* ----------------------------------------------------------- reads */

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
    int rc = mdb_cursor_open(cur_txn(s), s->dbi[DB_READY], &cur);
    if (rc)
        return err_from_mdb(rc);
    if (from) {
        key = mval(from->b, READY_KEY);
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
        if (fn(arg, get_be64(v.mv_data), &pos) != 0)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == ERR_IO)
        return ERR_IO;
    return rc ? err_from_mdb(rc) : n;
}

int
store_ready_pos_priority(const store_ready_pos_t *pos)
{
    return 255 - (int)pos->b[0]; /* see ready_key */
}

int
store_next_due(store_t *s, uint64_t *when_ms)
{
    MDB_cursor *cur = NULL;
    MDB_val key, v;
    int rc = mdb_cursor_open(cur_txn(s), s->dbi[DB_DELAYED], &cur);
    if (rc)
        return err_from_mdb(rc);
    rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc)
        return err_from_mdb(rc);
    if (key.mv_size != DELAYED_KEY)
        return ERR_IO;
    *when_ms = get_be64(key.mv_data);
    return ERR_OK;
}

int
store_get(store_t *s, uint64_t id, store_job_t *out)
{
    uint8_t k[8];
    put_be64(k, id);
    MDB_val key = mval(k, 8), v;
    int rc = mdb_get(cur_txn(s), s->dbi[DB_JOBS], &key, &v);
    if (rc)
        return err_from_mdb(rc);
    uint64_t qseq;
    return rec_parse(id, &v, out, &qseq);
}

int
store_get_key(store_t *s, const char *key, size_t key_len, store_job_t *out)
{
    uint64_t id;
    if (!key || key_len == 0 || key_len > WIRE_MAX_KEY)
        return ERR_NOTFOUND;
    int rc = dedup_get(s, cur_txn(s), key, key_len, &id);
    if (rc)
        return err_from_mdb(rc);
    rc = store_get(s, id, out);
    if (rc)
        return rc;
    if (strlen(out->key) != key_len || memcmp(out->key, key, key_len) != 0)
        return ERR_NOTFOUND; /* hash collision of a long key */
    return ERR_OK;
}

/* The value of job id in database db, borrowed from the current txn. */
static int
get_by_id(store_t *s, int db, uint64_t id, const uint8_t **buf, size_t *len)
{
    uint8_t k[8];
    put_be64(k, id);
    MDB_val key = mval(k, 8), v;
    int rc = mdb_get(cur_txn(s), s->dbi[db], &key, &v);
    if (rc)
        return err_from_mdb(rc);
    *buf = v.mv_data;
    *len = v.mv_size;
    return ERR_OK;
}

int
store_result(store_t *s, uint64_t id, const uint8_t **buf, size_t *len)
{
    return get_by_id(s, DB_RESULTS, id, buf, len);
}

int
store_payload_raw(store_t *s, uint64_t id, const uint8_t **buf, size_t *len)
{
    return get_by_id(s, DB_PAYLOADS, id, buf, len);
}

int
store_payload(store_t *s, uint64_t id, wire_msg_t *out)
{
    const uint8_t *buf = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = get_by_id(s, DB_PAYLOADS, id, &buf, &len);
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
store_since(store_t *s, uint64_t after_seq, size_t limit, bool with_result,
            store_item_fn fn, void *arg)
{
    MDB_txn *txn = cur_txn(s);
    MDB_cursor *cur = NULL;
    uint8_t sk[8];
    int n = 0;
    if (after_seq == UINT64_MAX)
        return 0;
    put_be64(sk, after_seq + 1);
    MDB_val key = mval(sk, 8), v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_LOG], &cur);
    if (rc)
        return err_from_mdb(rc);
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && (size_t)n < limit && n < INT32_MAX) {
        if (key.mv_size != 8 || v.mv_size != 8) {
            rc = ERR_IO;
            break;
        }
        store_item_t it;
        store_job_t j;
        memset(&it, 0, sizeof it);
        it.seq = get_be64(key.mv_data);
        it.job_id = get_be64(v.mv_data);
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
    return rc ? err_from_mdb(rc) : n;
}

int
store_dead_list(store_t *s, uint64_t after_id, size_t limit, store_job_fn fn,
                void *arg)
{
    MDB_txn *txn = cur_txn(s);
    MDB_cursor *cur = NULL;
    uint8_t k[8];
    int n = 0;
    if (after_id == UINT64_MAX)
        return 0;
    put_be64(k, after_id + 1);
    MDB_val key = mval(k, 8), v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_DEAD], &cur);
    if (rc)
        return err_from_mdb(rc);
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && (size_t)n < limit && n < INT32_MAX) {
        store_job_t j;
        const char *reason = v.mv_data;
        if (key.mv_size != 8 || v.mv_size == 0 ||
            reason[v.mv_size - 1] != '\0') {
            rc = ERR_IO;
            break;
        }
        rc = store_get(s, get_be64(key.mv_data), &j);
        if (rc)
            break;
        if (fn(arg, &j, reason) != 0)
            break;
        n++;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    return rc ? err_from_mdb(rc) : n;
}

/* Append the ids of entity key ek from the lists and from the schema 1
 * index to *ids (n, cap). Returns an MDB code or ERR_IO. */
static int
entity_ids(store_t *s, MDB_txn *txn, const uint8_t *ek, size_t en,
           uint64_t **ids, size_t *n, size_t *cap)
{
    uint8_t lk[LIST_KEY_MAX];
    size_t pn = list_prefix(ek, en, lk);
    MDB_cursor *cur = NULL;
    memset(lk + pn, 0, 8);
    MDB_val key = mval(lk, pn + 8), v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_ENTLISTS], &cur);
    if (rc)
        return rc;
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size == pn + 8 &&
           memcmp(key.mv_data, lk, pn) == 0) {
        if (v.mv_size == 0 || v.mv_size % 8) {
            rc = ERR_IO;
            break;
        }
        size_t k = v.mv_size / 8;
        *ids = grow_array(*ids, cap, *n + k, sizeof **ids);
        for (size_t i = 0; i < k; i++)
            (*ids)[(*n)++] = get_be64((const uint8_t *)v.mv_data + 8 * i);
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    rc = mdb_cursor_open(txn, s->dbi[DB_ENTRECENT], &cur);
    if (rc)
        return rc;
    rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
    while (rc == 0) {
        const uint8_t *p = v.mv_data, *end = p + v.mv_size, *k, *rid;
        size_t kn, k_ids;
        while ((rc = recent_next(&p, end, &k, &kn, &rid, &k_ids)) == 1) {
            if (kn != en || memcmp(k, ek, en) != 0)
                continue;
            *ids = grow_array(*ids, cap, *n + k_ids, sizeof **ids);
            for (size_t i = 0; i < k_ids; i++)
                (*ids)[(*n)++] = get_be64(rid + 8 * i);
        }
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    key = mval(ek, en);
    rc = mdb_cursor_open(txn, s->dbi[DB_ENTITIES], &cur);
    if (rc)
        return rc;
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_KEY);
    while (rc == 0) {
        if (v.mv_size != 8) {
            rc = ERR_IO;
            break;
        }
        *ids = grow_array(*ids, cap, *n + 1, sizeof **ids);
        (*ids)[(*n)++] = get_be64(v.mv_data);
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT_DUP);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
store_entity_jobs(store_t *s, int type, const char *name, store_id_fn fn,
                  void *arg)
{
    uint8_t ek[ENTITY_NAME_MAX + 1];
    size_t en = entity_key(type, name ? name : "", SIZE_MAX, ek);
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int count = 0;
    if (!en)
        return 0;
    int rc = entity_ids(s, cur_txn(s), ek, en, &ids, &n, &cap);
    if (rc) {
        free(ids);
        return err_from_mdb(rc);
    }
    if (n > 1)
        qsort(ids, n, sizeof *ids, cmp_u64);
    for (size_t i = 0; i < n && count < INT32_MAX; i++) {
        if (i > 0 && ids[i] == ids[i - 1])
            continue;
        if (fn(arg, ids[i]) != 0)
            break;
        count++;
    }
    free(ids);
    return count;
}

int
store_oldest_ready(store_t *s, uint64_t *enqueued_ms)
{
    MDB_txn *txn = cur_txn(s);
    MDB_cursor *cur = NULL;
    uint64_t best = UINT64_MAX;
    bool found = false;
    int rc = mdb_cursor_open(txn, s->dbi[DB_READY], &cur);
    if (rc)
        return err_from_mdb(rc);
    /* The oldest job of each priority is first in its band. */
    for (int p = 0; p <= WIRE_MAX_PRIORITY; p++) {
        uint8_t k[READY_KEY];
        ready_key(k, p, 0);
        MDB_val key = mval(k, READY_KEY), v;
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
        rc = store_get(s, get_be64(v.mv_data), &j);
        if (rc)
            break;
        found = true;
        if (j.enqueued_ms < best)
            best = j.enqueued_ms;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return err_from_mdb(rc);
    if (!found)
        return ERR_NOTFOUND;
    *enqueued_ms = best;
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
