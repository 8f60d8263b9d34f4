/*
 * turns: the speaker-turn parser. A turn starts at a line "Label: speech"
 * whose label looks like a name with an optional title before it and an
 * optional parenthetical after it ("President of Russia Vladimir Putin:",
 * "Xi Jinping (retranslated):"). Prose colons ("Agenda:", "Let me repeat:")
 * fail the label test: every word must be capitalised or a name connector,
 * the first may not be a function word, and a one-word label is taken only
 * when it is a known speaker's surname or an anonymous role.
 *
 * A title alone ("Minister of Defence:") names no person either: it is
 * the turn of a speaker labelled earlier with that very title, else the
 * line is no turn (in practice such lines are lists of appointments).
 *
 * Anonymous labels ("Question:", "Remark:", "Answer:", "Voice from the
 * audience:") start turns of speaker -1: the schema counts as speakers only
 * the distinct persons who speak, and "Question" names no person, so these
 * turns are counted in turns but add no speaker (the development gold has
 * none; a person asking is often named in the next label anyway).
 */
#include "turns.h"

#include "../common/utf8.h"
#include "gaz.h"
#include "lexicon.h"
#include "swar.h"
#include "tok.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define LABEL_MAX 160 /* longest label in bytes */
/* most words of an anonymous label ("Question from Nizhny Novgorod
 * Region"); a longer one is a sentence ending in a colon */
#define ANON_WORDS_MAX 5
#define LABEL_WORDS 24

static uint16_t
kinds_of(const lexicon_t *lx, uint64_t h)
{
    const gaz_slot_t *g = gaz_find(lx, h);
    return g ? g->kinds : 0;
}

typedef struct label {
    uint32_t name_start; /* name span in the text */
    uint32_t name_end;
    uint32_t title_start; /* title span, empty when none */
    uint32_t title_end;
    bool anonymous;  /* a role such as "Question", no person */
    bool title_only; /* a title naming no one ("Minister of Defence") */
} label_t;

/* Lower-case words allowed inside a name or title ("Minister of ...",
 * "Ambassador to ...", "Charles de Gaulle"): the lists of lexicon.h. */
static bool
is_connector(const lexicon_t *lx, const char *s, const tok_t *t)
{
    const char *p = s + t->start;
    size_t n = t->end - t->start;
    return lex_set_has(lx->name_connectors, p, n, t->hash) ||
           lex_set_has(lx->name_particles, p, n, t->hash) ||
           lex_set_has(lx->title_preps, p, n, t->hash);
}

/* Name particles: lower-case words inside a person's name. */
static bool
is_particle(const lexicon_t *lx, const char *s, const tok_t *t)
{
    return lex_set_has(lx->name_particles, s + t->start, t->end - t->start,
                       t->hash);
}

/* A regnal number ("Abdullah II"). */
static bool
is_roman(const char *s, const tok_t *t)
{
    size_t n = t->end - t->start;
    if (n == 0 || n > 4)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("IVX", s[t->start + i]))
            return false;
    return true;
}

/* An acronym such as "CEO" or "ORF": short, all capitals, not a name. */
static bool
is_acronym(const lexicon_t *lx, const tok_t *t)
{
    return (t->flags & TOK_ALLCAPS) && t->end - t->start <= 4 &&
           !(kinds_of(lx, t->hash) & GAZ_GIVEN);
}

/* A word of a person's name: capitalised, an initial ("A."), a regnal
 * number, or a particle before a capitalised word. */
static bool
name_word(const lexicon_t *lx, const char *s, const tok_t *w, size_t i,
          size_t n)
{
    uint16_t kk = kinds_of(lx, w[i].hash);
    if (w[i].flags & (TOK_DIGIT | TOK_POSS))
        return false;
    if (w[i].flags & TOK_LOWER)
        return (is_particle(lx, s, &w[i]) && i + 1 < n) ||
               ((w[i].flags & TOK_HYPHEN) && i + 1 == n); /* "al-Assad" */
    if (i > 0 && is_roman(s, &w[i]))
        return true;
    if (w[i].end - w[i].start == 1 && s[w[i].end] == '.')
        return true;
    return !is_acronym(lx, &w[i]) &&
           !(kk & (GAZ_TITLE | GAZ_HEAD | GAZ_STOP | GAZ_COMMON));
}

