/* policy.c - the 4/8-week rules as one pure function, so that the boundaries
 * are tested to the second in unit tests and only applied by the listener. */
#include "controller/controller.h"

enum dock_standing policy_time_standing(time_t now, time_t not_after, long grace_seconds)
{
	if (now <= not_after)
		return DOCK_S_VALID;
	if (now - not_after <= grace_seconds)
		return DOCK_S_GRACE;
	return DOCK_S_HELD;
}
