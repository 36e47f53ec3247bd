/* swift_headers.c - libFuzzer target: answer header lines of the content
 * destination (untrusted), as the Swift client reads them with
 * swift_header_value, for the names it looks for and output buffers from one
 * byte up; and metadata keys through swift_meta_header. Every value taken is
 * NUL-terminated inside its buffer and holds no control character (which
 * could be sent back in a request header). */
#include "tests/fuzz/fuzz.h"
#include "controller/swift.h"

static void header(const char *line, size_t len)
{
	static const char *const names[] = { "X-Auth-Token", "X-Storage-Url", "Etag",
					     "X-Object-Meta-Sha256", "", ":" };
	static const size_t caps[] = { 1, 2, 33, 4096 };
	char out[4096 + 16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			int r;

			memset(out, 'Z', sizeof(out));
			r = swift_header_value(line, len, names[i], out, caps[c]);
			if (r == 1) {
				size_t n = strnlen(out, caps[c]);
				FZ_CHECK(n < caps[c]);
				FZ_CHECK(out[caps[c]] == 'Z' || caps[c] == sizeof(out));
				for (size_t k = 0; k < n; k++)
					FZ_CHECK((unsigned char)out[k] >= 0x20 && out[k] != 0x7f);
			} else if (r == -1) {
				FZ_CHECK(out[0] == 0);
			} else {
				FZ_CHECK(r == 0 && out[0] == 'Z');
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char key[64], meta[128];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
		/* each line in its own buffer, exactly as long, as libcurl hands it */
		char *copy = malloc(len ? len : 1);
		FZ_CHECK(copy != NULL);
		memcpy(copy, p, len);
		header(copy, len);
		free(copy);
		p += len;
	}
	/* the same bytes as a metadata key */
	if (size < sizeof(key)) {
		memcpy(key, data, size);
		key[size] = 0;
		if (swift_meta_header("Object", key, meta, sizeof(meta)) == 0)
			FZ_CHECK(strncmp(meta, "X-Object-Meta-", 14) == 0 && strlen(meta) < sizeof(meta));
	}
	return 0;
}
