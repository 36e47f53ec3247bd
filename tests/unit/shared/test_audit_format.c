/* test_audit_format.c - the line format on disk (key order, ASCII escapes of
 * quotes and unicode, genesis prev, head, mode) and audit_show output. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "shared/audit.h"
#include "shared/util.h"

#define NOTE "say \"hi\" \xe2\x80\x94 \xc3\xbc \xe2\x9c\x93 \xf0\x9f\x98\x80 back\\slash\nnew line"

static bool ascii_only(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] > 0x7e || (buf[i] < 0x20 && buf[i] != '\n'))
			return false;
	return true;
}

/* The keys stand in the documented order. */
static bool keys_in_order(const char *line)
{
	static const char *keys[] = { "{\"seq\":1,\"time\":\"", "\",\"event\":\"camera-held\"",
				      ",\"serial\":\"BWC-1\"", ",\"detail\":{", ",\"prev\":\"" };
	const char *at = line;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		at = strstr(at, keys[i]);
		if (!at)
			return false;
	}
	return true;
}

static void on_disk(const char *log)
{
	json_t *detail = json_pack("{s:s,s:i}", "note", NOTE, "n", 1), *back;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;

	CHECK(audit_append(log, "camera-held", "BWC-1", detail) == 0);
	CHECK(util_read_file(log, 1 << 16, &buf, &len) == 0);
	CHECK(ascii_only(buf, len));
	CHECK(keys_in_order((char *)buf));
	CHECK(strstr((char *)buf, "say \\\"hi\\\"") != NULL);
	CHECK(strstr((char *)buf, "\\uD83D\\uDE00") != NULL);
	CHECK(strstr((char *)buf, "back\\\\slash\\nnew line") != NULL);
	CHECK(strstr((char *)buf, "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}\n") != NULL);
	back = json_loadb((char *)buf, len - 1, JSON_REJECT_DUPLICATES, NULL);
	CHECK(json_equal(json_object_get(back, "detail"), detail));
	json_decref(back);
	free(buf);
	json_decref(detail);
	CHECK(stat(log, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(util_read_file(check_path("custody.log.head"), 4096, &buf, &len) == 0);
	CHECK(len == strlen("{\"seq\":1,\"hash\":\"\"}\n") + 64);
	CHECK(strncmp((char *)buf, "{\"seq\":1,\"hash\":\"", 17) == 0);
	free(buf);
}

static char *show(const char *log, const char *filter, int as_json, int *ret)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	*ret = audit_show(log, filter, as_json, f);
	fclose(f);
	return text;
}

static void shown(const char *log)
{
	char *text;
	json_t *arr;
	int r;

	CHECK(audit_append(log, "camera-docked", "BWC-2", NULL) == 0);
	CHECK(audit_append(log, "passphrase-set", NULL, NULL) == 0);
	text = show(log, NULL, 0, &r);
	CHECK(r == 0);
	CHECK(strstr(text, "TIME") && strstr(text, "camera-docked") && strstr(text, "BWC-2"));
	CHECK(strstr(text, "\xf0\x9f\x98\x80") != NULL); /* humans get UTF-8 back */
	CHECK(strstr(text, "passphrase-set") && strstr(text, "  -  "));
	free(text);
	text = show(log, "BWC-2", 1, &r);
	CHECK(r == 0);
	arr = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	CHECK(json_array_size(arr) == 1);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(arr, 0), "serial")), "BWC-2") == 0);
	CHECK(json_integer_value(json_object_get(json_array_get(arr, 0), "seq")) == 2);
	json_decref(arr);
	free(text);
	text = show(log, "BWC-9", 1, &r);
	arr = json_loads(text, 0, NULL);
	CHECK(r == 0 && json_is_array(arr) && json_array_size(arr) == 0);
	json_decref(arr);
	free(text);
}

/* A damaged line is skipped, said in the table, and reported. */
static void shown_damaged(const char *log)
{
	FILE *f = fopen(log, "a");
	char *text;
	int r;

	CHECK(f && fputs("{\"seq\":4,garbage\n", f) >= 0 && fclose(f) == 0);
	text = show(log, NULL, 0, &r);
	CHECK(r == AUDIT_TAMPERED);
	CHECK(strstr(text, "line 4 is malformed") != NULL);
	CHECK(strstr(text, "passphrase-set") != NULL);
	free(text);
	text = show(log, NULL, 1, &r);
	CHECK(r == AUDIT_TAMPERED);
	CHECK(strstr(text, "garbage") == NULL);
	free(text);
}

int main(void)
{
	const char *log = check_path("custody.log");

	on_disk(log);
	shown(log);
	CHECK(audit_verify(log, NULL) == 0);
	shown_damaged(log);
	CHECK(audit_verify(log, NULL) == AUDIT_TAMPERED);
	return check_done();
}