/* Index of the first name word in w[0..n): the first given name followed
 * by name words only, else the words after the last title, connector,
 * acronym, common word or known non-person name (at most three of them).
 * n when the label is a title alone ("Minister of Defence"). */
static size_t
name_start(const lexicon_t *lx, const char *s, const tok_t *w, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (!(kinds_of(lx, w[i].hash) & GAZ_GIVEN) || !(w[i].flags & TOK_CAP))
            continue;
        size_t k = i + 1;
        while (k < n && name_word(lx, s, w, k, n))
            k++;
        if (k == n)
            return i;
    }
    /* words covered by a known multi-word name ("Sri Lanka") */
    bool known[LABEL_WORDS] = { false };
    for (size_t i = 0; i < n; i++) {
        uint64_t h = 0;
        for (size_t j = i; j < n; j++) {
            h = tok_seq(h, w[j].hash);
            const gaz_slot_t *g = gaz_find(lx, h);
            if (!g)
                break;
            if ((g->kinds & GAZ_ENT) && !(j == i && (g->kinds & GAZ_GIVEN)))
                for (size_t k = i; k <= j; k++)
                    known[k] = true;
            if (!(g->kinds & GAZ_PREFIX))
                break;
        }
    }
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t kk = kinds_of(lx, w[i].hash);
        bool part = (w[i].flags & TOK_LOWER) && is_particle(lx, s, &w[i]) &&
                    i + 1 < n && (w[i + 1].flags & TOK_CAP);
        bool initial = w[i].end - w[i].start == 1 && s[w[i].end] == '.';
        if (part || initial || (i > 0 && is_roman(s, &w[i])))
            continue;
        if (is_acronym(lx, &w[i]) || is_connector(lx, s, &w[i]) || known[i] ||
            (kk & (GAZ_TITLE | GAZ_HEAD | GAZ_COMMON | GAZ_STOP)) ||
            lex_set_has(lx->title_nouns, s + w[i].start, w[i].end - w[i].start,
                        w[i].hash))
            ns = i + 1;
    }
    if (ns >= n)
        return n;
    size_t caps = 0;
    for (size_t i = ns; i < n; i++)
        caps += !(w[i].flags & TOK_LOWER);
    while (caps > 3 && ns < n) {
        caps -= !(w[ns].flags & TOK_LOWER);
        ns++;
    }
    return ns;
}

/* ASCII bytes a label may hold outside parentheses: letters, digits,
 * blank, '-', '\'', '.', ','. */
static const bool label_ascii[128] = {
    [' '] = 1, ['-'] = 1, ['\''] = 1, ['.'] = 1, [','] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1,  ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1,  ['A'] = 1, ['B'] = 1, ['C'] = 1,
    ['D'] = 1, ['E'] = 1, ['F'] = 1,  ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1,  ['M'] = 1, ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1,  ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1,  ['Y'] = 1, ['Z'] = 1, ['a'] = 1,
    ['b'] = 1, ['c'] = 1, ['d'] = 1,  ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1,  ['k'] = 1, ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1,  ['q'] = 1, ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1,  ['w'] = 1, ['x'] = 1, ['y'] = 1,
    ['z'] = 1,
};

/* True when s[a..b), the gap between two words of a label, is a dash
 * between spaces: " – ", " — " or " - ". */
