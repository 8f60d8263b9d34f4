/*
 * client: requests to the broker frontend over one DEALER socket, matched
 * by request_id, with per-request timeouts (reopen + resend) and retries of
 * retryable refusals after the broker's retry_after_ms.
 */
#include "client.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/utf8.h"
#include "../common/xalloc.h"
#include "../proto/wire_batch.h"
#include "../proto/wire_zmq.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_RETRIES 3u
#define DEFAULT_BUSY_MS 30000u
#define DEFAULT_WINDOW 64u
/* a Batch of Submits is closed before its items (with their field headers)
 * pass this many bytes, a larger single Submit going alone: it then fits
 * wire_batch's first block (no realloc), stays under malloc's mmap
 * threshold and in cache. 1 MiB frames cost the bench client more CPU per
 * job than no batching (page faults as the heap top came and went). */
#define BATCH_BYTES (64u << 10)
#define ITEM_HEAD 11u /* tag + length varint of a Batch item, at most */
/* retry delay when a retryable Rejected carries no retry_after_ms */
#define MIN_RETRY_MS 50u
#define MAX_RETRY_MS 5000u

struct client {
    void *ctx;         /* ZeroMQ context owned by this client */
    void *sock;        /* DEALER connected to endpoint */
    void *mon;         /* PAIR reading sock's handshake failures, or NULL */
    unsigned mon_gen;  /* numbers the monitor endpoints */
    bool curve;        /* CURVE on: keys and server_key are set */
    bool denied;       /* the last handshake was refused: redo it */
    curve_pair_t keys; /* this client's key pair */
    char server_key[CURVE_KEY_Z85]; /* the broker's public key */
    char *endpoint;                 /* frontend endpoint */
    client_opts_t opts;             /* resolved options */
    uint64_t next_rid;              /* next request_id */
    int last_code;                  /* wire_code_t of the last Rejected */
    bool no_batch;                  /* the broker cannot read Batch frames */
    char err[512];                  /* reason of the last failure */
};

static void set_err(client_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(client_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

static void
sleep_ms(uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
                           .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void
close_socket(client_t *c)
{
    if (c->mon) {
        int zero = 0;
        (void)zmq_setsockopt(c->mon, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(c->mon);
        c->mon = NULL;
    }
    if (c->sock) {
        int zero = 0;
        (void)zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(c->sock);
        c->sock = NULL;
    }
}

/* Watch s for failed handshakes, so that a refused key is reported as
 * such at once instead of as a timeout after every retry. */
static int
watch_handshake(client_t *c, void *s)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://client-monitor-%u", ++c->mon_gen);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(s, ep, events) != 0)
        return ERR_IO;
    c->mon = zmq_socket(c->ctx, ZMQ_PAIR);
    if (!c->mon || zmq_connect(c->mon, ep) != 0) {
        if (c->mon)
            zmq_close(c->mon);
        c->mon = NULL;
        return ERR_IO;
    }
    return ERR_OK;
}

/* Read one monitor event; ERR_DENIED (with the reason set) when it says
 * the broker refused the handshake, else ERR_OK. */
static int
read_monitor(client_t *c)
{
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    int rc = ERR_OK;
    if (zmq_msg_recv(&ev, c->mon, ZMQ_DONTWAIT) < 0)
        goto out;
    if (zmq_msg_more(&ev))
        (void)zmq_msg_recv(&addr, c->mon, ZMQ_DONTWAIT);
    if (zmq_msg_size(&ev) < 6)
        goto out;
    uint16_t event;
    uint32_t value;
    memcpy(&event, zmq_msg_data(&ev), 2);
    memcpy(&value, (const uint8_t *)zmq_msg_data(&ev) + 2, 4);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        set_err(c,
                "the broker refused this key (status %u): it is not in the "
                "broker's allow-list, or its role may not use this socket",
                (unsigned)value);
        rc = ERR_DENIED;
    } else if (c->curve) {
        set_err(c, "the CURVE handshake failed: is --broker-key-file the "
                   "broker's public key?");
        rc = ERR_DENIED;
    } else {
        set_err(c, "the handshake failed: the broker may require CURVE keys "
                   "(--key-file and --broker-key-file)");
        rc = ERR_DENIED;
    }
out:
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return rc;
}

static int
open_socket(client_t *c)
{
    close_socket(c);
    void *s = zmq_socket(c->ctx, ZMQ_DEALER);
    if (!s) {
        set_err(c, "cannot create socket: %s", zmq_strerror(errno));
        return ERR_IO;
    }
    int zero = 0, ivl = 2000, hb_timeout = 20000;
    int sndtimeo = (int)c->opts.timeout_ms;
    int64_t maxmsg = (int64_t)WIRE_MAX_FRAME;
    if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout,
                       sizeof hb_timeout) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &hb_timeout, sizeof hb_timeout)) {
        set_err(c, "cannot set socket options: %s", zmq_strerror(errno));
        zmq_close(s);
        return ERR_IO;
    }
    if ((c->curve && curve_client_apply(s, &c->keys, c->server_key)) ||
        watch_handshake(c, s)) {
        set_err(c, "cannot set up CURVE: %s", zmq_strerror(errno));
        zmq_close(s);
        return ERR_IO;
    }
    if (zmq_connect(s, c->endpoint) != 0) {
        int e = errno;
        set_err(c, "cannot connect to %s: %s", c->endpoint, zmq_strerror(e));
        zmq_close(s);
        return e == EINVAL || e == EPROTONOSUPPORT || e == ENOCOMPATPROTO
                   ? ERR_INVAL
                   : ERR_IO;
    }
    c->sock = s;
    return ERR_OK;
}

