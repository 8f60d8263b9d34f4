/*
 * httpd: libmicrohttpd behind httpd.h. We bind the socket ourselves (so
 * that port 0 works and the loopback rule sees the resolved address) and
 * hand it to one internal polling thread; pages come from the caller's
 * function. Bearer token comparison is constant-time.
 */
#include "httpd.h"

#include "err.h"
#include "log.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_TOKEN 4096    /* bytes of a token file read */
#define CONN_LIMIT 32     /* concurrent scrapers and probes */
#define CONN_TIMEOUT_S 10 /* idle connection timeout */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct httpd {
    struct MHD_Daemon *d; /* the server; owns its thread */
    int fd;               /* the listening socket (MHD closes it) */
    int port;             /* the port bound */
    char *token;          /* bearer token, or NULL */
    httpd_page_fn fn;     /* page function */
    void *arg;            /* its argument */
    char who[16];         /* for logs */
};

void
httpd_printf(httpd_buf_t *b, const char *fmt, ...)
{
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = b->cap ? vsnprintf(b->data + b->len, room, fmt, ap) : -2;
        va_end(ap);
        if (n == -1)
            return; /* an encoding error: nothing sensible to add */
        if (n >= 0 && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t need = b->len + (n > 0 ? (size_t)n : 0) + 1;
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < need)
            cap *= 2;
        b->data = xreallocarray(b->data, cap, 1);
        b->cap = cap;
    }
}

void
httpd_buf_free(httpd_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Split "HOST:PORT" or "[V6]:PORT" into host and port (NUL-terminated in
 * the buffers). Returns 0 or ERR_INVAL. */
static int
split_addr(const char *s, char *host, size_t host_len, char *port,
           size_t port_len)
{
    const char *colon, *h = s;
    size_t hn;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return ERR_INVAL;
        h = s + 1;
        hn = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return ERR_INVAL;
        hn = (size_t)(colon - s);
    }
    size_t pn = strlen(colon + 1);
    if (hn == 0 || hn >= host_len || pn == 0 || pn >= port_len ||
        strspn(colon + 1, "0123456789") != pn)
        return ERR_INVAL;
    memcpy(host, h, hn);
    host[hn] = '\0';
    memcpy(port, colon + 1, pn + 1);
    return atoi(port) > 65535 ? ERR_INVAL : ERR_OK;
}

static bool
sa_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a =
            &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

/* Read the token: the file's first line without surrounding blanks. */
static int
read_token(const char *path, char **out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        log_error("metrics token file unreadable path=%s: %s", path,
                  strerror(errno));
        return ERR_INVAL;
    }
    char buf[MAX_TOKEN + 1];
    size_t n = fread(buf, 1, MAX_TOKEN, f);
    fclose(f);
    buf[n] = '\0';
    char *p = buf;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, "\r\n");
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len == 0) {
        log_error("metrics token file is empty path=%s", path);
        return ERR_INVAL;
    }
    *out = xmalloc(len + 1);
    memcpy(*out, p, len);
    (*out)[len] = '\0';
    return ERR_OK;
}

/* Compare in time that depends only on the lengths. */
static bool
token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static bool
is_open_path(const char *url)
{
    return strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
      bool auth_challenge)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                  CONTENT_TYPE);
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (auth_challenge)
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                      "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned status, const char *text,
           bool auth_challenge)
{
    return reply(c, status, xstrdup(text), strlen(text), auth_challenge);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_len, void **state)
{
    httpd_t *h = cls;
    (void)version;
    (void)upload;
    if (*state == NULL) { /* headers only so far: answer on the next call */
        *state = h;
        return MHD_YES;
    }
    if (*upload_len) {
        *upload_len = 0; /* a GET with a body: ignore the body */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "method not allowed\n", false);
    if (h->token && !is_open_path(url)) {
        const char *auth =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!auth || strncmp(auth, "Bearer ", 7) != 0 ||
            !token_equal(auth + 7, h->token))
            return reply_text(c, MHD_HTTP_UNAUTHORIZED, "unauthorized\n", true);
    }
    httpd_buf_t b = { NULL, 0, 0 };
    int status = h->fn(h->arg, url, &b);
    if (!b.data)
        return reply(c, (unsigned)status, xstrdup(""), 0, false);
    return reply(c, (unsigned)status, b.data, b.len, false);
}

