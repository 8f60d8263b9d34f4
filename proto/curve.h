/*
 * curve: CURVE key pairs and their files, and the socket options that put
 * a ZeroMQ socket under CURVE (PROTOCOL.md "Security"). Keys are Z85 text,
 * 40 characters; a secret key file is refused unless only its owner can
 * read it. The handshake itself is libzmq's; the broker's allow-list and
 * ZAP handler are broker/auth.c.
 */
#ifndef EXCERPT_CURVE_H
#define EXCERPT_CURVE_H

#include <stdbool.h>
#include <stddef.h>

/* Z85 text of a 32-byte key plus NUL. */
#define CURVE_KEY_Z85 41

/* A key pair as Z85 text; secret is "" when only the public key is known. */
typedef struct curve_pair {
    char public_key[CURVE_KEY_Z85]; /* the peer's identity */
    char secret_key[CURVE_KEY_Z85]; /* never logged, never on argv */
} curve_pair_t;

/* Whether this libzmq was built with CURVE (libsodium). */
bool curve_available(void);

/* A fresh key pair. Errors: ERR_INTERNAL (libzmq without CURVE). */
int curve_generate(curve_pair_t *out);

/*
 * Write DIR/NAME.key (public and secret, mode 0600, created exclusively
 * unless force) and DIR/NAME.pub (public key, optional role and the name,
 * mode 0644). The files are "key = value" lines with '#' comments.
 * Errors: ERR_EXISTS (a file is there and !force), ERR_INVAL (a name with
 * '/' or an empty one, a bad role), ERR_IO (logged with the path).
 */
int curve_write_pair(const char *dir, const char *name, const curve_pair_t *kp,
                     const char *role, bool force);

/*
 * Read a secret key file written by curve_write_pair into *out (both keys;
 * the public key is derived again from the secret and must match).
 * Refuses a file that group or others may read or write.
 * Errors: ERR_IO (unreadable), ERR_INVAL (bad content or mode; the message
 * names the file). Never logs key material.
 */
int curve_read_secret(const char *path, curve_pair_t *out);

/*
 * Read the public key from a .pub or .key file ("public = ..."); role
 * (may be NULL, size role_size) gets its "role = ..." value or "".
 * Errors: ERR_IO, ERR_INVAL.
 */
int curve_read_public(const char *path, char out[CURVE_KEY_Z85], char *role,
                      size_t role_size);

/* Whether s is a well-formed Z85 key (40 characters that decode). */
bool curve_key_valid(const char *s);

/*
 * Make sock a CURVE client of the server whose public key is server_key,
 * authenticating as mine (both keys set). Call before zmq_connect.
 * Errors: ERR_INVAL (bad key), ERR_IO (setsockopt; logged).
 */
int curve_client_apply(void *sock, const curve_pair_t *mine,
                       const char *server_key);

/*
 * Make sock a CURVE server with secret key mine, whose peers are checked
 * by the ZAP handler under domain (which must be running before the first
 * handshake). Sets ZMQ_ZAP_ENFORCE_DOMAIN and reads it back: a libzmq
 * that does not keep it fails closed. Call before zmq_bind.
 * Errors: ERR_INVAL, ERR_IO (logged, naming the option).
 */
int curve_server_apply(void *sock, const curve_pair_t *mine,
                       const char *domain);

/*
 * Client-side key files, as every command and the worker name them: the
 * peer's own secret key file and the broker's public key file. Both NULL
 * or empty: no CURVE (plain loopback or ipc). One without the other is
 * ERR_INVAL. On success *on tells whether CURVE is configured and mine and
 * server_key are filled.
 */
int curve_load_client(const char *key_file, const char *broker_key_file,
                      bool *on, curve_pair_t *mine,
                      char server_key[CURVE_KEY_Z85]);

/* Whether a bind endpoint only accepts this machine's peers: ipc://,
 * inproc://, or tcp:// on 127.0.0.0/8, localhost, [::1] or "lo". */
bool curve_endpoint_is_local(const char *endpoint);

#endif
