/* passphrase.h - the admin's master-key passphrase: an Argon2id verifier set
 * once, checks with a failure back-off, and reading it from a file or a tty.
 *
 * The verifier is the standard Argon2id encoded string
 * "$argon2id$v=19$m=65536,t=3,p=1$<salt b64>$<hash b64>" with a 16-byte salt
 * from the wolfCrypt RNG and a 32-byte hash. Costs: m = 64 MiB, t = 3 passes,
 * p = 1 lane (about a quarter second on the controller; raise them here, old
 * verifiers keep working since the costs are read from the string). pp_check
 * refuses verifiers asking for more than PP_CHECK_MAX_* so that a planted
 * verifier cannot make a check exhaust memory or time.
 */
#ifndef BWC_PASSPHRASE_H
#define BWC_PASSPHRASE_H

#include <stddef.h>
#include <time.h>

#define PP_MIN_LEN 12
#define PP_MAX_LEN 1024
#define PP_M_COST_KIB (64 * 1024)
#define PP_T_COST 3
#define PP_PARALLELISM 1
#define PP_SALT_LEN 16
#define PP_HASH_LEN 32
#define PP_VERIFIER_MAX 128 /* enough for the encoded string and its NUL */
#define PP_CHECK_MAX_M_KIB (1024 * 1024)
#define PP_CHECK_MAX_T 16
#define PP_CHECK_MAX_P 8

#define PP_FREE_FAILURES 3
#define PP_FIRST_WAIT 30
#define PP_MAX_WAIT 3600

enum pp_error {
	PP_E_INVAL = -2000,     /* NULL pointer or buffer too small */
	PP_E_TOO_SHORT = -2001, /* passphrase shorter than PP_MIN_LEN */
	PP_E_TOO_LONG = -2002,  /* passphrase longer than PP_MAX_LEN or the buffer */
	PP_E_MISMATCH = -2003,  /* wrong passphrase */
	PP_E_MALFORMED = -2004, /* verifier is not an acceptable Argon2id string */
	PP_E_RANDOM = -2005,    /* RNG failure */
	PP_E_HASH = -2006,      /* Argon2 failed (memory) */
	PP_E_PERMS = -2007,     /* passphrase file readable or writable by group/others */
	PP_E_IO = -2008,        /* file or tty could not be read (errno is kept) */
	PP_E_NO_TTY = -2009,    /* no terminal to ask on */
};

/* Writes the encoded verifier of pass[0..len) into out (cap bytes, at least
 * PP_VERIFIER_MAX). pass may hold any bytes. Returns 0 or a PP_E_* code. */
int pp_make_verifier(const char *pass, size_t len, char *out, size_t cap);

/* 0 when pass matches, PP_E_MISMATCH when not, other PP_E_* when the
 * verifier is malformed or out of bounds. */
int pp_check(const char *pass, size_t len, const char *verifier);

/* Earliest time the next try is allowed after `failures` wrong tries in a
 * row, the last at last_failure. The first PP_FREE_FAILURES are free (returns
 * last_failure); after that the wait is 30 s, 60 s, 120 s, ... capped at 1 h. */
time_t pp_next_allowed(unsigned failures, time_t last_failure);

/* Reads a passphrase into out (NUL-terminated, *ret_len bytes without NUL).
 * With file: its first line, newline stripped; the file must not be
 * accessible to group or others (PP_E_PERMS). Without: asks on /dev/tty with
 * echo off, the terminal restored before returning. out is wiped on error. */
int pp_read(const char *file, const char *prompt, char *out, size_t cap, size_t *ret_len);

const char *pp_strerror(int r);

#endif
