/*
 * turns: the speaker-turn parser. A turn starts at a line "Label: speech"
 * whose label looks like a name with an optional title before it and an
 * optional parenthetical after it ("President of Russia Vladimir Putin:",
 * "Xi Jinping (retranslated):"). Prose colons ("Agenda:", "Let me repeat:")
 * fail the label test: every word must be capitalised or a name connector,
 * the first may not be a function word, and a one-word label is taken only
 * when it is a known speaker's surname or an anonymous role.
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
#include "tok.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define LABEL_MAX 160 /* longest label in bytes */
#define LABEL_WORDS 24

/* Words that label a turn without naming anyone. */
static const char *const anonymous[] = {
    "question",    "questions",   "remark",      "remarks",    "answer",
    "reply",       "response",    "comment",     "voice",      "voices",
    "audience",    "participant", "interviewer", "journalist", "correspondent",
    "moderator",   "presenter",   "host",        "narrator",   "reporter",
    "interpreter", "translator",  "spectator",   "chorus",     "all",
};

/* Lower-case words allowed inside a name or title ("Minister of ..."). */
static const char *const connectors[] = {
    "of",  "the", "and", "for", "on",  "de",  "da", "del", "der",
    "von", "van", "al",  "bin", "ibn", "y",   "le", "la",  "du",
    "des", "di",  "zu",  "dos", "el",  "ben", "in", "at",  "to"
};

static bool
word_in(const char *s, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && strncasecmp(list[i], s, n) == 0)
            return true;
    return false;
}

static bool
is_connector(const char *s, const tok_t *t)
{
    return word_in(s + t->start, t->end - t->start, connectors,
                   sizeof connectors / sizeof connectors[0]);
}

static uint16_t
kinds_of(uint64_t h)
{
    const gaz_slot_t *g = gaz_find(h);
    return g ? g->kinds : 0;
}

typedef struct label {
    uint32_t name_start; /* name span in the text */
    uint32_t name_end;
    uint32_t title_start; /* title span, empty when none */
    uint32_t title_end;
    bool anonymous; /* a role such as "Question", no person */
} label_t;

/*
 * Parse text[a..b) (the label without its colon) as a speaker label.
 * Returns false when it is prose.
 */