int
client_open(client_t **out, const char *endpoint, const client_opts_t *opts)
{
    if (!endpoint || !*endpoint)
        return ERR_INVAL;
    if (sodium_init() < 0) {
        log_error("libsodium initialisation failed");
        return ERR_INTERNAL;
    }
    client_t *c = xcalloc(1, sizeof *c);
    if (opts)
        c->opts = *opts;
    if (c->opts.curve) {
        if (!curve_key_valid(c->opts.server_key) ||
            !curve_key_valid(c->opts.curve->secret_key)) {
            free(c);
            return ERR_INVAL;
        }
        c->curve = true;
        c->keys = *c->opts.curve;
        memcpy(c->server_key, c->opts.server_key, CURVE_KEY_Z85);
        c->opts.curve = NULL; /* borrowed only during this call */
        c->opts.server_key = NULL;
    }
    if (!c->opts.timeout_ms)
        c->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (!c->opts.retries_set)
        c->opts.retries = DEFAULT_RETRIES;
    if (!c->opts.busy_budget_ms)
        c->opts.busy_budget_ms = DEFAULT_BUSY_MS;
    c->endpoint = xstrdup(endpoint);
    /* request ids start from a random point so that a late reply meant for
     * an earlier client process on the same endpoint never matches */
    c->next_rid = ((uint64_t)randombytes_random() << 24) + 1;
    c->ctx = zmq_ctx_new();
    int rc = ERR_IO;
    if (!c->ctx) {
        log_error("zmq_ctx_new failed: %s", zmq_strerror(errno));
        goto fail;
    }
    rc = open_socket(c);
    if (rc) {
        log_error("client open endpoint=%s: %s", endpoint, c->err);
        goto fail;
    }
    c->err[0] = '\0';
    *out = c;
    return ERR_OK;
fail:
    client_destroy(&c);
    return rc;
}

void
client_destroy(client_t **cp)
{
    if (!cp || !*cp)
        return;
    client_t *c = *cp;
    close_socket(c);
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    free(c->endpoint);
    memset(&c->keys, 0, sizeof c->keys);
    free(c);
    *cp = NULL;
}

void
client_default_key(const char *text, size_t len, char out[CLIENT_KEY_SIZE])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, len);
    memcpy(out, "sha256:", 7);
    sodium_bin2hex(out + 7, CLIENT_KEY_SIZE - 7, h, sizeof h);
}

const char *
client_last_error(const client_t *c)
{
    return c->err;
}

int
client_last_code(const client_t *c)
{
    return c->last_code;
}

int
client_code_to_err(int code)
{
    switch (code) {
    case WIRE_CODE_OK:
        return ERR_OK;
    case WIRE_CODE_INVALID:
        return ERR_INVAL;
    case WIRE_CODE_TOO_LARGE:
        return ERR_TOOBIG;
    case WIRE_CODE_BAD_VERSION:
        return ERR_VERSION;
    case WIRE_CODE_BAD_UTF8:
        return ERR_UTF8;
    case WIRE_CODE_QUEUE_FULL:
    case WIRE_CODE_STORE_FULL:
        return ERR_FULL;
    case WIRE_CODE_NOT_FOUND:
        return ERR_NOTFOUND;
    case WIRE_CODE_SHUTTING_DOWN:
        return ERR_CLOSED;
    case WIRE_CODE_INTERNAL:
        return ERR_INTERNAL;
    case WIRE_CODE_UNAUTHORIZED:
        return ERR_DENIED;
    default:
        return ERR_PROTO;
    }
}

static bool
code_is_retryable(int code)
{
    return code == WIRE_CODE_QUEUE_FULL || code == WIRE_CODE_STORE_FULL ||
           code == WIRE_CODE_SHUTTING_DOWN || code == WIRE_CODE_INTERNAL;
}

