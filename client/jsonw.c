/*
 * jsonw: result JSON straight into a byte buffer. A string is one pass
 * over a byte-class table: plain bytes are copied in runs, the ASCII that
 * JSON needs escaped is escaped, and each UTF-8 sequence is checked by
 * common/utf8.c's rules where it starts; integers are formatted without
 * stdio, reals with one snprintf as jansson does.
 */
#include "jsonw.h"

#include "../common/err.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct jsonw {
    char *buf;   /* the bytes not yet written */
    size_t len;  /* bytes used in buf */
    size_t cap;  /* bytes allocated for buf */
    FILE *spill; /* where to write early during jsonw_write_result, or NULL */
    int err;     /* sticky: an early write failed */
};

/* What a string byte needs: 0 nothing, 1 an escape (as jansson escapes),
 * 2 a UTF-8 check (a lead or stray continuation byte). */
static const unsigned char byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xA0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xB0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xC0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xD0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xE0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xF0 */
};

jsonw_t *
jsonw_new(void)
{
    return xcalloc(1, sizeof(jsonw_t));
}

void
jsonw_destroy(jsonw_t **w)
{
    if (!w || !*w)
        return;
    free((*w)->buf);
    free(*w);
    *w = NULL;
}

/* Room for n more bytes. */
static char *
reserve(jsonw_t *w, size_t n)
{
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < n)
            cap *= 2;
        w->buf = xreallocarray(w->buf, cap, 1);
        w->cap = cap;
    }
    return w->buf + w->len;
}

void
jsonw_raw(jsonw_t *w, const char *s, size_t n)
{
    memcpy(reserve(w, n), s, n);
    w->len += n;
}

/* A string literal, its length known at compile time. */
#define LIT(w, s) jsonw_raw((w), (s), sizeof(s) - 1)

/* Length of the valid UTF-8 sequence at s[0] >= 0x80 (2 to 4), or 0 when
 * s[0] is an invalid byte. The rules of common/utf8.c, one sequence at a
 * time: a string is repaired exactly as rjson_string() repairs it
 * (test_jsonw checks it on every byte and on generated strings). */
static size_t
seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (need > n - 1)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need + 1;
}

/* Write the escape of the ASCII byte c (class 1) at p; returns the new
 * end. NUL is dropped, as rjson_string() drops it. */
static char *
escape(char *p, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    switch (c) {
    case '\0':
        return p;
    case '"':
    case '\\':
        p[0] = '\\';
        p[1] = (char)c;
        return p + 2;
    case '\b':
        memcpy(p, "\\b", 2);
        return p + 2;
    case '\f':
        memcpy(p, "\\f", 2);
        return p + 2;
    case '\n':
        memcpy(p, "\\n", 2);
        return p + 2;
    case '\r':
        memcpy(p, "\\r", 2);
        return p + 2;
    case '\t':
        memcpy(p, "\\t", 2);
        return p + 2;
    default:
        memcpy(p, "\\u00", 4);
        p[4] = hex[c >> 4];
        p[5] = hex[c & 15];
        return p + 6;
    }
}

void
jsonw_string(jsonw_t *w, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    /* worst case: every byte a 6-byte \u00XX, plus the quotes */
    if (n > (SIZE_MAX - 2) / 6)
        abort();
    char *start = reserve(w, 6 * n + 2);
    char *p = start;
    *p++ = '"';
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && !byte_class[s[j]])
            j++;
        memcpy(p, s + i, j - i);
        p += j - i;
        if (j == n)
            break;
        if (byte_class[s[j]] == 1) {
            p = escape(p, s[j]);
            i = j + 1;
            continue;
        }
        size_t k = seq_len(s + j, n - j);
        if (k) {
            memcpy(p, s + j, k);
            p += k;
            i = j + k;
        } else {
            memcpy(p, "\xEF\xBF\xBD", 3); /* U+FFFD */
            p += 3;
            i = j + 1;
        }
    }
    *p++ = '"';
    w->len += (size_t)(p - start);
}

static void
str(jsonw_t *w, const char *s)
{
    jsonw_string(w, s, s ? strlen(s) : 0);
}

void
jsonw_int(jsonw_t *w, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    char *p = end;
    /* negate in unsigned arithmetic so INT64_MIN prints too */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jsonw_raw(w, p, (size_t)(end - p));
}

void
jsonw_real(jsonw_t *w, double v)
{
    if (!isfinite(v)) {
        LIT(w, "null");
        return;
    }
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp - 2, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof tmp - 2) {
        LIT(w, "null"); /* cannot happen: %.17g of a finite double fits */
        return;
    }
    size_t len = (size_t)n;
    /* a locale's decimal comma, as jansson undoes it */
    for (size_t i = 0; i < len; i++)
        if (tmp[i] == ',')
            tmp[i] = '.';
    char *e = memchr(tmp, 'e', len);
    if (!e && !memchr(tmp, '.', len)) {
        memcpy(tmp + len, ".0", 2);
        len += 2;
    }
    if (e) {
        /* "1e+20" -> "1e20", "1e-05" -> "1e-5" */
        char *from = e + 1;
        char *to = e + 1;
        if (*from == '-')
            *to++ = *from++;
        else if (*from == '+')
            from++;
        while (*from == '0' && from[1] != '\0')
            from++;
        size_t tail = len - (size_t)(from - tmp);
        memmove(to, from, tail);
        len = (size_t)(to - tmp) + tail;
    }
    jsonw_raw(w, tmp, len);
}

