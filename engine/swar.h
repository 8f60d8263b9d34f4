/*
 * swar: byte tests on eight bytes at a time in a uint64_t (SWAR), and on
 * sixteen in a vector register (GCC/Clang vector extensions: SSE2 on
 * x86-64, plain code elsewhere), for the engine's scans. A word is loaded
 * with memcpy from the text; the first byte is the least significant, so
 * __builtin_ctzll(mask) >> 3 is the offset of the first hit.
 */
#ifndef EXCERPT_SWAR_H
#define EXCERPT_SWAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the scans take a loaded word's first byte as its lowest");

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGH 0x8080808080808080ULL

/* Per byte of w, bit 7 set where the byte is in [lo, hi] (both below
 * 0x80; bytes >= 0x80 never are). No carries cross bytes. */
static inline uint64_t
swar_in(uint64_t w, unsigned lo, unsigned hi)
{
    uint64_t x = w & ~SWAR_HIGH;
    uint64_t ge = x + SWAR_ONES * (0x80 - lo);
    uint64_t gt = x + SWAR_ONES * (0x7F - hi);
    return ge & ~gt & ~w & SWAR_HIGH;
}

/* Per byte of w, bit 7 set where the byte equals c (exact). */
static inline uint64_t
swar_eq(uint64_t w, unsigned char c)
{
    const uint64_t low7 = ~SWAR_HIGH;
    uint64_t x = w ^ (SWAR_ONES * c);
    return ~(((x & low7) + low7) | x) & SWAR_HIGH;
}

/* The first min(n, 8) bytes at s as a word, zeros past them; reads no
 * byte past s[n - 1]. A short tail is two overlapping four-byte loads
 * (n 4..7) or three single bytes (n 1..3), not a loop. */
static inline uint64_t
swar_load(const unsigned char *s, size_t n)
{
    uint64_t w = 0;
    if (n >= 8) {
        memcpy(&w, s, 8);
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        w = lo | (uint64_t)hi << (8 * (n - 4));
    } else if (n) {
        w = s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) |
            (uint64_t)s[n - 1] << (8 * (n - 1));
    }
    return w;
}

/* Offset of the first byte flagged in a swar_* mask (m != 0). */
static inline size_t
swar_first(uint64_t m)
{
    return (size_t)(__builtin_ctzll(m) >> 3);
}

/* Sixteen bytes; comparisons give 0xFF where true, 0 where false. */
typedef unsigned char v16_t __attribute__((vector_size(16)));
/* The same bytes as signed, for ordered compares (cast, no conversion). */
typedef signed char v16s_t __attribute__((vector_size(16)));

/* The result m of a v16_t comparison as two swar masks: half[0] for bytes
 * 0-7, half[1] for bytes 8-15. */
static inline void
v16_masks(v16_t m, uint64_t half[2])
{
    memcpy(half, &m, 16);
    half[0] &= SWAR_HIGH;
    half[1] &= SWAR_HIGH;
}

/* The result m of a v16_t comparison as sixteen bits, bit i set where
 * byte i is true: one instruction (pmovmskb) where SSE2 is there. */
#if defined(__SSE2__)
typedef char v16c_t __attribute__((vector_size(16))); /* the builtin's */

static inline unsigned
v16_bits(v16_t m)
{
    return (unsigned)__builtin_ia32_pmovmskb128((v16c_t)m);
}
#else
static inline unsigned
v16_bits(v16_t m)
{
    uint64_t half[2];
    v16_masks(m, half);
    /* one bit per byte, gathered into the top byte by the multiply */
    uint64_t lo = ((half[0] >> 7) * 0x0102040810204080ULL) >> 56;
    uint64_t hi = ((half[1] >> 7) * 0x0102040810204080ULL) >> 56;
    return (unsigned)(lo | hi << 8);
}
#endif

#endif