static uint64_t
retry_delay_ms(uint32_t retry_after_ms)
{
    if (retry_after_ms < MIN_RETRY_MS)
        return MIN_RETRY_MS;
    if (retry_after_ms > MAX_RETRY_MS)
        return MAX_RETRY_MS;
    return retry_after_ms;
}

/* Send buf as one frame; blocking waits at most the socket's send timeout.
 * ERR_AGAIN when the socket could not take it (high-water mark). */
static int
send_frame(client_t *c, const uint8_t *buf, size_t len, bool block)
{
    for (;;) {
        if (zmq_send(c->sock, buf, len, block ? 0 : ZMQ_DONTWAIT) >= 0)
            return ERR_OK;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return ERR_AGAIN;
        set_err(c, "send to %s failed: %s", c->endpoint, zmq_strerror(errno));
        return ERR_IO;
    }
}

/* The replies one received message carries: its last frame is either one
 * Envelope or a Batch of them (PROTOCOL.md "Batches"). */
typedef struct frame {
    zmq_msg_t msg;        /* the last frame */
    wire_batch_iter_t it; /* its next reply */
} frame_t;

/*
 * Receive one message (all frames) into *f; read its replies with
 * frame_next, then frame_close. Returns 0, ERR_AGAIN (nothing waiting),
 * ERR_PROTO (an undecodable frame, already closed: skip it), ERR_IO.
 */
static int
frame_recv(client_t *c, frame_t *f)
{
    zmq_msg_init(&f->msg);
    for (;;) {
        if (zmq_msg_recv(&f->msg, c->sock, ZMQ_DONTWAIT) < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            set_err(c, "receive failed: %s", zmq_strerror(e));
            zmq_msg_close(&f->msg);
            return e == EAGAIN ? ERR_AGAIN : ERR_IO;
        }
        if (!zmq_msg_more(&f->msg))
            break;
    }
    int rc =
        wire_batch_open(zmq_msg_data(&f->msg), zmq_msg_size(&f->msg), &f->it);
    if (rc < 0) {
        log_warn("client: undecodable reply from %s (%zu bytes): %s",
                 c->endpoint, zmq_msg_size(&f->msg), err_str(rc));
        zmq_msg_close(&f->msg);
        return ERR_PROTO;
    }
    return ERR_OK;
}

/*
 * Decode the next reply of f into *out. Returns 1 (caller releases *out),
 * 0 (no more), ERR_VERSION (out->request_id set, release it), ERR_PROTO
 * (an undecodable reply: skip it; a malformed Batch ends here).
 */
static int
frame_next(client_t *c, frame_t *f, wire_msg_t *out)
{
    const uint8_t *buf;
    size_t len;
    int r = wire_batch_next(&f->it, &buf, &len);
    if (r <= 0) {
        if (r < 0)
            log_warn("client: malformed Batch from %s", c->endpoint);
        return r;
    }
    memset(out, 0, sizeof *out);
    int rc = wire_decode(buf, len, 0, out);
    if (rc == ERR_OK)
        return 1;
    if (rc != ERR_VERSION) {
        log_warn("client: undecodable reply from %s (%zu bytes): %s",
                 c->endpoint, len, err_str(rc));
        rc = ERR_PROTO;
    }
    return rc;
}

static void
frame_close(frame_t *f)
{
    zmq_msg_close(&f->msg);
}

/* Wait until the socket is readable or deadline (monotonic ms) passes.
 * Returns 1 readable, 0 timeout, ERR_IO. */
static int
wait_readable(client_t *c, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_mono_ms();
        long wait = deadline > now ? (long)(deadline - now) : 0;
        zmq_pollitem_t it[2] = { { .socket = c->sock, .events = ZMQ_POLLIN },
                                 { .socket = c->mon, .events = ZMQ_POLLIN } };
        int n = zmq_poll(it, c->mon ? 2 : 1, wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            set_err(c, "poll failed: %s", zmq_strerror(errno));
            return ERR_IO;
        }
        if (c->mon && (it[1].revents & ZMQ_POLLIN) && read_monitor(c)) {
            c->denied = true; /* libzmq may not retry: the next call will */
            return ERR_DENIED;
        }
        if (it[0].revents & ZMQ_POLLIN)
            return 1;
        if (now_mono_ms() >= deadline)
            return 0;
    }
}

/*
 * Wait for the reply to request rid until deadline, skipping stale and
 * undecodable messages (*garbage set); a Batch is read item by item.
 * Returns 0 with *m (caller releases), ERR_TIMEOUT, ERR_VERSION, ERR_IO.
 */
