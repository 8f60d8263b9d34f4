/*
 * fleet: the broker and worker processes of `excerpt run` and `excerpt
 * serve` on one data directory: prepare the directory (lock, socket
 * paths), fork and watch the children, stop them in order. Parent-side
 * only; the children never return from fork.
 */
#ifndef EXCERPT_FLEET_H
#define EXCERPT_FLEET_H

#include "../client/client.h"
#include "../common/cfg.h"

#include <stdbool.h>
#include <stdint.h>

#define MAX_WORKERS 64 /* --workers and --threads bound */

/* What a fleet runs: the flags run and serve share (fleet_table). Strings
 * are borrowed for the fleet's life. */
typedef struct fleet_opts {
    const char *data_dir;  /* --data-dir */
    int64_t workers;       /* --workers: worker processes */
    int64_t threads;       /* --threads: extraction threads per worker */
    const char *frontend;  /* --frontend, NULL: ipc://DIR/frontend.sock */
    const char *backend;   /* --backend, NULL: ipc://DIR/backend.sock */
    const char *publisher; /* --publisher, NULL: ipc://DIR/pub.sock */
    const char *map_limit; /* --map-limit for the broker, or NULL */
} fleet_opts_t;

/* The flags above as a cfg table filling a fleet_opts_t. */
extern const cfg_entry_t fleet_table[];
extern const size_t fleet_table_len;

typedef struct fleet fleet_t;

/*
 * Create the data dir (absolute path resolved), take its run.lock (one
 * run/serve per dir), check that no broker answers there and choose the
 * endpoints. Returns CLI_EXIT_OK with *out set, or an exit code with a
 * message starting with prefix printed (CLI_EXIT_USAGE for a bad dir or
 * too long a path, CLI_EXIT_FAIL when the dir is in use).
 */
int fleet_open(fleet_t **out, const fleet_opts_t *o, const char *prefix);

/*
 * Install the SIGTERM/SIGINT handlers (fleet_stopping), fork the broker
 * and the workers, and wait up to 20 s until the broker answers. On
 * CLI_EXIT_OK *cp is a client connected to the frontend (caller
 * destroys); else an exit code, message printed. Children started stay
 * until fleet_destroy.
 */
int fleet_start(fleet_t *f, const char *prefix, client_t **cp);

/* True once SIGTERM or SIGINT reached this process (after fleet_start). */
bool fleet_stopping(void);

/* Reap children that ended, printing a line for each; true when any did. */
bool fleet_child_died(fleet_t *f);

/* The absolute data dir and the endpoints in use; borrowed from f. */
const char *fleet_dir(const fleet_t *f);
const char *fleet_frontend(const fleet_t *f);
const char *fleet_backend(const fleet_t *f);
const char *fleet_publisher(const fleet_t *f);

/* Stop the workers (SIGTERM; they drain into the broker), then the
 * broker, each group waited up to 15 s before SIGKILL; release the lock
 * and free f. Accepts NULL; sets *f to NULL. */
void fleet_destroy(fleet_t **f);

#endif
