/*
 * broker_pub: the XPUB publisher: subscription topics, the Committed
 * notifications of a group commit, and rebinding the endpoint.
 */
#include "broker_int.h"

#define TOPIC_ONE "committed" /* one Committed per result */
#define TOPIC_GROUP "group"   /* the Committed of one group commit */

/* A subscription message from the XPUB socket: byte 1 (subscribe) or 0
 * (unsubscribe), then the topic prefix. XPUB passes on the first
 * subscription to a prefix and the last unsubscription only. */
static void
topic_update(broker_t *b, const uint8_t *d, size_t n)
{
    if (n < 1 || d[0] > 1)
        return;
    const char *t = (const char *)d + 1;
    size_t tl = n - 1;
    for (size_t i = 0; i < b->n_topics; i++) {
        if (b->topic_len[i] != tl || memcmp(b->topics[i], t, tl))
            continue;
        if (d[0] == 0) {
            free(b->topics[i]);
            b->topics[i] = b->topics[b->n_topics - 1];
            b->topic_len[i] = b->topic_len[b->n_topics - 1];
            b->n_topics--;
        }
        return;
    }
    if (d[0] == 0)
        return;
    if (b->n_topics == MAX_TOPICS) {
        b->topics_full = true; /* can no longer tell: publish everything */
        return;
    }
    b->topics[b->n_topics] = xmalloc(tl ? tl : 1);
    memcpy(b->topics[b->n_topics], t, tl);
    b->topic_len[b->n_topics++] = tl;
}

/* Take in the subscriptions that reached the publisher so far. */
void
bpub_read_subscriptions(broker_t *b)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, b->pub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        topic_update(b, zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
    }
}

/* Whether some subscriber receives topic (its subscription is a prefix). */
static bool
topic_wanted(const broker_t *b, const char *topic)
{
    if (b->topics_full)
        return true;
    size_t n = strlen(topic);
    for (size_t i = 0; i < b->n_topics; i++)
        if (b->topic_len[i] <= n &&
            !memcmp(b->topics[i], topic, b->topic_len[i]))
            return true;
    return false;
}

static void
pub_send(broker_t *b, const char *topic, const uint8_t *buf, size_t len)
{
    if (zmq_send(b->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0 ||
        zmq_send(b->pub, buf, len, ZMQ_DONTWAIT) < 0)
        log_warn("broker publish failed topic=%s: %s", topic,
                 zmq_strerror(errno));
}

static wire_batch_t *
group_room(void *ud, size_t n)
{
    (void)n;
    return ud;
}

/* After a commit: its results on the topics somebody subscribed to, one
 * message per result ("committed") and one frame for the group ("group"). */
void
bpub_publish(broker_t *b)
{
    bpub_read_subscriptions(b);
    bool one = topic_wanted(b, TOPIC_ONE), group = topic_wanted(b, TOPIC_GROUP);
    if (!one && !group)
        return;
    wire_batch_t g;
    wire_batch_init(&g);
    for (size_t i = 0; i < b->n_cops; i++) {
        const op_t *op = &b->cops[i];
        if (op->type != OP_DONE || op->rc != 0)
            continue;
        wire_msg_t m;
        uint8_t *buf = NULL;
        size_t len = 0;
        memset(&m, 0, sizeof m);
        m.kind = WIRE_COMMITTED;
        m.u.committed.seq = op->seq;
        m.u.committed.job_id = op->job_id;
        m.u.committed.key = op->done_key;
        if (!one) { /* the group frame only: no buffer of its own */
            (void)wire_encode_into(&m, group_room, &g);
            continue;
        }
        if (wire_encode(&m, &buf, &len) != 0)
            continue;
        pub_send(b, TOPIC_ONE, buf, len);
        if (group)
            wire_batch_add(&g, buf, len);
        free(buf);
    }
    uint8_t *frame = NULL;
    size_t len = 0;
    if (g.n > 0 && wire_batch_finish(&g, &frame, &len) == ERR_OK) {
        pub_send(b, TOPIC_GROUP, frame, len);
        free(frame);
    }
    wire_batch_free(&g);
}

/* Unbind the publisher's endpoint, which drops every subscriber's
 * connection, and bind it again. The old listener closes in libzmq's I/O
 * thread, so the bind is retried for a moment. */
int
bpub_rebind_pub(broker_t *b)
{
    if (zmq_unbind(b->pub, b->cfg.publisher) != 0) {
        log_error("broker unbind failed endpoint=%s: %s", b->cfg.publisher,
                  zmq_strerror(errno));
        return ERR_IO;
    }
    for (int i = 0; i < 200; i++) {
        if (zmq_bind(b->pub, b->cfg.publisher) == 0)
            return ERR_OK;
        if (errno != EADDRINUSE)
            break;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    log_error("broker bind failed endpoint=%s: %s", b->cfg.publisher,
              zmq_strerror(errno));
    return ERR_IO;
}
