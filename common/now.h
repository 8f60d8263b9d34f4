/*
 * now: clocks. Leases and timeouts use the monotonic clock; only values
 * persisted to disk (retry times, timestamps in records) use wall time.
 */
#ifndef EXCERPT_NOW_H
#define EXCERPT_NOW_H

#include <stdint.h>

/* Monotonic clock in microseconds (CLOCK_MONOTONIC). */
uint64_t now_mono_us(void);
/* Monotonic clock in milliseconds. */
uint64_t now_mono_ms(void);
/* Wall clock in milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t now_wall_ms(void);

#endif
