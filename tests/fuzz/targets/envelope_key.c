/* envelope_key.c - libFuzzer target: the key object that travels next to an
 * encrypted clip (env_key_from_json, which round-trips through
 * env_key_to_json) and the strict base64 decoder (env_b64_decode). The first
 * byte chooses which. */
#include "tests/fuzz/fuzz.h"
#include "shared/envelope.h"

static void key_object(const char *json, size_t len)
{
	struct env_key a, b;
	char why[128], *text = NULL;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (env_key_from_json(json, len, &a, why, sizeof(why)) != ENV_OK) {
		FZ_CHECK(memchr(why, 0, sizeof(why)) != NULL);
		return;
	}
	FZ_CHECK(a.wrapped_len > 0 && a.wrapped_len <= ENV_WRAPPED_MAX);
	FZ_CHECK(memchr(a.key_id, 0, sizeof(a.key_id)) != NULL);
	FZ_CHECK(env_key_to_json(&a, &text) == ENV_OK && text);
	FZ_CHECK(env_key_from_json(text, strlen(text), &b, why, sizeof(why)) == ENV_OK);
	FZ_CHECK(a.wrapped_len == b.wrapped_len);
	FZ_CHECK(memcmp(a.wrapped, b.wrapped, a.wrapped_len) == 0);
	FZ_CHECK(memcmp(a.iv, b.iv, sizeof(a.iv)) == 0);
	FZ_CHECK(strcmp(a.key_id, b.key_id) == 0);
	free(text);
}

static void b64(const char *s, size_t len, size_t cap)
{
	uint8_t *out = malloc(cap ? cap : 1);
	size_t n = 0;
	char *again = NULL;

	FZ_CHECK(out != NULL);
	if (env_b64_decode(s, len, out, cap, &n) == ENV_OK) {
		FZ_CHECK(n <= cap);
		/* Strict: same length (no whitespace, padded), same bytes back. */
		if (n > 0) {
			uint8_t *back = malloc(n);
			size_t m = 0;
			FZ_CHECK(back != NULL);
			FZ_CHECK(env_b64_encode(out, n, &again) == ENV_OK && again);
			FZ_CHECK(strlen(again) == len);
			FZ_CHECK(env_b64_decode(again, len, back, n, &m) == ENV_OK);
			FZ_CHECK(m == n && memcmp(back, out, n) == 0);
			free(back);
		}
		free(again);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		key_object((const char *)data + 1, size - 1);
	else
		b64((const char *)data + 1, size - 1, data[0] >> 1);
	return 0;
}