/* An element boundary: during jsonw_write_result, write out early when
 * the buffer is large. */
static void
boundary(jsonw_t *w)
{
    if (w->spill && w->len >= JSONW_SPILL_BYTES && jsonw_write(w, w->spill))
        w->err = 1;
}

static void
figure(jsonw_t *w, const result_figure_t *f)
{
    LIT(w, "{\"type\":");
    str(w, result_figure_type_name(f->type));
    LIT(w, ",\"text\":");
    str(w, f->text);
    LIT(w, ",\"value\":");
    /* the range test first: casting a double out of range is undefined */
    if (f->iso && *f->iso)
        str(w, f->iso);
    else if (f->has_value && f->value < 9007199254740992.0 &&
             f->value > -9007199254740992.0 &&
             f->value == (double)(int64_t)f->value)
        jsonw_int(w, (int64_t)f->value);
    else if (f->has_value)
        jsonw_real(w, f->value);
    else
        LIT(w, "null");
    if (f->unit && *f->unit) {
        LIT(w, ",\"unit\":");
        str(w, f->unit);
    }
    LIT(w, ",\"start\":");
    jsonw_int(w, f->start);
    LIT(w, ",\"end\":");
    jsonw_int(w, f->end);
    LIT(w, ",\"turn\":");
    jsonw_int(w, f->turn);
    LIT(w, "}");
}

void
jsonw_result(jsonw_t *w, const result_t *r, const char *source)
{
    LIT(w, "{\"source\":");
    str(w, source ? source : r->source);
    if (r->job_id) {
        LIT(w, ",\"job_id\":");
        jsonw_int(w, (int64_t)r->job_id);
    }
    if (r->seq) {
        LIT(w, ",\"seq\":");
        jsonw_int(w, (int64_t)r->seq);
    }
    LIT(w, ",\"extractor\":");
    str(w, r->version);

    LIT(w, ",\"speakers\":[");
    for (size_t i = 0; i < r->n_speakers; i++) {
        const result_speaker_t *sp = &r->speakers[i];
        if (i)
            LIT(w, ",");
        LIT(w, "{\"name\":");
        str(w, sp->name);
        LIT(w, ",\"title\":");
        str(w, sp->title);
        LIT(w, ",\"turns\":");
        jsonw_int(w, sp->turns);
        LIT(w, "}");
        boundary(w);
    }
    LIT(w, "],\"turns\":[");
    for (size_t i = 0; i < r->n_turns; i++) {
        const result_turn_t *t = &r->turns[i];
        if (i)
            LIT(w, ",");
        LIT(w, "{\"speaker\":");
        if (t->speaker >= 0 && (size_t)t->speaker < r->n_speakers)
            str(w, r->speakers[t->speaker].name);
        else
            LIT(w, "null");
        LIT(w, ",\"start\":");
        jsonw_int(w, t->start);
        LIT(w, ",\"end\":");
        jsonw_int(w, t->end);
        LIT(w, "}");
        boundary(w);
    }
    LIT(w, "],\"entities\":[");
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        if (i)
            LIT(w, ",");
        LIT(w, "{\"type\":");
        str(w, result_entity_type_name(e->type));
        LIT(w, ",\"name\":");
        str(w, e->name);
        if (e->role && *e->role) {
            LIT(w, ",\"role\":");
            str(w, e->role);
        }
        LIT(w, ",\"mentions\":[");
        for (size_t k = 0; k < e->n_mentions; k++) {
            const result_mention_t *m = &e->mentions[k];
            if (k)
                LIT(w, ",");
            LIT(w, "{\"text\":");
            str(w, m->text);
            LIT(w, ",\"start\":");
            jsonw_int(w, m->start);
            LIT(w, ",\"end\":");
            jsonw_int(w, m->end);
            LIT(w, ",\"turn\":");
            jsonw_int(w, m->turn);
            LIT(w, "}");
            boundary(w);
        }
        LIT(w, "]}");
    }
    LIT(w, "],\"figures\":[");
    for (size_t i = 0; i < r->n_figures; i++) {
        if (i)
            LIT(w, ",");
        figure(w, &r->figures[i]);
        boundary(w);
    }
    LIT(w, "]}\n");
}

const char *
jsonw_data(const jsonw_t *w, size_t *len)
{
    *len = w->len;
    return w->buf ? w->buf : "";
}

void
jsonw_clear(jsonw_t *w)
{
    w->len = 0;
}

int
jsonw_write(jsonw_t *w, FILE *out)
{
    size_t n = w->len;
    const char *p = w->buf;
    w->len = 0;
    if (fflush(out) != 0)
        return ERR_IO;
    int fd = fileno(out);
    if (fd < 0)
        return n && fwrite(p, 1, n, out) != n ? ERR_IO : ERR_OK;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return ERR_OK;
}

int
jsonw_write_result(jsonw_t *w, const result_t *r, const char *source, FILE *out)
{
    w->spill = out;
    w->err = 0;
    jsonw_result(w, r, source);
    w->spill = NULL;
    int rc = jsonw_write(w, out);
    return w->err ? ERR_IO : rc;
}
