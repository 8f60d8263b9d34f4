/*
 * curvekeys: the key pairs bench_pipeline --curve makes in a run's temp
 * dir (the broker's, a client's, a consumer's for the SUB, one per worker)
 * and the allow-list directory holding their .pub files, so that a run
 * measures the deployed configuration: CURVE on every socket, the ZAP
 * handler checking every handshake and the broker every message.
 */
#ifndef EXCERPT_CURVEKEYS_H
#define EXCERPT_CURVEKEYS_H

#include "../proto/curve.h"

#include <limits.h>
#include <stdbool.h>

/* Most workers that get a key (bench_pipeline starts at most 16). */
#define CURVEKEYS_WORKERS 16

typedef struct curvekeys {
    bool on;                        /* false: CURVE off, nothing made */
    char dir[PATH_MAX - 32];        /* where the files are */
    char broker_key_file[PATH_MAX]; /* the broker's --key-file */
    char broker_pub_file[PATH_MAX]; /* everyone's --broker-key-file */
    char allow_file[PATH_MAX];      /* the broker's --allow (a dir) */
    curve_pair_t client;            /* the bench's DEALERs: role client */
    curve_pair_t consumer;          /* the bench's SUB: role consumer */
    char server_key[CURVE_KEY_Z85]; /* the broker's public key */
} curvekeys_t;

/*
 * Make DIR/keys with fresh pairs for the broker, the bench's client and
 * consumer and CURVEKEYS_WORKERS workers (worker0...), and DIR/keys/allow
 * (a directory) with the .pub of each but the broker's; fill *k (k->on =
 * true). dir must exist.
 * Errors: ERR_IO (printed), ERR_INTERNAL (libzmq without CURVE).
 */
int curvekeys_make(curvekeys_t *k, const char *dir);

/* The --key-file of worker w (w < CURVEKEYS_WORKERS) into buf. */
void curvekeys_worker_file(const curvekeys_t *k, unsigned w, char *buf,
                           size_t size);

/*
 * Put sock (not yet connected) under CURVE as the bench's consumer when
 * it is a SUB, else as its client; nothing when k is NULL or off.
 * Errors: ERR_INVAL, ERR_IO (from curve_client_apply).
 */
int curvekeys_apply(const curvekeys_t *k, void *sock);

#endif
