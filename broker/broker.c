/*
 * broker: the config table, open/run/destroy, the poll loop and its
 * timers (tick, SIGHUP key reload), and the frame dispatch to the
 * frontend and backend handlers (see broker.h and proto/PROTOCOL.md). The
 * loop's other concerns live in broker_*.c behind broker_int.h.
 */
#include "broker_int.h"

#define OFF(f) offsetof(broker_cfg_t, f)
const cfg_entry_t broker_cfg_table[] = {
    { "data-dir", CFG_STRING, OFF(data_dir), "excerpt-data", 0, 0,
      "LMDB data directory" },
    { "frontend", CFG_STRING, OFF(frontend), "tcp://127.0.0.1:7440", 0, 0,
      "client endpoint (ROUTER, bind)" },
    { "backend", CFG_STRING, OFF(backend), "tcp://127.0.0.1:7441", 0, 0,
      "worker endpoint (ROUTER, bind)" },
    { "publisher", CFG_STRING, OFF(publisher), "tcp://127.0.0.1:7442", 0, 0,
      "notification endpoint (PUB, bind)" },
    { "map-size", CFG_SIZE, OFF(map_size), "64M", 1 << 20, 0,
      "initial LMDB map size" },
    { "map-limit", CFG_SIZE, OFF(map_limit), "32G", 1 << 20, 0,
      "the LMDB map never grows past this" },
    { "max-queued", CFG_INT, OFF(max_queued), "2000000", 1, 1000000000,
      "jobs ready, leased or delayed before Submit gets QUEUE_FULL" },
    { "max-attempts", CFG_INT, OFF(max_attempts), "5", 1, 1000,
      "failed attempts before a job is dead-lettered" },
    { "lease-ms", CFG_MS, OFF(lease_ms), "60s", 10, 86400000,
      "lease length; worker heartbeats extend it" },
    { "worker-timeout-ms", CFG_MS, OFF(worker_timeout_ms), "10s", 10, 86400000,
      "a worker silent this long is lost" },
    { "retry-base-ms", CFG_MS, OFF(retry_base_ms), "500ms", 0, 86400000,
      "first retry delay; doubles per attempt, with jitter" },
    { "retry-max-ms", CFG_MS, OFF(retry_max_ms), "60s", 0, 86400000,
      "longest retry delay" },
    { "max-worker-bytes", CFG_SIZE, OFF(max_worker_bytes), "256M", 1, 0,
      "text bytes one worker may hold before it gets another job (it "
      "always gets one)" },
    { "max-credit", CFG_INT, OFF(max_credit), "1024", 1, 1000000,
      "most jobs one worker may hold at once" },
    { "commit-batch", CFG_INT, OFF(commit_batch), "512", 1, 100000,
      "operations per group commit at most" },
    { "commit-delay-us", CFG_INT, OFF(commit_delay_us), "0", 0, 1000000,
      "longest wait to fill a group commit, microseconds (0: commit at "
      "once when the committer is idle; what arrives during a commit "
      "forms the next group anyway)" },
    { "early-wait-us", CFG_INT, OFF(early_wait_us), "2000", 0, 1000000,
      "longest wait, microseconds, for the results of jobs sent to workers "
      "before their Submit committed, so that both commit together" },
    { "max-readers", CFG_INT, OFF(max_readers), "126", 1, 100000,
      "LMDB reader slots" },
    { "io-threads", CFG_INT, OFF(io_threads), "1", 1, 64,
      "ZeroMQ I/O threads: framing, and with keys the CURVE encryption, of "
      "all connections" },
    { "log-level", CFG_STRING, OFF(log_level), "info", 0, 0,
      "error, warn, info or debug" },
    { "key-file", CFG_STRING, OFF(key_file), "", 0, 0,
      "the broker's CURVE secret key file (excerpt keygen); with it every "
      "socket is encrypted and only allow-listed keys get in" },
    { "allow", CFG_STRING, OFF(allow), "", 0, 0,
      "allow-list: a file of \"ROLE KEY [NAME]\" lines or a directory of "
      "NAME.pub files with role lines; reread on SIGHUP" },
    { "insecure", CFG_BOOL, OFF(insecure), "false", 0, 0,
      "allow binding non-loopback endpoints without keys: anyone who can "
      "reach them can submit, read and forge results" },
    { "metrics", CFG_STRING, OFF(metrics), "", 0, 0,
      "HTTP endpoint HOST:PORT for /metrics (Prometheus), /healthz and "
      "/readyz, e.g. 127.0.0.1:9440; port 0 picks a free one (logged); "
      "empty: off" },
    { "metrics-token-file", CFG_STRING, OFF(metrics_token_file), "", 0, 0,
      "file holding a bearer token that /metrics requires; needed to bind "
      "metrics off loopback" },
    { "metrics-insecure", CFG_BOOL, OFF(metrics_insecure), "false", 0, 0,
      "allow metrics off loopback without a token (logged as a warning)" },
    { "health-stall-ms", CFG_MS, OFF(health_stall_ms), "5s", 200, 3600000,
      "/healthz fails when the broker loop has not ticked for this long" },
};