static int
await_reply(client_t *c, uint64_t rid, uint64_t deadline, wire_msg_t *m,
            bool *garbage)
{
    for (;;) {
        int r = wait_readable(c, deadline);
        if (r < 0)
            return r;
        if (r == 0)
            return ERR_TIMEOUT;
        frame_t f;
        r = frame_recv(c, &f);
        if (r == ERR_AGAIN)
            continue;
        if (r == ERR_PROTO) {
            *garbage = true;
            continue;
        }
        if (r == ERR_IO)
            return r;
        int found = 0; /* 1: *m holds the reply; ERR_VERSION */
        wire_msg_t one;
        while ((r = frame_next(c, &f, &one)) != 0) {
            if (r == ERR_PROTO) {
                *garbage = true;
                continue;
            }
            if (found || one.request_id != rid) {
                log_debug("client: stale reply request_id=%llu",
                          (unsigned long long)one.request_id);
                wire_msg_release(&one);
                continue;
            }
            if (r == ERR_VERSION) {
                wire_msg_release(&one);
                found = ERR_VERSION;
                continue;
            }
            *m = one;
            found = 1;
        }
        frame_close(&f);
        if (found == 1)
            return ERR_OK;
        if (found)
            return found;
    }
}

/*
 * Send req (request_id assigned here) and wait for its reply of kind
 * expect. Handles timeouts (reopen + resend up to opts.retries), skips
 * stale and garbage replies, retries retryable refusals within the busy
 * budget. On success *reply holds the reply (caller releases).
 */
static int
request(client_t *c, wire_msg_t *req, int expect, wire_msg_t *reply)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    c->err[0] = '\0';
    c->last_code = WIRE_CODE_OK;
    if (c->denied) {
        int orc = open_socket(c);
        if (orc)
            return orc;
        c->denied = false;
    }
    req->request_id = c->next_rid++;
    int rc = wire_encode(req, &buf, &len);
    if (rc) {
        set_err(c, "cannot encode %s: %s", wire_kind_name(req->kind),
                err_str(rc));
        return rc;
    }
    uint64_t busy_deadline = now_mono_ms() + c->opts.busy_budget_ms;
    uint32_t timeouts = 0;
    bool garbage = false;
    for (;;) {
        wire_msg_t m;
        rc = send_frame(c, buf, len, true);
        if (rc == ERR_OK)
            rc = await_reply(c, req->request_id,
                             now_mono_ms() + c->opts.timeout_ms, &m, &garbage);
        else if (rc == ERR_AGAIN)
            rc = ERR_TIMEOUT;
        if (rc == ERR_TIMEOUT) {
            if (++timeouts > c->opts.retries) {
                if (garbage) {
                    rc = ERR_PROTO;
                    set_err(c,
                            "no valid reply from %s: undecodable "
                            "messages received",
                            c->endpoint);
                } else {
                    set_err(c, "no reply from %s after %u attempts of %u ms",
                            c->endpoint, timeouts, c->opts.timeout_ms);
                }
                goto out;
            }
            log_debug("client: timeout endpoint=%s kind=%s try=%u", c->endpoint,
                      wire_kind_name(req->kind), timeouts);
            rc = open_socket(c);
            if (rc)
                goto out;
            continue;
        }
        if (rc == ERR_VERSION) {
            set_err(c, "%s speaks another protocol version", c->endpoint);
            goto out;
        }
        if (rc)
            goto out;
        if (m.kind == WIRE_REJECTED) {
            int code = m.u.rejected.code;
            c->last_code = code;
            set_err(c, "%s: %s", wire_code_name(code),
                    m.u.rejected.reason ? m.u.rejected.reason : "");
            uint64_t delay = retry_delay_ms(m.u.rejected.retry_after_ms);
            wire_msg_release(&m);
            if (!code_is_retryable(code) ||
                now_mono_ms() + delay > busy_deadline) {
                rc = client_code_to_err(code);
                goto out;
            }
            log_debug("client: rejected %s, retry in %llu ms",
                      wire_code_name(code), (unsigned long long)delay);
            sleep_ms(delay);
            if (code == WIRE_CODE_SHUTTING_DOWN) {
                rc = open_socket(c);
                if (rc)
                    goto out;
            }
            continue;
        }
        if (m.kind != expect) {
            set_err(c, "unexpected reply %s to %s", wire_kind_name(m.kind),
                    wire_kind_name(req->kind));
            wire_msg_release(&m);
            rc = ERR_PROTO;
            goto out;
        }
        *reply = m;
        rc = ERR_OK;
        goto out;
    }
out:
    free(buf);
    return rc;
}

