/*
 * clientopt: the flags every broker-talking subcommand shares (--endpoint,
 * --data-dir, --timeout), how the endpoint is chosen, and how client
 * status codes become exit codes.
 */
#ifndef EXCERPT_CLIENTOPT_H
#define EXCERPT_CLIENTOPT_H

#include "../client/client.h"
#include "../common/cfg.h"
#include "../storage/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Default data directory of `excerpt run` and `excerpt serve`. */
#define CLIENTOPT_DATA_DIR "./excerpt-data"
/* Default frontend of a standalone excerpt-broker. */
#define CLIENTOPT_TCP_ENDPOINT "tcp://127.0.0.1:7440"

typedef struct clientopt {
    const char *endpoint;        /* --endpoint, borrowed from argv, or NULL */
    const char *data_dir;        /* --data-dir, borrowed from argv, or NULL */
    uint64_t timeout_ms;         /* --timeout per attempt, 0: client default */
    const char *key_file;        /* --key-file, or $EXCERPT_KEY_FILE */
    const char *broker_key_file; /* --broker-key-file, or the env */
    bool curve;                  /* keys loaded (clientopt_keys) */
    curve_pair_t keys;           /* this client's key pair */
    char server_key[CURVE_KEY_Z85]; /* the broker's public key */
    char resolved[4200];            /* endpoint actually used */
} clientopt_t;

/* The shared flags (--endpoint E, --data-dir D, --timeout MS, --key-file
 * F, --broker-key-file F) as a cfg table filling a clientopt_t. */
extern const cfg_entry_t clientopt_table[];
extern const size_t clientopt_table_len;

/* The shared flags as a group for cfg_cli_parse, filling o (NULL when
 * only printing usage). */
cfg_group_t clientopt_group(clientopt_t *o);

/*
 * Open a client on the chosen endpoint: --endpoint, else $EXCERPT_ENDPOINT,
 * else ipc://DIR/frontend.sock for --data-dir DIR, else the socket of
 * ./excerpt-data when it exists, else tcp://127.0.0.1:7440. Prints a
 * message and returns an exit code on failure, CLI_EXIT_OK on success.
 */
int clientopt_open(clientopt_t *o, const char *prefix, client_t **out);

/*
 * Load the CURVE keys named by --key-file/--broker-key-file (or
 * $EXCERPT_KEY_FILE and $EXCERPT_BROKER_KEY_FILE): o->curve tells whether there
 * are any. Called by clientopt_open; call it before opening other sockets
 * (tail's SUB). Prints a message and returns an exit code on failure.
 */
int clientopt_keys(clientopt_t *o, const char *prefix);

/*
 * For the commands that only read (stats, get, query): a broker when one
 * listens at the endpoint clientopt_open would use (*client open, *store
 * NULL); else, or always with read_only, the store of the data dir
 * (--data-dir, else ./excerpt-data when it holds one) opened read-only
 * beside any broker that writes it (*store open, *client NULL, a note on
 * stderr unless read_only). With neither, it says at once that no broker
 * is running and returns CLI_EXIT_UNAVAIL. Returns CLI_EXIT_OK or an exit
 * code (message printed).
 */
int clientopt_open_or_store(clientopt_t *o, const char *prefix, bool read_only,
                            client_t **client, store_t **store);

/* Exit code for a client status: ERR_TIMEOUT, ERR_CLOSED, ERR_IO ->
 * CLI_EXIT_UNAVAIL, ERR_NOTFOUND -> CLI_EXIT_NOTFOUND, others FAIL. */
int clientopt_exit_code(int rc);

/* Help lines for the shared flags. */
void clientopt_usage(FILE *out);

/* Parse a non-negative decimal integer (whole string). */
bool clientopt_parse_u64(const char *s, uint64_t *out);

#endif
