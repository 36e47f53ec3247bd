/* dock_http_request.c - libFuzzer target: HTTP/1.1 requests as the dock protocol
 * frames them (dock_http_feed), split, byte by byte and streamed. */
#include "tests/fuzz/dock_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_dock_http(DOCK_HTTP_REQUEST, data, size);
	return 0;
}
