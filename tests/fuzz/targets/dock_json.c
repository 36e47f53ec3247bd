/* dock_json.c - libFuzzer target: every JSON decoder of the dock protocol,
 * chosen by the first input byte. A decoded message is encoded again (or, for
 * recording metadata, its canonical text is decoded again): that must succeed
 * and give the same message. */
#include "tests/fuzz/fuzz.h"
#include "dock-protocol/dock.h"

#define WHY 256

/* Decodes json into *a, then encode(a) into *b; both must agree. */
#define ROUNDTRIP(type, dec, enc, json, len)                                              \
	do {                                                                             \
		type *a = calloc(1, sizeof(type)), *b = calloc(1, sizeof(type));         \
		char why[WHY], *text = NULL;                                             \
		FZ_CHECK(a && b);                                                        \
		if (dec(json, len, a, why, sizeof(why)) == 0) {                          \
			FZ_CHECK(enc(a, &text) == 0 && text);                            \
			FZ_CHECK(dec(text, strlen(text), b, why, sizeof(why)) == 0);     \
			FZ_CHECK(memcmp(a, b, sizeof(type)) == 0);                       \
		} else {                                                                 \
			FZ_CHECK(memchr(why, 0, sizeof(why)) != NULL);                   \
		}                                                                        \
		free(text);                                                              \
		free(a);                                                                 \
		free(b);                                                                 \
	} while (0)

static void recording(const char *json, size_t len)
{
	struct dock_recording a, b;
	char why[WHY];

	if (dock_decode_recording(json, len, &a, why, sizeof(why)) < 0) {
		FZ_CHECK(a.clips == NULL && a.canonical == NULL);
		return;
	}
	FZ_CHECK(dock_check_recording_id(a.recording_id) == 0);
	FZ_CHECK(a.canonical != NULL);
	FZ_CHECK(dock_decode_recording(a.canonical, strlen(a.canonical), &b, why, sizeof(why)) == 0);
	FZ_CHECK(strcmp(a.canonical, b.canonical) == 0);
	FZ_CHECK(strcmp(a.recording_id, b.recording_id) == 0 && strcmp(a.serial, b.serial) == 0);
	FZ_CHECK(a.n_clips == b.n_clips && a.total_bytes == b.total_bytes && a.closed == b.closed);
	for (size_t i = 0; i < a.n_clips; i++) {
		const struct dock_clip_meta *c = &a.clips[i];
		FZ_CHECK(dock_check_clip_id(c->clip_id) == 0);
		FZ_CHECK(dock_recording_clip(&a, c->clip_id) == c);
		FZ_CHECK(memcmp(c, &b.clips[i], sizeof(*c)) == 0);
	}
	dock_recording_free(&a);
	dock_recording_free(&b);
	dock_recording_free(&b);   /* free is idempotent */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json;
	size_t len;

	if (size < 1)
		return 0;
	json = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 8) {
	case 0:
		ROUNDTRIP(struct dock_csr_req, dock_decode_csr_req, dock_encode_csr_req, json, len);
		break;
	case 1:
		ROUNDTRIP(struct dock_cert_resp, dock_decode_cert_resp, dock_encode_cert_resp, json,
			  len);
		break;
	case 2:
		ROUNDTRIP(struct dock_error_resp, dock_decode_error, dock_encode_error, json, len);
		break;
	case 3:
		ROUNDTRIP(struct dock_plan, dock_decode_plan, dock_encode_plan, json, len);
		break;
	case 4:
		ROUNDTRIP(struct dock_commit, dock_decode_commit, dock_encode_commit, json, len);
		break;
	case 5:
		ROUNDTRIP(struct dock_receipt, dock_decode_receipt, dock_encode_receipt, json, len);
		break;
	case 6:
		ROUNDTRIP(struct dock_clip_status, dock_decode_clip_status, dock_encode_clip_status,
			  json, len);
		break;
	case 7:
		recording(json, len);
		break;
	}
	return 0;
}
