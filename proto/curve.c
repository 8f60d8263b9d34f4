/*
 * curve: key pairs, key files and CURVE socket options (curve.h).
 */
#include "curve.h"

#include "../common/err.h"
#include "../common/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* A draft option in libzmq 4.3's header, but honoured by its sockets:
 * with it a CURVE socket refuses peers when no ZAP handler answers. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define KEYFILE_MAX 4096 /* a key file is a few lines */

bool
curve_available(void)
{
    return zmq_has("curve") == 1;
}

bool
curve_key_valid(const char *s)
{
    uint8_t bin[32];
    if (!s || strlen(s) != CURVE_KEY_Z85 - 1)
        return false;
    return zmq_z85_decode(bin, s) != NULL;
}

int
curve_generate(curve_pair_t *out)
{
    memset(out, 0, sizeof *out);
    if (!curve_available() ||
        zmq_curve_keypair(out->public_key, out->secret_key) != 0) {
        log_error("curve: this libzmq has no CURVE support");
        return ERR_INTERNAL;
    }
    return ERR_OK;
}

static bool
role_valid(const char *role)
{
    static const char *const roles[] = { "client", "consumer", "worker",
                                         "admin" };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(role, roles[i]))
            return true;
    return false;
}

/* Write text to path with mode, exclusively unless force; the data is
 * synced before the call returns. */
static int
write_file(const char *path, const char *text, mode_t mode, bool force)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return ERR_EXISTS;
        log_error("curve: cannot create %s: %s", path, strerror(errno));
        return ERR_IO;
    }
    size_t len = strlen(text);
    int rc = ERR_OK;
    /* an existing file kept its mode through O_TRUNC: set ours */
    if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len ||
        fsync(fd) != 0) {
        log_error("curve: cannot write %s: %s", path, strerror(errno));
        rc = ERR_IO;
    }
    if (close(fd) != 0 && rc == ERR_OK) {
        log_error("curve: cannot close %s: %s", path, strerror(errno));
        rc = ERR_IO;
    }
    return rc;
}

int
curve_write_pair(const char *dir, const char *name, const curve_pair_t *kp,
                 const char *role, bool force)
{
    char key_path[4096], pub_path[4096], text[512];
    if (!name || !*name || strchr(name, '/') ||
        !curve_key_valid(kp->public_key) || !curve_key_valid(kp->secret_key) ||
        (role && *role && !role_valid(role)))
        return ERR_INVAL;
    if (snprintf(key_path, sizeof key_path, "%s/%s.key", dir, name) >=
            (int)sizeof key_path ||
        snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, name) >=
            (int)sizeof pub_path)
        return ERR_INVAL;
    if (!force && (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0))
        return ERR_EXISTS;
    snprintf(text, sizeof text,
             "# excerpt CURVE key pair \"%s\": keep this file private\n"
             "public = %s\nsecret = %s\n",
             name, kp->public_key, kp->secret_key);
    int rc = write_file(key_path, text, 0600, force);
    if (rc)
        return rc;
    snprintf(
        text, sizeof text,
        "# excerpt CURVE public key \"%s\"\npublic = %s\n%s%s%sname = %s\n",
        name, kp->public_key, role && *role ? "role = " : "",
        role && *role ? role : "", role && *role ? "\n" : "", name);
    return write_file(pub_path, text, 0644, force);
}

/* Read a small text file into buf (NUL-terminated); *st gets its stat. */
static int
read_small(const char *path, char *buf, size_t size, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_error("curve: cannot open key file %s: %s", path, strerror(errno));
        return ERR_IO;
    }
    int rc = ERR_OK;
    if (fstat(fd, st) != 0) {
        log_error("curve: cannot stat %s: %s", path, strerror(errno));
        rc = ERR_IO;
        goto out;
    }
    if (!S_ISREG(st->st_mode) || st->st_size >= (off_t)size) {
        log_error("curve: %s is not a key file (not a small regular file)",
                  path);
        rc = ERR_INVAL;
        goto out;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_error("curve: cannot read %s: %s", path, strerror(errno));
            rc = ERR_IO;
            goto out;
        }
        if (n == 0 || got + (size_t)n == size - 1) {
            got += (size_t)n;
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
out:
    close(fd);
    return rc;
}