static bool
is_dash_gap(const char *s, uint32_t a, uint32_t b)
{
    if (b - a < 3 || s[a] != ' ' || s[b - 1] != ' ')
        return false;
    const char *d = s + a + 1;
    size_t n = b - a - 2;
    return (n == 1 && d[0] == '-') ||
           (n == 3 && memcmp(d, "\xe2\x80", 2) == 0 &&
            (d[2] == '\x93' || d[2] == '\x94'));
}

/* Words of a description after a label's comma, at most. */
#define DESC_WORDS_MAX 14

/*
 * "Sergei Agafonov, Editor in Chief of Ogonyok magazine", "Konstantin
 * Sivoronov, head of the acute toxic exposure department": a full name
 * opening with a listed given name, a comma (the first gap with one, at
 * w[comma]), then a description of the speaker that may be in lower
 * case but is no clause (no word of lx->clause_words) and holds no dash.
 */
static bool
described_name(const lexicon_t *lx, const char *s, const tok_t *w, size_t n,
               size_t comma, size_t dash)
{
    if (comma < 2 || comma > 4 || dash || n - comma > DESC_WORDS_MAX ||
        !(w[0].flags & TOK_CAP) || !(kinds_of(lx, w[0].hash) & GAZ_GIVEN))
        return false;
    for (size_t k = 1; k < comma; k++)
        if (!name_word(lx, s, w, k, comma))
            return false;
    for (size_t k = comma; k < n; k++)
        if ((w[k].flags & TOK_LOWER) &&
            lex_set_has(lx->clause_words, s + w[k].start, w[k].end - w[k].start,
                        w[k].hash))
            return false;
    return true;
}

/* Lower-case words in a title, at most. */
#define TITLE_LOWER_MAX 8

/* The title w[0..ns) before the name at w[ns] may hold more than two
 * lower-case words: the name opens with a listed given name, and the
 * title has no clause word and at most TITLE_LOWER_MAX lower-case
 * words. */
static bool
described_title(const lexicon_t *lx, const char *s, const tok_t *w, size_t ns)
{
    size_t lower = 0;
    if (!(kinds_of(lx, w[ns].hash) & GAZ_GIVEN))
        return false;
    for (size_t k = 0; k < ns; k++) {
        if (!(w[k].flags & TOK_LOWER))
            continue;
        if (++lower > TITLE_LOWER_MAX ||
            lex_set_has(lx->clause_words, s + w[k].start, w[k].end - w[k].start,
                        w[k].hash))
            return false;
    }
    return true;
}

/*
 * Parse s[a..b) (the label without its colon; s holds len bytes) as a
 * speaker label. Returns false when it is prose.
 */
