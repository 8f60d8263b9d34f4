/*
 * test_probe: client/probe.c against real sockets: an ipc:// endpoint
 * with and without a bound ZeroMQ socket (and a stale socket file), a
 * tcp://127.0.0.1 endpoint on an OS-chosen port while bound and after
 * close, and endpoints it cannot judge.
 */
#include "../client/probe.h"
#include "../common/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

static void
test_ipc(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_probe.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ep[128], path[96];
    snprintf(path, sizeof path, "%s/fe.sock", dir);
    snprintf(ep, sizeof ep, "ipc://%s", path);
    assert_int_equal(probe_endpoint(ep, 1000), ERR_CLOSED);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(s, ep), 0);
    assert_int_equal(probe_endpoint(ep, 1000), ERR_OK);
    zmq_close(s);
    zmq_ctx_term(ctx);
    unlink(path);
    /* a socket file nobody listens on, as a killed broker leaves */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    assert_int_equal(probe_endpoint(ep, 1000), ERR_CLOSED);
    unlink(path);
    rmdir(dir);
}

static void
test_tcp(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t n = sizeof ep;
    assert_int_equal(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &n), 0);
    assert_int_equal(probe_endpoint(ep, 2000), ERR_OK);
    assert_int_equal(zmq_unbind(s, ep), 0);
    zmq_close(s);
    zmq_ctx_term(ctx);
    assert_int_equal(probe_endpoint(ep, 2000), ERR_CLOSED);
}

static void
test_cannot_tell(void **state)
{
    (void)state;
    assert_int_equal(probe_endpoint(NULL, 100), ERR_INVAL);
    assert_int_equal(probe_endpoint("inproc://x", 100), ERR_INVAL);
    assert_int_equal(probe_endpoint("tcp://nohostport", 100), ERR_INVAL);
    assert_int_equal(probe_endpoint("tcp://*:7440", 100), ERR_INVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipc),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_cannot_tell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