static bool
parse_label(const char *s, uint32_t a, uint32_t b, label_t *out)
{
    /* allowed bytes only; a parenthetical goes at the end */
    uint32_t core_end = b;
    for (uint32_t i = a; i < b; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '(') {
            if (i == a || !memchr(s + i, ')', b - i))
                return false;
            core_end = i;
            break;
        }
        if (c < 0x80 &&
            !(c == ' ' || c == '-' || c == '\'' || c == '.' || c == ',' ||
              (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    if (!utf8_is_valid(s + a, b - a))
        return false;
    while (core_end > a && s[core_end - 1] == ' ')
        core_end--;

    tok_t w[LABEL_WORDS];
    size_t n = 0, pos = a;
    tok_t t;
    while (tok_next(s, core_end, &pos, &t)) {
        if (n == LABEL_WORDS)
            return false;
        w[n++] = t;
    }
    if (n == 0)
        return false;
    memset(out, 0, sizeof *out);
    if (word_in(s + w[0].start, w[0].end - w[0].start, anonymous,
                sizeof anonymous / sizeof anonymous[0])) {
        out->anonymous = true;
        out->name_start = w[0].start;
        out->name_end = w[0].end;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t f = w[i].flags;
        if (f & (TOK_DIGIT | TOK_POSS))
            return false;
        /* a gap may hold only spaces, a comma, or the dot of an initial */
        if (i > 0 && (f & TOK_BREAK) && !(f & TOK_COMMA)) {
            uint32_t pl = w[i - 1].end - w[i - 1].start;
            if (!(pl == 1 && s[w[i - 1].end] == '.'))
                return false;
        }
        if (f & TOK_LOWER) {
            bool particle = (f & TOK_HYPHEN) && i == n - 1;
            if (!particle && (!is_connector(s, &w[i]) || i == 0 || i == n - 1))
                return false;
        }
    }
    if (kinds_of(w[0].hash) & GAZ_STOP)
        return false;

    /* The name: from the first given name whose tail is all name words,
     * else the words after the last title, connector, acronym or known
     * non-person name. */
    size_t ns = n;
    for (size_t i = 0; i < n && ns == n; i++) {
        if (!(kinds_of(w[i].hash) & GAZ_GIVEN) || !(w[i].flags & TOK_CAP))
            continue;
        size_t k = i + 1;
        for (; k < n; k++) {
            uint16_t kk = kinds_of(w[k].hash);
            if ((w[k].flags & TOK_ALLCAPS) || is_connector(s, &w[k]) ||
                (kk & (GAZ_TITLE | GAZ_HEAD | GAZ_STOP)))
                break;
        }
        if (k == n)
            ns = i;
    }
    if (ns == n) {
        size_t bnd = 0;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            uint16_t kk = kinds_of(w[i].hash);
            if ((w[i].flags & TOK_ALLCAPS) || is_connector(s, &w[i]) ||
                (kk & (GAZ_TITLE | GAZ_HEAD | GAZ_COMMON | GAZ_ENT))) {
                bnd = i;
                any = true;
            }
        }
        ns = any ? bnd + 1 : 0;
        if (ns >= n)
            ns = 0; /* a title alone ("The Chairman"): keep it whole */
        if (n - ns > 3)
            ns = n - 2;
    }
    out->name_start = w[ns].start;
    out->name_end = w[n - 1].end;
    if (ns > 0) {
        uint32_t te = w[ns - 1].end;
        out->title_start = w[0].start;
        out->title_end = te;
    }
    return true;
}

/* Speaker index of name text[a..b): same name, or a one-word name equal to
 * a known speaker's last word. -1 when new. */
static int32_t
find_speaker(const result_t *r, const char *s, uint32_t a, uint32_t b)
{
    size_t n = b - a;
    bool one_word = !memchr(s + a, ' ', n);
    for (size_t i = 0; i < r->n_speakers; i++) {
        const char *nm = r->speakers[i].name;
        size_t l = strlen(nm);
        if (l == n && strncmp(nm, s + a, n) == 0)
            return (int32_t)i;
        if (one_word && l > n && nm[l - n - 1] == ' ' &&
            strncmp(nm + l - n, s + a, n) == 0)
            return (int32_t)i;
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

void
turns_parse(const char *text, size_t len, result_t *r)
{
    if (!text || !len || len > UINT32_MAX)
        return;
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
            label_t lb;
            if (ok && c > a &&
                parse_label(text, (uint32_t)a, (uint32_t)c, &lb)) {
                while (body < le && (text[body] == ' ' || text[body] == '\t'))
                    body++;
                int32_t sp = -1;
                bool take = true;
                if (!lb.anonymous) {
                    sp = find_speaker(r, text, lb.name_start, lb.name_end);
                    bool one = !memchr(text + lb.name_start, ' ',
                                       lb.name_end - lb.name_start) &&
                               lb.title_end == 0;
                    if (sp < 0 && one)
                        take = false; /* "Agenda:", "Second:" */
                    else if (sp < 0) {
                        char name[LABEL_MAX + 1], title[LABEL_MAX + 1];
                        size_t nl2 = lb.name_end - lb.name_start;
                        size_t tl = lb.title_end - lb.title_start;
                        memcpy(name, text + lb.name_start, nl2);
                        name[nl2] = '\0';
                        memcpy(title, text + lb.title_start, tl);
                        title[tl] = '\0';
                        sp = result_add_speaker(r, name, title);
                    } else if (!r->speakers[sp].title[0] && lb.title_end) {
                        r->speakers[sp].title =
                            result_strndup(r, text + lb.title_start,
                                           lb.title_end - lb.title_start);
                    }
                }
                if (take)
                    add_turn(r, sp, (uint32_t)a, (uint32_t)body, (uint32_t)len);
            }
        }
        ls = le + 1;
    }
}
