/*
 * auth: the broker's allow-list of CURVE public keys, each with one role,
 * and its ZAP handler (RFC 27) that admits a key only on the sockets its
 * role may use. The broker asks auth_role_of for every message too, so a
 * key removed by a reload is refused from its next message on.
 * PROTOCOL.md "Security" is the contract.
 */
#ifndef EXCERPT_AUTH_H
#define EXCERPT_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* Roles, as bits so that a socket's admitted set is one mask. */
enum {
    AUTH_CLIENT = 1,   /* submit, get, since, stats, query */
    AUTH_CONSUMER = 2, /* since, query, subscribe */
    AUTH_WORKER = 4,   /* the backend only */
    AUTH_ADMIN = 8,    /* a client's rights plus dead letters */
    AUTH_ANY = 15      /* no keys configured: every local peer */
};

/* ZAP domains of the broker's sockets and the roles each admits. */
#define AUTH_DOMAIN_FRONTEND "frontend"
#define AUTH_DOMAIN_BACKEND "backend"
#define AUTH_DOMAIN_PUBLISHER "publisher"

/* Most bytes of a key's name for logs ("name/ABCDEFGH"). */
#define AUTH_ID_SIZE 96

typedef struct auth auth_t;

/*
 * Read the allow-list at path (a file of "ROLE KEY [NAME]" lines, '#'
 * lines are comments, or a
 * directory whose *.pub files each hold "public = KEY" and "role = ROLE")
 * and start the ZAP handler thread on zctx (it binds
 * inproc://zeromq.zap.01, so open auth before binding CURVE sockets and
 * destroy it after closing them). An empty list is allowed (nobody gets
 * in) and logged. Errors: ERR_INVAL (bad line or file: logged naming it),
 * ERR_IO (unreadable, bind, thread). Sets *out only on success.
 */
int auth_open(auth_t **out, void *zctx, const char *path);

/*
 * Read the allow-list again (SIGHUP). On any error the old list stays and
 * the error is returned (logged). *dropped (may be NULL) gets how many keys
 * lost a role they had (removed or changed): the caller then cuts what
 * those keys still hold open. Thread: the broker loop's.
 */
int auth_reload(auth_t *a, size_t *dropped);

/*
 * The role bits of key (Z85 text, as ZeroMQ gives the "User-Id" property
 * set by the handler), 0 when it is not (or no longer) listed. id (may be
 * NULL) gets "name/ABCDEFGH" for logs. Thread-safe.
 */
int auth_role_of(auth_t *a, const char *key, char id[AUTH_ID_SIZE]);

/* Name of one role bit ("client"...), "any" for AUTH_ANY, "none" for 0. */
const char *auth_role_name(int role);

/* The roles a ZAP domain admits (0 for an unknown domain). */
int auth_domain_roles(const char *domain);

/* Handshakes admitted and refused since open. Thread-safe. */
void auth_counts(auth_t *a, unsigned long long *admitted,
                 unsigned long long *refused);

/* Stop the handler, free the list; NULL-safe, sets *a = NULL. */
void auth_destroy(auth_t **a);

#endif
