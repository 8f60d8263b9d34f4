/*
 * consumer: SUB first, Since replay from the cursor, then Since again on
 * each notification or periodic check; dedup by seq; reconnect forever
 * with capped backoff; cursor file replaced atomically (see consumer.h).
 */
#include "consumer.h"

#include "client.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/xalloc.h"
#include "../proto/wire_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define TOPIC "group"
#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_CHECK_MS 2000u
#define DEFAULT_BACKOFF_MIN_MS 100u
#define DEFAULT_BACKOFF_MAX_MS 5000u
#define STOP_SLICE_MS 200

struct consumer {
    client_t *client;    /* frontend requests */
    void *sub;           /* SUB on the publisher, or NULL */
    char *cursor_path;   /* cursor file or NULL */
    consumer_opts_t o;   /* options (strings borrowed only during open) */
    uint64_t last;       /* last delivered seq */
    bool started;        /* last is known (cursor, from, or stats) */
    bool saved;          /* the cursor file holds last */
    uint64_t outages;    /* failed requests retried */
    bool down;           /* in an outage now (logged once) */
    uint32_t backoff_ms; /* next reconnect delay */
    bool ahead;          /* warned that the cursor is past the store */
};

int
consumer_cursor_load(const char *path, uint64_t *seq)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return ERR_NOTFOUND;
        log_error("consumer cannot read cursor path=%s: %s", path,
                  strerror(errno));
        return ERR_IO;
    }
    char buf[64];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    bool err = ferror(f) != 0;
    fclose(f);
    if (err) {
        log_error("consumer cannot read cursor path=%s", path);
        return ERR_IO;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n == 0 || n > 20 || strspn(buf, "0123456789") != n) {
        log_error("consumer cursor file is not a seq path=%s", path);
        return ERR_INVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    if (errno) {
        log_error("consumer cursor file is not a seq path=%s", path);
        return ERR_INVAL;
    }
    *seq = v;
    return ERR_OK;
}

