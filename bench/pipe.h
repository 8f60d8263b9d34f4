/*
 * pipe: what bench_pipeline's files share. The options (opts_t), the
 * payload corpus (corpus_t), one run's figures (run_result_t), a server's
 * memory peaks (mem_peak_t), and the functions each file offers the
 * others, prefixed by the file: pipe_proc.c (processes, ports, temp dirs,
 * signals), pipe_corpus.c (payloads, latency statistics), pipe_excerpt.c
 * (the excerpt client driver), pipe_beanstalkd.c (the beanstalkd driver),
 * pipe_report.c (the tables). bench_pipeline.c keeps the options and main.
 */
#ifndef EXCERPT_BENCH_PIPE_H
#define EXCERPT_BENCH_PIPE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAX_WORKER_RUNS 8
#define MAX_BATCH_RUNS 4
#define MAX_ROUNDS 9
/* rows per round: each excerpt row twice with --curve, beanstalkd twice */
#define ROW_MAX (2 * MAX_WORKER_RUNS * MAX_BATCH_RUNS + 2)

typedef struct opts {
    char *broker_bin;     /* excerpt-broker path */
    char *worker_bin;     /* excerpt-worker path */
    char *beanstalkd_bin; /* beanstalkd path */
    char *corpus;         /* directory of *.txt transcripts */
    char *tmp;            /* parent of the temporary directories */
    size_t jobs;          /* jobs per run */
    size_t size;          /* payload bytes (approximate upper bound) */
    size_t window;        /* submits (puts) in flight */
    size_t rounds;        /* times the whole set of runs is repeated */
    unsigned workers[MAX_WORKER_RUNS]; /* worker process counts to run */
    size_t n_workers;                  /* entries in workers */
    unsigned threads;                  /* --threads of each worker */
    size_t batches[MAX_BATCH_RUNS];    /* Submits per frame to run with */
    size_t n_batches;                  /* entries in batches */
    double rate;        /* offered jobs/s; 0 = as fast as possible */
    size_t fill;        /* fill mode: jobs to queue with no workers */
    bool no_beanstalkd; /* skip the beanstalkd runs */
    bool keep;          /* keep temporary directories */
    unsigned timeout_s; /* give up on one run after this */
    unsigned scrape_ms; /* scrape the broker's /metrics this often; 0 off */
    bool curve;         /* --curve: every excerpt row also under CURVE */
    bool curve_on;      /* this run: keys for the broker, workers, bench */
} opts_t;

typedef struct corpus {
    char *buf;          /* all files, concatenated */
    size_t n_lines;     /* non-empty lines */
    const char **lines; /* line starts, in buf */
    size_t *lens;       /* line lengths without '\n' */
    size_t n_files;     /* files read */
    size_t bytes;       /* bytes read */
} corpus_t;

typedef struct run_result {
    char name[64];         /* row label */
    bool ok;               /* finished within the deadline */
    size_t jobs;           /* jobs completed */
    size_t rejected;       /* Rejected replies (retried) */
    size_t late;           /* commits seen only through Since catch-up */
    double secs;           /* first submit to last completion */
    double jobs_per_s;     /* jobs / secs */
    double p50_ms, p99_ms; /* submit-to-completion latency */
    double max_ms;         /* worst latency */
    uint64_t hwm_kb;       /* server VmHWM (peak RSS) */
    uint64_t anon_kb;      /* server peak RssAnon, sampled every 100 ms */
    uint64_t end_anon_kb;  /* server RssAnon at the end of the run */
    uint64_t store_bytes;  /* broker store size at the end (Stats) */
    double broker_cpu_s;   /* broker user+sys CPU over the whole run */
    double worker_cpu_s;   /* all workers' user+sys CPU over the run */
    double self_cpu_s;     /* the bench's own CPU while submitting */
    bool curve;            /* ran under CURVE */
} run_result_t;

typedef struct mem_peak {
    pid_t pid;       /* process watched */
    uint64_t hwm;    /* last VmHWM seen */
    uint64_t anon;   /* peak RssAnon */
    uint64_t last;   /* last RssAnon */
    uint64_t due_ms; /* next sample */
} mem_peak_t;

/* ---- pipe_proc.c: processes ------------------------------------------ */

/* Set by pipe_proc_on_signal: stop at the next check and clean up. */
extern volatile sig_atomic_t pipe_proc_interrupted;

/* SIGINT and SIGTERM handler: sets pipe_proc_interrupted. */
void pipe_proc_on_signal(int sig);

/* SIGKILL and reap every child pipe_proc_spawn started that is still
 * running (at exit, so no server outlives the bench). */
void pipe_proc_kill_children(void);

/* fork + exec argv (argv[0] a path, NULL-ended) with stdin from /dev/null
 * and stdout and stderr appended to log_path. The child is remembered
 * for pipe_proc_kill_children. Returns its pid, or -1 if fork failed
 * (message printed); a failed exec shows as exit status 127. */
pid_t pipe_proc_spawn(char *const argv[], const char *log_path);

