/*
 * store_entities: the entity index (entity type + name -> job ids),
 * grouped per commit into sorted lists plus a recent log that is merged
 * later, and its reads (store_entity_jobs).
 */
#include "store_int.h"

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
void
sent_ents_reset(ents_t *e)
{
    if (e->n_keys && e->table_cap)
        memset(e->table, 0, e->table_cap * sizeof *e->table);
    e->kbuf_len = 0;
    e->n_keys = 0;
    e->n_pairs = 0;
}

void
sent_ents_free(ents_t *e)
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
    sdb_put_be64(lk + pn, ids[0]);
    MDB_val key = sdb_mval(lk, pn + 8), v = sdb_mval(NULL, n * 8);
    int rc = mdb_cursor_put(cur, &key, &v, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            sdb_put_be64((uint8_t *)v.mv_data + 8 * i, ids[i]);
        return 0;
    }
    if (rc != MDB_KEYEXIST)
        return rc;
    rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        uint8_t idb[8];
        sdb_put_be64(idb, ids[i]);
        sdb_put_be64(lk + pn, ids[i]);
        key = sdb_mval(lk, pn + 8);
        v = sdb_mval(idb, 8);
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
    sdb_put_be64(k, s->meta.last_seq);
    MDB_val key = sdb_mval(k, 8), v = sdb_mval(NULL, size);
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
            sdb_put_be64(p, e->ids[x->first + i]);
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
                ents_pair(e, ki, sdb_get_be64(ids + 8 * i));
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
int
sent_ents_flush(store_t *s, MDB_txn *txn)
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

int
sent_entity_collect(void *arg, int type, const char *name, size_t len)
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
int
sent_ents_put_direct(store_t *s, MDB_txn *txn, size_t first)
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
    MDB_val key = sdb_mval(lk, pn + 8), v;
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
            (*ids)[(*n)++] = sdb_get_be64((const uint8_t *)v.mv_data + 8 * i);
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
                (*ids)[(*n)++] = sdb_get_be64(rid + 8 * i);
        }
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    key = sdb_mval(ek, en);
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
        (*ids)[(*n)++] = sdb_get_be64(v.mv_data);
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
    int rc = entity_ids(s, sdb_cur_txn(s), ek, en, &ids, &n, &cap);
    if (rc) {
        free(ids);
        return sdb_err_from_mdb(rc);
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
