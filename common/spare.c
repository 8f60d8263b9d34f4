/* spare: see spare.h. */
#include "spare.h"

#include <pthread.h>
#include <stdlib.h>

/* A thread's place for one kind: kept while empty. */
typedef struct slot {
    void *obj;               /* the spare, or NULL */
    void (*destroy)(void *); /* how to free it */
} slot_t;

static pthread_key_t keys[SPARE_KINDS];
static bool keys_ok[SPARE_KINDS];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void
slot_free(void *p)
{
    slot_t *s = p;
    if (s->obj)
        s->destroy(s->obj);
    free(s);
}

static void
keys_init(void)
{
    for (int k = 0; k < SPARE_KINDS; k++)
        keys_ok[k] = pthread_key_create(&keys[k], slot_free) == 0;
}

static bool
ready(spare_kind_t kind)
{
    return kind >= 0 && kind < SPARE_KINDS &&
           pthread_once(&keys_once, keys_init) == 0 && keys_ok[kind];
}

void *
spare_take(spare_kind_t kind)
{
    if (!ready(kind))
        return NULL;
    slot_t *s = pthread_getspecific(keys[kind]);
    if (!s)
        return NULL;
    void *obj = s->obj;
    s->obj = NULL;
    return obj;
}

bool
spare_put(spare_kind_t kind, void *obj, void (*destroy)(void *))
{
    if (!obj || !destroy || !ready(kind))
        return false;
    slot_t *s = pthread_getspecific(keys[kind]);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return false;
        if (pthread_setspecific(keys[kind], s) != 0) {
            free(s);
            return false;
        }
    }
    if (s->obj)
        return false;
    s->obj = obj;
    s->destroy = destroy;
    return true;
}
