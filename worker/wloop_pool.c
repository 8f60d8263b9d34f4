/*
 * wloop_pool: extraction threads sharing one immutable extract_t. Jobs in
 * through a mutex + condvar queue, finished envelopes out through a done
 * list plus, only while the socket thread sleeps in poll, a byte on a
 * non-blocking pipe it polls beside its ZeroMQ socket. The socket thread
 * may also run a job itself (wloop_pool_run_here) with the same engine.
 */
#include "wloop_pool.h"

#include "extract.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pjob {
    struct pjob *next; /* queue link */
    wire_msg_t msg;    /* the decoded Dispatch, owned */
} pjob_t;

struct wloop_pool {
    pthread_mutex_t mu;      /* guards everything below up to busy */
    pthread_cond_t cv;       /* signalled when a job is queued or on stop */
    pjob_t *head, *tail;     /* queued jobs */
    wloop_done_t *done;      /* finished jobs, oldest first */
    wloop_done_t *done_tail; /* last finished job */
    size_t queued;           /* jobs in the queue */
    size_t busy;             /* threads inside a job */
    bool stop;               /* threads exit when set */
    bool sleeping;           /* socket thread blocks: next result wakes it */
    extract_t *ex;           /* the shared engine */
    uint64_t max_text;       /* longer texts fail */
    int wake[2];             /* pipe: [0] polled, [1] written */
    pthread_t *tids;         /* started threads */
    size_t n_tids;           /* number of started threads */
};

static void
fail_env(wloop_done_t *d, const char *reason, bool permanent)
{
    wire_msg_t m = { 0 };
    m.kind = WIRE_FAILED;
    m.u.failed.job_id = d->job_id;
    m.u.failed.attempt = d->attempt;
    m.u.failed.reason = reason;
    m.u.failed.permanent = permanent;
    d->failed = true;
    d->permanent = permanent;
    d->extract_us = 0;
    free(d->env);
    d->env = NULL;
    d->env_len = 0;
    if (wire_encode(&m, &d->env, &d->env_len) != ERR_OK) {
        /* Failed always encodes; a failure here is a bug in wire. */
        log_error("job=%" PRIu64 " cannot encode Failed", d->job_id);
    }
}

static const char *
source_of(const wire_job_t *j)
{
    if (j->source_url && *j->source_url)
        return j->source_url;
    if (j->title && *j->title)
        return j->title;
    return "";
}

/* Extract one job and encode the answer; never fails (a failure becomes a
 * Failed envelope). */
static wloop_done_t *
run_job(wloop_pool_t *p, const wire_msg_t *msg)
{
    const wire_job_t *j = &msg->u.dispatch.job;
    wloop_done_t *d = xcalloc(1, sizeof *d);
    result_t *r = NULL;
    char reason[200];

    d->job_id = j->id;
    d->attempt = msg->u.dispatch.attempt;
    if (j->text_len > p->max_text) {
        snprintf(reason, sizeof reason,
                 "text of %zu bytes is over this worker's max-text of "
                 "%" PRIu64 " bytes",
                 j->text_len, p->max_text);
        log_warn("job=%" PRIu64 " attempt=%" PRIu32 " refused: %s", d->job_id,
                 d->attempt, reason);
        fail_env(d, reason, false);
        return d;
    }
    uint64_t t0 = now_mono_us();
    int rc = extract_run(p->ex, j->text ? j->text : "", j->text_len, &r);
    if (rc != ERR_OK) {
        snprintf(reason, sizeof reason, "extraction failed: %s", err_str(rc));
        log_warn("job=%" PRIu64 " attempt=%" PRIu32 " %s", d->job_id,
                 d->attempt, reason);
        fail_env(d, reason, rc == ERR_TOOBIG);
        return d;
    }
    r->job_id = d->job_id;
    const char *src = source_of(j);
    r->source = result_strndup(r, src, strlen(src));
    if (r->extract_us == 0)
        r->extract_us = now_mono_us() - t0;
    d->extract_us = r->extract_us;
    size_t env_len = 0;
    rc = wire_done_encode(d->job_id, d->attempt, r, &d->env, &env_len);
    result_destroy(&r);
    if (rc != ERR_OK) {
        /* The same text gives the same result anywhere: do not retry. */
        if (rc == ERR_TOOBIG)
            snprintf(reason, sizeof reason,
                     "result does not fit in a frame (Done of %zu bytes, "
                     "limit %u)",
                     env_len, WIRE_MAX_FRAME);
        else
            snprintf(reason, sizeof reason, "result does not encode: %s",
                     err_str(rc));
        log_warn("job=%" PRIu64 " %s", d->job_id, reason);
        fail_env(d, reason, true);
        return d;
    }
    d->env_len = env_len;
    return d;
}