const size_t broker_cfg_table_len =
    sizeof broker_cfg_table / sizeof broker_cfg_table[0];

int
broker_cfg_defaults(broker_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    return cfg_defaults(broker_cfg_table, broker_cfg_table_len, cfg);
}

void
broker_cfg_free(broker_cfg_t *cfg)
{
    if (cfg)
        cfg_free(broker_cfg_table, broker_cfg_table_len, cfg);
}

/* The broker's wall clock: the wall time at open advanced by the
 * monotonic clock. Retry times (DELAYED until) are wall times, stored to
 * survive a restart, and are compared with this clock, so a jump of the
 * system clock while the broker runs neither fires retries early nor
 * holds them back; only a restart reads the wall clock again. */
uint64_t
bloop_clock_ms(const broker_t *b)
{
    return b->wall0_ms + (now_mono_ms() - b->mono0_ms);
}

uint64_t
bloop_rand_next(broker_t *b)
{
    uint64_t x = b->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

/* One message from a peer on sock. */
static void
on_message(broker_t *b, void *sock, const route_t *rt, const uint8_t *env,
           size_t len)
{
    if (sock == b->front)
        bfront_on_frontend(b, rt, env, len);
    else
        bback_on_backend(b, rt, env, len);
}

/* One frame from a peer: a message, or a Batch whose items are handled in
 * order as if each had come alone; a malformed Batch is rejected from the
 * bad item on (the backend answers only a peer with an identity). */
static void
on_frame(broker_t *b, void *sock, const route_t *rt, const zmq_msg_t *env)
{
    const uint8_t *data = zmq_msg_data((zmq_msg_t *)env);
    size_t len = zmq_msg_size((zmq_msg_t *)env);
    bfront_peer_of(b, env);
    wire_batch_iter_t it;
    int rc = wire_batch_open(data, len, &it);
    b->cur_batched = rc == 1;
    const char *why = bout_reason_of_decode(rc); /* the frame itself is bad */
    /* a frame that is not even a Batch may still name its request */
    uint64_t rid = rc < 0 ? wire_peek_request_id(data, len) : 0;
    const uint8_t *item;
    size_t item_len;
    if (rc >= 0) {
        while ((rc = wire_batch_next(&it, &item, &item_len)) == 1)
            on_message(b, sock, rt, item, item_len);
        why = "malformed Batch: items from here on were dropped";
    }
    if (rc < 0) {
        log_info("broker bad frame bytes=%zu: %s", len, err_str(rc));
        if (sock == b->front || rt->n > 0)
            bout_reject(b, sock, rt, rid, bout_code_of_decode(rc), why, 0);
    }
    b->cur_batched = false;
    b->cur_env = NULL;
}

/* SIGHUP: reread the allow-list. Frontend and backend peers are checked
 * per message, so a dropped key is refused from its next one; workers
 * whose key lost the role are dropped now; subscribers only receive, so
 * the publisher is bound anew and every subscriber must handshake again
 * (the honest ones reconnect and fill the gap with Since). */
static void
reload_keys(broker_t *b)
{
    size_t dropped = 0;
    b->reload = 0;
    if (!b->auth) {
        log_info("broker SIGHUP ignored: no keys configured");
        return;
    }
    if (auth_reload(b->auth, &dropped) != ERR_OK || dropped == 0)
        return;
    for (size_t i = 0; i < b->n_workers; i++) {
        worker_t *w = b->workers[i];
        if (!w->lost && !(auth_role_of(b->auth, w->key, NULL) & AUTH_WORKER)) {
            log_warn("broker worker lost worker=%s key=%s reason=\"key "
                     "removed from the allow-list\"",
                     w->name, w->id);
            w->lost = true;
        }
    }
    if (bpub_rebind_pub(b) != ERR_OK) {
        /* cannot serve consumers as configured: crash-only, the
         * supervisor restarts the broker with the new list */
        log_error("broker cannot rebind the publisher endpoint=%s after a "
                  "reload: exiting",
                  b->cfg.publisher);
        b->pub_failed = true;
        return;
    }
    for (size_t i = 0; i < b->n_topics; i++)
        free(b->topics[i]);
    b->n_topics = 0;
    b->topics_full = false;
    log_info("broker publisher rebound: subscribers handshake again");
}

static void
tick(broker_t *b)
{
    uint64_t now = now_mono_ms();
    if (b->reload)
        reload_keys(b);
    bpub_read_subscriptions(
        b); /* keep XPUB's queue short while nothing commits */
    for (size_t i = 0; i < b->n_workers; i++) {
        worker_t *w = b->workers[i];
        if (!w->lost && now - w->last_ms > b->cfg.worker_timeout_ms) {
            log_warn("broker worker lost worker=%s key=%s silent_ms=%llu",
                     w->name, w->id, (unsigned long long)(now - w->last_ms));
            w->lost = true;
        }
    }
    for (size_t i = 0; i < b->leases.cap; i++) {
        lease_t *l = &b->leases.slots[i];
        if (!l->job_id || l->finishing)
            continue;
        if (l->held) {
            unsigned long long n = 0;
            if (now <= l->deadline_ms)
                continue;
            blease_expire_quiet(b, l,
                                "answer not committed (store full or failing)");
            if (log_rate_allow(&b->held_log, 10000, &n))
                log_warn("broker answers not committed, jobs held back and "
                         "retried with backoff job=%llu attempt=%u holds=%u "
                         "(%llu more retries since the last such line)",
                         (unsigned long long)l->job_id, l->attempt, l->holds,
                         n);
        } else if (l->w && l->w->lost)
            blease_expire(b, l, "worker lost");
        else if (now > l->deadline_ms)
            blease_expire(b, l, "lease expired");
    }
    for (size_t i = 0; i < b->n_workers;) {
        worker_t *w = b->workers[i];
        if (w->lost) {
            blease_worker_free(w);
            b->workers[i] = b->workers[--b->n_workers];
        } else {
            i++;
        }
    }
    if (b->counts.delayed > 0 && !b->promote_due &&
        store_read_begin(b->store) == 0) {
        uint64_t when;
        if (store_next_due(b->store, &when) == 0 && when <= bloop_clock_ms(b))
            b->promote_due = true;
        store_read_end(b->store);
    }
    bstats_publish_metrics(b);
}

/* Open a socket of type bound to endpoint; under CURVE (b->auth) its
 * peers are checked by the ZAP handler under domain. */
static int
sock_open(broker_t *b, void **out, int type, const char *endpoint,
          const char *domain)
{
    void *s = zmq_socket(b->ctx, type);
    if (!s) {
        log_error("broker socket failed: %s", zmq_strerror(errno));
        return ERR_IO;
    }
    int one = 1, ivl = 2000, tmo = 20000, ttl = 20000, zero = 0;
    /* A group commit answers hundreds of requests at once; with the
     * default HWM a pipelining client's replies would hit EAGAIN (ROUTER
     * mandatory) and be lost. Inbound stays bounded by the default. */
    int hwm = SEND_HWM;
    int64_t max = WIRE_MAX_FRAME;
    if ((type == ZMQ_ROUTER &&
         zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one)) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof tmo) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl) ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero)) {
        log_error("broker setsockopt failed: %s", zmq_strerror(errno));
        zmq_close(s);
        return ERR_IO;
    }
    if (b->auth && curve_server_apply(s, &b->keys, domain) != ERR_OK) {
        zmq_close(s);
        return ERR_IO;
    }
    if (zmq_bind(s, endpoint) != 0) {
        int e = errno;
        log_error("broker bind failed endpoint=%s: %s", endpoint,
                  zmq_strerror(e));
        zmq_close(s);
        return e == EINVAL || e == EPROTONOSUPPORT ? ERR_INVAL : ERR_IO;
    }
    *out = s;
    return ERR_OK;
}