static bool
parse_label(const lexicon_t *lx, const char *s, size_t len, uint32_t a,
            uint32_t b, label_t *out)
{
    char buf[LABEL_MAX];
    uint32_t n_buf = b - a;
    if (n_buf >= LABEL_MAX || s[a] == '(' || s[a] == '[')
        return false;
    /* a parenthetical ("(retranslated)", "(ORF)") or a translator's
     * gloss ("Delovaya Rossiya [Business Russia]") is blanked out */
    int depth = 0;
    bool blanked = false;
    unsigned high = 0; /* 0x80 set when a byte >= 0x80 was seen */
    {
        uint32_t q = 0;
        /* eight bytes at a time while they are all allowed and hold no
         * parenthesis (a byte >= 0x80 is checked by utf8_is_valid below);
         * anything else goes through the byte loop */
        for (; q + 8 <= n_buf; q += 8) {
            uint64_t w;
            memcpy(&w, s + a + q, 8);
            uint64_t ok = swar_in(w, 'a', 'z') | swar_in(w, 'A', 'Z') |
                          swar_in(w, '0', '9') | swar_eq(w, ' ') |
                          swar_eq(w, '-') | swar_eq(w, '\'') | swar_eq(w, '.') |
                          swar_eq(w, ',') | (w & SWAR_HIGH);
            if (ok != SWAR_HIGH)
                break;
            high |= (w & SWAR_HIGH) != 0 ? 0x80 : 0;
            memcpy(buf + q, &w, 8);
        }
        for (; q < n_buf; q++) {
            unsigned char c = (unsigned char)s[a + q];
            high |= c;
            if (c == '(' || c == '[') {
                depth++;
                blanked = true;
            }
            if (depth == 0 && c < 0x80 && !label_ascii[c])
                return false;
            if (depth > 0 && (c < 0x20 || c == 0x7f))
                return false;
            buf[q] = depth > 0 ? ' ' : (char)c;
            if ((c == ')' || c == ']') && --depth < 0)
                return false;
        }
    }
    /* ASCII is valid UTF-8: most labels need no check */
    if (depth != 0 || ((high & 0x80) && !utf8_is_valid(s + a, n_buf)))
        return false;
    /* the colon, as in the text: the byte after the last word is read for
     * the dot of an initial ("Pavel A.") and must not be a stale one */
    buf[n_buf] = ':';

    tok_t w[LABEL_WORDS + 1]; /* w[LABEL_WORDS] takes a word too many */
    size_t n = 0, pos = 0, lower = 0, comma = 0, dash = 0;
    /* Without a parenthetical, buf holds the text's bytes: the words are
     * cut in the text itself, where tok_next() has the bytes after the
     * label to look ahead into (its short path wants sixteen). The colon
     * at b ends the last word as the end of buf would. */
    const char *src = blanked ? buf : s + a;
    size_t n_src = blanked ? n_buf : len - a;
    /* each word is cut straight into its slot, w[n] (no copy) */
    while (pos < n_buf && tok_next(src, n_src, &pos, &w[n]) &&
           w[n].start < n_buf) {
        if (n == LABEL_WORDS)
            return false;
        n++;
    }
    if (n == 0)
        return false;
    memset(out, 0, sizeof *out);
    if (lex_set_has(lx->anonymous_roles, buf + w[0].start,
                    w[0].end - w[0].start, w[0].hash)) {
        /* "Journalist Mikhail Leontyev" names its speaker, "Question from
         * Perm Territory" does not, and "All of our commitments will be
         * met:" is prose that happens to begin with a role word */
        size_t ns = n > 1 ? name_start(lx, buf, w, n) : n;
        if (ns > 0 && ns + 2 <= n && (w[ns].flags & TOK_CAP) &&
            (kinds_of(lx, w[ns].hash) & GAZ_GIVEN)) {
            out->name_start = a + w[ns].start;
            out->name_end = a + w[n - 1].end;
            out->title_start = a + w[0].start;
            out->title_end = a + w[ns - 1].end;
            return true;
        }
        if (n > ANON_WORDS_MAX)
            return false;
        out->anonymous = true;
        out->name_start = a + w[0].start;
        out->name_end = a + w[0].end;
        return true;
    }
    /* an initial ("A. Repik") is no stop word ("A") */
    bool initial0 = w[0].end - w[0].start == 1 && buf[w[0].end] == '.' &&
                    n >= 2 && (w[1].flags & TOK_CAP);
    if (!(w[0].flags & TOK_CAP) ||
        ((kinds_of(lx, w[0].hash) & GAZ_STOP) && !initial0))
        return false;
    for (size_t i = 0; i < n; i++) {
        uint16_t f = w[i].flags;

        /* a gap holds only spaces, a blanked parenthetical, a comma, or
         * the dot of an initial */
        if (i > 0 && (f & TOK_BREAK)) {
            uint32_t pl = w[i - 1].end - w[i - 1].start;
            if (f & TOK_COMMA) {
                if (!comma)
                    comma = i;
            } else if (is_dash_gap(buf, w[i - 1].end, w[i].start)) {
                /* "Deputy Prime Minister – Minister of Finance Anton
                 * Siluanov": one dash joins two titles */
                if (dash)
                    return false;
                dash = i;
            } else if (!(pl == 1 && buf[w[i - 1].end] == '.')) {
                for (uint32_t q = w[i - 1].end; q < w[i].start; q++)
                    if (buf[q] != ' ' && buf[q] != '.' && buf[q] != ',')
                        return false;
            }
        }
        if ((f & TOK_LOWER) && !is_connector(lx, buf, &w[i]) &&
            !is_particle(lx, buf, &w[i]) && !(f & TOK_HYPHEN))
            lower++;
    }
    if (described_name(lx, buf, w, n, comma, dash)) {
        /* "Valeriya Korableva, reporter at Channel One" */
        out->name_start = a + w[0].start;
        out->name_end = a + w[comma - 1].end;
        out->title_start = a + w[comma].start;
        out->title_end = a + w[n - 1].end;
        return true;
    }
    if (!(w[n - 1].flags & TOK_CAP) && !(w[n - 1].flags & TOK_HYPHEN))
        return false;
    /* "Andrei Okhlopkov, General Director of ...": name, then title */
    size_t ns;
    if (comma && comma <= 4 && !dash) {
        size_t k = 0;
        while (k < comma && name_word(lx, buf, w, k, comma))
            k++;
        if (k == comma && comma >= 2 && !lower) {
            out->name_start = a + w[0].start;
            out->name_end = a + w[comma - 1].end;
            out->title_start = a + w[comma].start;
            out->title_end = a + w[n - 1].end;
            return true;
        }
    }
    ns = name_start(lx, buf, w, n);
    if (dash && ns < dash) /* a name does not run across the dash */
        return false;
    if (ns == n && (kinds_of(lx, w[0].hash) & (GAZ_TITLE | GAZ_PREFIX))) {
        /* "King Abdullah II of Jordan", "Patriarch Kirill of Moscow" */
        for (size_t o = 2; o + 1 < n; o++) {
            if (w[o].end - w[o].start != 2 || (buf[w[o].start] | 0x20) != 'o' ||
                (buf[w[o].start + 1] | 0x20) != 'f')
                continue;
            size_t s2 = name_start(lx, buf, w, o);
            if (s2 < o && s2 > 0) {
                out->name_start = a + w[s2].start;
                out->name_end = a + w[o - 1].end;
                out->title_start = a + w[0].start;
                out->title_end = a + w[s2 - 1].end;
                return true;
            }
            break;
        }
    }
    if (ns == n) {
        /* a title alone ("Minister of Defence"): see turns_parse */
        if (lower || n < 2)
            return false;
        out->title_only = true;
        out->title_start = a + w[0].start;
        out->title_end = a + w[n - 1].end;
        return true;
    }
    /* lower-case words only in a title, before a full name; more than
     * two ("Olympic ice hockey champion Pavel Datsuk") only before a name
     * that opens with a listed given name, and none of them a clause
     * word */
    if (lower &&
        (n - ns < 2 || (lower > 2 && !described_title(lx, buf, w, ns))))
        return false;
    for (size_t i = ns; i < n; i++)
        if (!name_word(lx, buf, w, i, n) &&
            !((kinds_of(lx, w[i].hash) & GAZ_ENT) && i > ns))
            return false;
    out->name_start = a + w[ns].start;
    out->name_end = a + w[n - 1].end;
    if (ns > 0) {
        /* the title ends at its last word before the name that is not
         * a connector ("Governor of", "President and") */
        size_t te = ns - 1;
        while (te > 0 && (w[te].flags & TOK_LOWER) &&
               is_connector(lx, buf, &w[te]))
            te--;
        out->title_start = a + w[0].start;
        out->title_end = a + w[te].end;
    }
    return true;
}

