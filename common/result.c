/*
 * result: arena-backed result building. Engines add thousands of small
 * strings per document; a bump allocator keeps that off malloc's path.
 */
#include "result.h"

#include "spare.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 16384

typedef struct result_arena {
    struct result_arena *next; /* older block */
    size_t used;               /* bytes used in data */
    size_t size;               /* bytes available in data */
    max_align_t data[];        /* the strings and arrays */
} arena_t;

/* Blocks of the usual size are kept as this thread's spare (common/
 * spare.h) when freed and reused by the next result. */
static arena_t *
block_take(void)
{
    return spare_take(SPARE_RESULT);
}

static void
block_put(arena_t *b)
{
    if (b->size != ARENA_BLOCK || !spare_put(SPARE_RESULT, b, free))
        free(b);
}

/* n bytes from a new block (after the current one did not have them).
 * Out of line: arena_alloc()'s callers then save no registers for it. */
static __attribute__((noinline)) void *
arena_new_block(result_t *r, size_t n)
{
    arena_t *a = r->arena;
    size_t sz = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    arena_t *b = sz == ARENA_BLOCK ? block_take() : NULL;
    if (!b)
        b = xmalloc(sizeof *b + sz);
    b->used = n;
    b->size = sz;
    if (a && n > ARENA_BLOCK / 4) {
        /* keep filling the current block; park the big one behind it */
        b->next = a->next;
        a->next = b;
        return b->data;
    }
    b->next = a;
    r->arena = b;
    return b->data;
}

/* n bytes at an offset that is a multiple of align (1 or 8). */
static inline void *
arena_alloc(result_t *r, size_t n, size_t align)
{
    arena_t *a = r->arena;
    if (a) {
        size_t pad = (0 - a->used) & (align - 1);
        size_t room = a->size - a->used;
        if (room >= n && room - n >= pad) {
            char *p = (char *)a->data + a->used + pad;
            a->used += pad + n;
            return p;
        }
    }
    return arena_new_block(r, n);
}

/* Room for n elements of elem bytes, 8-aligned, in r's arena. */
static void *
arena_array(result_t *r, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem)
        abort();
    return arena_alloc(r, n * elem, 8);
}

/* memcpy(d, s, n) for n <= 16 and buffers that do not overlap. Most
 * strings copied are that short (mentions, figures, units): two
 * overlapping loads and stores, not a call into the library. */