/* Keys, or only local endpoints, or a person's explicit --insecure. */
static int
security_check(const broker_cfg_t *c)
{
    const char *eps[3] = { c->frontend, c->backend, c->publisher };
    bool keys = c->key_file && *c->key_file;
    if (keys && (!c->allow || !*c->allow)) {
        log_error("broker config invalid key=allow (key-file is set: name "
                  "the allow-list of the keys that may connect)");
        return ERR_INVAL;
    }
    if (!keys && c->allow && *c->allow) {
        log_error("broker config invalid key=key-file (an allow-list needs "
                  "the broker's own key pair)");
        return ERR_INVAL;
    }
    if (keys)
        return ERR_OK;
    for (size_t i = 0; i < 3; i++) {
        if (curve_endpoint_is_local(eps[i]))
            continue;
        if (!c->insecure) {
            log_error("broker refuses to bind %s without keys: anyone who "
                      "reaches it could submit, read every result and forge "
                      "results. Set key-file and allow (excerpt keygen), or "
                      "bind 127.0.0.1, or set insecure = true to accept that",
                      eps[i]);
            return ERR_INVAL;
        }
        log_warn("INSECURE: %s is bound without keys or encryption: anyone "
                 "who reaches it can submit, read every transcript and "
                 "result, and forge results",
                 eps[i]);
    }
    log_warn("broker runs without keys: plaintext, and every peer that can "
             "reach its endpoints has every role (local endpoints only "
             "unless insecure)");
    return ERR_OK;
}

