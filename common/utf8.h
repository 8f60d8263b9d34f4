/*
 * utf8: validation of untrusted text (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF).
 */
#ifndef EXCERPT_UTF8_H
#define EXCERPT_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is valid UTF-8. NUL bytes are valid code points. */
bool utf8_is_valid(const char *s, size_t n);

/* Offset of the first invalid byte in s[0..n), or n when all is valid. */
size_t utf8_first_invalid(const char *s, size_t n);

#endif
