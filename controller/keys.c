/* keys.c - restricting the controller's admin-only keys (keys.h). */
#include "controller/keys.h"

#include <stdio.h>

int ctl_restrict_keys(keystore_t *ks, char *why, size_t whylen)
{
	static const char *const names[] = { CA_KEY_NAME, MASTER_VERIFIER, STAGING_KEY,
					     STAGING_KEY_NEXT };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int r = ks_restrict(ks, names[i]);
		if (r != KS_OK && r != KS_E_NOT_FOUND) {
			snprintf(why, whylen, "cannot restrict \"%s\" to privileged processes: %s %s",
				 names[i], ks_strerror(r), ks_last_detail());
			return -1;
		}
	}
	return 0;
}