/* Local checks of a job before it goes on the wire. */
static int
check_job(client_t *c, const wire_job_t *job)
{
    if (!job->text || job->text_len == 0) {
        set_err(c, "empty text");
        return ERR_INVAL;
    }
    if (job->text_len > WIRE_MAX_TEXT) {
        set_err(c, "text of %zu bytes is over the %u byte limit", job->text_len,
                WIRE_MAX_TEXT);
        return ERR_TOOBIG;
    }
    size_t bad = utf8_first_invalid(job->text, job->text_len);
    if (bad != job->text_len) {
        set_err(c, "text is not valid UTF-8 (byte %zu)", bad);
        return ERR_UTF8;
    }
    if (job->key && strlen(job->key) > WIRE_MAX_KEY) {
        set_err(c, "key longer than %u bytes", WIRE_MAX_KEY);
        return ERR_INVAL;
    }
    if (job->priority < 0 || job->priority > WIRE_MAX_PRIORITY) {
        set_err(c, "priority %d out of 0..%d", (int)job->priority,
                WIRE_MAX_PRIORITY);
        return ERR_INVAL;
    }
    return ERR_OK;
}

int
client_submit(client_t *c, const wire_job_t *job, uint64_t *job_id,
              bool *duplicate)
{
    c->err[0] = '\0';
    c->last_code = WIRE_CODE_OK;
    int rc = check_job(c, job);
    if (rc)
        return rc;
    char key[CLIENT_KEY_SIZE];
    wire_msg_t req = { .kind = WIRE_SUBMIT };
    req.u.submit.job = *job;
    req.u.submit.job.id = 0;
    if (!job->key || !*job->key) {
        client_default_key(job->text, job->text_len, key);
        req.u.submit.job.key = key;
    }
    wire_msg_t rep;
    rc = request(c, &req, WIRE_ACCEPTED, &rep);
    if (rc)
        return rc;
    *job_id = rep.u.accepted.job_id;
    if (duplicate)
        *duplicate = rep.u.accepted.duplicate;
    if (rep.u.accepted.text_differs)
        snprintf(c->err, sizeof c->err, "%s", CLIENT_TEXT_DIFFERS);
    wire_msg_release(&rep);
    return ERR_OK;
}

int
client_get(client_t *c, uint64_t job_id, const char *key, bool with_text,
           wire_msg_t *reply, result_t **result)
{
    if (result)
        *result = NULL;
    if (!job_id && (!key || !*key)) {
        set_err(c, "a job id or a key is needed");
        return ERR_INVAL;
    }
    wire_msg_t req = { .kind = WIRE_GET };
    req.u.get.job_id = job_id;
    req.u.get.key = job_id ? NULL : key;
    req.u.get.with_text = with_text;
    wire_msg_t rep;
    int rc = request(c, &req, WIRE_GET_REPLY, &rep);
    if (rc)
        return rc;
    if (result && rep.u.get_reply.job.state == WIRE_JOB_DONE &&
        rep.u.get_reply.result_len) {
        rc = wire_result_decode(rep.u.get_reply.result,
                                rep.u.get_reply.result_len, result);
        if (rc) {
            set_err(c, "cannot decode the result of job %llu: %s",
                    (unsigned long long)rep.u.get_reply.job.id, err_str(rc));
            wire_msg_release(&rep);
            return ERR_PROTO;
        }
    }
    *reply = rep;
    return ERR_OK;
}

int
client_stats(client_t *c, wire_stats_t *st)
{
    wire_msg_t req = { .kind = WIRE_STATS };
    wire_msg_t rep;
    int rc = request(c, &req, WIRE_STATS_REPLY, &rep);
    if (rc)
        return rc;
    *st = rep.u.stats_reply;
    st->n_worker_stats = 0; /* the rows live in rep: see client_stats_reply */
    st->worker_stats = NULL;
    wire_msg_release(&rep);
    return ERR_OK;
}

int
client_stats_reply(client_t *c, wire_msg_t *reply)
{
    wire_msg_t req = { .kind = WIRE_STATS };
    return request(c, &req, WIRE_STATS_REPLY, reply);
}

int
client_since(client_t *c, uint64_t after_seq, uint32_t limit, bool with_result,
             wire_msg_t *reply)
{
    wire_msg_t req = { .kind = WIRE_SINCE };
    req.u.since.after_seq = after_seq;
    req.u.since.limit = limit;
    req.u.since.with_result = with_result;
    return request(c, &req, WIRE_SINCE_REPLY, reply);
}

int
client_dead_list(client_t *c, uint64_t after_job_id, uint32_t limit,
                 wire_msg_t *reply)
{
    wire_msg_t req = { .kind = WIRE_DEAD_LIST };
    req.u.dead_list.after_job_id = after_job_id;
    req.u.dead_list.limit = limit;
    return request(c, &req, WIRE_DEAD_LIST_REPLY, reply);
}