static int
cfg_check(const broker_cfg_t *c)
{
    const char *bad = NULL;
    if (!c->data_dir || !*c->data_dir)
        bad = "data-dir";
    else if (!c->frontend || !*c->frontend)
        bad = "frontend";
    else if (!c->backend || !*c->backend)
        bad = "backend";
    else if (!c->publisher || !*c->publisher)
        bad = "publisher";
    else if (c->map_limit < c->map_size)
        bad = "map-limit (smaller than map-size)";
    else if (c->retry_max_ms < c->retry_base_ms)
        bad = "retry-max-ms (smaller than retry-base-ms)";
    else if (c->log_level && *c->log_level && log_level_parse(c->log_level) < 0)
        bad = "log-level";
    else if (c->max_attempts < 1 || c->commit_batch < 1 || c->max_credit < 1 ||
             c->max_queued < 1 || c->lease_ms == 0 ||
             c->worker_timeout_ms == 0 || c->lease_ms > UINT32_MAX)
        bad = "a numeric setting out of range";
    if (bad) {
        log_error("broker config invalid key=%s", bad);
        return ERR_INVAL;
    }
    return security_check(c);
}

static char *
dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int
broker_open(broker_t **out, const broker_cfg_t *cfg)
{
    broker_t *b = NULL;
    int rc = cfg_check(cfg);
    if (rc)
        return rc;
    b = xcalloc(1, sizeof *b);
    b->cfg = *cfg;
    b->cfg.data_dir = dup_or_null(cfg->data_dir);
    b->cfg.frontend = dup_or_null(cfg->frontend);
    b->cfg.backend = dup_or_null(cfg->backend);
    b->cfg.publisher = dup_or_null(cfg->publisher);
    b->cfg.log_level = dup_or_null(cfg->log_level);
    b->cfg.key_file = dup_or_null(cfg->key_file);
    b->cfg.allow = dup_or_null(cfg->allow);
    b->cfg.metrics = dup_or_null(cfg->metrics);
    b->cfg.metrics_token_file = dup_or_null(cfg->metrics_token_file);
    b->wake[0] = b->wake[1] = -1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pipe2(b->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        log_error("broker pipe failed: %s", strerror(errno));
        b->wake[0] = b->wake[1] = -1;
        rc = ERR_IO;
        goto fail;
    }
    b->start_ms = now_mono_ms();
    b->mono0_ms = b->start_ms;
    b->wall0_ms = now_wall_ms();
    b->batch_gen = 1;
    b->rng = now_mono_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
    if (!b->rng)
        b->rng = 1;
    store_cfg_t sc = { b->cfg.data_dir, b->cfg.map_size, b->cfg.map_limit,
                       (unsigned)b->cfg.max_readers };
    rc = store_open(&b->store, &sc);
    if (rc)
        goto fail;
    /* No lease survives a restart: whoever held one reconnects and either
     * finishes first (its Done still matches the attempt) or loses it.
     * The same txn reserves the first block of job ids. */
    store_counts(b->store, &b->counts);
    b->next_id = b->counts.last_id + 1;
    for (int i = 0; i < MAX_FLUSH_TRIES; i++) {
        uint64_t n = 0;
        rc = store_txn_begin(b->store);
        if (rc)
            goto fail;
        rc = store_requeue_leased(b->store, bloop_clock_ms(b), &n);
        if (rc == 0)
            rc = store_reserve_ids(b->store, b->next_id + ID_BLOCK);
        if (rc) {
            store_txn_abort(b->store);
            if (rc == ERR_AGAIN)
                continue;
            goto fail;
        }
        rc = store_txn_commit(b->store);
        if (rc == ERR_AGAIN)
            continue;
        if (rc)
            goto fail;
        b->id_durable = b->id_asked = b->next_id + ID_BLOCK;
        if (n)
            log_info("broker requeued leased jobs count=%llu",
                     (unsigned long long)n);
        break;
    }
    b->ctx = zmq_ctx_new();
    if (!b->ctx ||
        zmq_ctx_set(b->ctx, ZMQ_IO_THREADS, (int)b->cfg.io_threads) != 0) {
        log_error("broker cannot make its ZeroMQ context: %s",
                  zmq_strerror(errno));
        rc = ERR_IO;
        goto fail;
    }
    if (b->cfg.key_file && *b->cfg.key_file) {
        rc = curve_read_secret(b->cfg.key_file, &b->keys);
        if (rc == ERR_OK)
            rc = auth_open(&b->auth, b->ctx, b->cfg.allow);
        if (rc)
            goto fail;
        log_info("broker CURVE on key=%.8s allow=%s", b->keys.public_key,
                 b->cfg.allow);
    }
    if ((rc = sock_open(b, &b->front, ZMQ_ROUTER, b->cfg.frontend,
                        AUTH_DOMAIN_FRONTEND)) ||
        !(b->front_bound = true) ||
        (rc = sock_open(b, &b->back, ZMQ_ROUTER, b->cfg.backend,
                        AUTH_DOMAIN_BACKEND)) ||
        !(b->back_bound = true) ||
        (rc = sock_open(b, &b->pub, ZMQ_XPUB, b->cfg.publisher,
                        AUTH_DOMAIN_PUBLISHER)))
        goto fail;
    b->pub_bound = true;
    metrics_cfg_t mc = { b->cfg.metrics, b->cfg.metrics_token_file,
                         b->cfg.metrics_insecure, b->cfg.health_stall_ms,
                         (uint64_t)b->cfg.max_queued };
    if ((rc = metrics_open(&b->metrics, &mc)) != 0)
        goto fail;
    store_counts(b->store, &b->counts);
    const store_counts_t c = b->counts;
    log_info("listening frontend=%s backend=%s publisher=%s ready=%llu "
             "delayed=%llu done=%llu dead=%llu last_seq=%llu",
             b->cfg.frontend, b->cfg.backend, b->cfg.publisher,
             (unsigned long long)c.ready, (unsigned long long)c.delayed,
             (unsigned long long)c.done, (unsigned long long)c.dead,
             (unsigned long long)c.last_seq);
    *out = b;
    return ERR_OK;
fail:
    broker_destroy(&b);
    return rc;
}

