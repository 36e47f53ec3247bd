/* test_audit_concurrent.c - two processes append 100 entries each at the same
 * time; the lock keeps one valid chain of 200 entries. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "shared/audit.h"
#include "shared/util.h"

#define PER_CHILD 100

static int child(const char *log, const char *serial)
{
	for (int i = 0; i < PER_CHILD; i++) {
		json_t *d = json_pack("{s:i}", "i", i);
		int r = audit_append(log, "camera-docked", serial, d);

		json_decref(d);
		if (r != 0) {
			fprintf(stderr, "%s: append %d: %s\n", serial, i, audit_strerror(r));
			return 1;
		}
	}
	return 0;
}

static size_t count_lines(const char *log)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;

	if (util_read_file(log, 1 << 22, &buf, &len) < 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	free(buf);
	return n;
}

int main(void)
{
	const char *log = check_path("custody.log");
	const char *serials[2] = { "BWC-A", "BWC-B" };
	pid_t pids[2];
	struct audit_problem p;

	fflush(NULL);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(child(log, serials[i]));
		CHECK(pids[i] > 0);
	}
	for (int i = 0; i < 2; i++) {
		int status = 0;

		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK(count_lines(log) == 2 * PER_CHILD);
	p.message[0] = 0;
	CHECK(audit_verify(log, &p) == 0);
	if (p.message[0])
		fprintf(stderr, "verify: %s\n", p.message);
	return check_done();
}
