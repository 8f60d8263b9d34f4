/*
 * probe: a plain connect to an ipc:// or tcp:// endpoint (see probe.h).
 */
#include "probe.h"

#include "../common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
probe_ipc(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return ERR_INVAL;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ERR_INVAL;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? ERR_OK
                                                                 : ERR_CLOSED;
    close(fd);
    return rc;
}

/* Connect fd to ai within timeout_ms. */
static int
connect_within(const struct addrinfo *ai, uint32_t timeout_ms)
{
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               ai->ai_protocol);
    if (fd < 0)
        return ERR_CLOSED;
    int rc = ERR_CLOSED;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        rc = ERR_OK;
    } else if (errno == EINPROGRESS) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int err = 0;
        socklen_t len = sizeof err;
        if (poll(&p, 1, (int)timeout_ms) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
            rc = ERR_OK;
    }
    close(fd);
    return rc;
}

static int
probe_tcp(const char *hostport, uint32_t timeout_ms)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport ||
        (size_t)(colon - hostport) >= sizeof host)
        return ERR_INVAL;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    if (!strcmp(host, "*"))
        return ERR_INVAL;
    char *h = host;
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        h++;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0)
        return ERR_INVAL;
    int rc = ERR_CLOSED;
    for (const struct addrinfo *ai = res; ai && rc != ERR_OK; ai = ai->ai_next)
        rc = connect_within(ai, timeout_ms);
    freeaddrinfo(res);
    return rc;
}

int
probe_endpoint(const char *endpoint, uint32_t timeout_ms)
{
    if (!endpoint)
        return ERR_INVAL;
    if (!strncmp(endpoint, "ipc://", 6))
        return probe_ipc(endpoint + 6);
    if (!strncmp(endpoint, "tcp://", 6))
        return probe_tcp(endpoint + 6, timeout_ms);
    return ERR_INVAL;
}
