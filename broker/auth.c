/*
 * auth: allow-list and ZAP handler (auth.h). The list is a sorted array
 * swapped whole under a mutex on reload; the handler thread owns one REP
 * socket on the broker's context and answers every handshake from it.
 */
#include "auth.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/xalloc.h"
#include "../proto/curve.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_POLL_MS 200     /* how soon the handler sees auth_destroy */
#define ZAP_FRAMES 8        /* frames of a request we look at */
#define REFUSALS_PER_SEC 20 /* refusal lines logged per second at most */
#define LIST_LINE_MAX 1024  /* one allow-list line */
#define NAME_MAX_LEN 63     /* a key's name as logged */

typedef struct entry {
    char key[CURVE_KEY_Z85];     /* Z85 public key */
    int role;                    /* one AUTH_* bit */
    char name[NAME_MAX_LEN + 1]; /* from the list, or "" */
} entry_t;

typedef struct list {
    entry_t *e; /* sorted by key */
    size_t n;   /* entries */
} list_t;

struct auth {
    char *path;               /* allow-list file or directory, owned */
    void *zap;                /* REP socket, the handler thread's */
    pthread_t thread;         /* the handler */
    bool thread_up;           /* started */
    atomic_bool quit;         /* asks the handler to end */
    pthread_mutex_t mu;       /* guards list */
    list_t list;              /* current allow-list */
    atomic_ullong admitted;   /* handshakes admitted */
    atomic_ullong refused;    /* handshakes refused */
    uint64_t log_sec;         /* second of the refusal lines counted */
    unsigned log_n;           /* refusal lines in that second */
    unsigned long long muted; /* refusal lines not logged since */
};

const char *
auth_role_name(int role)
{
    switch (role) {
    case AUTH_CLIENT:
        return "client";
    case AUTH_CONSUMER:
        return "consumer";
    case AUTH_WORKER:
        return "worker";
    case AUTH_ADMIN:
        return "admin";
    case AUTH_ANY:
        return "any";
    case 0:
        return "none";
    default:
        return "mixed";
    }
}

static int
role_parse(const char *s)
{
    static const int roles[] = { AUTH_CLIENT, AUTH_CONSUMER, AUTH_WORKER,
                                 AUTH_ADMIN };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(s, auth_role_name(roles[i])))
            return roles[i];
    return 0;
}

int
auth_domain_roles(const char *domain)
{
    if (!strcmp(domain, AUTH_DOMAIN_FRONTEND))
        return AUTH_CLIENT | AUTH_CONSUMER | AUTH_ADMIN;
    if (!strcmp(domain, AUTH_DOMAIN_BACKEND))
        return AUTH_WORKER;
    if (!strcmp(domain, AUTH_DOMAIN_PUBLISHER))
        return AUTH_CONSUMER;
    return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->key, ((const entry_t *)b)->key);
}

static void
list_free(list_t *l)
{
    free(l->e);
    l->e = NULL;
    l->n = 0;
}

static const entry_t *
list_find(const list_t *l, const char *key)
{
    entry_t probe;
    if (!key || strlen(key) != CURVE_KEY_Z85 - 1)
        return NULL;
    memcpy(probe.key, key, CURVE_KEY_Z85);
    return bsearch(&probe, l->e, l->n, sizeof *l->e, entry_cmp);
}

/* Append one key; origin names the file (and line) for messages. */
static int
list_add(list_t *l, size_t *cap, const char *key, const char *role,
         const char *name, const char *origin)
{
    int r = role_parse(role);
    if (!r) {
        log_error("auth: %s: unknown role \"%s\" (client, consumer, worker "
                  "or admin)",
                  origin, role);
        return ERR_INVAL;
    }
    if (!curve_key_valid(key)) {
        log_error("auth: %s: not a Z85 CURVE public key", origin);
        return ERR_INVAL;
    }
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        l->e = xreallocarray(l->e, *cap, sizeof *l->e);
    }
    entry_t *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, CURVE_KEY_Z85);
    e->role = r;
    snprintf(e->name, sizeof e->name, "%s", name ? name : "");
    return ERR_OK;
}

