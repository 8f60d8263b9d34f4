/*
 * excerpt keygen: write a CURVE key pair (NAME.key, mode 0600, and
 * NAME.pub with its role) for the broker, a worker, a client, a consumer
 * or an admin; print the public key's allow-list line.
 */
#include "cli.h"

#include "../common/err.h"
#include "../proto/curve.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define PREFIX "excerpt keygen"

typedef struct keygen_args {
    const char *dir;  /* --dir */
    const char *role; /* --role, NULL for the broker's pair */
    bool force;       /* --force */
} keygen_args_t;

static const cfg_entry_t keygen_table[] = {
    { "dir", CFG_STRING, offsetof(keygen_args_t, dir), ".", 1, 0,
      "DIR\twhere to write" },
    { "role", CFG_STRING, offsetof(keygen_args_t, role), NULL, 1, 0,
      "ROLE\tclient, consumer, worker or admin; leave it out for the "
      "broker's own key pair" },
    { "force", CFG_BOOL, offsetof(keygen_args_t, force), NULL, 0, 0,
      "overwrite existing files" },
};
#define N_KEYGEN (sizeof keygen_table / sizeof keygen_table[0])

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: excerpt keygen NAME [--dir DIR] [--role ROLE] [--force]\n"
            "\n"
            "Writes DIR/NAME.key (public and secret key, mode 0600) and\n"
            "DIR/NAME.pub (public key, role, name; give it to the broker's\n"
            "allow-list directory), then prints the allow-list line\n"
            "\"ROLE KEY NAME\" on stdout.\n"
            "\n");
    cfg_group_t g = { keygen_table, N_KEYGEN, NULL, 0 };
    cfg_cli_usage(&g, 1, out);
}

int
cmd_keygen(int argc, char **argv)
{
    keygen_args_t a;
    cfg_group_t g = { keygen_table, N_KEYGEN, &a, 0 };
    cfg_cli_t cli = { .prog = PREFIX, .max_pos = -1 };
    int status = cli_parse_flags(&g, 1, argc, argv, &cli, usage);
    const char *name = cli.n_pos > 0 ? cli.pos[0] : NULL;
    if (status == CLI_EXIT_OK && !cli.help && cli.n_pos > 1) {
        fprintf(stderr, PREFIX ": one NAME only (got \"%s\" too)\n",
                cli.pos[1]);
        status = CLI_EXIT_USAGE;
    }
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
    const char *dir = a.dir, *role = a.role;
    bool force = a.force;
    if (!name || !*name || strchr(name, '/')) {
        fprintf(stderr, PREFIX ": give a NAME without '/'\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (role && strcmp(role, "client") && strcmp(role, "consumer") &&
        strcmp(role, "worker") && strcmp(role, "admin")) {
        fprintf(stderr,
                PREFIX ": --role is client, consumer, worker or admin, not "
                       "\"%s\"\n",
                role);
        return CLI_EXIT_USAGE;
    }
    /* a new key directory is private; an existing one is left as it is */
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, PREFIX ": cannot create %s: %s\n", dir,
                strerror(errno));
        return CLI_EXIT_FAIL;
    }
    curve_pair_t kp;
    int rc = curve_generate(&kp);
    if (rc) {
        fprintf(stderr, PREFIX ": %s\n", err_str(rc));
        return CLI_EXIT_FAIL;
    }
    rc = curve_write_pair(dir, name, &kp, role, force);
    if (rc == ERR_EXISTS) {
        fprintf(stderr,
                PREFIX ": %s/%s.key or .pub exists (--force to "
                       "overwrite)\n",
                dir, name);
        memset(&kp, 0, sizeof kp);
        return CLI_EXIT_FAIL;
    }
    if (rc) {
        fprintf(stderr, PREFIX ": cannot write the key files in %s: %s\n", dir,
                err_str(rc));
        memset(&kp, 0, sizeof kp);
        return CLI_EXIT_FAIL;
    }
    fprintf(stderr, PREFIX ": wrote %s/%s.key (secret, 0600) and %s/%s.pub\n",
            dir, name, dir, name);
    if (role)
        printf("%s %s %s\n", role, kp.public_key, name);
    else
        printf("%s\n", kp.public_key);
    memset(&kp, 0, sizeof kp);
    return CLI_EXIT_OK;
}