static inline void
copy_short(char *d, const char *s, size_t n)
{
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* result_strndup(), inline in this file's adders: most strings are short,
 * and the call would cost about as much as the copy. */
static inline __attribute__((always_inline)) char *
strndup_in(result_t *r, const char *s, size_t n)
{
    char *p = arena_alloc(r, n + 1, 1);
    p[n] = '\0';
    if (n > 16)
        return memcpy(p, s, n);
    copy_short(p, s, n);
    return p;
}

char *
result_strndup(result_t *r, const char *s, size_t n)
{
    return strndup_in(r, s, n);
}

/* The empty string every empty copy shares: most roles and units are
 * empty. Read-only, so that a write through one fails at once. */
static const char empty[1] = "";

static char *
dup_or_empty(result_t *r, const char *s)
{
    if (!s || !*s)
        return (char *)empty;
    return strndup_in(r, s, strlen(s));
}

result_t *
result_new(void)
{
    result_t *r = xcalloc(1, sizeof *r);
    r->source = dup_or_empty(r, "");
    r->version = r->source;
    return r;
}

void
result_destroy(result_t **rp)
{
    if (!rp || !*rp)
        return;
    result_t *r = *rp;
    arena_t *a = r->arena;
    while (a) {
        arena_t *next = a->next;
        block_put(a);
        a = next;
    }
    free(r);
    *rp = NULL;
}

/* p (cap elements) with room for element n: doubled into the arena when
 * full; the old array stays behind in the arena. */
static void *
grow(result_t *r, void *p, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : first;
    void *q = arena_array(r, nc, elem);
    if (n)
        memcpy(q, p, n * elem);
    *cap = nc;
    return q;
}

int32_t
result_add_speaker(result_t *r, const char *name, const char *title)
{
    r->speakers = grow(r, r->speakers, &r->cap[0], r->n_speakers,
                       sizeof *r->speakers, 16);
    result_speaker_t *s = &r->speakers[r->n_speakers];
    s->name = dup_or_empty(r, name);
    s->title = dup_or_empty(r, title);
    s->turns = 0;
    return (int32_t)r->n_speakers++;
}

int32_t
result_add_turn(result_t *r, int32_t speaker, uint32_t start, uint32_t body,
                uint32_t end)
{
    r->turns = grow(r, r->turns, &r->cap[1], r->n_turns, sizeof *r->turns, 16);
    result_turn_t *t = &r->turns[r->n_turns];
    t->speaker = speaker;
    t->start = start;
    t->body = body;
    t->end = end;
    if (speaker >= 0 && (size_t)speaker < r->n_speakers)
        r->speakers[speaker].turns++;
    return (int32_t)r->n_turns++;
}

int32_t
result_add_entity(result_t *r, int type, const char *name, const char *role)
{
    r->entities = grow(r, r->entities, &r->cap[2], r->n_entities,
                       sizeof *r->entities, 16);
    result_entity_t *e = &r->entities[r->n_entities];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->name = dup_or_empty(r, name);
    e->role = dup_or_empty(r, role);
    return (int32_t)r->n_entities++;
}

result_mention_t *
result_reserve_mentions(result_t *r, int32_t entity, size_t n)
{
    result_entity_t *e = &r->entities[entity];
    if (e->cap_mentions - e->n_mentions < n) {
        result_mention_t *m = arena_array(r, e->n_mentions + n, sizeof *m);
        if (e->n_mentions)
            memcpy(m, e->mentions, e->n_mentions * sizeof *m);
        e->mentions = m;
        e->cap_mentions = e->n_mentions + n;
    }
    if (!e->mentions)
        return NULL; /* n is 0 and nothing was ever reserved */
    return e->mentions + e->n_mentions;
}

void
result_add_mention(result_t *r, int32_t entity, const char *text,
                   uint32_t start, uint32_t end)
{
    result_entity_t *e = &r->entities[entity];
    if (e->n_mentions >= e->cap_mentions) {
        e->mentions = grow(r, e->mentions, &e->cap_mentions, e->n_mentions,
                           sizeof *e->mentions, 4);
    }
    result_mention_t *m = &e->mentions[e->n_mentions++];
    m->text = strndup_in(r, text + start, end - start);
    m->start = start;
    m->end = end;
    m->turn = RESULT_NO_TURN;
}

result_figure_t *
result_add_figure(result_t *r, int type, const char *input, uint32_t start,
                  uint32_t end, double value, bool has_value, const char *iso,
                  const char *unit)
{
    r->figures =
        grow(r, r->figures, &r->cap[3], r->n_figures, sizeof *r->figures, 16);
    result_figure_t *f = &r->figures[r->n_figures++];
    f->type = type;
    f->text = strndup_in(r, input + start, end - start);
    f->value = value;
    f->has_value = has_value;
    f->iso = iso ? dup_or_empty(r, iso) : NULL;
    f->unit = dup_or_empty(r, unit);
    f->start = start;
    f->end = end;
    f->turn = RESULT_NO_TURN;
    return f;
}

int32_t
result_turn_at(const result_t *r, uint32_t off)
{
    size_t lo = 0, hi = r->n_turns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->turns[mid].start <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return RESULT_NO_TURN;
    const result_turn_t *t = &r->turns[lo - 1];
    return off < t->end ? (int32_t)(lo - 1) : RESULT_NO_TURN;
}

static int
cmp_mention(const void *a, const void *b)
{
    const result_mention_t *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

static int
cmp_figure(const void *a, const void *b)
{
    const result_figure_t *x = a, *y = b;
    if (x->start != y->start)
        return (x->start > y->start) - (x->start < y->start);
    return (x->end > y->end) - (x->end < y->end);
}

static int
cmp_entity(const void *a, const void *b)
{
    const result_entity_t *x = a, *y = b;
    uint32_t xs = x->n_mentions ? x->mentions[0].start : UINT32_MAX;
    uint32_t ys = y->n_mentions ? y->mentions[0].start : UINT32_MAX;
    return (xs > ys) - (xs < ys);
}

typedef int (*cmp_fn)(const void *, const void *);

/* Stable merge of a[0..m) and a[m..n) through tmp (n elements). */
static void
merge(char *a, size_t m, size_t n, size_t size, cmp_fn cmp, char *tmp)
{
    size_t i = 0, j = m, k = 0;
    while (i < m && j < n) {
        if (cmp(a + i * size, a + j * size) <= 0)
            memcpy(tmp + k++ * size, a + i++ * size, size);
        else
            memcpy(tmp + k++ * size, a + j++ * size, size);
    }
    memcpy(tmp + k * size, a + i * size, (m - i) * size);
    k += m - i;
    memcpy(a, tmp, k * size); /* a[j..n) is already in place */
}

static void
merge_sort(char *a, size_t n, size_t size, cmp_fn cmp, char *tmp)
{
    if (n < 2)
        return;
    size_t m = n / 2;
    merge_sort(a, m, size, cmp, tmp);
    merge_sort(a + m * size, n - m, size, cmp, tmp);
    if (cmp(a + (m - 1) * size, a + m * size) > 0)
        merge(a, m, n, size, cmp, tmp);
}

/* Stable sort: equal elements keep their order, as with the glibc merge
 * sort that qsort() used here before. The arrays come almost sorted (the
 * engine adds in text order, with a few late additions), so a sorted
 * array costs one pass and a short one an insertion sort. */
/* The largest element sort_stable moves through its stack buffer. */
#define SORT_ELEM_MAX 128
_Static_assert(sizeof(result_mention_t) <= SORT_ELEM_MAX &&
                   sizeof(result_entity_t) <= SORT_ELEM_MAX &&
                   sizeof(result_figure_t) <= SORT_ELEM_MAX,
               "sort_stable's buffer holds every element it sorts");

static void
sort_stable(void *base, size_t n, size_t size, cmp_fn cmp)
{
    char *a = base;
    size_t i = 1;
    while (i < n && cmp(a + (i - 1) * size, a + i * size) <= 0)
        i++;
    if (i >= n)
        return;
    if (n <= 64) {
        char x[SORT_ELEM_MAX];
        if (size > sizeof x)
            abort(); /* a new caller with a bigger element: raise the max */
        for (; i < n; i++) {
            size_t j = i;
            if (cmp(a + (j - 1) * size, a + j * size) <= 0)
                continue;
            memcpy(x, a + j * size, size);
            while (j > 0 && cmp(a + (j - 1) * size, x) > 0) {
                memcpy(a + j * size, a + (j - 1) * size, size);
                j--;
            }
            memcpy(a + j * size, x, size);
        }
        return;
    }
    /* scratch from the result's arena would outlive the sort; a malloc
     * here is one per result_finish of a document with > 64 items */
    char *tmp = xmalloc(n * size);
    merge_sort(a, n, size, cmp, tmp);
    free(tmp);
}

/* For turns in order of start: the number of turns starting at or before
 * off, given that the first *lo do (*lo is updated). Offsets asked in
 * increasing order are found by galloping forward from the last answer
 * (most are in the same turn or the next), then a binary search of the
 * last gallop step. */
static size_t
turns_upto(const result_t *r, uint32_t off, size_t *lo)
{
    const result_turn_t *t = r->turns;
    size_t n = r->n_turns, a = *lo, b = a, step = 1;
    while (b < n && t[b].start <= off) {
        a = b + 1;
        b += step;
        step *= 2;
    }
    if (b > n)
        b = n;
    /* t[a - 1] starts at or before off (or a is where we began); t[b]
     * after it (or b == n) */
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (t[mid].start <= off)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    return a;
}

/* result_turn_at() for turns in order of start and offsets asked in
 * increasing order from *lo = 0 (see turns_upto()). */
static int32_t
turn_at_sorted(const result_t *r, uint32_t off, size_t *lo)
{
    size_t k = turns_upto(r, off, lo);
    if (k == 0)
        return RESULT_NO_TURN;
    return off < r->turns[k - 1].end ? (int32_t)(k - 1) : RESULT_NO_TURN;
}

void
result_finish(result_t *r)
{
    /* the engine adds turns in text order; any other order keeps the
     * plain search, whose answer on unordered turns this one need not
     * share */
    bool sorted = true;
    for (size_t i = 1; i < r->n_turns && sorted; i++)
        sorted = r->turns[i - 1].start <= r->turns[i].start;
    /* mentions and figures are sorted by start first: their turns are
     * found walking forward */
    size_t first = 0; /* turns_upto() of the last entity's first mention */
    for (size_t i = 0; i < r->n_entities; i++) {
        result_entity_t *e = &r->entities[i];
        sort_stable(e->mentions, e->n_mentions, sizeof *e->mentions,
                    cmp_mention);
        if (!e->n_mentions)
            continue;
        /* entities come about in the order of their first mentions: the
         * gallop starts from the last one's when that is not past this */
        uint32_t off0 = e->mentions[0].start;
        size_t lo = first && r->turns[first - 1].start <= off0 ? first : 0;
        for (size_t k = 0; k < e->n_mentions; k++) {
            uint32_t off = e->mentions[k].start;
            e->mentions[k].turn =
                sorted ? turn_at_sorted(r, off, &lo) : result_turn_at(r, off);
            if (k == 0)
                first = lo;
        }
    }
    sort_stable(r->entities, r->n_entities, sizeof *r->entities, cmp_entity);
    sort_stable(r->figures, r->n_figures, sizeof *r->figures, cmp_figure);
    size_t lo = 0;
    for (size_t i = 0; i < r->n_figures; i++) {
        uint32_t off = r->figures[i].start;
        r->figures[i].turn =
            sorted ? turn_at_sorted(r, off, &lo) : result_turn_at(r, off);
    }
}

static const char *const entity_names[] = { NULL,  "PERSON", "ORG", "GPE",
                                            "LOC", "FAC",    "NORP" };
static const char *const figure_names[] = { NULL,       "PERCENT", "MONEY",
                                            "QUANTITY", "DATE",    "TIME",
                                            "ORDINAL",  "CARDINAL" };

const char *
result_entity_type_name(int type)
{
    return type >= 1 && type <= 6 ? entity_names[type] : "UNKNOWN";
}

const char *
result_figure_type_name(int type)
{
    return type >= 1 && type <= 7 ? figure_names[type] : "UNKNOWN";
}

int
result_entity_type_parse(const char *s)
{
    for (int i = 1; i <= 6; i++)
        if (strcmp(s, entity_names[i]) == 0)
            return i;
    return 0;
}

int
result_figure_type_parse(const char *s)
{
    for (int i = 1; i <= 7; i++)
        if (strcmp(s, figure_names[i]) == 0)
            return i;
    return 0;
}
