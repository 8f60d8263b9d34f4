/*
 * excerpt backup: a consistent, compacted copy of a store that a broker
 * may be writing, made in this process from a read-only LMDB environment
 * (one read txn: a snapshot of the last commit). Restore: stop the broker,
 * put the copy's data.mdb in place of the data dir's (remove its
 * lock.mdb), start the broker.
 */
#include "cli.h"
#include "clientopt.h"
#include "jobjson.h"

#include "../common/err.h"
#include "../storage/store.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define PREFIX "excerpt backup"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: excerpt backup [--data-dir D] DIR\n"
            "Write a consistent, compacted copy of the store in D (default\n"
            "%s) to DIR/data.mdb, mode 0600, while the broker keeps\n"
            "running. DIR is created (0700) if missing and must not hold a\n"
            "data.mdb. Prints the copy's last seq and job counts.\n"
            "\n"
            "Restore: stop the broker; in its data dir replace data.mdb with\n"
            "the copy and delete lock.mdb; start the broker.\n"
            "\n"
            "  --data-dir D    the store to copy\n"
            "\nExit: 0, 1 the copy failed, 2 usage, 3 no store in D.\n",
            CLIENTOPT_DATA_DIR);
}

int
cmd_backup(int argc, char **argv)
{
    const char *data = CLIENTOPT_DATA_DIR, *dest = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(arg, "--data-dir") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strncmp(arg, "--data-dir=", 11) && arg[11]) {
            data = arg + 11;
        } else if (arg[0] == '-' || dest) {
            fprintf(stderr, PREFIX ": unexpected argument %s\n", arg);
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else {
            dest = arg;
        }
    }
    if (!dest) {
        fprintf(stderr, PREFIX ": give the directory to write the copy to\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    store_t *s = NULL;
    int rc = store_open_readonly(&s, data);
    if (rc) {
        if (rc == ERR_NOTFOUND)
            fprintf(stderr, PREFIX ": no store in %s\n", data);
        else
            fprintf(stderr, PREFIX ": cannot read the store in %s: %s\n", data,
                    err_str(rc));
        return CLI_EXIT_UNAVAIL;
    }
    if (mkdir(dest, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, PREFIX ": cannot create %s: %s\n", dest,
                strerror(errno));
        store_destroy(&s);
        return CLI_EXIT_FAIL;
    }
    rc = store_backup(s, dest);
    store_destroy(&s);
    if (rc == ERR_EXISTS) {
        fprintf(stderr, PREFIX ": %s/data.mdb exists; give an empty dir\n",
                dest);
        return CLI_EXIT_FAIL;
    }
    if (rc) {
        fprintf(stderr, PREFIX ": copy to %s failed: %s\n", dest, err_str(rc));
        return CLI_EXIT_FAIL;
    }
    /* read the copy back: it opens, and says what it holds */
    rc = store_open_readonly(&s, dest);
    if (rc) {
        fprintf(stderr, PREFIX ": the copy in %s does not open: %s\n", dest,
                err_str(rc));
        return CLI_EXIT_FAIL;
    }
    store_counts_t c;
    store_info_t info;
    store_counts(s, &c);
    store_info(s, &info);
    store_destroy(&s);
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "dir", dest,
                  "last_seq", (json_int_t)c.last_seq, "done",
                  (json_int_t)c.done, "ready", (json_int_t)c.ready, "delayed",
                  (json_int_t)c.delayed, "leased", (json_int_t)c.leased, "dead",
                  (json_int_t)c.dead, "bytes", (json_int_t)info.used_bytes);
    if (!o) {
        fprintf(stderr, PREFIX ": the directory name is not UTF-8\n");
        return CLI_EXIT_FAIL;
    }
    return jobjson_print(o) == ERR_OK && fflush(stdout) == 0 ? CLI_EXIT_OK
                                                             : CLI_EXIT_FAIL;
}
