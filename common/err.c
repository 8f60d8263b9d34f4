/*
 * err: names of status codes and the errno translation.
 */
#include "err.h"

#include <errno.h>

const char *
err_str(int code)
{
    switch (code) {
    case ERR_OK:
        return "ok";
    case ERR_INVAL:
        return "invalid argument or input";
    case ERR_IO:
        return "I/O error";
    case ERR_PROTO:
        return "protocol error";
    case ERR_FULL:
        return "full";
    case ERR_NOTFOUND:
        return "not found";
    case ERR_NOMEM:
        return "allocation limit reached";
    case ERR_EXISTS:
        return "already exists";
    case ERR_STALE:
        return "stale attempt";
    case ERR_TOOBIG:
        return "too big";
    case ERR_VERSION:
        return "unsupported version";
    case ERR_TIMEOUT:
        return "timed out";
    case ERR_AGAIN:
        return "try again later";
    case ERR_CLOSED:
        return "closed";
    case ERR_UTF8:
        return "invalid UTF-8";
    case ERR_INTERNAL:
        return "internal error";
    case ERR_DENIED:
        return "not allowed";
    case ERR_NOSPACE:
        return "filesystem full";
    default:
        return "unknown error";
    }
}

int
err_from_errno(int e)
{
    switch (e) {
    case 0:
        return ERR_OK;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
        return ERR_FULL;
    case ENOENT:
        return ERR_NOTFOUND;
    case ENOMEM:
        return ERR_NOMEM;
    case EEXIST:
        return ERR_EXISTS;
    case EINVAL:
        return ERR_INVAL;
    case EAGAIN:
    case EINTR:
        return ERR_AGAIN;
    case ETIMEDOUT:
        return ERR_TIMEOUT;
    case EFBIG:
    case EMSGSIZE:
        return ERR_TOOBIG;
    default:
        return ERR_IO;
    }
}
