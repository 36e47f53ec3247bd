/* test_dock_error_partial.c - a refused error body leaves no stale data in the
 * result: the stack is first filled with "held" so that a standing read from
 * an uninitialised buffer shows up as DOCK_S_HELD instead of passing silently
 * (valgrind reports the same read when this test runs under it). */
#include "tests/unit/shared/check.h"

#include <errno.h>
#include <string.h>

#include "dock-protocol/dock.h"

static void __attribute__((noinline)) poison_stack(void)
{
	volatile char area[8192];

	for (size_t i = 0; i < sizeof(area); i += 8) {
		area[i] = 'h';
		area[i + 1] = 'e';
		area[i + 2] = 'l';
		area[i + 3] = 'd';
		for (size_t k = 4; k < 8; k++)
			area[i + k] = 0;
	}
}

static void __attribute__((noinline)) refused(const char *json)
{
	struct dock_error_resp e;
	char why[128] = "";
	int r;

	poison_stack();
	r = dock_decode_error(json, strlen(json), &e, why, sizeof(why));
	CHECK(r == -EBADMSG);
	CHECK(e.standing == DOCK_S_UNKNOWN);
	if (e.standing != DOCK_S_UNKNOWN)
		fprintf(stderr, "  %s: standing %s from uninitialised memory\n", json,
			dock_standing_name(e.standing));
}

int main(void)
{
	refused("{}");
	refused("{\"error\":3,\"standing\":\"valid\"}");
	refused("{\"message\":\"x\"}");
	refused("{\"error\":\"1234567890123456789012345678901234567890\"}");
	return check_done();
}
