/*
 * store: LMDB-backed job queue and result store (see store.h): open and
 * destroy, the meta counters, transactions and the nested txn of each
 * write op, read-only access and backup. Keys that must sort are
 * big-endian. The store's other concerns live in store_*.c behind
 * store_int.h; each write op is a nested txn so a failure undoes only
 * itself.
 */
#include "store_int.h"

/* "entities" (type + name -> job id, dupsort) is the index of schema 1,
 * read but no longer written; "entity_lists" and "entity_recent" replaced
 * it (see list_prefix and recent_write). */
static const char *const db_names[DB_COUNT] = {
    "jobs",  "payloads",     "ready",        "delayed",  "leased",
    "dedup", "results",      "log",          "entities", "dead",
    "meta",  "entity_lists", "entity_recent"
};

int
sdb_err_from_mdb(int rc)
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
    case ENOSPC:
    case EDQUOT:
        return ERR_NOSPACE; /* not the map limit: tell them apart */
    default:
        if (rc > 0)
            return err_from_errno(rc);
        return ERR_IO;
    }
}

void
sdb_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t
sdb_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

MDB_val
sdb_mval(const void *p, size_t n)
{
    MDB_val v = { n, (void *)p };
    return v;
}

/* Reads prefer the read txn: with the broker's committer thread, the
 * write txn belongs to another thread. */
MDB_txn *
sdb_cur_txn(const store_t *s)
{
    if (s->rtxn_live)
        return s->rtxn;
    assert(s->wtxn && "read op outside any txn");
    return s->wtxn;
}

int
sdb_op_begin(store_t *s, MDB_txn **txn, meta_t *m)
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
        return sdb_err_from_mdb(rc);
    }
    return ERR_OK;
}

/* The op is failing before it wrote anything: in flat mode the group txn
 * stays usable. Call right before jumping to sdb_op_end with the error. */
void
sdb_op_failing_clean(store_t *s)
{
    s->op_clean = true;
}

/* Load job id for a Done or Failed of attempt: ERR_STALE (fenced) when the
 * job is finished or the attempt is older than the last one issued, the
 * load error otherwise; a failure leaves the op failing cleanly. */
int
sdb_load_unfenced(store_t *s, MDB_txn *txn, uint64_t id, uint32_t attempt,
                  rec_t *r)
{
    int rc = srec_rec_load(s, txn, id, r);
    if (!rc && (r->j.state == STORE_DONE || r->j.state == STORE_DEAD ||
                attempt == 0 || attempt < r->j.attempt))
        rc = ERR_STALE;
    if (rc)
        sdb_op_failing_clean(s);
    return rc;
}

/* End an op that wrote nothing and succeeded (e.g. a duplicate). */
void
sdb_op_discard(store_t *s, MDB_txn *txn)
{
    if (!s->flat)
        mdb_txn_abort(txn);
}

/* End a nested txn: commit on rc == 0, else abort; translate rc. In flat
 * mode a failure after a write poisons the group: ERR_AGAIN. */
int
sdb_op_end(store_t *s, MDB_txn *txn, const meta_t *m, int rc)
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
        return sdb_err_from_mdb(rc);
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
    return sdb_err_from_mdb(rc);
}

static int
meta_load(store_t *s, MDB_txn *txn)
{
    MDB_val k = sdb_mval("schema", 6), v;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        uint32_t ver = STORE_SCHEMA_VERSION;
        v = sdb_mval(&ver, 4);
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
        v = sdb_mval(&ver, 4);
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
    k = sdb_mval("counters", 8);
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
    MDB_val k = sdb_mval("counters", 8), v = sdb_mval(&s->meta, sizeof s->meta);
    return mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
}

/* Number this open (meta "runs", counted from 1) durably with the open's
 * txn: attempts a broker handed out in memory during an earlier run are
 * skipped by store_lease_attempt, whether or not they were recorded. */
static int
run_count(store_t *s, MDB_txn *txn)
{
    MDB_val k = sdb_mval("runs", 4), v;
    uint64_t runs = 0;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc == 0 && v.mv_size == sizeof runs)
        memcpy(&runs, v.mv_data, sizeof runs);
    else if (rc == 0) {
        log_error("store corrupt run counter dir=%s", s->dir);
        return ERR_IO;
    } else if (rc != MDB_NOTFOUND)
        return rc;
    s->run = runs + 1;
    v = sdb_mval(&s->run, sizeof s->run);
    return mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
}

uint32_t
store_lease_attempt(const store_t *s, const store_job_t *j)
{
    /* each run since the recorded attempt may have leased the job once
     * more without recording it (the last lease of a run that crashed) */
    uint64_t skip = s->run > j->attempt_run ? s->run - j->attempt_run : 0;
    uint64_t a = (uint64_t)j->attempt + 1 + skip;
    return a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
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
    rc = run_count(s, txn);
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
    return sdb_err_from_mdb(rc);
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
    sent_ents_free(&s->ents);
    free(s->dir);
    free(s);
    *sp = NULL;
}

