/*
 * test_httpd: common/httpd (the HTTP server wrapper) and common/prom (the
 * Prometheus text writers) on real sockets: pages served on an OS-chosen
 * loopback port, methods, the bearer token and its open probe paths, the
 * refusals (bad address, non-loopback without token, empty or missing
 * token file), histogram buckets and label escaping.
 */
#include "../common/err.h"
#include "../common/httpd.h"
#include "../common/prom.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An exchange: request text in, status and body out (body owned). */
static int
http(int port, const char *request, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    size_t n = strlen(request);
    assert_int_equal(send(fd, request, n, MSG_NOSIGNAL), (ssize_t)n);
    char buf[65536];
    size_t len = 0;
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        assert_true(poll(&p, 1, 30000) == 1); /* fails, never hangs */
        ssize_t got = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        assert_true(got >= 0);
        if (got == 0)
            break;
        len += (size_t)got;
        assert_true(len < sizeof buf - 1);
    }
    close(fd);
    buf[len] = '\0';
    assert_memory_equal(buf, "HTTP/1.1 ", 9);
    const char *b = strstr(buf, "\r\n\r\n");
    assert_non_null(b);
    if (body) {
        *body = strdup(b + 4);
        assert_non_null(*body);
    }
    return atoi(buf + 9);
}

static int
get(int port, const char *path, const char *token, char **body)
{
    char req[512];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%s%s\r\n",
             path, token ? "Authorization: Bearer " : "", token ? token : "",
             token ? "\r\n" : "");
    return http(port, req, body);
}

static int pages; /* page calls */

static int
page(void *arg, const char *path, httpd_buf_t *out)
{
    pages++;
    if (strcmp(path, "/metrics") == 0) {
        httpd_printf(out, "%s %d\n", (const char *)arg, 42);
        return 200;
    }
    if (strcmp(path, "/healthz") == 0) {
        httpd_printf(out, "ok\n");
        return 200;
    }
    if (strcmp(path, "/big") == 0) {
        for (int i = 0; i < 5000; i++)
            httpd_printf(out, "line %d\n", i);
        return 200;
    }
    return 404;
}