/* "ROLE KEY [NAME]" lines; a line starting with '#' is a comment. */
static int
load_file(list_t *l, size_t *cap, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        log_error("auth: cannot open allow-list %s: %s", path, strerror(errno));
        return ERR_IO;
    }
    char line[LIST_LINE_MAX], origin[4200];
    int rc = ERR_OK;
    for (unsigned no = 1; rc == ERR_OK && fgets(line, sizeof line, f); no++) {
        snprintf(origin, sizeof origin, "%s:%u", path, no);
        if (!strchr(line, '\n') && !feof(f)) {
            log_error("auth: %s: line too long", origin);
            rc = ERR_INVAL;
            break;
        }
        /* '#' is a Z85 digit: only a line that starts with it is a
         * comment */
        const char *first = line + strspn(line, " \t");
        if (*first == '#')
            continue;
        char *save = NULL;
        char *role = strtok_r(line, " \t\r\n", &save);
        if (!role)
            continue;
        char *key = strtok_r(NULL, " \t\r\n", &save);
        char *name = strtok_r(NULL, " \t\r\n", &save);
        if (!key || strtok_r(NULL, " \t\r\n", &save)) {
            log_error("auth: %s: expected \"ROLE KEY [NAME]\"", origin);
            rc = ERR_INVAL;
            break;
        }
        rc = list_add(l, cap, key, role, name, origin);
    }
    if (rc == ERR_OK && ferror(f)) {
        log_error("auth: cannot read allow-list %s", path);
        rc = ERR_IO;
    }
    fclose(f);
    return rc;
}

/* Every NAME.pub in dir, with its role line. */
static int
load_dir(list_t *l, size_t *cap, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        log_error("auth: cannot open allow-list directory %s: %s", dir,
                  strerror(errno));
        return ERR_IO;
    }
    int rc = ERR_OK;
    struct dirent *de;
    while (rc == ERR_OK && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= 4 || strcmp(de->d_name + n - 4, ".pub") != 0 ||
            de->d_name[0] == '.')
            continue;
        char path[4200], key[CURVE_KEY_Z85], role[32], name[NAME_MAX_LEN + 1];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(name, sizeof name, "%.*s", (int)(n - 4), de->d_name);
        rc = curve_read_public(path, key, role, sizeof role);
        if (rc == ERR_OK && !role[0]) {
            log_error("auth: %s has no \"role = \" line", path);
            rc = ERR_INVAL;
        }
        if (rc == ERR_OK)
            rc = list_add(l, cap, key, role, name, path);
    }
    closedir(d);
    return rc;
}

/* Read path into *out (sorted, no key twice). */
static int
list_load(const char *path, list_t *out)
{
    list_t l = { NULL, 0 };
    size_t cap = 0;
    struct stat st;
    int rc;
    if (stat(path, &st) != 0) {
        log_error("auth: allow-list %s: %s", path, strerror(errno));
        return ERR_IO;
    }
    rc = S_ISDIR(st.st_mode) ? load_dir(&l, &cap, path)
                             : load_file(&l, &cap, path);
    if (rc == ERR_OK && l.n > 1) {
        qsort(l.e, l.n, sizeof *l.e, entry_cmp);
        for (size_t i = 1; i < l.n; i++) {
            if (!strcmp(l.e[i - 1].key, l.e[i].key)) {
                log_error("auth: allow-list %s lists key %.8s... twice (one "
                          "key has one role)",
                          path, l.e[i].key);
                rc = ERR_INVAL;
                break;
            }
        }
    }
    if (rc) {
        list_free(&l);
        return rc;
    }
    *out = l;
    return ERR_OK;
}

