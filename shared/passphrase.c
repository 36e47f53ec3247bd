/* passphrase.c - Argon2id verifier for the master-key passphrase, failure
 * back-off, and reading the passphrase from a private file or the terminal. */
#include "shared/passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <argon2.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "shared/util.h"

static int random_salt(uint8_t *salt, size_t len)
{
	WC_RNG rng;
	int r;

	if (wc_InitRng(&rng) != 0)
		return PP_E_RANDOM;
	r = wc_RNG_GenerateBlock(&rng, salt, (word32)len);
	wc_FreeRng(&rng);
	return r == 0 ? 0 : PP_E_RANDOM;
}

int pp_make_verifier(const char *pass, size_t len, char *out, size_t cap)
{
	uint8_t salt[PP_SALT_LEN];
	int r;

	if (!pass || !out)
		return PP_E_INVAL;
	if (len < PP_MIN_LEN)
		return PP_E_TOO_SHORT;
	if (len > PP_MAX_LEN)
		return PP_E_TOO_LONG;
	if (cap < PP_VERIFIER_MAX)
		return PP_E_INVAL;
	r = random_salt(salt, sizeof(salt));
	if (r < 0)
		goto out;
	r = argon2id_hash_encoded(PP_T_COST, PP_M_COST_KIB, PP_PARALLELISM, pass, len, salt,
				  sizeof(salt), PP_HASH_LEN, out, cap);
	if (r != ARGON2_OK) {
		util_wipe(out, cap);
		r = PP_E_HASH;
	}
out:
	util_wipe(salt, sizeof(salt));
	return r;
}

/* Accepts only Argon2id strings whose costs stay within the check limits. */
static int check_verifier_shape(const char *verifier)
{
	unsigned version, m, t, p;
	int consumed = 0;

	if (strnlen(verifier, PP_VERIFIER_MAX + 1) > PP_VERIFIER_MAX)
		return PP_E_MALFORMED;
	if (sscanf(verifier, "$argon2id$v=%u$m=%u,t=%u,p=%u$%n", &version, &m, &t, &p,
		   &consumed) != 4 || consumed == 0)
		return PP_E_MALFORMED;
	if (version != ARGON2_VERSION_13 || m == 0 || m > PP_CHECK_MAX_M_KIB || t == 0 ||
	    t > PP_CHECK_MAX_T || p == 0 || p > PP_CHECK_MAX_P)
		return PP_E_MALFORMED;
	return 0;
}

int pp_check(const char *pass, size_t len, const char *verifier)
{
	int r;

	if (!pass || !verifier)
		return PP_E_INVAL;
	r = check_verifier_shape(verifier);
	if (r < 0)
		return r;
	if (len > PP_MAX_LEN)
		return PP_E_MISMATCH; /* could never have been set */
	r = argon2id_verify(verifier, pass, len);
	if (r == ARGON2_OK)
		return 0;
	if (r == ARGON2_VERIFY_MISMATCH)
		return PP_E_MISMATCH;
	if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
		return PP_E_HASH;
	return PP_E_MALFORMED;
}

time_t pp_next_allowed(unsigned failures, time_t last_failure)
{
	time_t wait = PP_FIRST_WAIT;

	if (failures <= PP_FREE_FAILURES)
		return last_failure;
	for (unsigned i = PP_FREE_FAILURES + 1; i < failures && wait < PP_MAX_WAIT; i++)
		wait *= 2;
	if (wait > PP_MAX_WAIT)
		wait = PP_MAX_WAIT;
	return last_failure + wait;
}

/* Reads one line byte by byte into out, so that nothing past the newline is
 * consumed and no copy of the secret is left in a stdio buffer. A line too
 * long for out is read to its end and refused. */
static int read_line(int fd, char *out, size_t cap, size_t *ret_len)
{
	size_t len = 0;
	bool too_long = false;
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PP_E_IO;
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= cap || len >= PP_MAX_LEN)
			too_long = true;
		else
			out[len++] = c;
	}
	util_wipe(&c, sizeof(c));
	if (too_long)
		return PP_E_TOO_LONG;
	if (len > 0 && out[len - 1] == '\r')
		len--;
	out[len] = 0;
	*ret_len = len;
	return 0;
}

static int read_from_file(const char *file, char *out, size_t cap, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return PP_E_IO;
	if (fstat(fd, &st) < 0) {
		r = PP_E_IO;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		r = PP_E_PERMS;
		goto out;
	}
	r = read_line(fd, out, cap, ret_len);
out:
	close(fd);
	return r;
}

static int write_prompt(int fd, const char *prompt)
{
	size_t len = strlen(prompt);

	while (len > 0) {
		ssize_t n = write(fd, prompt, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PP_E_IO;
		prompt += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_from_tty(const char *prompt, char *out, size_t cap, size_t *ret_len)
{
	struct termios old, quiet;
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return PP_E_NO_TTY;
	if (tcgetattr(fd, &old) < 0) {
		r = PP_E_NO_TTY;
		goto out;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL; /* the user still sees the Enter */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		r = PP_E_IO;
		goto out;
	}
	r = prompt ? write_prompt(fd, prompt) : 0;
	if (r == 0)
		r = read_line(fd, out, cap, ret_len);
	if (tcsetattr(fd, TCSAFLUSH, &old) < 0 && r == 0)
		r = PP_E_IO;
out:
	close(fd);
	return r;
}

int pp_read(const char *file, const char *prompt, char *out, size_t cap, size_t *ret_len)
{
	size_t len = 0;
	int r;

	if (!out || cap == 0 || !ret_len)
		return PP_E_INVAL;
	if (file)
		r = read_from_file(file, out, cap, &len);
	else
		r = read_from_tty(prompt, out, cap, &len);
	if (r < 0) {
		util_wipe(out, cap);
		return r;
	}
	*ret_len = len;
	return 0;
}

const char *pp_strerror(int r)
{
	switch (r) {
	case 0:
		return "success";
	case PP_E_INVAL:
		return "invalid argument";
	case PP_E_TOO_SHORT:
		return "passphrase too short (at least 12 characters)";
	case PP_E_TOO_LONG:
		return "passphrase too long";
	case PP_E_MISMATCH:
		return "wrong passphrase";
	case PP_E_MALFORMED:
		return "passphrase verifier is malformed or not Argon2id";
	case PP_E_RANDOM:
		return "random number generator failed";
	case PP_E_HASH:
		return "Argon2 hashing failed (out of memory?)";
	case PP_E_PERMS:
		return "passphrase file is accessible by group or others (chmod 600 it)";
	case PP_E_IO:
		return "could not read the passphrase";
	case PP_E_NO_TTY:
		return "no terminal to ask for the passphrase (use a passphrase file)";
	default:
		return "unknown passphrase error";
	}
}