bool
broker_is_healthy(const broker_t *b)
{
    /* b->fatal follows store_is_broken (an atomic), read from any thread */
    return b && !store_is_broken(b->store);
}

void
broker_request_stop(broker_t *b)
{
    if (b)
        b->stop = 1;
}

void
broker_request_reload(broker_t *b)
{
    if (b)
        b->reload = 1;
}

int
broker_run(broker_t *b)
{
    assert(b);
    int rc = ERR_OK;
    zmq_pollitem_t items[3] = { { b->front, 0, ZMQ_POLLIN, 0 },
                                { b->back, 0, ZMQ_POLLIN, 0 },
                                { NULL, b->wake[0], ZMQ_POLLIN, 0 } };
    b->quit = false;
    if (pthread_create(&b->committer, NULL, bcommit_committer_main, b) != 0) {
        log_error("broker cannot start the committer thread");
        return ERR_INTERNAL;
    }
    b->thread_up = true;
    b->next_tick_ms = now_mono_ms() + TICK_MS;
    for (;;) {
        if (b->fatal || store_is_broken(b->store)) {
            if (!b->fatal)
                log_error("broker exiting: the store is unusable (see the "
                          "store line above); a restart recovers it, nothing "
                          "committed is lost");
            rc = ERR_IO; /* crash-only: the normal start is the recovery */
            break;
        }
        if (b->stop && !b->draining) {
            b->draining = true;
            log_info("broker stopping: draining pending=%zu", b->n_ops);
            bstats_publish_metrics(b);
        }
        if (blease_can_dispatch(b))
            blease_dispatch(b);
        /* Due retries open a batch like a request does, so they share the
         * next group commit. */
        if (!b->batch_open && !b->draining && b->promote_due) {
            b->batch_open = true;
            b->batch_start_us = now_mono_us();
        }
        long timeout = TICK_MS;
        uint64_t now_us = now_mono_us();
        if (b->batch_open && !b->committing) {
            uint64_t end = bcommit_batch_due_at(b);
            timeout = end > now_us ? (long)((end - now_us + 999) / 1000) : 0;
        }
        if (b->draining)
            timeout = 0;
        /* A full batch while the committer works: requests stay in the
         * sockets (backpressure) until it is done, so wait for the
         * committer, not for the sockets, which would report them again
         * at once and spin the loop for the whole commit. */
        short want = bcommit_batch_full(b) && b->committing ? 0 : ZMQ_POLLIN;
        items[0].events = items[1].events = want;
        bout_flush_out(b); /* what this pass produced, one frame per peer */
        if (zmq_poll(items, 3, timeout) < 0 && errno != EINTR) {
            log_error("broker poll failed: %s", zmq_strerror(errno));
            rc = ERR_IO;
            break;
        }
        if (items[2].revents & ZMQ_POLLIN)
            bcommit_reap_commit(b, false);
        for (int s = 0; s < 2; s++) {
            void *sock = s == 0 ? b->front : b->back;
            for (int k = 0; k < PER_POLL; k++) {
                if (bcommit_batch_full(b)) {
                    if (b->committing)
                        break; /* backpressure: leave it in the socket */
                    bcommit_start_commit(b);
                }
                route_t rt;
                zmq_msg_t env;
                if (bout_recv_msg(sock, &rt, &env) <= 0)
                    break;
                on_frame(b, sock, &rt, &env);
                zmq_msg_close(&env);
                bout_route_free(&rt);
                bcommit_service_commit(b);
            }
        }
        if (b->draining) {
            bcommit_reap_commit(b, true);
            if (b->n_ops) {
                bcommit_start_commit(b);
                bcommit_reap_commit(b, true);
            }
            log_info("broker stopped submitted=%llu committed=%llu",
                     (unsigned long long)b->submitted_total,
                     (unsigned long long)b->committed_total);
            break;
        }
        uint64_t now_ms = now_mono_ms();
        if (now_ms >= b->next_tick_ms) {
            tick(b);
            b->next_tick_ms = now_ms + TICK_MS;
            if (b->pub_failed) {
                rc = ERR_IO;
                break;
            }
        }
        /* Dispatch before a commit so workers run while we fsync. */
        if (blease_can_dispatch(b))
            blease_dispatch(b);
        if (!b->committing && b->batch_open &&
            bcommit_batch_due(b, now_mono_us()))
            bcommit_start_commit(b);
    }
    bcommit_reap_commit(b, true);
    bout_flush_out(b);
    pthread_mutex_lock(&b->mu);
    b->quit = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->committer, NULL);
    b->thread_up = false;
    return rc;
}