/* true if pid has exited (and reaps it), or is not a child of ours. */
bool pipe_proc_has_exited(pid_t pid);

/* SIGTERM, wait up to grace_ms, then SIGKILL. Returns the wait status,
 * -1 if it had to be killed, 0 if pid <= 0 or already reaped. */
int pipe_proc_stop_process(pid_t pid, uint64_t grace_ms);

/* User + system CPU seconds pid has used so far (0 if unreadable). */
double pipe_proc_cpu_secs(pid_t pid);

/* User + system CPU seconds of this process, all its threads (0 if
 * getrusage fails). */
double pipe_proc_self_cpu_secs(void);

/* Sample m->pid's RssAnon and VmHWM into m (peaks and last value) when
 * m->due_ms has passed, or now if force; every 100 ms at most. An
 * unreadable /proc entry leaves m as it was. */
void pipe_proc_mem_sample(mem_peak_t *m, bool force);

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int pipe_proc_free_port(void);

/* Remove dir and everything under it; errors are ignored. */
void pipe_proc_remove_tree(const char *dir);

/* A new directory o->tmp/bench-<what>-XXXXXX. Returns its path (the
 * caller frees it), or NULL if mkdtemp failed (message printed). */
char *pipe_proc_make_tmpdir(const opts_t *o, const char *what);

/* Print the last 10 lines of the file at path to stderr (nothing if it
 * cannot be opened). */
void pipe_proc_print_log_tail(const char *path);

/* ---- pipe_corpus.c: payloads and statistics --------------------------- */

/* Read every *.txt in dir (by name; at most CORPUS_MAX bytes, whole
 * files) into c and split it into non-empty lines. Returns ERR_OK,
 * ERR_IO if dir cannot be opened, ERR_INVAL if it holds no text (message
 * printed). Call pipe_corpus_free on c whatever it returned. */
int pipe_corpus_load(corpus_t *c, const char *dir);

/* Free what c holds and zero it; safe twice. */
void pipe_corpus_free(corpus_t *c);

/* Payload of job i, about size bytes, into buf (capacity size + 256):
 * a line naming i, then corpus lines from a place fixed by i, so every
 * run and system sends the same bytes for the same i. Returns its length.
 * c holds at least one line. */
size_t pipe_corpus_gen_payload(const corpus_t *c, size_t i, size_t size,
                               char *buf);

/* From the n jobs' start and end times (us; 0 = not done): r->jobs (done
 * jobs), p50, p99 and max latency, secs (first start to last end) and
 * jobs/s. */
void pipe_corpus_latency_stats(run_result_t *r, const uint64_t *t_start,
                               const uint64_t *t_end, size_t n);

/* ---- pipe_excerpt.c: the excerpt client driver ------------------------ */

/* One excerpt run, r->name set by the caller: a fresh broker (under CURVE
 * if o->curve_on) and n_workers workers (0 = fill mode: submits only, done
 * when all are Accepted), n jobs from c at the offered rate (0 = as fast
 * as the window allows), at most batch Submits per frame. Fills r, stops
 * the processes and removes the temp dir (unless o->keep). Returns ERR_OK,
 * or ERR_IO, ERR_TIMEOUT, ERR_PROTO (message printed; r->ok false). */
int pipe_excerpt_run(const opts_t *o, const corpus_t *c, void *ctx,
                     unsigned n_workers, size_t n, double rate, size_t batch,
                     run_result_t *r);

/* ---- pipe_beanstalkd.c: the beanstalkd driver ------------------------- */

/* One beanstalkd run, r->name set by the caller: a fresh o->beanstalkd_bin
 * with a binlog (fsync_ms < 0: its default sync; else -f fsync_ms), n
 * jobs from c put by one thread at the offered rate (0 = as fast as the
 * window allows) and reserved and deleted by another. Fills r, stops the
 * server and removes the temp dir (unless o->keep). Returns ERR_OK or
 * ERR_IO (r->ok false). */
int pipe_beanstalkd_run(const opts_t *o, const corpus_t *c, int fsync_ms,
                        size_t n, double rate, run_result_t *r);

/* ---- pipe_report.c: tables -------------------------------------------- */

/* The table of one round's n rows on stdout, with each row's ratio to
 * the beanstalkd rows bs_def and bs_f0 (NULL: "-"). */
void pipe_report_print_table(const run_result_t *rows, size_t n,
                             const run_result_t *bs_def,
                             const run_result_t *bs_f0);

/* After rounds > 1: per row, medians over the rounds and, with_bs (the
 * last two rows beanstalkd's), the ratio to beanstalkd's default per
 * round. */
void pipe_report_print_rounds(run_result_t all[][ROW_MAX], size_t rounds,
                              size_t n_rows, bool with_bs);

/* With --curve: each row without CURVE beside the next one with it,
 * medians of jobs/s and CPU per job over the rounds. */
void pipe_report_print_curve_cost(run_result_t all[][ROW_MAX], size_t rounds,
                                  size_t n_rows);

#endif