static void *
pool_main(void *arg)
{
    wloop_pool_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && !p->head)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pjob_t *j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->busy++;
        pthread_mutex_unlock(&p->mu);

        wloop_done_t *d = run_job(p, &j->msg);
        wire_msg_release(&j->msg);
        free(j);

        pthread_mutex_lock(&p->mu);
        /* A wake byte only when the socket thread sleeps in poll (at most
         * one per sleep): awake, it takes the list before it blocks again
         * (wloop_pool_sleep_begin refuses to sleep on a non-empty list). */
        bool wake = p->sleeping;
        p->sleeping = false;
        if (p->done_tail)
            p->done_tail->next = d;
        else
            p->done = d;
        p->done_tail = d;
        p->busy--;
        pthread_mutex_unlock(&p->mu);
        if (wake)
            wloop_pool_wake(p);
    }
    return NULL;
}

int
wloop_pool_open(wloop_pool_t **out, size_t threads, uint64_t max_text)
{
    wloop_pool_t *p = xcalloc(1, sizeof *p);
    int rc;
    p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->max_text = max_text;
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        log_error("worker: pipe failed: %s", strerror(errno));
        p->wake[0] = p->wake[1] = -1;
        wloop_pool_destroy(&p);
        return ERR_IO;
    }
    p->ex = extract_new();
    p->tids = xcalloc(threads, sizeof *p->tids);
    for (size_t i = 0; i < threads; i++) {
        rc = pthread_create(&p->tids[i], NULL, pool_main, p);
        if (rc != 0) {
            log_error("worker: cannot start thread %zu of %zu: %s", i + 1,
                      threads, strerror(rc));
            wloop_pool_destroy(&p);
            return ERR_IO;
        }
        p->n_tids++;
    }
    *out = p;
    return ERR_OK;
}

int
wloop_pool_wake_fd(const wloop_pool_t *p)
{
    return p->wake[0];
}

void
wloop_pool_wake(wloop_pool_t *p)
{
    int saved = errno;
    /* A full pipe already wakes the reader; nothing is lost. */
    ssize_t n = write(p->wake[1], "w", 1);
    (void)n;
    errno = saved;
}

void
wloop_pool_clear_wake(wloop_pool_t *p)
{
    char buf[256];
    /* A short read emptied the pipe; skip the read that says EAGAIN. */
    while (read(p->wake[0], buf, sizeof buf) == (ssize_t)sizeof buf) {
    }
}

bool
wloop_pool_sleep_begin(wloop_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    bool sleep = p->done == NULL;
    p->sleeping = sleep;
    pthread_mutex_unlock(&p->mu);
    return sleep;
}

void
wloop_pool_sleep_end(wloop_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    p->sleeping = false;
    pthread_mutex_unlock(&p->mu);
}

wloop_done_t *
wloop_pool_run_here(wloop_pool_t *p, wire_msg_t *dispatch)
{
    wloop_done_t *d = run_job(p, dispatch);
    wire_msg_release(dispatch);
    return d;
}

void
wloop_pool_push(wloop_pool_t *p, wire_msg_t *dispatch)
{
    pjob_t *j = xcalloc(1, sizeof *j);
    j->msg = *dispatch;
    memset(dispatch, 0, sizeof *dispatch);
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

wloop_done_t *
wloop_pool_take_done(wloop_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    wloop_done_t *d = p->done;
    p->done = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    return d;
}

void
wloop_done_free(wloop_done_t *d)
{
    if (!d)
        return;
    free(d->env);
    free(d);
}

size_t
wloop_pool_pending(wloop_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->queued + p->busy;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void
wloop_pool_destroy(wloop_pool_t **pp)
{
    wloop_pool_t *p = pp ? *pp : NULL;
    if (!p)
        return;
    *pp = NULL;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    size_t busy = p->busy;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (busy > 0) {
        log_warn("worker: leaving %zu extraction(s) running at exit", busy);
        for (size_t i = 0; i < p->n_tids; i++)
            pthread_detach(p->tids[i]);
        return; /* p and its engine stay alive for those threads */
    }
    for (size_t i = 0; i < p->n_tids; i++)
        pthread_join(p->tids[i], NULL);
    while (p->head) {
        pjob_t *j = p->head;
        p->head = j->next;
        wire_msg_release(&j->msg);
        free(j);
    }
    while (p->done) {
        wloop_done_t *d = p->done;
        p->done = d->next;
        wloop_done_free(d);
    }
    free(p->tids);
    extract_destroy(&p->ex);
    if (p->wake[0] >= 0)
        close(p->wake[0]);
    if (p->wake[1] >= 0)
        close(p->wake[1]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
