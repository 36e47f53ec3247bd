/* test_audit_tamper.c - a 20-entry log verifies; every one-byte edit, every
 * deleted line and every swap is detected and names the right entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "shared/audit.h"
#include "shared/util.h"

#define N 20

static const char *log_path, *head_path;
static uint8_t *orig, *orig_head;
static size_t orig_len, orig_head_len;

static void put(const char *path, const void *buf, size_t len)
{
	if (util_write_file_atomic(path, buf, len, 0600) < 0)
		abort();
}

static void restore(void)
{
	put(log_path, orig, orig_len);
	put(head_path, orig_head, orig_head_len);
}

/* Byte span of line k (1-based) in orig, newline excluded. */
static void line_span(int k, size_t *start, size_t *len)
{
	size_t s = 0;

	for (int i = 1; i < k; i++)
		s = (size_t)((uint8_t *)memchr(orig + s, '\n', orig_len - s) - orig) + 1;
	*start = s;
	*len = (size_t)((uint8_t *)memchr(orig + s, '\n', orig_len - s) - orig) - s;
}

/* Verifies the current files; true when the problem is at line/seq and its
 * reason is one of the two given. */
static bool names_either(unsigned long line, uint64_t seq, const char *reason,
			 const char *or_reason)
{
	struct audit_problem p;
	int r = audit_verify(log_path, &p);

	if (r != AUDIT_TAMPERED) {
		fprintf(stderr, "expected line %lu seq %llu %s, got %d\n", line,
			(unsigned long long)seq, reason, r);
		return false;
	}
	if (p.line != line || p.seq != seq ||
	    (strcmp(p.reason, reason) != 0 && strcmp(p.reason, or_reason) != 0)) {
		fprintf(stderr, "expected line %lu seq %llu %s, got: %s\n", line,
			(unsigned long long)seq, reason, p.message);
		return false;
	}
	return true;
}

static bool names(unsigned long line, uint64_t seq, const char *reason)
{
	return names_either(line, seq, reason, reason);
}

static void build(void)
{
	for (int i = 1; i <= N; i++) {
		char serial[16];
		json_t *d = json_pack("{s:i,s:s}", "n", i, "why", "docked for upload");

		snprintf(serial, sizeof(serial), "BWC-%04d", i);
		CHECK(audit_append(log_path, i % 2 ? "camera-docked" : "camera-held", serial, d) == 0);
		json_decref(d);
	}
	CHECK(util_read_file(log_path, 1 << 20, &orig, &orig_len) == 0);
	CHECK(util_read_file(head_path, 4096, &orig_head, &orig_head_len) == 0);
}

/* Every byte of every line, flipped alone: the entry is named (by its line
 * and seq) as edited or malformed. */
static void flip_each_byte(void)
{
	for (int k = 1; k <= N; k++) {
		size_t start, len;
		int missed = 0;

		line_span(k, &start, &len);
		for (size_t i = start; i < start + len; i++) {
			uint8_t *copy = malloc(orig_len);

			memcpy(copy, orig, orig_len);
			copy[i] ^= copy[i] == 0x0b ? 0x02 : 0x01; /* never makes a newline */
			put(log_path, copy, orig_len);
			free(copy);
			if (!names_either((unsigned long)k, (uint64_t)k, "entry edited",
					  "malformed entry"))
				missed++;
		}
		CHECK(missed == 0);
	}
	restore();
}

static void write_without_line(int k)
{
	size_t start, len;
	uint8_t *copy = malloc(orig_len);

	line_span(k, &start, &len);
	memcpy(copy, orig, start);
	memcpy(copy + start, orig + start + len + 1, orig_len - start - len - 1);
	put(log_path, copy, orig_len - len - 1);
	free(copy);
}

static void delete_each_line(void)
{
	for (int k = 1; k < N; k++) {
		write_without_line(k);
		CHECK(names((unsigned long)k, (uint64_t)k, "entry removed"));
	}
	write_without_line(N);
	CHECK(names(N, N, "entries removed at the end"));
	/* and an append must not paper over the cut */
	CHECK(audit_append(log_path, "camera-held", NULL, NULL) == AUDIT_E_HEAD);
	CHECK(names(N, N, "entries removed at the end"));
	restore();
}

static void write_swapped(int a, int b)
{
	size_t sa, la, sb, lb, o = 0;
	uint8_t *copy = malloc(orig_len);

	line_span(a, &sa, &la);
	line_span(b, &sb, &lb);
	memcpy(copy, orig, sa);
	o = sa;
	memcpy(copy + o, orig + sb, lb + 1);
	o += lb + 1;
	memcpy(copy + o, orig + sa + la + 1, sb - (sa + la + 1));
	o += sb - (sa + la + 1);
	memcpy(copy + o, orig + sa, la + 1);
	o += la + 1;
	memcpy(copy + o, orig + sb + lb + 1, orig_len - (sb + lb + 1));
	put(log_path, copy, orig_len);
	free(copy);
}

static void swap_lines(void)
{
	for (int k = 1; k < N; k++) {
		write_swapped(k, k + 1);
		CHECK(names((unsigned long)k, (uint64_t)k + 1, "entries reordered"));
	}
	write_swapped(3, 15);
	CHECK(names(3, 15, "entries reordered"));
	write_swapped(1, N);
	CHECK(names(1, N, "entries reordered"));
	restore();
}

static void head_checks(void)
{
	CHECK(unlink(head_path) == 0);
	CHECK(names(N, N, "head file missing"));
	CHECK(audit_append(log_path, "camera-held", NULL, NULL) == AUDIT_E_HEAD);
	put(head_path, "{\"seq\":1}\n", 10);
	CHECK(names(N, N, "head file malformed"));
	restore();
	CHECK(unlink(log_path) == 0);
	CHECK(names(1, 1, "entries removed at the end"));
	CHECK(audit_append(log_path, "camera-held", NULL, NULL) == AUDIT_E_HEAD);
	restore();
}

/* Power loss in the middle of a line: verify names it, appends refuse. */
static void torn_tail(void)
{
	size_t start, len;

	line_span(N, &start, &len);
	put(log_path, orig, start + len / 2);
	CHECK(audit_append(log_path, "camera-held", NULL, NULL) == AUDIT_E_TORN);
	CHECK(names(N, N, "malformed entry"));
	put(log_path, orig, orig_len - 1); /* whole line, newline missing */
	CHECK(audit_append(log_path, "camera-held", NULL, NULL) == AUDIT_E_TORN);
	CHECK(names(N, N, "malformed entry"));
	restore();
}

/* A crash between the line and the head update: reported, then repaired by
 * the next append. */
static void interrupted_append(void)
{
	CHECK(audit_append(log_path, "camera-held", NULL, NULL) == 0);
	put(head_path, orig_head, orig_head_len); /* the head of seq 20 again */
	CHECK(names(N + 1, N + 1, "head behind the log (interrupted append?)"));
	CHECK(audit_append(log_path, "camera-held", NULL, NULL) == 0);
	CHECK(audit_verify(log_path, NULL) == 0);
	restore();
}

int main(void)
{
	log_path = strdup(check_path("custody.log"));
	head_path = strdup(check_path("custody.log.head"));
	build();
	CHECK(audit_verify(log_path, NULL) == 0);
	flip_each_byte();
	delete_each_line();
	swap_lines();
	head_checks();
	torn_tail();
	interrupted_append();
	CHECK(audit_verify(log_path, NULL) == 0);
	free(orig);
	free(orig_head);
	free((void *)log_path);
	free((void *)head_path);
	return check_done();
}
