/* audit_verify.c - libFuzzer target: the controller's hash-chained audit
 * trail (shared/audit.h) read back from disk. Input: the log, then optionally
 * a NUL byte and the head file. audit_verify and audit_show must never crash;
 * an intact log stays intact after one more audit_append. */
#include "tests/fuzz/fuzz.h"
#include "shared/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[PATH_MAX], log[PATH_MAX + 16], head[PATH_MAX + 32];
	const uint8_t *nul = memchr(data, 0, size);
	size_t log_len = nul ? (size_t)(nul - data) : size;
	struct audit_problem p;
	FILE *null;
	int r, a;

	fz_mkdtemp(dir);
	snprintf(log, sizeof(log), "%s/audit.log", dir);
	snprintf(head, sizeof(head), "%s/audit.log.head", dir);
	fz_write(log, data, log_len);
	if (nul)
		fz_write(head, nul + 1, size - log_len - 1);

	memset(&p, 0, sizeof(p));
	r = audit_verify(log, &p);
	FZ_CHECK(r == 0 || r == AUDIT_TAMPERED || r < 0);
	FZ_CHECK(audit_strerror(r) != NULL);
	if (r == AUDIT_TAMPERED) {
		FZ_CHECK(p.reason != NULL);
		FZ_CHECK(memchr(p.message, 0, sizeof(p.message)) != NULL);
	}
	null = fopen("/dev/null", "w");
	FZ_CHECK(null != NULL);
	audit_show(log, NULL, 0, null);
	audit_show(log, NULL, 1, null);
	audit_show(log, "CAM-0001", 0, null);
	fclose(null);

	a = audit_append(log, "fuzz-check", "CAM-0001", NULL);
	if (r == 0) {
		/* An intact trail accepts an entry and is still intact. */
		FZ_CHECK(a == 0);
		FZ_CHECK(audit_verify(log, &p) == 0);
	}
	fz_rmtree(dir);
	return 0;
}