/* fsync the directory holding path, so that a rename in it is durable. */
static int
sync_dir_of(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? ERR_OK : ERR_IO;
    if (rc)
        log_error("consumer cannot sync dir=%s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

int
consumer_cursor_save(const char *path, uint64_t seq)
{
    size_t n = strlen(path) + 5;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp", path);
    char line[32];
    int len = snprintf(line, sizeof line, "%llu\n", (unsigned long long)seq);
    int rc = ERR_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("consumer cannot write cursor path=%s: %s", tmp,
                  strerror(errno));
        goto out;
    }
    if (write(fd, line, (size_t)len) != len || fsync(fd) != 0) {
        log_error("consumer cannot write cursor path=%s: %s", tmp,
                  strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        log_error("consumer cannot replace cursor path=%s: %s", path,
                  strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = sync_dir_of(path);
out:
    free(tmp);
    return rc;
}

int
consumer_open(consumer_t **out, const consumer_opts_t *o)
{
    if (!o || !o->frontend || !*o->frontend)
        return ERR_INVAL;
    consumer_t *c = xcalloc(1, sizeof *c);
    c->o = *o;
    c->o.frontend = NULL;
    c->o.publisher = NULL;
    c->o.cursor_path = NULL;
    c->o.curve = NULL; /* borrowed: client_open copies the keys */
    c->o.server_key = NULL;
    if (!c->o.timeout_ms)
        c->o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (!c->o.check_ms)
        c->o.check_ms = DEFAULT_CHECK_MS;
    if (!c->o.backoff_min_ms)
        c->o.backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
    if (!c->o.backoff_max_ms)
        c->o.backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
    if (c->o.backoff_max_ms < c->o.backoff_min_ms)
        c->o.backoff_max_ms = c->o.backoff_min_ms;
    c->backoff_ms = c->o.backoff_min_ms;
    int rc = ERR_OK;
    if (o->cursor_path) {
        c->cursor_path = xstrdup(o->cursor_path);
        rc = consumer_cursor_load(o->cursor_path, &c->last);
        if (rc == ERR_OK) {
            c->started = true;
            c->saved = true;
        } else if (rc != ERR_NOTFOUND) {
            goto fail;
        }
    }
    if (!c->started && !o->from_latest) {
        c->last = o->from;
        c->started = true;
    }
    /* one attempt per request: the consumer does its own retrying, with
     * backoff and forever, and reconnects between attempts */
    client_opts_t co = { .timeout_ms = c->o.timeout_ms,
                         .retries = 0,
                         .retries_set = true,
                         .busy_budget_ms = c->o.timeout_ms,
                         .curve = o->curve,
                         .server_key = o->server_key };
    rc = client_open(&c->client, o->frontend, &co);
    if (rc)
        goto fail;
    if (o->publisher) {
        /* subscribe before the first Since, so that nothing committed in
         * between goes unnoticed */
        rc = client_sub_open(c->client, o->publisher, TOPIC, &c->sub);
        if (rc) {
            log_error("consumer cannot subscribe: %s",
                      client_last_error(c->client));
            goto fail;
        }
    }
    *out = c;
    return ERR_OK;
fail:
    consumer_destroy(&c);
    return rc;
}

void
consumer_destroy(consumer_t **cp)
{
    if (!cp || !*cp)
        return;
    consumer_t *c = *cp;
    client_sub_close(&c->sub);
    client_destroy(&c->client);
    free(c->cursor_path);
    free(c);
    *cp = NULL;
}

uint64_t
consumer_last_seq(const consumer_t *c)
{
    return c->last;
}

uint64_t
consumer_outages(const consumer_t *c)
{
    return c->outages;
}

static void
sleep_ms(uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
                           .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static bool
stopped(const volatile sig_atomic_t *stop)
{
    return stop && *stop;
}

/* A request failed: log it (once per outage), wait the backoff (cut short
 * by *stop), double it up to the cap, and start on a fresh socket. */
static void
outage(consumer_t *c, int rc, const volatile sig_atomic_t *stop)
{
    c->outages++;
    if (!c->down) {
        const char *why = client_last_error(c->client);
        log_warn("consumer: broker unavailable, retrying with backoff up "
                 "to %u ms, resuming after seq=%llu: %s",
                 c->o.backoff_max_ms, (unsigned long long)c->last,
                 *why ? why : err_str(rc));
        c->down = true;
    }
    uint64_t until = now_mono_ms() + c->backoff_ms;
    while (!stopped(stop) && now_mono_ms() < until) {
        uint64_t left = until - now_mono_ms();
        sleep_ms(left < STOP_SLICE_MS ? left : STOP_SLICE_MS);
    }
    c->backoff_ms = c->backoff_ms >= c->o.backoff_max_ms / 2
                        ? c->o.backoff_max_ms
                        : c->backoff_ms * 2;
    if (client_reconnect(c->client) != ERR_OK)
        log_warn("consumer: reconnect failed: %s",
                 client_last_error(c->client));
}

static void
recovered(consumer_t *c)
{
    if (c->down)
        log_warn("consumer: broker reachable again, resuming after seq=%llu",
                 (unsigned long long)c->last);
    c->down = false;
    c->backoff_ms = c->o.backoff_min_ms;
}

static int
save(consumer_t *c)
{
    if (!c->cursor_path || c->saved)
        return ERR_OK;
    int rc = consumer_cursor_save(c->cursor_path, c->last);
    if (rc == ERR_OK)
        c->saved = true;
    return rc;
}

/*
 * Deliver everything after c->last with Since pages. Returns 0 when the
 * store had nothing newer, 1 with *cb_rc set when fn stopped it, or a
 * client error (an outage), or ERR_IO from the cursor file (*cb_rc =
 * ERR_IO as well, which is not an outage).
 */
static int
catch_up(consumer_t *c, consumer_fn fn, void *ud, int *cb_rc)
{
    for (;;) {
        wire_msg_t rep;
        int rc = client_since(c->client, c->last, WIRE_MAX_BATCH,
                              c->o.with_result, &rep);
        if (rc)
            return rc;
        size_t n = rep.u.since_reply.n;
        if (n == 0 && rep.u.since_reply.last_seq < c->last && !c->ahead) {
            /* a store restored from an older backup, or another broker */
            log_warn("consumer: cursor seq=%llu is past the broker's last "
                     "seq=%llu; waiting for it to get there",
                     (unsigned long long)c->last,
                     (unsigned long long)rep.u.since_reply.last_seq);
            c->ahead = true;
        }
        int stop_rc = 0;
        for (size_t i = 0; i < n && !stop_rc; i++) {
            const wire_committed_t *it = &rep.u.since_reply.items[i];
            if (it->seq <= c->last)
                continue; /* already delivered: a duplicate */
            stop_rc = fn(ud, it);
            if (stop_rc == 0) {
                c->last = it->seq;
                c->saved = false;
            }
        }
        wire_msg_release(&rep);
        int src = save(c);
        if (stop_rc || src) {
            *cb_rc = stop_rc ? stop_rc : src;
            return 1;
        }
        if (n == 0)
            return ERR_OK;
    }
}

/* true if the encoded Committed envelope is past last. */
static bool
is_newer(const uint8_t *env, size_t len, uint64_t last)
{
    wire_msg_t m;
    bool newer = false;
    if (wire_decode(env, len, 0, &m) == ERR_OK) {
        newer = m.kind == WIRE_COMMITTED && m.u.committed.seq > last;
        wire_msg_release(&m);
    }
    return newer;
}

/* Read every pending notification; *newer when one is past last. */
static void
drain_sub(void *sub, uint64_t last, bool *newer)
{
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        bool more = true;
        while (more) {
            if (zmq_msg_recv(&part, sub, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part);
                return;
            }
            more = zmq_msg_more(&part);
        }
        wire_batch_iter_t it;
        const uint8_t *item;
        size_t item_len;
        /* a malformed frame yields no items */
        (void)wire_batch_open(zmq_msg_data(&part), zmq_msg_size(&part), &it);
        while (!*newer && wire_batch_next(&it, &item, &item_len) == 1)
            *newer = is_newer(item, item_len, last);
        zmq_msg_close(&part);
    }
}

/* Find the starting seq (the store's last) when asked to start there. */
static int
start_latest(consumer_t *c, const volatile sig_atomic_t *stop)
{
    while (!c->started && !stopped(stop)) {
        wire_stats_t st;
        int rc = client_stats(c->client, &st);
        if (rc == ERR_OK) {
            recovered(c);
            c->last = st.last_seq;
            c->started = true;
            c->saved = false;
            return save(c);
        }
        if (!c->sub)
            return rc;
        outage(c, rc, stop);
    }
    return ERR_OK;
}

int
consumer_run(consumer_t *c, consumer_fn fn, void *ud,
             const volatile sig_atomic_t *stop)
{
    int rc = start_latest(c, stop);
    if (rc)
        return rc;
    bool due = true; /* read the store now */
    uint64_t check_at = 0;
    while (!stopped(stop)) {
        if (due) {
            int cb_rc = 0;
            rc = catch_up(c, fn, ud, &cb_rc);
            if (rc == 1)
                return cb_rc;
            if (rc && !c->sub)
                return rc; /* catching up once: report, do not wait */
            if (rc) {
                outage(c, rc, stop);
                continue;
            }
            recovered(c);
            if (!c->sub)
                return ERR_OK;
            due = false;
            check_at = now_mono_ms() + c->o.check_ms;
        }
        uint64_t now = now_mono_ms();
        if (now >= check_at) {
            due = true;
            continue;
        }
        uint64_t wait = check_at - now;
        zmq_pollitem_t it = { .socket = c->sub, .events = ZMQ_POLLIN };
        int n = zmq_poll(&it, 1,
                         (long)(wait < STOP_SLICE_MS ? wait : STOP_SLICE_MS));
        if (n < 0 && errno != EINTR) {
            log_error("consumer: poll failed: %s", zmq_strerror(errno));
            return ERR_IO;
        }
        if (n > 0)
            drain_sub(c->sub, c->last, &due);
    }
    return save(c);
}