static void
entry_id(const entry_t *e, const char *key, char id[AUTH_ID_SIZE])
{
    if (e && e->name[0])
        snprintf(id, AUTH_ID_SIZE, "%s/%.8s", e->name, key);
    else
        snprintf(id, AUTH_ID_SIZE, "%.8s", key ? key : "-");
}

int
auth_role_of(auth_t *a, const char *key, char id[AUTH_ID_SIZE])
{
    int role = 0;
    pthread_mutex_lock(&a->mu);
    const entry_t *e = list_find(&a->list, key);
    if (e)
        role = e->role;
    if (id)
        entry_id(e, key, id);
    pthread_mutex_unlock(&a->mu);
    return role;
}

void
auth_counts(auth_t *a, unsigned long long *admitted,
            unsigned long long *refused)
{
    *admitted = atomic_load(&a->admitted);
    *refused = atomic_load(&a->refused);
}

int
auth_reload(auth_t *a, size_t *dropped)
{
    list_t fresh;
    int rc = list_load(a->path, &fresh);
    if (rc) {
        log_error("auth: reload of %s failed; the previous allow-list stays",
                  a->path);
        return rc;
    }
    size_t lost = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->list.n; i++) {
        const entry_t *e = list_find(&fresh, a->list.e[i].key);
        if (!e || e->role != a->list.e[i].role)
            lost++;
    }
    list_t old = a->list;
    a->list = fresh;
    pthread_mutex_unlock(&a->mu);
    log_info("auth: allow-list reloaded path=%s keys=%zu dropped=%zu", a->path,
             fresh.n, lost);
    list_free(&old);
    if (dropped)
        *dropped = lost;
    return ERR_OK;
}

/* Log a refused handshake, at most REFUSALS_PER_SEC lines a second so a
 * stranger hammering the port cannot flood the log. */
static void
log_refusal(auth_t *a, const char *domain, const char *address, const char *key,
            const char *why)
{
    uint64_t sec = now_mono_ms() / 1000;
    if (sec != a->log_sec) {
        if (a->muted)
            log_warn("auth: %llu more refused handshakes not logged", a->muted);
        a->log_sec = sec;
        a->log_n = 0;
        a->muted = 0;
    }
    if (a->log_n++ >= REFUSALS_PER_SEC) {
        a->muted++;
        return;
    }
    log_warn("auth refused domain=%s address=%s key=%.8s reason=\"%s\"", domain,
             address, key, why);
}

static int
send_part(void *s, const void *d, size_t n, bool more)
{
    return zmq_send(s, d, n, more ? ZMQ_SNDMORE : 0) < 0 ? ERR_IO : ERR_OK;
}

