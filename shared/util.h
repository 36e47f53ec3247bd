/* util.h - small helpers both daemons use: whole-file reads with a size limit,
 * crash-safe file replacement, secret wiping, hex, time formatting. */
#ifndef BWC_UTIL_H
#define BWC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Reads at most max bytes of path into a new buffer (NUL-terminated, the NUL
 * not counted in *ret_len). Returns 0, -ENOENT, -EFBIG (file over max) or -errno.
 * @note the caller owns *ret_buf (free, or util_free_secret for secrets). */
int util_read_file(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len);

/* Replaces path atomically and durably: temp file in the same directory
 * (O_EXCL, given mode), write, fsync, rename, fsync of the directory. */
int util_write_file_atomic(const char *path, const void *buf, size_t len, int mode);

/* fsync of the directory holding path (after a rename or unlink). */
int util_fsync_parent(const char *path);

/* mkdir -p with mode for the created components. */
int util_mkdir_p(const char *path, int mode);

void util_wipe(void *p, size_t len);
void util_free_secret(void *p, size_t len);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void util_hex(const uint8_t *in, size_t len, char *out);

/* "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void util_time_iso(time_t t, char *out, size_t outlen);

/* Parses the above form; returns 0 or -EINVAL. */
int util_time_parse_iso(const char *s, time_t *ret);

/* Milliseconds of CLOCK_MONOTONIC (intervals and deadlines, not dates). */
long util_monotonic_ms(void);

#endif
