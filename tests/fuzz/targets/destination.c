/* destination.c - libFuzzer target: the EMS connection file that an
 * administrator imports (destination_parse); the first byte chooses
 * allow_insecure. An accepted file prints, and its compact document is
 * accepted again with the same result. */
#include "tests/fuzz/fuzz.h"
#include "controller/destination.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct destination *a, *b;
	char why[256];
	int insecure;
	FILE *null;

	if (size < 1)
		return 0;
	insecure = data[0] & 1;
	a = calloc(1, sizeof(*a));
	b = calloc(1, sizeof(*b));
	FZ_CHECK(a && b);
	if (destination_parse((const char *)data + 1, size - 1, insecure, a, why, sizeof(why)) == 0) {
		FZ_CHECK(a->n_uris <= DEST_MAX_URIS);
		FZ_CHECK(a->n_certs <= DEST_MAX_CERTS);
		FZ_CHECK(insecure || a->n_certs > 0);
		FZ_CHECK(!a->want_encryption == !a->pubkey_len);
		FZ_CHECK(memchr(a->document, 0, sizeof(a->document)) != NULL);
		FZ_CHECK(destination_parse(a->document, strlen(a->document), insecure, b, why,
					   sizeof(why)) == 0);
		FZ_CHECK(strcmp(a->document, b->document) == 0);
		FZ_CHECK(destination_check_change(a, b, why, sizeof(why)) == 0);
		FZ_CHECK(destination_check_change(NULL, a, why, sizeof(why)) == 0);
		null = fopen("/dev/null", "w");
		FZ_CHECK(null != NULL);
		FZ_CHECK(destination_print(a, 0, null) == 0);
		FZ_CHECK(destination_print(a, 1, null) == 0);
		fclose(null);
	} else {
		FZ_CHECK(memchr(why, 0, sizeof(why)) != NULL);
	}
	destination_wipe(a);
	destination_wipe(b);
	free(a);
	free(b);
	return 0;
}
