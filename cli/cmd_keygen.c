/*
 * excerpt keygen: write a CURVE key pair (NAME.key, mode 0600, and
 * NAME.pub with its role) for the broker, a worker, a client, a consumer
 * or an admin; print the public key's allow-list line.
 */
#include "cli.h"

#include "../common/err.h"
#include "../proto/curve.h"

#include <stdio.h>
#include <string.h>

#define PREFIX "excerpt keygen"

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
            "\n"
            "  --dir DIR    where to write (default: .)\n"
            "  --role ROLE  client, consumer, worker or admin; leave it out\n"
            "               for the broker's own key pair\n"
            "  --force      overwrite existing files\n");
}

int
cmd_keygen(int argc, char **argv)
{
    const char *dir = ".", *role = NULL, *name = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else if ((!strcmp(a, "--dir") || !strcmp(a, "--role")) &&
                   i + 1 < argc) {
            if (!strcmp(a, "--dir"))
                dir = argv[++i];
            else
                role = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, PREFIX ": unknown or incomplete flag \"%s\"\n", a);
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else if (!name) {
            name = a;
        } else {
            fprintf(stderr, PREFIX ": one NAME only (got \"%s\" too)\n", a);
            return CLI_EXIT_USAGE;
        }
    }
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
