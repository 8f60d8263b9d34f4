/*
 * err: the project's status codes. 0 is success, failures are negative.
 * LMDB, ZeroMQ and errno codes are translated at the module edge into these;
 * nothing above a module ever sees MDB_* or raw errno values.
 */
#ifndef EXCERPT_ERR_H
#define EXCERPT_ERR_H

enum {
    ERR_OK = 0,
    ERR_INVAL = -1,     /* invalid argument or malformed input */
    ERR_IO = -2,        /* operating system or disk I/O failure */
    ERR_PROTO = -3,     /* malformed or unexpected wire message */
    ERR_FULL = -4,      /* queue, store or buffer at its configured limit */
    ERR_NOTFOUND = -5,  /* no such job, key or record */
    ERR_NOMEM = -6,     /* a bounded allocator refused (not OOM aborts) */
    ERR_EXISTS = -7,    /* the record exists already (insert-once) */
    ERR_STALE = -8,     /* fenced: an old attempt or lease */
    ERR_TOOBIG = -9,    /* input over its size limit */
    ERR_VERSION = -10,  /* unsupported protocol or schema version */
    ERR_TIMEOUT = -11,  /* deadline passed */
    ERR_AGAIN = -12,    /* try again later (transient) */
    ERR_CLOSED = -13,   /* peer, socket or object shut down */
    ERR_UTF8 = -14,     /* text is not valid UTF-8 */
    ERR_INTERNAL = -15, /* a bug or an unexpected library state */
    ERR_DENIED = -16    /* refused: this key or its role is not allowed */
};

/* Told apart from ERR_FULL (a configured limit): the disk itself is full
 * (ENOSPC, EDQUOT from LMDB's writes). */
enum { ERR_NOSPACE = -17 }; /* -16 is ERR_DENIED (issue 10) */

/* Name of a status code, e.g. "ERR_FULL: at capacity". Never NULL; static. */
const char *err_str(int code);

/* Translate an errno value into a status code (ENOSPC -> ERR_FULL, ...). */
int err_from_errno(int e);

#endif
