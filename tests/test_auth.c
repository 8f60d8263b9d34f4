/*
 * test_auth: the allow-list (file and directory forms, comments, keys
 * that contain '#', refusals of bad lines, reload keeping the old list on
 * error) and proto/curve's key files and endpoint rule. The handshake
 * itself is tested end to end in test_security.
 */
#include "../broker/auth.h"
#include "../common/err.h"
#include "../proto/curve.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

typedef struct fx {
    char dir[64]; /* temp dir */
    void *ctx;    /* for the ZAP handler */
} fx_t;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_auth.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    zmq_ctx_term(f->ctx);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A fresh key pair whose public key contains (or not) a '#'. */
static curve_pair_t
pair_with_hash(bool hash)
{
    for (int i = 0; i < 10000; i++) {
        curve_pair_t kp;
        assert_int_equal(curve_generate(&kp), ERR_OK);
        if ((strchr(kp.public_key, '#') != NULL) == hash)
            return kp;
    }
    fail_msg("no key %s '#' in 10000 tries", hash ? "with" : "without");
    curve_pair_t none = { 0 };
    return none;
}

static void
write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

static void
test_file_list_with_hash_keys(void **state)
{
    fx_t *f = *state;
    curve_pair_t a = pair_with_hash(true), b = pair_with_hash(false);
    char path[128], text[512];
    snprintf(path, sizeof path, "%s/allow.txt", f->dir);
    snprintf(text, sizeof text,
             "# scrapers\n"
             "  # an indented comment\n"
             "\n"
             "client %s scraper1\n"
             "worker\t%s\n",
             a.public_key, b.public_key);
    write_text(path, text);
    auth_t *au = NULL;
    assert_int_equal(auth_open(&au, f->ctx, path), ERR_OK);
    char id[AUTH_ID_SIZE];
    assert_int_equal(auth_role_of(au, a.public_key, id), AUTH_CLIENT);
    assert_true(strncmp(id, "scraper1/", 9) == 0);
    assert_int_equal(auth_role_of(au, b.public_key, id), AUTH_WORKER);
    curve_pair_t c = pair_with_hash(false);
    assert_int_equal(auth_role_of(au, c.public_key, NULL), 0);
    assert_int_equal(auth_role_of(au, "short", NULL), 0);
    assert_int_equal(auth_role_of(au, NULL, NULL), 0);

    /* reload: a removed key loses its role, a bad list keeps the old one */
    snprintf(text, sizeof text, "worker %s\n", b.public_key);
    write_text(path, text);
    size_t dropped = 0;
    assert_int_equal(auth_reload(au, &dropped), ERR_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(auth_role_of(au, a.public_key, NULL), 0);
    write_text(path, "worker not-a-key\n");
    assert_int_equal(auth_reload(au, &dropped), ERR_INVAL);
    assert_int_equal(auth_role_of(au, b.public_key, NULL), AUTH_WORKER);
    auth_destroy(&au);
    assert_null(au);
    auth_destroy(&au); /* safe twice */
}

static void
test_file_list_refusals(void **state)
{
    fx_t *f = *state;
    curve_pair_t a = pair_with_hash(false);
    char path[128];
    snprintf(path, sizeof path, "%s/allow.txt", f->dir);
    char bad[4][512];
    snprintf(bad[0], sizeof bad[0], "boss %s\n", a.public_key);
    snprintf(bad[1], sizeof bad[1], "client\n");
    snprintf(bad[2], sizeof bad[2], "client %s name extra\n", a.public_key);
    snprintf(bad[3], sizeof bad[3], "client %s\nworker %s\n", a.public_key,
             a.public_key);
    for (size_t i = 0; i < 4; i++) {
        write_text(path, bad[i]);
        auth_t *au = NULL;
        assert_int_equal(auth_open(&au, f->ctx, path), ERR_INVAL);
        assert_null(au);
    }
    snprintf(path, sizeof path, "%s/missing.txt", f->dir);
    auth_t *au = NULL;
    assert_int_equal(auth_open(&au, f->ctx, path), ERR_IO);
}

static void
test_directory_list(void **state)
{
    fx_t *f = *state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/allow", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    curve_pair_t w = pair_with_hash(true), n = pair_with_hash(false);
    assert_int_equal(curve_write_pair(dir, "w1", &w, "worker", false), ERR_OK);
    assert_int_equal(curve_write_pair(dir, "n1", &n, "consumer", false),
                     ERR_OK);
    auth_t *au = NULL;
    assert_int_equal(auth_open(&au, f->ctx, dir), ERR_OK);
    char id[AUTH_ID_SIZE];
    assert_int_equal(auth_role_of(au, w.public_key, id), AUTH_WORKER);
    assert_true(strncmp(id, "w1/", 3) == 0);
    assert_int_equal(auth_role_of(au, n.public_key, NULL), AUTH_CONSUMER);
    auth_destroy(&au);
    /* a .pub without a role line is refused */
    curve_pair_t b = pair_with_hash(false);
    assert_int_equal(curve_write_pair(dir, "b", &b, NULL, false), ERR_OK);
    assert_int_equal(auth_open(&au, f->ctx, dir), ERR_INVAL);
}

static void
test_domain_roles(void **state)
{
    (void)state;
    assert_int_equal(auth_domain_roles(AUTH_DOMAIN_FRONTEND),
                     AUTH_CLIENT | AUTH_CONSUMER | AUTH_ADMIN);
    assert_int_equal(auth_domain_roles(AUTH_DOMAIN_BACKEND), AUTH_WORKER);
    assert_int_equal(auth_domain_roles(AUTH_DOMAIN_PUBLISHER), AUTH_CONSUMER);
    assert_int_equal(auth_domain_roles("other"), 0);
    assert_string_equal(auth_role_name(AUTH_ADMIN), "admin");
    assert_string_equal(auth_role_name(0), "none");
}

static void
test_key_files(void **state)
{
    fx_t *f = *state;
    curve_pair_t kp, back;
    assert_int_equal(curve_generate(&kp), ERR_OK);
    assert_int_equal(curve_write_pair(f->dir, "k", &kp, "client", false),
                     ERR_OK);
    assert_int_equal(curve_write_pair(f->dir, "k", &kp, "client", false),
                     ERR_EXISTS);
    assert_int_equal(curve_write_pair(f->dir, "a/b", &kp, NULL, false),
                     ERR_INVAL);
    assert_int_equal(curve_write_pair(f->dir, "r", &kp, "boss", false),
                     ERR_INVAL);
    char path[128], role[16], pub[CURVE_KEY_Z85];
    snprintf(path, sizeof path, "%s/k.key", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(curve_read_secret(path, &back), ERR_OK);
    assert_string_equal(back.public_key, kp.public_key);
    assert_string_equal(back.secret_key, kp.secret_key);
    /* a secret others may read is refused */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(curve_read_secret(path, &back), ERR_INVAL);
    assert_int_equal(chmod(path, 0600), 0);
    snprintf(path, sizeof path, "%s/k.pub", f->dir);
    assert_int_equal(curve_read_public(path, pub, role, sizeof role), ERR_OK);
    assert_string_equal(pub, kp.public_key);
    assert_string_equal(role, "client");
    /* a .pub is no secret key file; a public key that does not match the
     * secret is refused */
    assert_int_equal(curve_read_secret(path, &back), ERR_INVAL);
    curve_pair_t other;
    assert_int_equal(curve_generate(&other), ERR_OK);
    char text[256];
    snprintf(path, sizeof path, "%s/mixed.key", f->dir);
    snprintf(text, sizeof text, "public = %s\nsecret = %s\n", other.public_key,
             kp.secret_key);
    write_text(path, text);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(curve_read_secret(path, &back), ERR_INVAL);

    bool on = true;
    assert_int_equal(curve_load_client(NULL, "", &on, &back, pub), ERR_OK);
    assert_false(on);
    snprintf(path, sizeof path, "%s/k.key", f->dir);
    assert_int_equal(curve_load_client(path, NULL, &on, &back, pub), ERR_INVAL);
}

static void
test_endpoint_is_local(void **state)
{
    (void)state;
    const char *local[] = { "ipc:///tmp/x.sock",    "inproc://x",
                            "tcp://127.0.0.1:7440", "tcp://127.1.2.3:1",
                            "tcp://localhost:7440", "tcp://[::1]:7440",
                            "tcp://lo:7440" };
    const char *remote[] = { "tcp://0.0.0.0:7440",
                             "tcp://*:7440",
                             "tcp://10.0.0.1:7440",
                             "tcp://eth0:7440",
                             "tcp://127.0.0.1.evil.example:1",
                             "pgm://x",
                             "tcp://127.0.0.1x:1" };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        assert_true(curve_endpoint_is_local(local[i]));
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        assert_false(curve_endpoint_is_local(remote[i]));
    assert_false(curve_endpoint_is_local(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_list_with_hash_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_list_refusals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_directory_list, setup, teardown),
        cmocka_unit_test(test_domain_roles),
        cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
        cmocka_unit_test(test_endpoint_is_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
