/*
 * probe: is anything listening on a ZeroMQ endpoint? A plain connect
 * (no ZeroMQ socket, nothing sent), so that a command can say at once that
 * no broker is running instead of waiting out its request timeouts.
 */
#ifndef EXCERPT_PROBE_H
#define EXCERPT_PROBE_H

#include <stdint.h>

/*
 * Check endpoint: for ipc://PATH connect a unix socket to PATH, for
 * tcp://HOST:PORT (numeric or resolvable host) connect with a deadline of
 * timeout_ms. Returns ERR_OK when something accepted the connection,
 * ERR_CLOSED when nothing listens there (no socket file, refused, or no
 * answer in time), ERR_INVAL for another transport or a malformed
 * endpoint (the caller then just tries).
 */
int probe_endpoint(const char *endpoint, uint32_t timeout_ms);

#endif