static void
unlink_ipc(const char *endpoint)
{
    if (!endpoint || strncmp(endpoint, "ipc://", 6) != 0 || !endpoint[6] ||
        endpoint[6] == '@')
        return; /* not a file (tcp, or a Linux abstract socket) */
    if (unlink(endpoint + 6) != 0 && errno != ENOENT)
        log_warn("broker cannot remove socket file path=%s: %s", endpoint + 6,
                 strerror(errno));
}

void
broker_destroy(broker_t **bp)
{
    if (!bp || !*bp)
        return;
    broker_t *b = *bp;
    for (size_t i = 0; i < b->n_ops; i++)
        bcommit_op_free(&b->ops[i]);
    free(b->ops);
    for (size_t i = 0; i < b->n_cops; i++)
        bcommit_op_free(&b->cops[i]);
    free(b->cops);
    if (b->wake[0] >= 0)
        close(b->wake[0]);
    if (b->wake[1] >= 0)
        close(b->wake[1]);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b->leases.slots);
    for (size_t i = 0; i < b->n_workers; i++)
        blease_worker_free(b->workers[i]);
    free(b->workers);
    for (size_t i = 0; i < b->n_topics; i++)
        free(b->topics[i]);
    for (size_t i = 0; i < b->n_out; i++) {
        wire_batch_free(&b->out[i].batch);
        bout_route_free(&b->out[i].route);
    }
    if (b->front)
        zmq_close(b->front);
    if (b->back)
        zmq_close(b->back);
    if (b->pub)
        zmq_close(b->pub);
    /* the ZAP handler's socket is on ctx: it closes before ctx ends */
    auth_destroy(&b->auth);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    memset(&b->keys, 0, sizeof b->keys);
    /* libzmq leaves the socket file of a bound ipc:// endpoint behind;
     * remove the ones this broker bound (its sockets are all closed). */
    unlink_ipc(b->front_bound ? b->cfg.frontend : NULL);
    unlink_ipc(b->back_bound ? b->cfg.backend : NULL);
    unlink_ipc(b->pub_bound ? b->cfg.publisher : NULL);
    metrics_destroy(&b->metrics); /* before the store: its thread stops */
    store_destroy(&b->store);
    broker_cfg_free(&b->cfg);
    free(b);
    *bp = NULL;
}
