/*
 * excerpt extract: run the engine locally on files or stdin and print
 * JSON Lines (--format json, the default when stdout is not a terminal)
 * or a readable table.
 */
#include "cli.h"

#include "../client/jsonw.h"
#include "../common/err.h"
#include "../common/utf8.h"
#include "../worker/extract.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT ((size_t)1 << 30)

static void
print_table(const result_t *r, const char *source, FILE *out)
{
    fprintf(out,
            "== %s  (%zu speakers, %zu turns, %zu entities, %zu figures,"
            " %.1f ms)\n",
            source, r->n_speakers, r->n_turns, r->n_entities, r->n_figures,
            (double)r->extract_us / 1000.0);
    if (r->n_speakers) {
        fprintf(out, "\nSPEAKER                              TURNS  TITLE\n");
        for (size_t i = 0; i < r->n_speakers; i++)
            fprintf(out, "%-36s %5u  %s\n", r->speakers[i].name,
                    r->speakers[i].turns, r->speakers[i].title);
    }
    if (r->n_entities) {
        fprintf(out, "\nTYPE    ENTITY                               MENTIONS"
                     "  ROLE\n");
        for (size_t i = 0; i < r->n_entities; i++) {
            const result_entity_t *e = &r->entities[i];
            fprintf(out, "%-7s %-36s %8zu  %s\n",
                    result_entity_type_name(e->type), e->name, e->n_mentions,
                    e->role);
        }
    }
    if (r->n_figures) {
        fprintf(out, "\nTYPE      TEXT                           VALUE"
                     "                 UNIT  SPEAKER\n");
        for (size_t i = 0; i < r->n_figures; i++) {
            const result_figure_t *f = &r->figures[i];
            char value[64];
            if (f->iso && *f->iso)
                snprintf(value, sizeof value, "%s", f->iso);
            else if (f->has_value)
                snprintf(value, sizeof value, "%.15g", f->value);
            else
                snprintf(value, sizeof value, "-");
            const char *who = "-";
            if (f->turn >= 0 && r->turns[f->turn].speaker >= 0)
                who = r->speakers[r->turns[f->turn].speaker].name;
            fprintf(out, "%-9s %-30.30s %-21s %-5s %s\n",
                    result_figure_type_name(f->type), f->text, value,
                    f->unit && *f->unit ? f->unit : "-", who);
        }
    }
    fputc('\n', out);
}

typedef struct extract_args {
    const char *format; /* --format json|table, NULL: by the terminal */
} extract_args_t;

static const cfg_entry_t extract_table[] = {
    { "format", CFG_STRING, offsetof(extract_args_t, format), NULL, 1, 0,
      "json|table\tjson prints one JSON object per input (JSON Lines); "
      "the default is a table on a terminal and JSON otherwise" },
};
#define N_EXTRACT (sizeof extract_table / sizeof extract_table[0])

static void
usage(FILE *out)
{
    fprintf(out, "usage: excerpt extract [--format json|table] [FILE...|-]\n"
                 "Extract speakers, entities and figures locally (no broker).\n"
                 "With no FILE, or FILE \"-\", reads standard input.\n\n");
    cfg_group_t g = { extract_table, N_EXTRACT, NULL, 0 };
    cfg_cli_usage(&g, 1, out);
}

int
cmd_extract(int argc, char **argv)
{
    extract_args_t a;
    cfg_group_t g = { extract_table, N_EXTRACT, &a, 0 };
    cfg_cli_t cli = { .prog = "excerpt extract",
                      .flags_first = true,
                      .max_pos = -1 };
    int status = cli_parse_flags(&g, 1, argc, argv, &cli, usage);
    if (status || cli.help) {
        cfg_cli_free(&cli);
        return status;
    }
    int json = !cli_is_tty(STDOUT_FILENO);
    if (a.format && (strcmp(a.format, "json") && strcmp(a.format, "table"))) {
        fprintf(stderr, "excerpt extract: unknown format \"%s\"\n", a.format);
        cfg_cli_free(&cli);
        return CLI_EXIT_USAGE;
    }
    if (a.format)
        json = !strcmp(a.format, "json");
    const char *stdin_arg[] = { "-" };
    const char **files = cli.n_pos ? cli.pos : stdin_arg;
    int nfiles = cli.n_pos ? cli.n_pos : 1;

    extract_t *ex = extract_new();
    jsonw_t *w = json ? jsonw_new() : NULL;
    for (int k = 0; k < nfiles; k++) {
        char *buf = NULL;
        size_t len = 0;
        if (cli_read_file(files[k], MAX_INPUT, &buf, &len)) {
            status = CLI_EXIT_FAIL;
            continue;
        }
        size_t bad = utf8_first_invalid(buf, len);
        if (bad != len)
            fprintf(stderr,
                    "excerpt extract: %s: invalid UTF-8 at byte %zu; "
                    "invalid bytes are treated as separators\n",
                    files[k], bad);
        result_t *r = NULL;
        int rc = extract_run(ex, buf, len, &r);
        if (rc) {
            fprintf(stderr, "excerpt extract: %s: %s\n", files[k], err_str(rc));
            status = CLI_EXIT_FAIL;
            free(buf);
            continue;
        }
        const char *source = strcmp(files[k], "-") ? files[k] : "stdin";
        if (json) {
            if (jsonw_write_result(w, r, source, stdout)) {
                fprintf(stderr, "excerpt extract: cannot write output\n");
                status = CLI_EXIT_FAIL;
            }
        } else {
            print_table(r, source, stdout);
        }
        result_destroy(&r);
        free(buf);
    }
    jsonw_destroy(&w);
    extract_destroy(&ex);
    cfg_cli_free(&cli);
    if (fflush(stdout) != 0)
        status = CLI_EXIT_FAIL;
    return status;
}