/* Next letter of a given name in its transliteration-blind form: lower
 * case, i/y/j as one letter and a run of them as one ("Sergei", "Sergey";
 * "Dmitry", "Dmitriy"; "Yury", "Yuri"), "x" as "ks" ("Alexei",
 * "Aleksei"). *i walks s[..n); returns 0 at the end. */
static int
given_letter(const char *s, size_t n, size_t *i, bool *pending_s)
{
    if (*pending_s) {
        *pending_s = false;
        return 's';
    }
    if (*i >= n)
        return 0;
    int c = s[*i] >= 'A' && s[*i] <= 'Z' ? s[*i] + 32 : (unsigned char)s[*i];
    (*i)++;
    if (c == 'y' || c == 'j' || c == 'i') {
        while (*i < n && strchr("iyjIYJ", s[*i]))
            (*i)++;
        return 'i';
    }
    if (c == 'x') {
        *pending_s = true;
        return 'k';
    }
    return c;
}

bool
turns_same_given(const char *a, size_t an, const char *b, size_t bn)
{
    /* "A." for "Alexei": an initial names the given name it starts */
    if (bn == 2 && b[1] == '.')
        return an > 2 && a[0] == b[0];
    size_t i = 0, k = 0;
    bool pa = false, pb = false;
    for (;;) {
        int ca = given_letter(a, an, &i, &pa);
        int cb = given_letter(b, bn, &k, &pb);
        if (ca != cb)
            return false;
        if (!ca)
            return true;
    }
}