static int
dead_ids(client_t *c, int kind, const uint64_t *ids, size_t n, bool all,
         uint64_t *count)
{
    if (!all && n == 0) {
        set_err(c, "no job ids given");
        return ERR_INVAL;
    }
    wire_msg_t req = { .kind = kind };
    req.u.dead_ids.job_ids = ids;
    req.u.dead_ids.n = all ? 0 : n;
    req.u.dead_ids.all = all;
    wire_msg_t rep;
    int rc = request(c, &req, WIRE_DEAD_REPLY, &rep);
    if (rc)
        return rc;
    if (count)
        *count = rep.u.dead_reply.count;
    wire_msg_release(&rep);
    return ERR_OK;
}

int
client_dead_requeue(client_t *c, const uint64_t *ids, size_t n, bool all,
                    uint64_t *count)
{
    return dead_ids(c, WIRE_DEAD_REQUEUE, ids, n, all, count);
}

int
client_dead_purge(client_t *c, const uint64_t *ids, size_t n, bool all,
                  uint64_t *count)
{
    return dead_ids(c, WIRE_DEAD_PURGE, ids, n, all, count);
}

/* ------------------------------------------------------ pipelined submit */

enum { SLOT_FREE, SLOT_SENT, SLOT_WAIT };

typedef struct slot {
    int state;              /* SLOT_* */
    size_t index;           /* job index in the batch */
    uint8_t *buf;           /* encoded Submit, kept for resends */
    size_t len;             /* bytes in buf */
    uint64_t deadline;      /* SENT: reply timeout; WAIT: resend time */
    uint64_t busy_deadline; /* end of the retry budget for refusals */
    uint32_t timeouts;      /* timeouts so far */
} slot_t;

typedef struct batch {
    client_t *c;            /* the client */
    const wire_job_t *jobs; /* the jobs */
    size_t n;               /* number of jobs */
    uint64_t rid_base;      /* request_id of jobs[0] */
    slot_t *slots;          /* window slots */
    size_t window;          /* number of slots */
    size_t *slot_of;        /* job index -> slot + 1 (0: none) */
    client_submit_cb cb;    /* completion callback */
    void *ud;               /* callback argument */
    wire_batch_t out;       /* Submits queued for the next frame */
    size_t per_frame;       /* most Submits in one frame */
} batch_t;

static void
slot_finish(batch_t *b, slot_t *s, int rc, uint64_t job_id, bool dup,
            const char *reason)
{
    b->slot_of[s->index] = 0;
    free(s->buf);
    s->buf = NULL;
    s->state = SLOT_FREE;
    b->cb(b->ud, s->index, rc, job_id, dup, reason ? reason : "");
}

/* Send the queued Submits as one frame (a Batch when more than one),
 * handed to ZeroMQ where it lies: a copy would cost a large allocation
 * per frame, fresh pages each time. A full pipe counts as sent (the
 * slots' reply timeouts then cover it). */
static int
out_flush(batch_t *b)
{
    int rc = wire_batch_zsend(b->c->sock, &b->out, ZMQ_DONTWAIT);
    if (rc == ERR_OK || rc == ERR_AGAIN)
        return ERR_OK;
    set_err(b->c, "send to %s failed: %s", b->c->endpoint, zmq_strerror(errno));
    return ERR_IO;
}

/* Send a slot's Submit: queued for the next frame, which out_flush sends
 * (also here when the frame is full). */
static int
slot_send(batch_t *b, slot_t *s)
{
    int rc = ERR_OK;
    s->state = SLOT_SENT;
    s->deadline = now_mono_ms() + b->c->opts.timeout_ms;
    if (b->per_frame == 1) {
        rc = send_frame(b->c, s->buf, s->len, false);
        return rc == ERR_IO ? rc : ERR_OK;
    }
    if (b->out.n &&
        (b->out.n >= b->per_frame ||
         wire_batch_bytes(&b->out) + ITEM_HEAD + s->len > BATCH_BYTES)) {
        rc = out_flush(b);
        if (rc)
            return rc;
    }
    wire_batch_add(&b->out, s->buf, s->len);
    return ERR_OK;
}

