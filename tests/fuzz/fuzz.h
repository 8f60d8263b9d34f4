/*
 * fuzz: what every fuzz target shares. Each tests/fuzz/fuzz_*.c defines
 * LLVMFuzzerTestOneInput; clang's libFuzzer drives it (EXCERPT_FUZZ=ON),
 * and in every other build replay.c runs it over its seed corpus.
 */
#ifndef EXCERPT_FUZZ_H
#define EXCERPT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The entry point libFuzzer calls with one input; always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the target checks: on failure, say which and abort, so both
 * libFuzzer and the replay driver report a crash (independent of NDEBUG). */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