/* After a failed LMDB call: is the environment now unusable? A failed
 * meta page write (EIO) marks it fatal, and every later txn gets
 * MDB_PANIC: a read txn's begin tells without touching the disk. */
static void
check_broken(store_t *s, int rc)
{
    if (atomic_load(&s->broken))
        return;
    if (rc != MDB_PANIC) {
        MDB_txn *t = NULL;
        int prc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t);
        if (prc == 0)
            mdb_txn_abort(t);
        if (prc != MDB_PANIC)
            return;
    }
    atomic_store(&s->broken, true);
    log_error("store unusable dir=%s: LMDB refuses every transaction after "
              "a failed write (%s); only a restart recovers it",
              s->dir, mdb_strerror(rc));
}

bool
store_is_broken(const store_t *s)
{
    return atomic_load(&((store_t *)s)->broken);
}

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
        check_broken(s, rc);
        if (!atomic_load(&s->broken))
            log_error("store txn begin failed: %s", mdb_strerror(rc));
        return sdb_err_from_mdb(rc);
    }
    s->meta = s->meta_committed;
    s->flat = false;
    sent_ents_reset(&s->ents);
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
        rc = sent_ents_flush(s, s->wtxn);
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
    sent_ents_reset(&s->ents);
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
    check_broken(s, rc);
    unsigned long long n = 0;
    if (log_rate_allow(&s->commit_log, 10000, &n))
        log_error("store commit failed: %s (%llu more since the last such "
                  "line)",
                  mdb_strerror(rc), n);
    return sdb_err_from_mdb(rc);
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
    sent_ents_reset(&s->ents);
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
        check_broken(s, rc);
        log_error("store read txn failed: %s", mdb_strerror(rc));
        return sdb_err_from_mdb(rc);
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

int
store_open_readonly(store_t **out, const char *dir)
{
    store_t *s = NULL;
    MDB_txn *txn = NULL;
    int rc = 0;
    char path[4096];
    struct stat st;
    if (!dir || !*dir)
        return ERR_INVAL;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return ERR_INVAL;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? ERR_NOTFOUND : err_from_errno(errno);
    s = xcalloc(1, sizeof *s);
    s->lock_fd = -1;
    s->dir = xstrdup(dir);
    if (pthread_rwlock_init(&s->remap, NULL) != 0) {
        free(s->dir);
        free(s);
        return ERR_INTERNAL;
    }
    s->remap_init = true;
    rc = mdb_env_create(&s->env);
    if (rc)
        goto fail;
    /* map size 0: LMDB takes the size recorded in the file */
    if ((rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 2)))
        goto fail;
    rc = mdb_env_open(s->env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc)
        goto fail;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        goto fail;
    for (int i = 0; i < DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, db_names[i], 0, &s->dbi[i]);
        if (rc)
            goto fail;
    }
    MDB_val k = sdb_mval("schema", 6), v;
    rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc)
        goto fail;
    uint32_t ver = 0;
    if (v.mv_size == 4)
        memcpy(&ver, v.mv_data, 4);
    if (ver != STORE_SCHEMA_VERSION) {
        log_error("store schema version %u, expected %u dir=%s", ver,
                  STORE_SCHEMA_VERSION, dir);
        rc = ERR_VERSION;
        goto fail;
    }
    k = sdb_mval("counters", 8);
    rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc == 0 && v.mv_size == sizeof s->meta)
        memcpy(&s->meta, v.mv_data, sizeof s->meta);
    else if (rc != MDB_NOTFOUND) {
        rc = rc ? rc : ERR_IO;
        goto fail;
    }
    /* committing (not aborting) keeps the dbi handles opened in it */
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail;
    s->meta_committed = s->meta;
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    s->map_limit = info.me_mapsize;
    *out = s;
    return ERR_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (rc != ERR_VERSION)
        log_error("store read-only open failed dir=%s: %s", dir,
                  rc < 0 && rc > -100 ? err_str(rc) : mdb_strerror(rc));
    store_destroy(&s);
    return rc == MDB_NOTFOUND ? ERR_VERSION : sdb_err_from_mdb(rc);
}

int
store_backup(store_t *s, const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return ERR_INVAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        log_error("store backup cannot create path=%s: %s", path, strerror(e));
        return e == EEXIST ? ERR_EXISTS : err_from_errno(e);
    }
    pthread_rwlock_rdlock(&s->remap);
    int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    pthread_rwlock_unlock(&s->remap);
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    if (rc) {
        log_error("store backup failed path=%s: %s", path, mdb_strerror(rc));
        unlink(path);
        return sdb_err_from_mdb(rc);
    }
    return ERR_OK;
}