/* Find "key = value" in text; copy value (trimmed) into out. */
static bool
find_value(const char *text, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *p = line;
        while (p < line + len && isspace((unsigned char)*p))
            p++;
        if ((size_t)(line + len - p) > klen && !strncmp(p, key, klen)) {
            const char *q = p + klen;
            while (q < line + len && isspace((unsigned char)*q))
                q++;
            if (q < line + len && *q == '=') {
                q++;
                while (q < line + len && isspace((unsigned char)*q))
                    q++;
                const char *e = line + len;
                while (e > q && isspace((unsigned char)e[-1]))
                    e--;
                if ((size_t)(e - q) >= size)
                    return false;
                memcpy(out, q, (size_t)(e - q));
                out[e - q] = '\0';
                return true;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

int
curve_read_secret(const char *path, curve_pair_t *out)
{
    char buf[KEYFILE_MAX], derived[CURVE_KEY_Z85];
    struct stat st;
    curve_pair_t kp;
    memset(&kp, 0, sizeof kp);
    int rc = read_small(path, buf, sizeof buf, &st);
    if (rc)
        return rc;
    if (st.st_mode & 077) {
        log_error("curve: secret key file %s may be read by others (mode "
                  "%04o): chmod 600 it",
                  path, (unsigned)(st.st_mode & 07777));
        rc = ERR_INVAL;
    } else if (!find_value(buf, "secret", kp.secret_key,
                           sizeof kp.secret_key) ||
               !curve_key_valid(kp.secret_key)) {
        log_error("curve: %s has no valid \"secret = \" line", path);
        rc = ERR_INVAL;
    } else if (zmq_curve_public(derived, kp.secret_key) != 0) {
        log_error("curve: cannot derive the public key of %s", path);
        rc = ERR_INVAL;
    } else if (find_value(buf, "public", kp.public_key, sizeof kp.public_key) &&
               strcmp(kp.public_key, derived) != 0) {
        log_error("curve: the public key in %s does not match its secret key",
                  path);
        rc = ERR_INVAL;
    } else {
        memcpy(kp.public_key, derived, sizeof derived);
        *out = kp;
    }
    memset(buf, 0, sizeof buf);
    memset(&kp, 0, sizeof kp);
    return rc;
}

int
curve_read_public(const char *path, char out[CURVE_KEY_Z85], char *role,
                  size_t role_size)
{
    char buf[KEYFILE_MAX], key[CURVE_KEY_Z85 + 8];
    struct stat st;
    int rc = read_small(path, buf, sizeof buf, &st);
    if (rc)
        return rc;
    if (!find_value(buf, "public", key, sizeof key) || !curve_key_valid(key)) {
        log_error("curve: %s has no valid \"public = \" line", path);
        rc = ERR_INVAL;
        goto out;
    }
    memcpy(out, key, CURVE_KEY_Z85);
    if (role && role_size) {
        if (!find_value(buf, "role", role, role_size))
            role[0] = '\0';
    }
out:
    memset(buf, 0, sizeof buf);
    return rc;
}

static int
set_opt(void *sock, int opt, const void *v, size_t len, const char *name)
{
    if (zmq_setsockopt(sock, opt, v, len) != 0) {
        log_error("curve: setting %s failed: %s", name, zmq_strerror(errno));
        return ERR_IO;
    }
    return ERR_OK;
}

int
curve_client_apply(void *sock, const curve_pair_t *mine, const char *server_key)
{
    if (!curve_key_valid(server_key) || !curve_key_valid(mine->public_key) ||
        !curve_key_valid(mine->secret_key))
        return ERR_INVAL;
    if (set_opt(sock, ZMQ_CURVE_SERVERKEY, server_key, CURVE_KEY_Z85 - 1,
                "ZMQ_CURVE_SERVERKEY") ||
        set_opt(sock, ZMQ_CURVE_PUBLICKEY, mine->public_key, CURVE_KEY_Z85 - 1,
                "ZMQ_CURVE_PUBLICKEY") ||
        set_opt(sock, ZMQ_CURVE_SECRETKEY, mine->secret_key, CURVE_KEY_Z85 - 1,
                "ZMQ_CURVE_SECRETKEY"))
        return ERR_IO;
    return ERR_OK;
}

int
curve_server_apply(void *sock, const curve_pair_t *mine, const char *domain)
{
    int one = 1, v = 0;
    size_t vlen = sizeof v;
    if (!curve_key_valid(mine->secret_key) || !domain || !*domain)
        return ERR_INVAL;
    if (set_opt(sock, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER") ||
        set_opt(sock, ZMQ_CURVE_SECRETKEY, mine->secret_key, CURVE_KEY_Z85 - 1,
                "ZMQ_CURVE_SECRETKEY") ||
        set_opt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain),
                "ZMQ_ZAP_DOMAIN") ||
        set_opt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one,
                "ZMQ_ZAP_ENFORCE_DOMAIN"))
        return ERR_IO;
    /* fail closed: without enforcement a missing handler admits any key */
    if (zmq_getsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &v, &vlen) != 0 || !v) {
        log_error("curve: this libzmq does not enforce the ZAP domain; "
                  "refusing to serve with CURVE");
        return ERR_IO;
    }
    v = 0;
    vlen = sizeof v;
    if (zmq_getsockopt(sock, ZMQ_CURVE_SERVER, &v, &vlen) != 0 || !v) {
        log_error("curve: ZMQ_CURVE_SERVER did not take");
        return ERR_IO;
    }
    return ERR_OK;
}