/* libmicrohttpd's error logger: its own format strings */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("metrics http: %s", msg);
}

/* Resolve, check and bind cfg->listen; sets h->fd and h->port. */
static int
bind_listen(httpd_t *h, const httpd_cfg_t *cfg, int *family)
{
    char host[256], port[8];
    struct addrinfo hints, *ai = NULL;
    if (split_addr(cfg->listen, host, sizeof host, port, sizeof port)) {
        log_error("%s metrics address invalid addr=%s (want HOST:PORT)", h->who,
                  cfg->listen);
        return ERR_INVAL;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0) {
        log_error("%s metrics address unresolved addr=%s: %s", h->who,
                  cfg->listen, gai_strerror(g));
        return ERR_INVAL;
    }
    bool loop = sa_is_loopback(ai->ai_addr);
    if (!loop && !h->token && !cfg->insecure) {
        log_error("%s metrics refused addr=%s: a non-loopback address needs "
                  "metrics-token-file (or metrics-insecure = true)",
                  h->who, cfg->listen);
        freeaddrinfo(ai);
        return ERR_INVAL;
    }
    if (!loop && !h->token)
        log_warn("%s metrics INSECURE: /metrics is open to anyone who can "
                 "reach addr=%s without a token (metrics-insecure = true)",
                 h->who, cfg->listen);
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        log_error("%s metrics bind failed addr=%s: %s", h->who, cfg->listen,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return ERR_IO;
    }
    *family = ai->ai_family;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        log_error("%s metrics getsockname failed: %s", h->who, strerror(errno));
        close(fd);
        return ERR_IO;
    }
    h->port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    h->fd = fd;
    return ERR_OK;
}

int
httpd_open(httpd_t **out, const httpd_cfg_t *cfg, httpd_page_fn fn, void *arg)
{
    httpd_t *h = xcalloc(1, sizeof *h);
    int rc, family = AF_INET;
    h->fd = -1;
    h->fn = fn;
    h->arg = arg;
    snprintf(h->who, sizeof h->who, "%s", cfg->who ? cfg->who : "");
    if (cfg->token_file && *cfg->token_file &&
        (rc = read_token(cfg->token_file, &h->token)) != 0)
        goto fail;
    if (!cfg->listen || (rc = bind_listen(h, cfg, &family)) != 0) {
        rc = cfg->listen ? rc : ERR_INVAL;
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_LISTEN_SOCKET, h->fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
                            MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)CONN_TIMEOUT_S, MHD_OPTION_END);
    if (!h->d) {
        log_error("%s metrics server failed to start addr=%s", h->who,
                  cfg->listen);
        rc = ERR_IO;
        goto fail;
    }
    log_info("%s metrics listening addr=%s port=%d auth=%s", h->who,
             cfg->listen, h->port, h->token ? "bearer" : "none");
    *out = h;
    return ERR_OK;
fail:
    httpd_destroy(&h);
    return rc;
}

int
httpd_port(const httpd_t *h)
{
    return h ? h->port : 0;
}

void
httpd_destroy(httpd_t **hp)
{
    if (!hp || !*hp)
        return;
    httpd_t *h = *hp;
    if (h->d)
        MHD_stop_daemon(h->d); /* closes the listening socket */
    else if (h->fd >= 0)
        close(h->fd);
    if (h->token) {
        memset(h->token, 0, strlen(h->token));
        free(h->token);
    }
    free(h);
    *hp = NULL;
}