/* Speaker index of name text[a..b): same name, a one-word name equal to a
 * known speaker's last word, or the same surname after a given name spelt
 * another way ("Sergey Donskoy" after "Sergei Donskoy": one person, named
 * by the first label) or written as its initial ("A. Repik" after
 * "Alexei Repik"). -1 when new. */
static int32_t
find_speaker(const result_t *r, const char *s, uint32_t a, uint32_t b)
{
    size_t n = b - a;
    bool one_word = !memchr(s + a, ' ', n);
    for (size_t i = 0; i < r->n_speakers; i++) {
        const char *nm = r->speakers[i].name;
        if (!one_word) {
            /* only the whole name can match: its first byte rules out
             * most speakers without a strlen() (a label holds no NUL, so
             * strncmp() stops at the end of a shorter name) */
            if (nm[0] == s[a] && strncmp(nm, s + a, n) == 0 && !nm[n])
                return (int32_t)i;
            continue;
        }
        size_t l = strlen(nm);
        if (l == n && strncmp(nm, s + a, n) == 0)
            return (int32_t)i;
        if (l > n && nm[l - n - 1] == ' ' && strncmp(nm + l - n, s + a, n) == 0)
            return (int32_t)i;
    }
    if (one_word)
        return -1;
    const char *sp = s + a;
    const char *last = memrchr(sp, ' ', n);
    size_t gn = (size_t)(last - sp), ln = n - gn;
    for (size_t i = 0; i < r->n_speakers; i++) {
        const char *nm = r->speakers[i].name;
        size_t l = strlen(nm);
        if (l > ln && strncmp(nm + l - ln, last, ln) == 0 &&
            turns_same_given(nm, l - ln, sp, gn))
            return (int32_t)i;
    }
    return -1;
}

/* Speaker already labelled with the title text[a..b) ("President of
 * Russia" after "President of Russia Vladimir Putin:"), or -1. */
static int32_t
find_title(const result_t *r, const char *s, uint32_t a, uint32_t b)
{
    size_t n = b - a;
    for (size_t i = 0; i < r->n_speakers; i++) {
        const char *t = r->speakers[i].title;
        if (strlen(t) == n && strncmp(t, s + a, n) == 0)
            return (int32_t)i;
    }
    return -1;
}

/* A one-word label: a known given name ("Alina:", a caller on a phone-in)
 * or two names run together ("VladimirPutin:"). -1 otherwise. */
