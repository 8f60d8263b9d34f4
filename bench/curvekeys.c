/*
 * curvekeys: key pairs and an allow-list for bench_pipeline --curve.
 */
#include "curvekeys.h"

#include "../common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* Write DIR/NAME.key and .pub; with a role, link the .pub into the
 * allow-list directory. (A directory, not a "ROLE KEY NAME" file: the
 * broker reads '#' in such a file as a comment, and Z85 keys contain it.) */
static int
make_one(curvekeys_t *k, const char *name, const char *role, curve_pair_t *out)
{
    curve_pair_t kp;
    int rc = curve_generate(&kp);
    if (rc == ERR_OK)
        rc = curve_write_pair(k->dir, name, &kp, role, true);
    if (rc != ERR_OK) {
        fprintf(stderr, "bench: cannot make the key %s in %s: %s\n", name,
                k->dir, err_str(rc));
        return rc;
    }
    char from[2 * PATH_MAX], to[2 * PATH_MAX];
    snprintf(from, sizeof from, "%s/%s.pub", k->dir, name);
    snprintf(to, sizeof to, "%s/%s.pub", k->allow_file, name);
    if (role && link(from, to) != 0) {
        fprintf(stderr, "bench: link %s %s: %s\n", from, to, strerror(errno));
        return ERR_IO;
    }
    if (out)
        *out = kp;
    return ERR_OK;
}

int
curvekeys_make(curvekeys_t *k, const char *dir)
{
    memset(k, 0, sizeof *k);
    int rc = ERR_IO;
    curve_pair_t broker;
    snprintf(k->dir, sizeof k->dir, "%s/keys", dir);
    snprintf(k->broker_key_file, sizeof k->broker_key_file, "%s/broker.key",
             k->dir);
    snprintf(k->broker_pub_file, sizeof k->broker_pub_file, "%s/broker.pub",
             k->dir);
    snprintf(k->allow_file, sizeof k->allow_file, "%s/allow", k->dir);
    if (mkdir(k->dir, 0700) != 0 || mkdir(k->allow_file, 0700) != 0) {
        fprintf(stderr, "bench: mkdir %s: %s\n", k->dir, strerror(errno));
        return ERR_IO;
    }
    rc = make_one(k, "broker", NULL, &broker);
    if (rc == ERR_OK)
        rc = make_one(k, "bench", "client", &k->client);
    if (rc == ERR_OK)
        rc = make_one(k, "bench-sub", "consumer", &k->consumer);
    for (unsigned w = 0; w < CURVEKEYS_WORKERS && rc == ERR_OK; w++) {
        char name[32];
        snprintf(name, sizeof name, "worker%u", w);
        rc = make_one(k, name, "worker", NULL);
    }
    if (rc != ERR_OK)
        return rc;
    memcpy(k->server_key, broker.public_key, sizeof k->server_key);
    k->on = true;
    return ERR_OK;
}

void
curvekeys_worker_file(const curvekeys_t *k, unsigned w, char *buf, size_t size)
{
    snprintf(buf, size, "%s/worker%u.key", k->dir, w);
}

int
curvekeys_apply(const curvekeys_t *k, void *sock)
{
    if (!k || !k->on)
        return ERR_OK;
    int type = 0;
    size_t len = sizeof type;
    if (zmq_getsockopt(sock, ZMQ_TYPE, &type, &len) != 0)
        return ERR_IO;
    return curve_client_apply(sock, type == ZMQ_SUB ? &k->consumer : &k->client,
                              k->server_key);
}
