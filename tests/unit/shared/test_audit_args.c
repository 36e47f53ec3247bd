/* test_audit_args.c - NULL, empty and oversized arguments to every public
 * audit function are refused without touching the log. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shared/audit.h"

static void append_args(const char *log)
{
	char long_serial[AUDIT_SERIAL_MAX + 2], big[AUDIT_LINE_MAX + 1];
	json_t *arr = json_array(), *huge;

	memset(long_serial, 'S', sizeof(long_serial) - 1);
	long_serial[sizeof(long_serial) - 1] = 0;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	huge = json_pack("{s:s}", "blob", big);

	CHECK(audit_append(NULL, "camera-held", NULL, NULL) == -EINVAL);
	CHECK(audit_append(log, NULL, NULL, NULL) == -EINVAL);
	CHECK(audit_append(log, "", NULL, NULL) == -EINVAL);
	CHECK(audit_append(log, "Camera-held", NULL, NULL) == -EINVAL);
	CHECK(audit_append(log, "camera_held", NULL, NULL) == -EINVAL);
	CHECK(audit_append(log, "abcdefghijklmnopqrstuvwxyz-abcdef", NULL, NULL) == -EINVAL);
	CHECK(audit_append(log, "abcdefghijklmnopqrstuvwxyz-abcde", NULL, NULL) == 0);
	CHECK(audit_append(log, "camera-held", "", NULL) == -EINVAL);
	CHECK(audit_append(log, "camera-held", "BWC\n1", NULL) == -EINVAL);
	CHECK(audit_append(log, "camera-held", long_serial, NULL) == -EINVAL);
	long_serial[AUDIT_SERIAL_MAX] = 0;
	CHECK(audit_append(log, "camera-held", long_serial, NULL) == 0);
	CHECK(audit_append(log, "camera-held", NULL, arr) == -EINVAL);
	CHECK(audit_append(log, "camera-held", NULL, huge) == -E2BIG);
	CHECK(audit_append("/nonexistent-dir/custody.log", "camera-held", NULL, NULL) == -ENOENT);
	json_decref(arr);
	json_decref(huge);
}

static void other_args(const char *log)
{
	struct audit_problem p;
	FILE *out = fopen("/dev/null", "w");

	CHECK(audit_verify(NULL, &p) == -EINVAL);
	CHECK(audit_verify(log, NULL) == 0);
	CHECK(audit_verify("/nonexistent-dir/custody.log", &p) == -ENOENT);
	CHECK(audit_show(NULL, NULL, 0, out) == -EINVAL);
	CHECK(audit_show(log, NULL, 0, NULL) == -EINVAL);
	CHECK(audit_show(log, "", 0, out) == -EINVAL);
	CHECK(audit_show("/nonexistent-dir/custody.log", NULL, 1, out) == -ENOENT);
	CHECK(audit_show(log, NULL, 1, out) == 0);
	CHECK(strlen(audit_strerror(AUDIT_E_TORN)) > 0);
	CHECK(strlen(audit_strerror(AUDIT_E_CORRUPT)) > 0);
	CHECK(strlen(audit_strerror(AUDIT_E_HEAD)) > 0);
	CHECK(strlen(audit_strerror(AUDIT_TAMPERED)) > 0);
	CHECK(strlen(audit_strerror(-ENOENT)) > 0);
	CHECK(strlen(audit_strerror(12345)) > 0);
	fclose(out);
}

int main(void)
{
	const char *log = check_path("custody.log");

	append_args(log);
	other_args(log);
	return check_done();
}