static int32_t
single_word(const lexicon_t *lx, result_t *r, const char *s, const label_t *lb)
{
    uint32_t a = lb->name_start, b = lb->name_end;
    const gaz_slot_t *g = gaz_find(lx, tok_hash(s + a, b - a));
    if (g && (g->kinds & GAZ_GIVEN) && !(g->kinds & (GAZ_ENT | GAZ_STOP)))
        return result_add_speaker(r, result_strndup(r, s + a, b - a), "");
    for (uint32_t i = a + 2; i + 2 < b; i++) {
        if (!(s[i] >= 'A' && s[i] <= 'Z') ||
            !(s[i - 1] >= 'a' && s[i - 1] <= 'z'))
            continue;
        for (uint32_t k = a + 1; k < b; k++)
            if (k != i && !(s[k] >= 'a' && s[k] <= 'z'))
                return -1;
        g = gaz_find(lx, tok_hash(s + a, i - a));
        if (!g || !(g->kinds & GAZ_GIVEN))
            return -1;
        char name[LABEL_MAX + 2];
        size_t n1 = i - a, n2 = b - i;
        memcpy(name, s + a, n1);
        name[n1] = ' ';
        memcpy(name + n1 + 1, s + i, n2);
        name[n1 + 1 + n2] = '\0';
        int32_t sp = find_speaker(r, name, 0, (uint32_t)(n1 + 1 + n2));
        return sp >= 0 ? sp : result_add_speaker(r, name, "");
    }
    return -1;
}

static void
add_turn(result_t *r, int32_t speaker, uint32_t start, uint32_t body,
         uint32_t len)
{
    if (r->n_turns)
        r->turns[r->n_turns - 1].end = start;
    result_add_turn(r, speaker, start, body, len);
}

/* The speaker of a parsed label lb of text (a person's name, a title
 * alone or an anonymous role), adding one when the name is new; -1 for
 * an anonymous role. *take is set false when the line is no turn. */
static int32_t
label_speaker(const lexicon_t *lx, result_t *r, const char *text,
              const label_t *lb, bool *take)
{
    *take = true;
    if (lb->title_only) {
        /* speakers are persons: a title alone is the turn of the speaker
         * who bore it, else no turn at all (such lines are lists:
         * "Minister of Defence: Sergei Shoigu.") */
        int32_t sp = find_title(r, text, lb->title_start, lb->title_end);
        *take = sp >= 0;
        return sp;
    }
    if (lb->anonymous)
        return -1;
    int32_t sp = find_speaker(r, text, lb->name_start, lb->name_end);
    bool one =
        !memchr(text + lb->name_start, ' ', lb->name_end - lb->name_start) &&
        lb->title_end == 0;
    if (sp < 0 && one)
        sp = single_word(lx, r, text, lb);
    if (sp < 0 && one) {
        *take = false; /* "Agenda:", "Second:" */
    } else if (sp < 0) {
        char name[LABEL_MAX + 1], title[LABEL_MAX + 1];
        size_t nl2 = lb->name_end - lb->name_start;
        size_t tl = lb->title_end - lb->title_start;
        memcpy(name, text + lb->name_start, nl2);
        name[nl2] = '\0';
        memcpy(title, text + lb->title_start, tl);
        title[tl] = '\0';
        sp = result_add_speaker(r, name, title);
    } else if (!r->speakers[sp].title[0] && lb->title_end) {
        r->speakers[sp].title = result_strndup(r, text + lb->title_start,
                                               lb->title_end - lb->title_start);
    }
    return sp;
}

/* Most labels recur ("Vladimir Putin:" a hundred times in a press
 * conference): the first SEEN_MAX distinct labels of a document are kept
 * with what parse_label() made of them, and each recurrence reuses that.
 * parse_label() reads only the label's bytes, so the parse carries over;
 * a person's speaker does too, as speakers are only appended and their
 * names never change (find_speaker() gives the first match, and one
 * found stays found). A title alone is looked up again (titles are
 * filled in later), as is a name with no speaker yet. */
#define SEEN_MAX 64

