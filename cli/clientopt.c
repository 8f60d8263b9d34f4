/*
 * clientopt: shared flags of the subcommands that talk to a broker and the
 * mapping of client status codes to exit codes.
 */
#include "clientopt.h"

#include "../client/probe.h"
#include "../common/err.h"
#include "../common/log.h"
#include "cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool
clientopt_parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

#define OFF(f) offsetof(clientopt_t, f)
const cfg_entry_t clientopt_table[] = {
    { "endpoint", CFG_STRING, OFF(endpoint), NULL, 1, 0,
      "E\tbroker frontend (default: $EXCERPT_ENDPOINT, else "
      "ipc://DATA_DIR/frontend.sock, else the socket of ./excerpt-data if "
      "present, else " CLIENTOPT_TCP_ENDPOINT ")" },
    { "data-dir", CFG_STRING, OFF(data_dir), NULL, 1, 0,
      "D\ttalk to the `excerpt run/serve` of data dir D" },
    { "timeout", CFG_MS, OFF(timeout_ms), NULL, 1, 3600000,
      "MS\twait per attempt before retrying (default 5000)" },
    { "key-file", CFG_STRING, OFF(key_file), NULL, 1, 0,
      "F\tthis client's CURVE secret key file (excerpt keygen; default "
      "$EXCERPT_KEY_FILE)" },
    { "broker-key-file", CFG_STRING, OFF(broker_key_file), NULL, 1, 0,
      "F\tthe broker's public key file (default $EXCERPT_BROKER_KEY_FILE)" },
};
const size_t clientopt_table_len =
    sizeof clientopt_table / sizeof clientopt_table[0];

cfg_group_t
clientopt_group(clientopt_t *o)
{
    return (cfg_group_t){ clientopt_table, clientopt_table_len, o, 0 };
}

static bool
is_socket(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

int
clientopt_keys(clientopt_t *o, const char *prefix)
{
    if (o->curve)
        return CLI_EXIT_OK;
    const char *k = o->key_file ? o->key_file : getenv("EXCERPT_KEY_FILE");
    const char *bk = o->broker_key_file ? o->broker_key_file
                                        : getenv("EXCERPT_BROKER_KEY_FILE");
    if (curve_load_client(k, bk, &o->curve, &o->keys, o->server_key)) {
        fprintf(
            stderr,
            "%s: cannot use the CURVE keys (--key-file %s, --broker-key-file %s): "
            "see the message above\n",
            prefix, k && *k ? k : "-", bk && *bk ? bk : "-");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int
clientopt_open(clientopt_t *o, const char *prefix, client_t **out)
{
    int ex = clientopt_keys(o, prefix);
    if (ex)
        return ex;
    const char *env = getenv("EXCERPT_ENDPOINT");
    char sock[256];
    snprintf(sock, sizeof sock, "%s/frontend.sock", CLIENTOPT_DATA_DIR);
    if (o->endpoint)
        snprintf(o->resolved, sizeof o->resolved, "%s", o->endpoint);
    else if (env && *env)
        snprintf(o->resolved, sizeof o->resolved, "%s", env);
    else if (o->data_dir)
        snprintf(o->resolved, sizeof o->resolved, "ipc://%s/frontend.sock",
                 o->data_dir);
    else if (is_socket(sock))
        snprintf(o->resolved, sizeof o->resolved, "ipc://%s", sock);
    else
        snprintf(o->resolved, sizeof o->resolved, "%s", CLIENTOPT_TCP_ENDPOINT);
    client_opts_t co = { .timeout_ms = (uint32_t)o->timeout_ms };
    if (o->curve) {
        co.curve = &o->keys;
        co.server_key = o->server_key;
    }
    int rc = client_open(out, o->resolved, &co);
    if (rc == ERR_INVAL) {
        fprintf(stderr, "%s: bad endpoint \"%s\"\n", prefix, o->resolved);
        return CLI_EXIT_USAGE;
    }
    if (rc) {
        fprintf(stderr, "%s: cannot open a client for %s: %s\n", prefix,
                o->resolved, err_str(rc));
        return CLI_EXIT_UNAVAIL;
    }
    return CLI_EXIT_OK;
}

/* How long a tcp endpoint may take to accept a connection before the
 * command decides that no broker is there. */
#define PROBE_MS 1000u

/* The data dir to read when no broker answers, or NULL. */
static const char *
store_dir(const clientopt_t *o)
{
    static const char def[] = CLIENTOPT_DATA_DIR;
    struct stat st;
    if (o->data_dir)
        return o->data_dir;
    if (!o->endpoint && stat(CLIENTOPT_DATA_DIR "/data.mdb", &st) == 0)
        return def;
    return NULL;
}

static int
open_store(const char *dir, const char *prefix, store_t **store)
{
    /* the store logs its own failures; keep them as terse as the CLI */
    int rc = store_open_readonly(store, dir);
    if (rc == ERR_OK)
        return CLI_EXIT_OK;
    if (rc == ERR_NOTFOUND)
        fprintf(stderr, "%s: no store in %s\n", prefix, dir);
    else
        fprintf(stderr, "%s: cannot read the store in %s: %s\n", prefix, dir,
                err_str(rc));
    return CLI_EXIT_UNAVAIL;
}

int
clientopt_open_or_store(clientopt_t *o, const char *prefix, bool read_only,
                        client_t **client, store_t **store)
{
    *client = NULL;
    *store = NULL;
    if (read_only) {
        const char *dir = store_dir(o);
        if (!dir) {
            fprintf(stderr, "%s: --read-only needs --data-dir DIR\n", prefix);
            return CLI_EXIT_USAGE;
        }
        return open_store(dir, prefix, store);
    }
    int status = clientopt_open(o, prefix, client);
    if (status)
        return status;
    if (probe_endpoint(o->resolved, PROBE_MS) != ERR_CLOSED)
        return CLI_EXIT_OK; /* listening, or cannot tell: ask it */
    client_destroy(client);
    const char *dir = store_dir(o);
    if (!dir) {
        fprintf(stderr,
                "%s: no broker is running at %s (start one, or give "
                "--data-dir DIR to read a store)\n",
                prefix, o->resolved);
        return CLI_EXIT_UNAVAIL;
    }
    fprintf(stderr, "%s: no broker at %s; reading %s read-only\n", prefix,
            o->resolved, dir);
    return open_store(dir, prefix, store);
}

int
clientopt_exit_code(int rc)
{
    switch (rc) {
    case ERR_OK:
        return CLI_EXIT_OK;
    case ERR_TIMEOUT:
    case ERR_CLOSED:
    case ERR_IO:
        return CLI_EXIT_UNAVAIL;
    case ERR_NOTFOUND:
        return CLI_EXIT_NOTFOUND;
    default:
        return CLI_EXIT_FAIL;
    }
}

void
clientopt_usage(FILE *out)
{
    cfg_group_t g = clientopt_group(NULL);
    cfg_cli_usage(&g, 1, out);
}