static void
test_serves_pages(void **state)
{
    (void)state;
    httpd_t *h = NULL;
    httpd_cfg_t c = { "127.0.0.1:0", NULL, false, "test" };
    assert_int_equal(httpd_open(&h, &c, page, "answer"), ERR_OK);
    int port = httpd_port(h);
    assert_true(port > 0);
    char *body = NULL;
    assert_int_equal(get(port, "/metrics", NULL, &body), 200);
    assert_string_equal(body, "answer 42\n");
    free(body);
    assert_int_equal(get(port, "/big", NULL, &body), 200);
    assert_true(strlen(body) > 40000);
    assert_non_null(strstr(body, "line 4999\n"));
    free(body);
    assert_int_equal(get(port, "/nope", NULL, NULL), 404);
    pages = 0;
    assert_int_equal(http(port,
                          "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: "
                          "close\r\nContent-Length: 3\r\n\r\nabc",
                          NULL),
                     405);
    assert_int_equal(pages, 0);
    httpd_destroy(&h);
    assert_null(h);
    httpd_destroy(&h); /* safe twice */
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void
test_token(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_httpd.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/token", dir);
    write_file(path, "\t abc123 \r\nsecond line ignored\n");
    httpd_t *h = NULL;
    httpd_cfg_t c = { "127.0.0.1:0", path, false, "test" };
    assert_int_equal(httpd_open(&h, &c, page, "m"), ERR_OK);
    int port = httpd_port(h);
    pages = 0;
    assert_int_equal(get(port, "/metrics", NULL, NULL), 401);
    assert_int_equal(get(port, "/metrics", "abc12", NULL), 401);
    assert_int_equal(get(port, "/metrics", "abc1234", NULL), 401);
    assert_int_equal(pages, 0);
    assert_int_equal(get(port, "/metrics", "abc123", NULL), 200);
    assert_int_equal(get(port, "/healthz", NULL, NULL), 200);
    assert_int_equal(get(port, "/big", NULL, NULL), 401);
    httpd_destroy(&h);

    /* the same token lets a non-loopback address start */
    c.listen = "0.0.0.0:0";
    assert_int_equal(httpd_open(&h, &c, page, "m"), ERR_OK);
    assert_int_equal(get(httpd_port(h), "/metrics", NULL, NULL), 401);
    httpd_destroy(&h);

    write_file(path, " \n");
    assert_int_equal(httpd_open(&h, &c, page, "m"), ERR_INVAL);
    assert_null(h);
    unlink(path);
    assert_int_equal(httpd_open(&h, &c, page, "m"), ERR_INVAL);
    assert_null(h);
    rmdir(dir);
}

static void
test_refusals(void **state)
{
    (void)state;
    httpd_t *h = NULL;
    static const char *const bad[] = { "127.0.0.1", "127.0.0.1:",
                                       ":80",       "127.0.0.1:99999",
                                       "[::1]80",   "127.0.0.1:8x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        httpd_cfg_t c = { bad[i], NULL, false, "test" };
        assert_int_equal(httpd_open(&h, &c, page, NULL), ERR_INVAL);
        assert_null(h);
    }
    httpd_cfg_t c = { "0.0.0.0:0", NULL, false, "test" };
    assert_int_equal(httpd_open(&h, &c, page, NULL), ERR_INVAL);
    assert_null(h);
    c.insecure = true;
    assert_int_equal(httpd_open(&h, &c, page, "x"), ERR_OK);
    assert_int_equal(get(httpd_port(h), "/metrics", NULL, NULL), 200);
    httpd_destroy(&h);
    /* a port in use: ERR_IO */
    c.listen = "127.0.0.1:0";
    c.insecure = false;
    assert_int_equal(httpd_open(&h, &c, page, "x"), ERR_OK);
    char taken[32];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", httpd_port(h));
    httpd_cfg_t c2 = { taken, NULL, false, "test" };
    httpd_t *h2 = NULL;
    assert_int_equal(httpd_open(&h2, &c2, page, NULL), ERR_IO);
    assert_null(h2);
    httpd_destroy(&h);
}

static void
test_prom(void **state)
{
    (void)state;
    prom_hist_t hist;
    prom_hist_init_exp(&hist, 1, 2, 4); /* 1 2 4 8 */
    prom_hist_observe(&hist, 0.5);
    prom_hist_observe(&hist, 1);
    prom_hist_observe(&hist, 3);
    prom_hist_observe(&hist, 100);
    httpd_buf_t b = { NULL, 0, 0 };
    prom_histogram(&b, "x_seconds", "help", &hist);
    assert_non_null(strstr(b.data, "# TYPE x_seconds histogram\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"2\"} 2\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"4\"} 3\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"8\"} 3\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(b.data, "x_seconds_sum 104.5\n"));
    assert_non_null(strstr(b.data, "x_seconds_count 4\n"));
    httpd_buf_free(&b);

    prom_gauge(&b, "g", "a gauge", 34359738368.0);
    prom_value(&b, "g", "k=\"v\"", 0.25);
    prom_counter(&b, "c_total", "a counter", 18446744073709551615ull);
    httpd_printf(&b, "l{w=\"");
    prom_label_value(&b, "a\"b\\c\nd", 64);
    httpd_printf(&b, "\"} 1\n");
    assert_non_null(strstr(b.data, "\ng 34359738368\n"));
    assert_non_null(strstr(b.data, "\ng{k=\"v\"} 0.25\n"));
    assert_non_null(strstr(b.data, "\nc_total 18446744073709551615\n"));
    assert_non_null(strstr(b.data, "l{w=\"a\\\"b\\\\c\\nd\"} 1\n"));
    httpd_buf_free(&b);
    httpd_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_pages),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_prom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