typedef struct seen {
    uint32_t at;     /* first byte of the label's first occurrence */
    uint32_t n;      /* its length in bytes, colon excluded */
    bool is_label;   /* parse_label() took it */
    label_t lb;      /* that parse, offsets as at the first occurrence */
    int32_t speaker; /* the person it names, -1 when to be looked up */
} seen_t;

/* The kept label with the bytes text[a..b), or NULL. */
static seen_t *
seen_find(seen_t *seen, size_t n_seen, const char *text, uint32_t a, uint32_t b)
{
    uint32_t n = b - a;
    for (size_t i = 0; i < n_seen; i++)
        if (seen[i].n == n && text[seen[i].at] == text[a] &&
            memcmp(text + seen[i].at, text + a, n) == 0)
            return &seen[i];
    return NULL;
}

/* lb of a label at `from` moved to the same label at `to`. */
static label_t
label_moved(const label_t *lb, uint32_t from, uint32_t to)
{
    label_t m = *lb;
    if (!m.title_only) {
        m.name_start = m.name_start - from + to;
        m.name_end = m.name_end - from + to;
    }
    if (m.title_end) { /* 0 when there is no title */
        m.title_start = m.title_start - from + to;
        m.title_end = m.title_end - from + to;
    }
    return m;
}

void
turns_parse(const lexicon_t *lx, const char *text, size_t len, result_t *r)
{
    if (!text || !len || len > UINT32_MAX)
        return;
    seen_t seen[SEEN_MAX];
    size_t n_seen = 0;
    size_t ls = 0;
    while (ls < len) {
        const char *nl = memchr(text + ls, '\n', len - ls);
        size_t le = nl ? (size_t)(nl - text) : len;
        size_t a = ls;
        while (a < le && (text[a] == ' ' || text[a] == '\t'))
            a++;
        if (le - a >= 3 && (unsigned char)text[a] == 0xEF &&
            (unsigned char)text[a + 1] == 0xBB &&
            (unsigned char)text[a + 2] == 0xBF)
            a += 3;
        size_t span = le - a < LABEL_MAX ? le - a : LABEL_MAX;
        const char *colon = span ? memchr(text + a, ':', span) : NULL;
        if (colon) {
            size_t c = (size_t)(colon - text);
            size_t body = c + 1;
            bool ok = body >= le || text[body] == ' ' || text[body] == '\t' ||
                      text[body] == '\r';
            if (ok && c > a) {
                label_t lb;
                bool is_label;
                seen_t *sn =
                    seen_find(seen, n_seen, text, (uint32_t)a, (uint32_t)c);
                if (sn) {
                    is_label = sn->is_label;
                    if (is_label)
                        lb = label_moved(&sn->lb, sn->at, (uint32_t)a);
                } else {
                    is_label = parse_label(lx, text, len, (uint32_t)a,
                                           (uint32_t)c, &lb);
                    if (n_seen < SEEN_MAX) {
                        sn = &seen[n_seen++];
                        sn->at = (uint32_t)a;
                        sn->n = (uint32_t)(c - a);
                        sn->is_label = is_label;
                        if (is_label)
                            sn->lb = lb;
                        sn->speaker = -1;
                    }
                }
                if (is_label) {
                    while (body < le &&
                           (text[body] == ' ' || text[body] == '\t'))
                        body++;
                    int32_t sp;
                    bool take = true;
                    if (sn && sn->speaker >= 0) {
                        sp = sn->speaker;
                        if (!r->speakers[sp].title[0] && lb.title_end)
                            r->speakers[sp].title =
                                result_strndup(r, text + lb.title_start,
                                               lb.title_end - lb.title_start);
                    } else {
                        sp = label_speaker(lx, r, text, &lb, &take);
                        if (sn && sp >= 0 && !lb.title_only)
                            sn->speaker = sp;
                    }
                    if (take)
                        add_turn(r, sp, (uint32_t)a, (uint32_t)body,
                                 (uint32_t)len);
                }
            }
        }
        ls = le + 1;
    }
}
