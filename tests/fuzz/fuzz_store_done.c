/*
 * fuzz_store_done: a worker's Result bytes through the store's whole
 * commit path (store_done without a decoded result, as the broker runs
 * it), in a real LMDB store on tmpfs. The first input byte picks a nested
 * or a flat group; the rest is the Result. Properties: store_done refuses
 * exactly what store_result_check refuses (ERR_INVAL); a committed result
 * is stored as the bytes given plus a tail that sets job_id and seq; each
 * entity with a plain name (no NUL, an ASCII letter, at most 64 bytes) is
 * found again by store_entity_jobs under that job.
 */
#include "common/err.h"
#include "fuzz.h"
#include "proto/pbraw.h"
#include "proto/wire.h"
#include "storage/store.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static store_t *store;
static char dir[64];
static uint64_t keys; /* unique job keys */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
store_close(void)
{
    store_destroy(&store);
    if (dir[0])
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    dir[0] = '\0';
}

/* A fresh store in a new temporary directory (tmpfs when there is one:
 * every commit syncs). */
static void
store_fresh(void)
{
    static bool registered;
    store_close();
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/excerpt-fuzz-XXXXXX", base);
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    store_cfg_t cfg = { .dir = dir,
                        .map_size = 8u << 20,
                        .map_limit = 256u << 20 };
    FUZZ_CHECK(store_open(&store, &cfg) == ERR_OK);
    if (!registered)
        atexit(store_close);
    registered = true;
}

typedef struct ent {
    int type;         /* low byte of Entity.type, as the index keeps it */
    const char *name; /* Entity.name bytes */
    size_t len;       /* their count */
} ent_t;

/* The entities of a serialised Result, read independently of the store
 * (last type and name of each Entity win). Returns the count (at most
 * max), or -1 if the bytes are malformed. */
static int
read_entities(const uint8_t *p, const uint8_t *end, ent_t *out, int max)
{
    pbraw_field_t f, g;
    int n = 0, rc;
    while ((rc = pbraw_next(&p, end, &f)) == 1) {
        if (f.num != 5 || f.wt != PBRAW_LEN)
            continue;
        ent_t e = { 0, NULL, 0 };
        const uint8_t *q = f.buf, *qe = f.buf + f.len;
        while ((rc = pbraw_next(&q, qe, &g)) == 1) {
            if (g.num == 1 && g.wt == PBRAW_VARINT)
                e.type = (int)(g.v & 0xff);
            if (g.num == 2 && g.wt == PBRAW_LEN) {
                e.name = (const char *)g.buf;
                e.len = g.len;
            }
        }
        if (rc < 0)
            return -1;
        if (e.name && n < max)
            out[n++] = e;
    }
    return rc < 0 ? -1 : n;
}

/* A name the index must find as given: no NUL, an ASCII letter. */
static bool
plain_name(const ent_t *e)
{
    bool letter = false;
    if (e->len > 64 || memchr(e->name, 0, e->len))
        return false;
    for (size_t i = 0; i < e->len; i++)
        letter |= (e->name[i] | 0x20) >= 'a' && (e->name[i] | 0x20) <= 'z';
    return letter;
}

typedef struct find {
    uint64_t id; /* wanted */
    bool found;  /* seen */
} find_t;

static int
find_id(void *arg, uint64_t id)
{
    find_t *f = arg;
    f->found |= id == f->id;
    return 0;
}

/* Submit a job, lease it and commit bytes as its result, in one group.
 * Returns store_done's code (ERR_AGAIN handled inside). */
static int
commit_one(bool flat, const uint8_t *res, size_t len, uint64_t *id,
           uint64_t *seq)
{
    char key[32];
    snprintf(key, sizeof key, "fz-%llu", (unsigned long long)++keys);
    wire_job_t job = { .key = key, .text = "x", .text_len = 1 };
    for (int tries = 0; tries < 8; tries++) {
        bool dup;
        store_lease_t l;
        store_done_t d;
        FUZZ_CHECK((flat ? store_txn_begin_flat(store)
                         : store_txn_begin(store)) == ERR_OK);
        int rc = store_submit(store, &job, 1000, id, &dup);
        if (rc == ERR_OK) {
            rc = store_lease_next(store, 2000, &l);
            if (rc == ERR_OK) {
                FUZZ_CHECK(l.id == *id);
                wire_msg_release(&l.msg);
                rc = store_done(store, l.id, l.attempt, res, len, NULL, 3000,
                                &d);
                if (rc == ERR_OK) {
                    *seq = d.seq;
                    free(d.key);
                }
            }
        }
        if (rc == ERR_OK)
            rc = store_txn_commit(store);
        else
            store_txn_abort(store);
        if (rc == ERR_AGAIN)
            continue; /* the map grew: redo the group */
        if (rc == ERR_FULL) {
            store_fresh();
            continue;
        }
        return rc;
    }
    FUZZ_CHECK(!"the group never committed");
    return ERR_INTERNAL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!store)
        store_fresh();
    bool flat = data[0] & 1;
    const uint8_t *res = data + 1;
    size_t len = size - 1;
    int want = store_result_check(res, len) == ERR_OK ? ERR_OK : ERR_INVAL;
    uint64_t id = 0, seq = 0;
    int rc = commit_one(flat, res, len, &id, &seq);
    FUZZ_CHECK(rc == want);
    if (rc != ERR_OK)
        return 0;

    FUZZ_CHECK(store_read_begin(store) == ERR_OK);
    const uint8_t *got;
    size_t got_len;
    FUZZ_CHECK(store_result(store, id, &got, &got_len) == ERR_OK);
    FUZZ_CHECK(got_len > len && memcmp(got, res, len) == 0);
    result_t *r = NULL;
    if (wire_result_decode(got, got_len, &r) == ERR_OK) {
        FUZZ_CHECK(r->job_id == id && r->seq == seq);
        result_destroy(&r);
    }
    ent_t ents[64];
    int n = read_entities(res, res + len, ents, 64);
    FUZZ_CHECK(n >= 0); /* store_result_check accepted these bytes */
    for (int i = 0; i < n; i++) {
        if (!plain_name(&ents[i]))
            continue;
        char name[65];
        memcpy(name, ents[i].name, ents[i].len);
        name[ents[i].len] = '\0';
        find_t f = { id, false };
        FUZZ_CHECK(store_entity_jobs(store, ents[i].type, name, find_id, &f) >=
                   1);
        FUZZ_CHECK(f.found);
    }
    store_read_end(store);
    return 0;
}
