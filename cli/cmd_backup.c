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
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#define PREFIX "excerpt backup"

typedef struct backup_args {
    const char *data; /* --data-dir */
} backup_args_t;

static const cfg_entry_t backup_table[] = {
    { "data-dir", CFG_STRING, offsetof(backup_args_t, data), CLIENTOPT_DATA_DIR,
      1, 0, "D\tthe store to copy" },
};
#define N_BACKUP (sizeof backup_table / sizeof backup_table[0])

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
            "\n",
            CLIENTOPT_DATA_DIR);
    cfg_group_t g = { backup_table, N_BACKUP, NULL, 0 };
    cfg_cli_usage(&g, 1, out);
    fprintf(out, "\nExit: 0, 1 the copy failed, 2 usage, 3 no store in D.\n");
}

int
cmd_backup(int argc, char **argv)
{
    backup_args_t a;
    cfg_group_t g = { backup_table, N_BACKUP, &a, 0 };
    cfg_cli_t cli = { .prog = PREFIX, .max_pos = 1 };
    int status = cli_parse_flags(&g, 1, argc, argv, &cli, usage);
    const char *data = a.data, *dest = cli.n_pos ? cli.pos[0] : NULL;
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
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
