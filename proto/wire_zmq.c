/* wire_zmq: see wire_zmq.h. */
#include "wire_zmq.h"

#include "../common/err.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

static void
free_block(void *data, void *hint)
{
    (void)data;
    free(hint);
}

int
wire_zsend(void *sock, uint8_t *mem, size_t off, size_t len, int flags)
{
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, mem + off, len, free_block, mem) != 0) {
        int e = errno;
        free(mem);
        errno = e;
        return ERR_IO;
    }
    for (;;) {
        if (zmq_msg_send(&msg, sock, flags) >= 0)
            return ERR_OK;
        if (errno != EINTR)
            break;
    }
    int e = errno;
    zmq_msg_close(&msg); /* frees mem */
    errno = e;
    if (e == EAGAIN)
        return ERR_AGAIN;
    if (e == EHOSTUNREACH)
        return ERR_CLOSED;
    return ERR_IO;
}

int
wire_batch_zsend(void *sock, wire_batch_t *b, int flags)
{
    uint8_t *mem = NULL;
    size_t off = 0, len = 0;
    if (wire_batch_take(b, &mem, &off, &len) != ERR_OK)
        return ERR_OK; /* nothing to send */
    return wire_zsend(sock, mem, off, len, flags);
}
