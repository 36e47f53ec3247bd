/* test_policy_standing.c - the grace rules of PROTOCOL.md §7 to the second:
 * valid while now <= not_after, grace up to not_after + grace, then held. */
#include "tests/unit/shared/check.h"

#include "controller/controller.h"

#define DAY DAY_SECONDS

static void boundaries(time_t not_after, long grace)
{
	CHECK(policy_time_standing(not_after - DAY, not_after, grace) == DOCK_S_VALID);
	CHECK(policy_time_standing(not_after - 1, not_after, grace) == DOCK_S_VALID);
	CHECK(policy_time_standing(not_after, not_after, grace) == DOCK_S_VALID);
	if (grace > 1) {
		CHECK(policy_time_standing(not_after + 1, not_after, grace) == DOCK_S_GRACE);
		CHECK(policy_time_standing(not_after + grace - 1, not_after, grace) == DOCK_S_GRACE);
		CHECK(policy_time_standing(not_after + grace, not_after, grace) == DOCK_S_GRACE);
	}
	CHECK(policy_time_standing(not_after + grace + 1, not_after, grace) == DOCK_S_HELD);
	CHECK(policy_time_standing(not_after + grace + 365 * DAY, not_after, grace) == DOCK_S_HELD);
}

/* The example of §7: defaults 28 + 56 days, renewal at T. */
static void spec_example(time_t t)
{
	time_t not_after = t + 28 * DAY;
	long grace = 56 * DAY;

	CHECK(policy_time_standing(t, not_after, grace) == DOCK_S_VALID);
	CHECK(policy_time_standing(t + 27 * DAY, not_after, grace) == DOCK_S_VALID);
	CHECK(policy_time_standing(t + 28 * DAY, not_after, grace) == DOCK_S_VALID);
	CHECK(policy_time_standing(t + 28 * DAY + 1, not_after, grace) == DOCK_S_GRACE);
	CHECK(policy_time_standing(t + 29 * DAY, not_after, grace) == DOCK_S_GRACE);
	CHECK(policy_time_standing(t + 84 * DAY - 1, not_after, grace) == DOCK_S_GRACE);
	CHECK(policy_time_standing(t + 84 * DAY, not_after, grace) == DOCK_S_GRACE);
	CHECK(policy_time_standing(t + 84 * DAY + 1, not_after, grace) == DOCK_S_HELD);
	CHECK(policy_time_standing(t + 85 * DAY, not_after, grace) == DOCK_S_HELD);
}

int main(void)
{
	const time_t t = 1767225600;   /* 2026-01-01T00:00:00Z */

	boundaries(t, 56 * DAY);
	boundaries(t, 1);
	boundaries(t, 0);
	boundaries(0, 56 * DAY);          /* "no certificate yet" is not_after 0 */
	boundaries((time_t)4102444800, 3650 * DAY);   /* 2100, the longest configurable grace */
	spec_example(t);
	spec_example(1700000007);
	/* grace 0: one second after not_after is already held */
	CHECK(policy_time_standing(t + 1, t, 0) == DOCK_S_HELD);
	CHECK(policy_time_standing(t, t, 0) == DOCK_S_VALID);
	return check_done();
}
