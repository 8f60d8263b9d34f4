/*
 * store_int: the store's private types (struct store, rec_t, meta_t, the
 * entity index group) and the functions shared between the store*.c
 * files; never included outside storage/. Each function's comment is at
 * its definition.
 *
 * Naming: a function used only in its own file is static and has no
 * prefix. One shared between files takes the prefix of the file that
 * defines it: sdb_ (store.c), srec_ (store_rec.c), squeue_
 * (store_queue.c), sresult_ (store_results.c), sdead_ (store_dead.c),
 * sent_ (store_entities.c), followed by its old static name.
 */
#ifndef EXCERPT_STORE_INT_H
#define EXCERPT_STORE_INT_H

#include "store.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/utf8.h"
#include "../common/xalloc.h"
#include "../proto/pbraw.h"
#include "../proto/tags.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
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
    uint64_t run;           /* this open's number (meta "runs"), from 1 */
    atomic_bool broken;     /* LMDB refuses every txn (MDB_PANIC) */
    log_rate_t commit_log;  /* limits "store commit failed" lines */
    int lock_fd;            /* flock'd DIR/lock: one broker per dir, or -1 */
    ents_t ents;            /* entity index entries of the open flat group */
};

/* Mutable owned copy of a job record, for write ops. */
typedef struct rec {
    store_job_t j;  /* fields; strings point into buf or static "" */
    char *buf;      /* owned copy of the strings */
    char *hist_own; /* replacement history, owned, or NULL */
    char *err_own;  /* replacement last_error, owned, or NULL */
    uint64_t qseq;  /* ready-queue order when READY */
} rec_t;

/* Collects a result's entity keys for job id (entity_fn for store_done). */
typedef struct ent_collect {
    ents_t *e;   /* where they go */
    uint64_t id; /* the job */
} ent_collect_t;

/* store.c */
int sdb_err_from_mdb(int rc);
void sdb_put_be64(uint8_t *p, uint64_t v);
uint64_t sdb_get_be64(const uint8_t *p);
MDB_val sdb_mval(const void *p, size_t n);
MDB_txn *sdb_cur_txn(const store_t *s);
int sdb_op_begin(store_t *s, MDB_txn **txn, meta_t *m);
void sdb_op_failing_clean(store_t *s);
int sdb_load_unfenced(store_t *s, MDB_txn *txn, uint64_t id, uint32_t attempt,
                      rec_t *r);
void sdb_op_discard(store_t *s, MDB_txn *txn);
int sdb_op_end(store_t *s, MDB_txn *txn, const meta_t *m, int rc);

/* store_rec.c */
int srec_rec_parse(uint64_t id, const MDB_val *v, store_job_t *j,
                   uint64_t *qseq);
void srec_rec_free(rec_t *r);
int srec_rec_load(store_t *s, MDB_txn *txn, uint64_t id, rec_t *r);
int srec_rec_store(store_t *s, MDB_txn *txn, const store_job_t *j,
                   uint64_t qseq);
void srec_ready_key(uint8_t k[READY_KEY], int32_t prio, uint64_t qseq);
void srec_delayed_key(uint8_t k[DELAYED_KEY], uint64_t when, uint64_t id);
int srec_del_key(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t n);
int srec_unindex(store_t *s, MDB_txn *txn, const rec_t *r, meta_t *m);
int srec_make_ready(store_t *s, MDB_txn *txn, rec_t *r, meta_t *m,
                    uint64_t now_ms);
void srec_dedup_key(const char *key, size_t len, uint8_t *out, size_t *out_len);
int srec_dedup_get(store_t *s, MDB_txn *txn, const char *key, size_t len,
                   uint64_t *id);

/* store_queue.c */
int squeue_requeue_from(store_t *s, int db, bool id_in_key, uint64_t now_ms,
                        uint64_t due_before, size_t max, uint64_t *count);
int squeue_get_by_id(store_t *s, int db, uint64_t id, const uint8_t **buf,
                     size_t *len);

/* store_dead.c */
int sdead_make_dead(store_t *s, MDB_txn *txn, rec_t *r, meta_t *m,
                    const char *reason, uint64_t now_ms);

/* store_entities.c */
void sent_ents_reset(ents_t *e);
void sent_ents_free(ents_t *e);
int sent_ents_flush(store_t *s, MDB_txn *txn);
int sent_entity_collect(void *arg, int type, const char *name, size_t len);
int sent_ents_put_direct(store_t *s, MDB_txn *txn, size_t first);

#endif
