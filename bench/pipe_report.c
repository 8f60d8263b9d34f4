/*
 * pipe_report: bench_pipeline's tables. One round's table (jobs/s,
 * latency, memory, ratios to beanstalkd, CPU per job), the medians over
 * several rounds, and with --curve the cost of CURVE per row.
 */
#include "pipe.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- report ------------------------------------------------------------- */

void
pipe_report_print_table(const run_result_t *rows, size_t n,
                        const run_result_t *bs_def, const run_result_t *bs_f0)
{
    printf("\n%-40s %9s %8s %8s %8s %9s %9s %8s %8s\n", "system", "jobs/s",
           "p50 ms", "p99 ms", "max ms", "peakRSS", "RssAnon", "x bs-def",
           "x bs-f0");
    printf("%-40s %9s %8s %8s %8s %9s %9s %8s %8s\n", "", "", "", "", "", "MiB",
           "MiB", "", "");
    for (size_t i = 0; i < n; i++) {
        const run_result_t *r = &rows[i];
        char ratio_def[16] = "-", ratio_f0[16] = "-";
        if (bs_def && bs_def->ok && bs_def->jobs_per_s > 0)
            snprintf(ratio_def, sizeof ratio_def, "%.2f",
                     r->jobs_per_s / bs_def->jobs_per_s);
        if (bs_f0 && bs_f0->ok && bs_f0->jobs_per_s > 0)
            snprintf(ratio_f0, sizeof ratio_f0, "%.2f",
                     r->jobs_per_s / bs_f0->jobs_per_s);
        printf("%-40s %9.0f %8.2f %8.2f %8.2f %9.1f %9.1f %8s %8s%s\n", r->name,
               r->jobs_per_s, r->p50_ms, r->p99_ms, r->max_ms,
               r->hwm_kb / 1024.0, r->anon_kb / 1024.0, ratio_def, ratio_f0,
               r->ok ? "" : "  (FAILED)");
        if (r->jobs && (r->broker_cpu_s > 0 || r->worker_cpu_s > 0))
            printf("%-40s (CPU per job: broker %.0f us, workers %.0f us, "
                   "bench client %.0f us)\n",
                   "", r->broker_cpu_s * 1e6 / (double)r->jobs,
                   r->worker_cpu_s * 1e6 / (double)r->jobs,
                   r->self_cpu_s * 1e6 / (double)r->jobs);
        if (r->late)
            printf("%-40s (%zu of %zu commits seen via Since catch-up)\n", "",
                   r->late, r->jobs);
        if (r->rejected)
            printf("%-40s (%zu submits rejected and retried)\n", "",
                   r->rejected);
    }
}

static int
dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* After several rounds: per row, the median jobs/s, p50 and p99 over the
 * rounds, and its ratio to beanstalkd's default binlog in each round (the
 * two ran minutes apart at most; across rounds the machine's speed drifts).
 * Rows are in the same order every round; with beanstalkd the last two are
 * its runs. */
void
pipe_report_print_rounds(run_result_t all[][ROW_MAX], size_t rounds,
                         size_t n_rows, bool with_bs)
{
    size_t bs = with_bs && n_rows >= 2 ? n_rows - 2 : SIZE_MAX;
    printf("\nmedians over %zu rounds (each round ran every row once, in "
           "table order)\n",
           rounds);
    printf("%-40s %9s %8s %8s  %s\n", "system", "jobs/s", "p50 ms", "p99 ms",
           bs != SIZE_MAX ? "x bs-def per round (min / median / max)" : "");
    for (size_t i = 0; i < n_rows; i++) {
        double jps[MAX_ROUNDS], p50[MAX_ROUNDS], p99[MAX_ROUNDS];
        double ratio[MAX_ROUNDS];
        size_t n_ratio = 0;
        bool ok = true;
        for (size_t r = 0; r < rounds; r++) {
            const run_result_t *x = &all[r][i];
            ok = ok && x->ok;
            jps[r] = x->jobs_per_s;
            p50[r] = x->p50_ms;
            p99[r] = x->p99_ms;
            if (bs != SIZE_MAX && all[r][bs].ok && all[r][bs].jobs_per_s > 0)
                ratio[n_ratio++] = x->jobs_per_s / all[r][bs].jobs_per_s;
        }
        char rs[128] = "";
        if (n_ratio) {
            /* the list in round order, rounds without beanstalkd left out */
            char list[64] = "";
            size_t used = 0;
            for (size_t r = 0; r < rounds && used < sizeof list; r++) {
                if (!all[r][bs].ok || all[r][bs].jobs_per_s <= 0)
                    continue;
                int w = snprintf(list + used, sizeof list - used, "%s%.2f",
                                 used ? " " : "",
                                 all[r][i].jobs_per_s / all[r][bs].jobs_per_s);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            double med = median_of(ratio, n_ratio); /* sorts ratio */
            snprintf(rs, sizeof rs, "%.2f / %.2f / %.2f  (%s)", ratio[0], med,
                     ratio[n_ratio - 1], list);
        }
        printf("%-40s %9.0f %8.2f %8.2f  %s%s\n", all[0][i].name,
               median_of(jps, rounds), median_of(p50, rounds),
               median_of(p99, rounds), rs, ok ? "" : "  (a round FAILED)");
    }
}

/* With --curve: each row without CURVE beside the same row with it (the
 * next one), medians over the rounds of jobs/s and of CPU per job. */
void
pipe_report_print_curve_cost(run_result_t all[][ROW_MAX], size_t rounds,
                             size_t n_rows)
{
    printf("\nCURVE cost (medians over %zu round%s; CPU per job = broker + "
           "workers + bench client, us)\n",
           rounds, rounds == 1 ? "" : "s");
    printf("%-40s %9s %9s %7s %9s %9s %7s\n", "system", "jobs/s", "CURVE",
           "change", "CPU/job", "CURVE", "change");
    for (size_t i = 0; i + 1 < n_rows; i++) {
        if (all[0][i].curve || !all[0][i + 1].curve)
            continue;
        double jps[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS];
        bool ok = true;
        for (size_t r = 0; r < rounds; r++) {
            for (int cv = 0; cv < 2; cv++) {
                const run_result_t *x = &all[r][i + (size_t)cv];
                ok = ok && x->ok && x->jobs > 0;
                jps[cv][r] = x->jobs_per_s;
                cpu[cv][r] =
                    x->jobs
                        ? (x->broker_cpu_s + x->worker_cpu_s + x->self_cpu_s) *
                              1e6 / (double)x->jobs
                        : 0;
            }
        }
        double j0 = median_of(jps[0], rounds), j1 = median_of(jps[1], rounds);
        double c0 = median_of(cpu[0], rounds), c1 = median_of(cpu[1], rounds);
        printf("%-40s %9.0f %9.0f %+6.1f%% %9.0f %9.0f %+6.1f%%%s\n",
               all[0][i].name, j0, j1, j0 > 0 ? (j1 / j0 - 1) * 100 : 0, c0, c1,
               c0 > 0 ? (c1 / c0 - 1) * 100 : 0, ok ? "" : "  (a run FAILED)");
    }
}