int
curve_load_client(const char *key_file, const char *broker_key_file, bool *on,
                  curve_pair_t *mine, char server_key[CURVE_KEY_Z85])
{
    bool have_key = key_file && *key_file;
    bool have_broker = broker_key_file && *broker_key_file;
    *on = false;
    if (!have_key && !have_broker)
        return ERR_OK;
    if (!have_key || !have_broker) {
        log_error("curve: both a key file and the broker's public key file "
                  "are needed (got only the %s)",
                  have_key ? "key file" : "broker key file");
        return ERR_INVAL;
    }
    if (!curve_available()) {
        log_error("curve: this libzmq has no CURVE support");
        return ERR_INVAL;
    }
    int rc = curve_read_secret(key_file, mine);
    if (rc == ERR_OK)
        rc = curve_read_public(broker_key_file, server_key, NULL, 0);
    if (rc == ERR_OK)
        *on = true;
    return rc;
}

bool
curve_endpoint_is_local(const char *ep)
{
    if (!ep)
        return false;
    if (!strncmp(ep, "ipc://", 6) || !strncmp(ep, "inproc://", 9))
        return true;
    if (strncmp(ep, "tcp://", 6) != 0)
        return false; /* pgm, udp, ws...: not ours to judge, so not local */
    const char *h = ep + 6;
    /* "tcp://src;dst" binds are not used by a ROUTER; take the host up to
     * the last ':' (the port) */
    const char *colon = strrchr(h, ':');
    size_t n = colon ? (size_t)(colon - h) : strlen(h);
    if (n == 9 && !strncmp(h, "localhost", 9))
        return true;
    if (n == 2 && !strncmp(h, "lo", 2))
        return true;
    if (n == 5 && !strncmp(h, "[::1]", 5))
        return true;
    if (n >= 4 && !strncmp(h, "127.", 4)) {
        for (size_t i = 4; i < n; i++)
            if (!isdigit((unsigned char)h[i]) && h[i] != '.')
                return false;
        return true;
    }
    return false;
}
