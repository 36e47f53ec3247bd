/* test_dock_tables.c - the wire names of error codes and standings: every value
 * has a distinct name that parses back to it, statuses match PROTOCOL.md §5.4,
 * and unknown names or values map to the documented fallbacks. */
#include "tests/unit/shared/check.h"

#include <string.h>

#include "dock-protocol/dock.h"

static const struct {
	enum dock_code code;
	const char *name;
	int status;
} spec_codes[] = {
	{ DOCK_C_OK, "ok", 200 },
	{ DOCK_C_BAD_REQUEST, "bad-request", 400 },
	{ DOCK_C_NOT_FOUND, "not-found", 404 },
	{ DOCK_C_METHOD, "method-not-allowed", 405 },
	{ DOCK_C_TOO_LARGE, "too-large", 413 },
	{ DOCK_C_IDENTITY, "identity", 403 },
	{ DOCK_C_PENDING, "pending", 403 },
	{ DOCK_C_HELD, "held", 403 },
	{ DOCK_C_LOST, "lost", 403 },
	{ DOCK_C_CSR, "bad-csr", 422 },
	{ DOCK_C_KEY, "bad-key", 422 },
	{ DOCK_C_INTERNAL, "internal", 500 },
	{ DOCK_C_UNAVAILABLE, "unavailable", 503 },
	{ DOCK_C_OFFSET, "offset", 409 },
	{ DOCK_C_COMMITTED, "committed", 409 },
	{ DOCK_C_UNKNOWN_RECORDING, "unknown-recording", 404 },
	{ DOCK_C_HASH_MISMATCH, "hash-mismatch", 422 },
	{ DOCK_C_NO_SPACE, "no-space", 507 },
};

static const char *const spec_standings[] = {
	[DOCK_S_UNKNOWN] = "unknown", [DOCK_S_PENDING] = "pending",
	[DOCK_S_ENROLLED] = "enrolled", [DOCK_S_VALID] = "valid",
	[DOCK_S_GRACE] = "grace", [DOCK_S_HELD] = "held", [DOCK_S_LOST] = "lost",
};

static void codes(void)
{
	CHECK(sizeof(spec_codes) / sizeof(spec_codes[0]) == DOCK_C__COUNT);
	for (size_t i = 0; i < sizeof(spec_codes) / sizeof(spec_codes[0]); i++) {
		enum dock_code c = spec_codes[i].code;
		const char *name = dock_code_name(c);
		CHECK(name && strcmp(name, spec_codes[i].name) == 0);
		CHECK(dock_code_status(c) == spec_codes[i].status);
		CHECK(dock_code_parse(spec_codes[i].name) == c);
		if (name)
			CHECK(dock_code_parse(name) == c);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(dock_code_name(spec_codes[k].code), name) != 0);
	}
	/* Out of range values: "internal", 500. Unknown names: bad-request. */
	CHECK(strcmp(dock_code_name(DOCK_C__COUNT), "internal") == 0);
	CHECK(strcmp(dock_code_name((enum dock_code)-1), "internal") == 0);
	CHECK(strcmp(dock_code_name((enum dock_code)1000), "internal") == 0);
	CHECK(dock_code_status(DOCK_C__COUNT) == 500);
	CHECK(dock_code_status((enum dock_code)-1) == 500);
	CHECK(dock_code_parse(NULL) == DOCK_C_BAD_REQUEST);
	CHECK(dock_code_parse("") == DOCK_C_BAD_REQUEST);
	CHECK(dock_code_parse("HELD") == DOCK_C_BAD_REQUEST);
	CHECK(dock_code_parse("held ") == DOCK_C_BAD_REQUEST);
	CHECK(dock_code_parse("hel") == DOCK_C_BAD_REQUEST);
	CHECK(dock_code_parse("no-such-code") == DOCK_C_BAD_REQUEST);
}

static void standings(void)
{
	size_t n = sizeof(spec_standings) / sizeof(spec_standings[0]);

	for (size_t i = 0; i < n; i++) {
		const char *name = dock_standing_name((enum dock_standing)i);
		CHECK(name && strcmp(name, spec_standings[i]) == 0);
		CHECK(dock_standing_parse(spec_standings[i]) == (enum dock_standing)i);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(dock_standing_name((enum dock_standing)k), name) != 0);
	}
	CHECK(strcmp(dock_standing_name((enum dock_standing)n), "unknown") == 0);
	CHECK(strcmp(dock_standing_name((enum dock_standing)-1), "unknown") == 0);
	CHECK(dock_standing_parse(NULL) == DOCK_S_UNKNOWN);
	CHECK(dock_standing_parse("") == DOCK_S_UNKNOWN);
	CHECK(dock_standing_parse("Valid") == DOCK_S_UNKNOWN);
	CHECK(dock_standing_parse("expired") == DOCK_S_UNKNOWN);
	CHECK(dock_standing_parse("gracefully") == DOCK_S_UNKNOWN);
}

int main(void)
{
	codes();
	standings();
	return check_done();
}