static int
slot_start(batch_t *b, slot_t *s, size_t index)
{
    client_t *c = b->c;
    const wire_job_t *job = &b->jobs[index];
    s->index = index;
    s->timeouts = 0;
    s->busy_deadline = now_mono_ms() + c->opts.busy_budget_ms;
    int rc = check_job(c, job);
    if (rc) {
        b->cb(b->ud, index, rc, 0, false, c->err);
        return ERR_OK;
    }
    char key[CLIENT_KEY_SIZE];
    wire_msg_t req = { .kind = WIRE_SUBMIT };
    req.request_id = b->rid_base + index;
    req.u.submit.job = *job;
    req.u.submit.job.id = 0;
    if (!job->key || !*job->key) {
        client_default_key(job->text, job->text_len, key);
        req.u.submit.job.key = key;
    }
    rc = wire_encode(&req, &s->buf, &s->len);
    if (rc) {
        b->cb(b->ud, index, rc, 0, false, "cannot encode the job");
        return ERR_OK;
    }
    b->slot_of[index] = (size_t)(s - b->slots) + 1;
    return slot_send(b, s);
}

/*
 * A broker that predates Batch cannot read one: it answers the frame as a
 * whole with Rejected{INVALID} and request_id 0 (never one of ours). Send
 * a frame per Submit from then on, for this client's life, and resend
 * what is in flight (Submit is idempotent by key).
 */
static int
batch_fallback(batch_t *b)
{
    log_info("client: %s does not read Batch frames; one frame per Submit",
             b->c->endpoint);
    b->c->no_batch = true;
    b->per_frame = 1;
    wire_batch_free(&b->out);
    for (size_t i = 0; i < b->window; i++) {
        if (b->slots[i].state == SLOT_SENT) {
            int rc = slot_send(b, &b->slots[i]);
            if (rc)
                return rc;
        }
    }
    return ERR_OK;
}

/* Handle one reply. Returns 0 or ERR_IO (a resend failed). */
static int
batch_reply(batch_t *b, wire_msg_t *m)
{
    if (m->request_id == 0 && m->kind == WIRE_REJECTED &&
        m->u.rejected.code == WIRE_CODE_INVALID && !m->u.rejected.batch &&
        b->per_frame > 1)
        return batch_fallback(b);
    if (m->request_id < b->rid_base || m->request_id >= b->rid_base + b->n)
        return ERR_OK;
    size_t index = (size_t)(m->request_id - b->rid_base);
    if (!b->slot_of[index])
        return ERR_OK; /* duplicate reply to a finished job */
    slot_t *s = &b->slots[b->slot_of[index] - 1];
    if (m->kind == WIRE_ACCEPTED) {
        slot_finish(b, s, ERR_OK, m->u.accepted.job_id, m->u.accepted.duplicate,
                    m->u.accepted.text_differs ? CLIENT_TEXT_DIFFERS : NULL);
    } else if (m->kind == WIRE_REJECTED) {
        int code = m->u.rejected.code;
        uint64_t delay = retry_delay_ms(m->u.rejected.retry_after_ms);
        char reason[512];
        snprintf(reason, sizeof reason, "%s: %s", wire_code_name(code),
                 m->u.rejected.reason ? m->u.rejected.reason : "");
        if (code_is_retryable(code) &&
            now_mono_ms() + delay <= s->busy_deadline) {
            s->state = SLOT_WAIT;
            s->deadline = now_mono_ms() + delay;
            return ERR_OK;
        }
        slot_finish(b, s, client_code_to_err(code), 0, false, reason);
    } else {
        char reason[128];
        snprintf(reason, sizeof reason, "unexpected reply %s",
                 wire_kind_name(m->kind));
        slot_finish(b, s, ERR_PROTO, 0, false, reason);
    }
    return ERR_OK;
}

/* Handle deadlines: resend waiting slots, time out sent ones. */
static int
batch_timers(batch_t *b)
{
    uint64_t now = now_mono_ms();
    bool reopen = false;
    for (size_t i = 0; i < b->window; i++) {
        slot_t *s = &b->slots[i];
        if (s->state == SLOT_FREE || now < s->deadline)
            continue;
        if (s->state == SLOT_WAIT) {
            int rc = slot_send(b, s);
            if (rc)
                return rc;
            continue;
        }
        if (++s->timeouts > b->c->opts.retries) {
            char reason[128];
            snprintf(reason, sizeof reason, "no reply after %u attempts",
                     s->timeouts);
            slot_finish(b, s, ERR_TIMEOUT, 0, false, reason);
        } else {
            reopen = true;
        }
    }
    if (!reopen)
        return ERR_OK;
    /* replies to anything sent on the old socket are lost with it: resend
     * everything in flight (Submit is idempotent by key), once each */
    wire_batch_free(&b->out);
    int rc = open_socket(b->c);
    if (rc)
        return rc;
    for (size_t i = 0; i < b->window; i++)
        if (b->slots[i].state == SLOT_SENT) {
            rc = slot_send(b, &b->slots[i]);
            if (rc)
                return rc;
        }
    return ERR_OK;
}

