/*
 * httpd: a small HTTP server (libmicrohttpd, its own thread) for the
 * metrics and health endpoints of the broker and the worker. It answers
 * GET and HEAD with what a page function writes; it never touches the
 * caller's state itself. A bind address off loopback needs a bearer token
 * (or an explicit opt-out): see httpd_open.
 */
#ifndef EXCERPT_HTTPD_H
#define EXCERPT_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct httpd httpd_t;

/* A growing text buffer a page function writes its body into. */
typedef struct httpd_buf {
    char *data; /* NUL-terminated text, owned */
    size_t len; /* bytes written, without the NUL */
    size_t cap; /* bytes allocated */
} httpd_buf_t;

/* Append printf-formatted text to b (grows it; aborts only on OOM). */
void httpd_printf(httpd_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Free b's text; safe twice. */
void httpd_buf_free(httpd_buf_t *b);

/*
 * A page: called on the server's thread (never concurrently with itself:
 * the server has one thread) for each GET of path ("/metrics", ...).
 * Writes the body into out and returns the HTTP status (200, 404, 503).
 * It must not touch state that another thread owns without its lock.
 */
typedef int (*httpd_page_fn)(void *arg, const char *path, httpd_buf_t *out);

typedef struct httpd_cfg {
    const char *listen;     /* "HOST:PORT" or "[V6]:PORT"; port 0 picks one */
    const char *token_file; /* bearer token for every path but /healthz and
                               /readyz; NULL or "": none */
    bool insecure;          /* allow a non-loopback address without token */
    const char *who;        /* "broker" or "worker", for logs */
} httpd_cfg_t;

/*
 * Bind cfg->listen, read the token file (its first line, surrounding
 * blanks dropped; it must not be empty) and start serving pages from fn
 * on the server's own thread. A host that is not a loopback address is
 * refused (ERR_INVAL, logged) unless a token file is given or
 * cfg->insecure is set; the latter is logged as a warning. Logs
 * "WHO metrics listening addr=HOST:PORT" with the port bound.
 * Errors: ERR_INVAL (bad address, unreadable or empty token, insecure
 * refused), ERR_IO (bind, thread). Sets *out only on success.
 */
int httpd_open(httpd_t **out, const httpd_cfg_t *cfg, httpd_page_fn fn,
               void *arg);

/* The TCP port bound (useful after port 0). */
int httpd_port(const httpd_t *h);

/* Stop the server thread, close the socket, free; NULL-safe, sets *h =
 * NULL. */
void httpd_destroy(httpd_t **h);

#endif
