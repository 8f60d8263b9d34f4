/*
 * ent_doc: the document pass of the entity scanner (ent_int.h). The
 * per-thread buffers a scan reuses, the speaker labels, and after the word
 * pass of entities.c: surnames linked to persons, types propagated to
 * other mentions of a typed name, mentions grouped into entities.
 */
#include "ent_int.h"

#include "../common/spare.h"
#include "../common/xalloc.h"
#include "gaz.h"
#include "tok.h"
#include "turns.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
ent_doc_add_cand(doc_t *d, uint32_t start, uint32_t end, int type,
                 const char *canon)
{
    if (end <= start)
        return;
    if (d->n_c == d->cap_c) {
        d->cap_c = d->cap_c ? d->cap_c * 2 : 64;
        d->c = xreallocarray(d->c, d->cap_c, sizeof *d->c);
    }
    cand_t *c = &d->c[d->n_c++];
    memset(c, 0, sizeof *c);
    c->start = c->cs = start;
    c->end = c->ce = end;
    c->type = (uint8_t)type;
    c->canon = canon;
}

/* occurs_lower() reads this many bytes on each side of the word (on the
 * corpus, 4 KiB typed 5 more ordinary words, 64 KiB 2 in 200 KB texts) */
#define OCCURS_WINDOW 65536

/* True when the word text[a..b), lower-cased, occurs as a word of the text
 * ("tax" for "Tax" of "Tax Service"): then the capitalised word alone is
 * as likely an ordinary word at a sentence start or in a title. Only
 * OCCURS_WINDOW bytes on each side are read. */