/* Answer one ZAP request whose frames are f[0..n). */
static void
zap_answer(auth_t *a, zmq_msg_t *f, size_t n)
{
    char domain[64] = "", address[64] = "", mech[16] = "";
    char key[CURVE_KEY_Z85] = "";
    const char *code = "400", *why = "malformed ZAP request";
    bool ok = false;
    if (n >= 6) {
        snprintf(domain, sizeof domain, "%.*s", (int)zmq_msg_size(&f[2]),
                 (const char *)zmq_msg_data(&f[2]));
        snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&f[3]),
                 (const char *)zmq_msg_data(&f[3]));
        snprintf(mech, sizeof mech, "%.*s", (int)zmq_msg_size(&f[5]),
                 (const char *)zmq_msg_data(&f[5]));
    }
    if (n < 6 || zmq_msg_size(&f[0]) != 3 ||
        memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0) {
        why = "malformed ZAP request";
    } else if (strcmp(mech, "CURVE") != 0) {
        why = "only CURVE is accepted";
    } else if (n < 7 || zmq_msg_size(&f[6]) != 32) {
        why = "no CURVE public key";
    } else {
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
        char id[AUTH_ID_SIZE];
        int role = auth_role_of(a, key, id);
        int admits = auth_domain_roles(domain);
        if (!role) {
            why = "key not in the allow-list";
        } else if (!(role & admits)) {
            why = "role not admitted on this socket";
        } else {
            ok = true;
            code = "200";
            why = "OK";
            log_debug("auth admitted domain=%s address=%s key=%s role=%s",
                      domain, address, id, auth_role_name(role));
        }
    }
    if (ok) {
        atomic_fetch_add(&a->admitted, 1);
    } else {
        atomic_fetch_add(&a->refused, 1);
        log_refusal(a, domain[0] ? domain : "?", address[0] ? address : "?",
                    key[0] ? key : "-", why);
    }
    /* reply: version, request id, status code, status text, user id,
     * metadata; the user id is the key, read back per message */
    const void *rid = n >= 2 ? zmq_msg_data(&f[1]) : "";
    size_t rid_len = n >= 2 ? zmq_msg_size(&f[1]) : 0;
    if (send_part(a->zap, "1.0", 3, true) ||
        send_part(a->zap, rid, rid_len, true) ||
        send_part(a->zap, code, 3, true) ||
        send_part(a->zap, why, strlen(why), true) ||
        send_part(a->zap, ok ? key : "", ok ? strlen(key) : 0, true) ||
        send_part(a->zap, "", 0, false))
        log_error("auth: ZAP reply failed: %s", zmq_strerror(errno));
}

static void *
zap_main(void *arg)
{
    auth_t *a = arg;
    zmq_msg_t f[ZAP_FRAMES];
    while (!atomic_load(&a->quit)) {
        zmq_pollitem_t it = { a->zap, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll(&it, 1, ZAP_POLL_MS);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc <= 0)
            continue;
        size_t n = 0;
        bool more = true, failed = false;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, a->zap, 0) < 0) {
                zmq_msg_close(&part);
                failed = true;
                break;
            }
            more = zmq_msg_more(&part);
            if (n < ZAP_FRAMES) {
                zmq_msg_init(&f[n]);
                zmq_msg_move(&f[n], &part);
                n++;
            }
            zmq_msg_close(&part);
        }
        if (!failed)
            zap_answer(a, f, n);
        else if (errno == ETERM)
            atomic_store(&a->quit, true);
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
    int zero = 0;
    (void)zmq_setsockopt(a->zap, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(a->zap);
    a->zap = NULL;
    return NULL;
}

int
auth_open(auth_t **out, void *zctx, const char *path)
{
    auth_t *a = xcalloc(1, sizeof *a);
    int rc;
    pthread_mutex_init(&a->mu, NULL);
    a->path = xstrdup(path);
    rc = list_load(path, &a->list);
    if (rc)
        goto fail;
    if (a->list.n == 0)
        log_warn("auth: allow-list %s is empty: no peer can connect", path);
    a->zap = zmq_socket(zctx, ZMQ_REP);
    if (!a->zap || zmq_bind(a->zap, ZAP_ENDPOINT) != 0) {
        log_error("auth: cannot bind the ZAP handler: %s", zmq_strerror(errno));
        rc = ERR_IO;
        goto fail;
    }
    if (pthread_create(&a->thread, NULL, zap_main, a) != 0) {
        log_error("auth: cannot start the ZAP handler thread");
        rc = ERR_IO;
        goto fail;
    }
    a->thread_up = true;
    log_info("auth: CURVE with allow-list %s keys=%zu", path, a->list.n);
    *out = a;
    return ERR_OK;
fail:
    auth_destroy(&a);
    return rc;
}

void
auth_destroy(auth_t **ap)
{
    auth_t *a = ap ? *ap : NULL;
    if (!a)
        return;
    if (a->thread_up) {
        atomic_store(&a->quit, true);
        pthread_join(a->thread, NULL);
    } else if (a->zap) {
        zmq_close(a->zap);
    }
    list_free(&a->list);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
    *ap = NULL;
}
