/* test_passphrase.c - Argon2id verifier make/check, length limits, malformed
 * and out-of-bounds verifiers, and the failure back-off table. */
#include <string.h>

#include "check.h"
#include "shared/passphrase.h"

#define GOOD "correct horse battery staple"

static void make_and_check(void)
{
	char v1[PP_VERIFIER_MAX], v2[PP_VERIFIER_MAX];
	const char with_nul[] = "twelve\0bytes!!";

	CHECK(pp_make_verifier(GOOD, strlen(GOOD), v1, sizeof(v1)) == 0);
	CHECK(strncmp(v1, "$argon2id$v=19$m=65536,t=3,p=1$", 31) == 0);
	CHECK(pp_check(GOOD, strlen(GOOD), v1) == 0);
	CHECK(pp_check("correct horse battery stapler", strlen(GOOD) + 1, v1) == PP_E_MISMATCH);
	CHECK(pp_check("Correct horse battery staple", strlen(GOOD), v1) == PP_E_MISMATCH);
	CHECK(pp_check(GOOD, strlen(GOOD) - 1, v1) == PP_E_MISMATCH);
	CHECK(pp_check("", 0, v1) == PP_E_MISMATCH);
	/* same passphrase, new salt, other verifier */
	CHECK(pp_make_verifier(GOOD, strlen(GOOD), v2, sizeof(v2)) == 0);
	CHECK(strcmp(v1, v2) != 0);
	CHECK(pp_check(GOOD, strlen(GOOD), v2) == 0);
	/* any bytes count, NUL included */
	CHECK(pp_make_verifier(with_nul, sizeof(with_nul) - 1, v2, sizeof(v2)) == 0);
	CHECK(pp_check(with_nul, sizeof(with_nul) - 1, v2) == 0);
	CHECK(pp_check(with_nul, 6, v2) == PP_E_MISMATCH);
}

static void bad_arguments(void)
{
	char v[PP_VERIFIER_MAX], big[PP_MAX_LEN + 2];

	memset(big, 'p', sizeof(big));
	CHECK(pp_make_verifier("elevenchars", 11, v, sizeof(v)) == PP_E_TOO_SHORT);
	CHECK(pp_make_verifier("", 0, v, sizeof(v)) == PP_E_TOO_SHORT);
	CHECK(pp_make_verifier("twelve chars", 12, v, sizeof(v)) == 0);
	CHECK(pp_make_verifier(big, PP_MAX_LEN + 1, v, sizeof(v)) == PP_E_TOO_LONG);
	CHECK(pp_make_verifier(NULL, 20, v, sizeof(v)) == PP_E_INVAL);
	CHECK(pp_make_verifier(GOOD, strlen(GOOD), NULL, sizeof(v)) == PP_E_INVAL);
	CHECK(pp_make_verifier(GOOD, strlen(GOOD), v, 40) == PP_E_INVAL);
	CHECK(pp_check(NULL, 3, "$argon2id$") == PP_E_INVAL);
	CHECK(pp_check(GOOD, strlen(GOOD), NULL) == PP_E_INVAL);
	CHECK(pp_check(big, PP_MAX_LEN + 1, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		       "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g") == PP_E_MISMATCH);
}

static void malformed_verifiers(void)
{
	static const char *bad[] = {
		"",
		"not a verifier",
		"$argon2i$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=16$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=65536,t=100,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=65536,t=3,p=0$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
		"$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA",
		"$argon2id$v=19$m=65536,t=3,p=1$!!!!$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = pp_check(GOOD, strlen(GOOD), bad[i]);

		CHECK(r == PP_E_MALFORMED);
		if (r != PP_E_MALFORMED)
			fprintf(stderr, "verifier %zu gave %s\n", i, pp_strerror(r));
	}
}

static void backoff_table(void)
{
	static const struct {
		unsigned failures;
		time_t wait;
	} table[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 4, 30 }, { 5, 60 }, { 6, 120 },
		{ 7, 240 }, { 8, 480 }, { 9, 960 }, { 10, 1920 }, { 11, 3600 }, { 12, 3600 },
		{ 64, 3600 }, { 4000000000u, 3600 },
	};
	const time_t t0 = 1700000000;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		CHECK(pp_next_allowed(table[i].failures, t0) == t0 + table[i].wait);
}

static void messages(void)
{
	for (int r = PP_E_NO_TTY; r <= PP_E_INVAL; r++)
		CHECK(strlen(pp_strerror(r)) > 0);
	CHECK(strstr(pp_strerror(PP_E_PERMS), "group or others") != NULL);
	CHECK(strlen(pp_strerror(0)) > 0 && strlen(pp_strerror(-1)) > 0);
}

int main(void)
{
	make_and_check();
	bad_arguments();
	malformed_verifiers();
	backoff_table();
	messages();
	return check_done();
}