bool
ent_doc_occurs_lower(const char *text, size_t len, uint32_t a, uint32_t b)
{
    size_t n = b - a;
    char low[64];
    if (n == 0 || n >= sizeof low)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[a + i];
        low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    /* memchr() for the word's rarest letter (English letter frequency),
     * then a compare: memmem() was a few instructions a byte */
    static const char by_freq[] = "etaoinshrdlcumwfgypbvkjxqz";
    size_t r = 0;
    const char *best = by_freq;
    for (size_t i = 0; i < n; i++) {
        const char *f = strchr(by_freq, low[i]);
        if (low[i] && f && f >= best) {
            best = f;
            r = i;
        }
    }
    /* a second byte, the next rarest letter, is compared before the
     * rest: most hits of one letter are no match */
    size_t r2 = r == n - 1 ? 0 : n - 1;
    const char *best2 = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *f = strchr(by_freq, low[i]);
        if (i != r && low[i] && f && (!best2 || f >= best2)) {
            best2 = f;
            r2 = i;
        }
    }
    /* the text around the word, so that the search stays linear in long
     * documents (a word written in lower case is used so nearby) */
    size_t lo = a > OCCURS_WINDOW ? a - OCCURS_WINDOW : 0;
    size_t hi = len - b > OCCURS_WINDOW ? b + OCCURS_WINDOW : len;
    const char *start = text + lo, *end = text + hi;
    for (const char *h = start + r; h < end;) {
        const char *p = memchr(h, low[r], (size_t)(end - h));
        if (!p)
            break;
        h = p + 1;
        p -= r;
        if ((size_t)(end - p) < n || p[r2] != low[r2] || memcmp(p, low, n) != 0)
            continue;
        bool lb =
            p == start || !((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z');
        bool rb =
            p + n == end || !((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z');
        if (lb && rb)
            return true;
    }
    return false;
}

/* tok_hash() of canonical names by where their bytes are: most mentions
 * repeat a lexicon name or a person's full-name span, hashed once. */
#define HCACHE_SLOTS 256

typedef struct hcache {
    uint64_t doc;  /* the emit() call it was filled in (0: never) */
    const char *p; /* first byte of the name */
    size_t n;      /* its length */
    uint64_t h;    /* tok_hash(p, n) */
} hcache_t;

/* Buffers an entities_scan() on this thread keeps for the next document,
 * so that a document costs no malloc of its own: candidates, unknown
 * runs, labels and the hash maps of resolve_persons() and emit() (used
 * one after the other). Freed when the thread exits; buffers grown past
 * the caps are freed after the document instead of being kept. */
typedef struct scratch {
    cand_t *c;       /* doc_t.c */
    size_t cap_c;    /* its slots */
    maybe_t *m;      /* doc_t.m */
    size_t cap_m;    /* its slots */
    lab_t *labs;     /* find_labels() output */
    size_t cap_labs; /* its slots */
    uint64_t *key;   /* map keys, 0 = empty */
    uint32_t *val;   /* map values (read only where a key is set) */
    size_t cap_map;  /* slots of key and val */
    /* emit()'s hash cache, kept from document to document: a slot is
     * valid for the call that filled it (hc_doc then), so no call clears
     * it (the cleared array was 6 KiB a document) */
    hcache_t hc[HCACHE_SLOTS];
    uint64_t hc_doc; /* emit() calls so far */
} scratch_t;

#define SCRATCH_KEEP 4096      /* candidates, runs, labels kept */
#define SCRATCH_KEEP_MAP 16384 /* map slots kept */

static void
scratch_free(void *p)
{
    scratch_t *sc = p;
    if (!sc)
        return;
    free(sc->c);
    free(sc->m);
    free(sc->labs);
    free(sc->key);
    free(sc->val);
    free(sc);
}

/* This thread's buffers (common/spare.h; taken: a nested scan would get
 * new ones). */
static scratch_t *
scratch_take(void)
{
    scratch_t *sc = spare_take(SPARE_ENTITIES);
    return sc ? sc : xcalloc(1, sizeof *sc);
}

/* Keep sc for this thread's next document, without what grew past the
 * caps. */
static void
scratch_give(scratch_t *sc)
{
    if (sc->cap_c > SCRATCH_KEEP) {
        free(sc->c);
        sc->c = NULL;
        sc->cap_c = 0;
    }
    if (sc->cap_m > SCRATCH_KEEP) {
        free(sc->m);
        sc->m = NULL;
        sc->cap_m = 0;
    }
    if (sc->cap_labs > SCRATCH_KEEP) {
        free(sc->labs);
        sc->labs = NULL;
        sc->cap_labs = 0;
    }
    if (sc->cap_map > SCRATCH_KEEP_MAP) {
        free(sc->key);
        free(sc->val);
        sc->key = NULL;
        sc->val = NULL;
        sc->cap_map = 0;
    }
    if (!spare_put(SPARE_ENTITIES, sc, scratch_free))
        scratch_free(sc);
}

/* A map of size slots (a power of two) with every key 0. */
static void
scratch_map(scratch_t *sc, size_t size)
{
    if (sc->cap_map < size) {
        free(sc->key);
        free(sc->val);
        sc->key = xreallocarray(NULL, size, sizeof *sc->key);
        sc->val = xreallocarray(NULL, size, sizeof *sc->val);
        sc->cap_map = size;
    }
    memset(sc->key, 0, size * sizeof *sc->key);
}

static size_t
find_labels(const char *text, const result_t *r, scratch_t *sc, lab_t **out)
{
    lab_t *l = sc->labs;
    size_t n = 0;
    if (r->n_turns > sc->cap_labs) {
        free(sc->labs);
        l = sc->labs = xreallocarray(NULL, r->n_turns, sizeof *l);
        sc->cap_labs = r->n_turns;
    }
    for (size_t i = 0; i < r->n_turns; i++) {
        const result_turn_t *t = &r->turns[i];
        if (t->speaker < 0 || (size_t)t->speaker >= r->n_speakers)
            continue;
        const char *nm = r->speakers[t->speaker].name;
        size_t nl = strlen(nm);
        /* the name ends the label, before any "(retranslated)" */
        uint32_t e = t->body;
        while (e > t->start && (text[e - 1] == ' ' || text[e - 1] == '\t'))
            e--;
        if (e > t->start && text[e - 1] == ':')
            e--;
        while (e > t->start && text[e - 1] == ' ')
            e--;
        if (e > t->start && text[e - 1] == ')') {
            while (e > t->start && text[e - 1] != '(')
                e--;
            if (e > t->start)
                e--;
            while (e > t->start && text[e - 1] == ' ')
                e--;
        }
        const char *p = NULL;
        if (nl && e - t->start >= nl && memcmp(text + e - nl, nm, nl) == 0)
            p = text + e - nl;
        if (!p) {
            /* a one-word label ("Putin:") for a longer known name */
            const char *sp = strrchr(nm, ' ');
            if (sp) {
                nm = sp + 1;
                nl = strlen(nm);
                if (e - t->start >= nl && memcmp(text + e - nl, nm, nl) == 0)
                    p = text + e - nl;
                /* the given name spelt another way ("Sergey Donskoy:"
                 * for speaker "Sergei Donskoy") or as its initial ("M.
                 * Papchenkova:"): the label's own words */
                const char *gs = r->speakers[t->speaker].name;
                size_t gl = (size_t)(sp - gs);
                if (p && p - text > (ptrdiff_t)t->start + 1 && p[-1] == ' ' &&
                    !memchr(gs, ' ', gl)) {
                    const char *w = p - 1;
                    while (w > text + t->start && w[-1] != ' ')
                        w--;
                    if (turns_same_given(gs, gl, w, (size_t)(p - 1 - w))) {
                        nl += (size_t)(p - w);
                        p = w;
                    }
                }
            }
        }
        if (!p)
            continue;
        l[n].ns = (uint32_t)(p - text);
        l[n].ne = l[n].ns + (uint32_t)nl;
        l[n].body = t->body;
        l[n].start = t->start;
        l[n].speaker = t->speaker;
        n++;
    }
    *out = l;
    return n;
}

/* Per-document map from a person's last word to the full-name mention. */
typedef struct pmap {
    uint64_t *key; /* hash, 0 = empty */
    uint32_t *val; /* what the key maps to (read only where a key is set) */
    size_t mask;   /* size - 1 */
} pmap_t;

static void
pmap_init(pmap_t *m, size_t n, scratch_t *sc)
{
    size_t size = 64;
    while (size < n * 2 + 2)
        size *= 2;
    scratch_map(sc, size);
    m->key = sc->key;
    m->val = sc->val;
    m->mask = size - 1;
}

/* Slot of key h (existing or the empty one where it goes). */
static size_t
pmap_slot(const pmap_t *m, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 29)) & m->mask;
    while (m->key[i] && m->key[i] != h)
        i = (i + 1) & m->mask;
    return i;
}

/* Case-insensitive hash of a canonical name of a type, from the
 * tok_hash() of its bytes as written. */
static uint64_t
name_seq(int type, uint64_t bytes)
{
    return tok_seq((uint64_t)type * 0x9E3779B97F4A7C15ULL + 1, bytes);
}

/* Remember a tok_hash() computed for emit() in the slot of hc for where
 * the bytes are, for document doc. */
static uint64_t
hcache_hash(hcache_t *hc, uint64_t doc, const char *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    hcache_t *x = &hc[(a ^ (a >> 8) ^ n) & (HCACHE_SLOTS - 1)];
    if (x->doc != doc || x->p != p || x->n != n) {
        x->doc = doc;
        x->p = p;
        x->n = n;
        x->h = tok_hash(p, n);
    }
    return x->h;
}

/* Group mentions into entities: one per (type, canonical name). */
static void
emit(doc_t *d, const char *text, result_t *r)
{
    pmap_t m; /* name hash -> entity index */
    pmap_init(&m, d->n_c, d->sc);
    uint64_t *key = m.key;
    uint32_t *ent = m.val;
    hcache_t *hc = d->sc->hc;
    uint64_t doc = ++d->sc->hc_doc;
    for (size_t i = 0; i < d->n_c; i++) {
        const cand_t *c = &d->c[i];
        const char *cn = c->canon;
        size_t cl;
        char buf[512];
        if (cn) {
            cl = strlen(cn);
        } else {
            cl = c->ce - c->cs;
            if (cl >= sizeof buf)
                cl = sizeof buf - 1;
        }
        /* hashed in place; a span is copied out only for a new entity */
        uint64_t h =
            name_seq(c->type, hcache_hash(hc, doc, cn ? cn : text + c->cs, cl));
        size_t k = pmap_slot(&m, h);
        if (!key[k]) {
            key[k] = h;
            if (!cn) {
                memcpy(buf, text + c->cs, cl);
                buf[cl] = '\0';
                cn = buf;
            }
            char role[256];
            size_t rl = c->rend > c->rstart ? c->rend - c->rstart : 0;
            if (rl >= sizeof role)
                rl = 0;
            memcpy(role, text + c->rstart, rl);
            role[rl] = '\0';
            ent[k] = (uint32_t)result_add_entity(r, c->type, cn, role);
        } else if (c->rend > c->rstart) {
            result_entity_t *e = &r->entities[ent[k]];
            if (!e->role[0])
                e->role =
                    result_strndup(r, text + c->rstart, c->rend - c->rstart);
        }
        result_add_mention(r, (int32_t)ent[k], text, c->start, c->end);
    }
}

/* tok_seq() hash of the words of text[a..b) (the text alone: no byte
 * from b on). */
static uint64_t
span_hash_cut(const char *text, uint32_t a, uint32_t b)
{
    size_t pos = a;
    tok_t t;
    uint64_t h = 0;
    while (tok_next(text, b, &pos, &t))
        h = tok_seq(h, t.hash);
    return h;
}

/* span_hash_cut(text, a, b) of text[0..len), b <= len. The words are cut
 * in the whole text, where tok_next() takes its short path (sixteen
 * bytes readable, not the span's end); a word ending at b or at a plain
 * separator is cut there as in the span alone. Any other word (one
 * running on past b, ending in an apostrophe, a hyphen or a multi-byte
 * letter) sends the span to span_hash_cut(). */
static uint64_t
span_hash(const char *text, size_t len, uint32_t a, uint32_t b)
{
    size_t pos = a;
    tok_t t;
    uint64_t h = 0;
    while (tok_next(text, len, &pos, &t) && t.start < b) {
        if (t.end != b && (t.end > b || t.after != t.end ||
                           tok_class[(unsigned char)text[t.end]] != TOK_C_SEP))
            return span_hash_cut(text, a, b);
        h = tok_seq(h, t.hash);
    }
    return h;
}

/* The acronym defined right after a name ending at text[e]: " (FAS)", two
 * to ten capitals or digits starting with the name's first letter (at
 * text[s0]). Sets its span and returns true. */
static bool
acronym_after(const char *text, size_t len, uint32_t s0, uint32_t e,
              uint32_t *as, uint32_t *ae)
{
    if (e + 4 > len || text[e] != ' ' || text[e + 1] != '(' ||
        text[e + 2] != text[s0])
        return false;
    uint32_t q = e + 2;
    while (q < len && q - (e + 2) <= 10 &&
           ((text[q] >= 'A' && text[q] <= 'Z') ||
            (q > e + 2 && text[q] >= '0' && text[q] <= '9')))
        q++;
    if (q - (e + 2) < 2 || q - (e + 2) > 10 || q >= len || text[q] != ')')
        return false;
    *as = e + 2;
    *ae = q;
    return true;
}

/* Types in the propagation map carry this bit when they come from the
 * name before a head noun, which needs more evidence (propagate_types). */
#define FROM_HEAD 0x100u

/* Put key h with type t in m; a key seen with two types keeps none. */
static void
pmap_type(pmap_t *m, uint64_t h, unsigned t)
{
    if (!h)
        return;
    size_t k = pmap_slot(m, h);
    if (!m->key[k]) {
        m->key[k] = h;
        m->val[k] = t;
    } else if ((m->val[k] & 0xFF) != (t & 0xFF)) {
        m->val[k] = 0;
    } else {
        m->val[k] &= t; /* typed by a full mention: no more evidence needed */
    }
}

/*
 * Document-level types. Once a name is typed somewhere in the document, its
 * other mentions take that type: an unknown capitalised run (one not
 * resolved as a person) that equals the text of a typed mention, or the
 * unknown name before a head noun ("Unitech" after "Unitech Agency", "Ob"
 * after "Ob River"), or an acronym defined after a typed name ("the Federal
 * Antimonopoly Service (FAS)", then "FAS"). Names typed two ways are left.
 */
static void
propagate_types(doc_t *d, size_t len)
{
    if (!d->n_m)
        return;
    /* the names the rules typed (the gazetteer's are typed wherever they
     * stand) and the acronyms: the map's keys */
    size_t n_c = d->n_c, keys = 0;
    for (size_t i = 0; i < n_c; i++) {
        const cand_t *c = &d->c[i];
        if (c->type == RESULT_PERSON || c->type == RESULT_NORP)
            continue;
        keys += (c->canon ? 0u : 1u) + (c->pre ? 1u : 0u) +
                (c->end + 1 < len && d->text[c->end + 1] == '(' ? 1u : 0u);
    }
    if (!keys)
        return;
    pmap_t m;
    pmap_init(&m, keys, d->sc);
    for (size_t i = 0; i < n_c; i++) {
        const cand_t *c = &d->c[i];
        if (c->type == RESULT_PERSON || c->type == RESULT_NORP)
            continue;
        if (!c->canon)
            pmap_type(&m, span_hash(d->text, len, c->start, c->end), c->type);
        pmap_type(&m, c->pre, c->type | FROM_HEAD);
        uint32_t as, ae;
        if (acronym_after(d->text, len, c->start, c->end, &as, &ae))
            pmap_type(&m, tok_hash(d->text + as, ae - as), c->type);
    }
    for (size_t i = 0; i < d->n_m; i++) {
        maybe_t *x = &d->m[i];
        if (x->used)
            continue;
        size_t k = pmap_slot(&m, x->seq);
        if (!m.key[k] || !m.val[k])
            continue;
        /* the name before a head: not at a sentence start, and never
         * written in lower case in the document */
        if ((m.val[k] & FROM_HEAD) &&
            (x->sent || ent_doc_occurs_lower(d->text, len, x->start, x->end)))
            continue;
        x->used = true;
        ent_doc_add_cand(d, x->start, x->end, (int)(m.val[k] & 0xFF), NULL);
    }
}

/* Link surnames and unknown runs to persons, fix canonical names. */
static void
resolve_persons(doc_t *d)
{
    pmap_t m;
    pmap_init(&m, d->n_c, d->sc);
    /* full names first: the first one seen names the person */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < d->n_c; i++) {
            cand_t *c = &d->c[i];
            if (c->type != RESULT_PERSON || !c->last)
                continue;
            if ((pass == 0) != (c->words >= 2))
                continue;
            size_t k = pmap_slot(&m, c->last);
            if (!m.key[k]) {
                m.key[k] = c->last;
                m.val[k] = (uint32_t)i;
            }
        }
    }
    for (size_t i = 0; i < d->n_m; i++) {
        maybe_t *x = &d->m[i];
        if (x->caps)
            continue;
        size_t k = pmap_slot(&m, x->last);
        if (!m.key[k])
            continue;
        x->used = true;
        ent_doc_add_cand(d, x->start, x->end, RESULT_PERSON, NULL);
        d->c[d->n_c - 1].last = x->last;
        d->c[d->n_c - 1].words = x->words;
    }
    /* one-word mentions of a known person are named by the full name */
    for (size_t i = 0; i < d->n_c; i++) {
        cand_t *c = &d->c[i];
        if (c->type != RESULT_PERSON || c->words != 1 || !c->last)
            continue;
        size_t k = pmap_slot(&m, c->last);
        if (!m.key[k])
            continue;
        const cand_t *f = &d->c[m.val[k]];
        if (f->words >= 2) {
            c->cs = f->cs;
            c->ce = f->ce;
        }
    }
}

__attribute__((noinline)) size_t
ent_doc_begin(doc_t *d, const entities_t *e, const lexicon_t *lx,
              const char *text, size_t len, const result_t *r, lab_t **labs)
{
    scratch_t *sc = scratch_take();
    *d = (doc_t){ .e = e,
                  .lx = lx,
                  .text = text,
                  .len = len,
                  .c = sc->c,
                  .cap_c = sc->cap_c,
                  .m = sc->m,
                  .cap_m = sc->cap_m,
                  .sc = sc };
    return find_labels(text, r, sc, labs);
}

__attribute__((noinline)) void
ent_doc_finish(doc_t *d, result_t *r)
{
    scratch_t *sc = d->sc;
    resolve_persons(d);
    for (size_t i = 0; i < d->n_m; i++)
        if (d->m[i].place && !d->m[i].used) {
            d->m[i].used = true;
            ent_doc_add_cand(d, d->m[i].start, d->m[i].end, RESULT_GPE, NULL);
        }
    propagate_types(d, d->len);
    emit(d, d->text, r);
    sc->c = d->c;
    sc->cap_c = d->cap_c;
    sc->m = d->m;
    sc->cap_m = d->cap_m;
    scratch_give(sc);
}
