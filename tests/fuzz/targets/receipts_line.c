/* receipts_line.c - libFuzzer target: the camera's receipts.log (one receipt
 * JSON object per line, as the controller signed them): dock_decode_receipt on
 * each line. A decoded receipt encodes again and has its signed bytes. */
#include "tests/fuzz/fuzz.h"
#include "dock-protocol/dock.h"

static void line(const char *s, size_t len)
{
	struct dock_receipt *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char why[256], tbs[1024], *text = NULL;

	FZ_CHECK(a && b);
	if (dock_decode_receipt(s, len, a, why, sizeof(why)) == 0) {
		FZ_CHECK(dock_check_recording_id(a->recording_id) == 0);
		FZ_CHECK(dock_check_clip_id(a->clip_id) == 0);
		FZ_CHECK(a->signer_len > 0 && a->sig_len > 0 && a->sig_len <= DOCK_MAX_SIG);
		FZ_CHECK(dock_receipt_tbs(a, tbs, sizeof(tbs)) > 0);
		FZ_CHECK(dock_encode_receipt(a, &text) == 0);
		FZ_CHECK(dock_decode_receipt(text, strlen(text), b, why, sizeof(why)) == 0);
		FZ_CHECK(memcmp(a, b, sizeof(*a)) == 0);
		free(text);
	}
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* Each line in its own buffer, exactly as long as the line. */
		char *copy = malloc(len ? len : 1);
		FZ_CHECK(copy != NULL);
		memcpy(copy, p, len);
		line(copy, len);
		free(copy);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}
