/* spare: see spare.h. */
#include "spare.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_key_t keys[SPARE_KINDS];
static bool keys_ok[SPARE_KINDS];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void
keys_init(void)
{
    for (int k = 0; k < SPARE_KINDS; k++)
        keys_ok[k] = pthread_key_create(&keys[k], free) == 0;
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
    void *b = pthread_getspecific(keys[kind]);
    if (b && pthread_setspecific(keys[kind], NULL) != 0)
        return NULL;
    return b;
}

bool
spare_put(spare_kind_t kind, void *block)
{
    return block && ready(kind) && !pthread_getspecific(keys[kind]) &&
           pthread_setspecific(keys[kind], block) == 0;
}
