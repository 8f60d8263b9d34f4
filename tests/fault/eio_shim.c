/*
 * eio_shim: an LD_PRELOAD library for the fault tests. It injects the
 * disk failures that cannot be caused on demand otherwise: while the file
 * named by EXCERPT_FAULT_TRIGGER exists, a write to LMDB's meta pages
 * (the first two pages of a file named data.mdb) fails with EIO, the
 * failure that leaves an LMDB environment fatal (MDB_PANIC); with
 * EXCERPT_FAULT_MODE=sync, fdatasync/fsync of data.mdb fail with EIO
 * instead (a commit fails, the environment stays usable). Nothing else
 * changes; without the variables it passes every call through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*sync_fn)(int);

int fdatasync(int fd);
int fsync(int fd);

static int
sync_mode(void)
{
    const char *m = getenv("EXCERPT_FAULT_MODE");
    return m && strcmp(m, "sync") == 0;
}

/* Is fd the file data.mdb, and is the trigger file there? */
static int
armed(int fd)
{
    const char *trigger = getenv("EXCERPT_FAULT_TRIGGER");
    if (!trigger || access(trigger, F_OK) != 0)
        return 0;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    size_t len = (size_t)n;
    return len >= 9 && strcmp(path + len - 9, "/data.mdb") == 0;
}

static ssize_t
faulty(pwrite_fn real, int fd, const void *buf, size_t count, off_t off)
{
    long page = sysconf(_SC_PAGESIZE);
    if (off < 2 * page && !sync_mode() && armed(fd)) {
        errno = EIO;
        return -1;
    }
    return real(fd, buf, count, off);
}

ssize_t
pwrite(int fd, const void *buf, size_t count, off_t off)
{
    static pwrite_fn real;
    if (!real)
        real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
    return faulty(real, fd, buf, count, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t count, off_t off)
{
    static pwrite_fn real;
    if (!real)
        real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
    return faulty(real, fd, buf, count, off);
}

static int
faulty_sync(sync_fn real, int fd)
{
    if (sync_mode() && armed(fd)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int
fdatasync(int fd)
{
    static sync_fn real;
    if (!real)
        real = (sync_fn)dlsym(RTLD_NEXT, "fdatasync");
    return faulty_sync(real, fd);
}

int
fsync(int fd)
{
    static sync_fn real;
    if (!real)
        real = (sync_fn)dlsym(RTLD_NEXT, "fsync");
    return faulty_sync(real, fd);
}