int
client_submit_many(client_t *c, const wire_job_t *jobs, size_t n, size_t window,
                   client_submit_cb cb, void *ud)
{
    if (!window)
        window = DEFAULT_WINDOW;
    if (window > n)
        window = n ? n : 1;
    batch_t b = {
        .c = c, .jobs = jobs, .n = n, .window = window, .cb = cb, .ud = ud
    };
    b.per_frame = c->opts.batch_max ? c->opts.batch_max : window;
    if (c->no_batch)
        b.per_frame = 1;
    wire_batch_init(&b.out);
    b.rid_base = c->next_rid;
    c->next_rid += n;
    if (c->denied) {
        int orc = open_socket(c);
        if (orc)
            return orc;
        c->denied = false;
    }
    b.slots = xcalloc(window, sizeof *b.slots);
    b.slot_of = xcalloc(n ? n : 1, sizeof *b.slot_of);
    c->err[0] = '\0';
    size_t next = 0;
    int rc = ERR_OK;
    for (;;) {
        size_t busy = 0;
        uint64_t wake = UINT64_MAX;
        for (size_t i = 0; i < window; i++) {
            slot_t *s = &b.slots[i];
            while (s->state == SLOT_FREE && next < n) {
                rc = slot_start(&b, s, next++);
                if (rc)
                    goto fail;
            }
            if (s->state != SLOT_FREE) {
                busy++;
                if (s->deadline < wake)
                    wake = s->deadline;
            }
        }
        if (!busy)
            break;
        rc = out_flush(&b);
        if (rc)
            goto fail;
        int r = wait_readable(c, wake);
        if (r < 0) {
            rc = r;
            goto fail;
        }
        while (r == 1) {
            frame_t f;
            int d = frame_recv(c, &f);
            if (d == ERR_AGAIN)
                break;
            if (d == ERR_IO) {
                rc = d;
                goto fail;
            }
            if (d == ERR_OK) {
                wire_msg_t m;
                while ((d = frame_next(c, &f, &m)) != 0) {
                    if (d == 1)
                        rc = batch_reply(&b, &m);
                    if (d != ERR_PROTO)
                        wire_msg_release(&m);
                    if (rc)
                        break;
                }
                frame_close(&f);
                if (rc)
                    goto fail;
            }
            zmq_pollitem_t it = { .socket = c->sock, .events = ZMQ_POLLIN };
            r = zmq_poll(&it, 1, 0) > 0 ? 1 : 0;
        }
        rc = batch_timers(&b);
        if (rc)
            goto fail;
    }
    free(b.slots);
    free(b.slot_of);
    return ERR_OK;
fail:
    wire_batch_free(&b.out);
    for (size_t i = 0; i < window; i++)
        if (b.slots[i].state != SLOT_FREE)
            slot_finish(&b, &b.slots[i], ERR_IO, 0, false, c->err);
    while (next < n)
        cb(ud, next++, ERR_IO, 0, false, c->err);
    free(b.slots);
    free(b.slot_of);
    return rc;
}

int
client_sub_open(client_t *c, const char *endpoint, const char *topic,
                void **out)
{
    if (!endpoint || !*endpoint || !topic)
        return ERR_INVAL;
    void *s = zmq_socket(c->ctx, ZMQ_SUB);
    if (!s) {
        set_err(c, "cannot create socket: %s", zmq_strerror(errno));
        return ERR_IO;
    }
    int zero = 0, ivl = 2000, hb_timeout = 20000;
    int64_t maxmsg = (int64_t)WIRE_MAX_FRAME;
    if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout,
                       sizeof hb_timeout) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &hb_timeout, sizeof hb_timeout) ||
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, topic, strlen(topic)) ||
        (c->curve && curve_client_apply(s, &c->keys, c->server_key))) {
        set_err(c, "cannot set socket options: %s", zmq_strerror(errno));
        zmq_close(s);
        return ERR_IO;
    }
    if (zmq_connect(s, endpoint) != 0) {
        int e = errno;
        set_err(c, "cannot connect to %s: %s", endpoint, zmq_strerror(e));
        zmq_close(s);
        return e == EINVAL || e == EPROTONOSUPPORT || e == ENOCOMPATPROTO
                   ? ERR_INVAL
                   : ERR_IO;
    }
    *out = s;
    return ERR_OK;
}

void
client_sub_close(void **sub)
{
    if (!sub || !*sub)
        return;
    int zero = 0;
    (void)zmq_setsockopt(*sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(*sub);
    *sub = NULL;
}

int
client_reconnect(client_t *c)
{
    return open_socket(c);
}

int
client_query(client_t *c, const wire_query_t *q, wire_msg_t *reply)
{
    wire_msg_t req = { .kind = WIRE_QUERY };
    req.u.query = *q;
    return request(c, &req, WIRE_QUERY_REPLY, reply);
}
