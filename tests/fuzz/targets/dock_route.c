/* dock_route.c - libFuzzer target: dock_parse_route on a request path. An
 * accepted route names ids that pass their checks and can never leave their
 * directory when joined into a path. */
#include "tests/fuzz/fuzz.h"
#include "dock-protocol/dock.h"

static void check_id(const char *id, size_t cap)
{
	FZ_CHECK(memchr(id, 0, cap) != NULL);
	FZ_CHECK(strchr(id, '/') == NULL && strchr(id, '.') == NULL && strchr(id, '\\') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fz_strndup(data, size);
	struct dock_route r;

	if (dock_parse_route(path, &r) == 0) {
		FZ_CHECK(r.kind != DOCK_R_NONE);
		check_id(r.recording_id, sizeof(r.recording_id));
		check_id(r.clip_id, sizeof(r.clip_id));
		switch (r.kind) {
		case DOCK_R_ENROL:
		case DOCK_R_RENEW:
		case DOCK_R_PLAN:
			FZ_CHECK(!r.recording_id[0] && !r.clip_id[0] && !r.has_offset);
			break;
		case DOCK_R_RECORDING:
			FZ_CHECK(dock_check_recording_id(r.recording_id) == 0 && !r.clip_id[0]);
			FZ_CHECK(!r.has_offset);
			break;
		case DOCK_R_CLIP:
		case DOCK_R_CLIP_COMMIT:
			FZ_CHECK(dock_check_recording_id(r.recording_id) == 0);
			FZ_CHECK(dock_check_clip_id(r.clip_id) == 0);
			FZ_CHECK(r.kind == DOCK_R_CLIP || !r.has_offset);
			break;
		default:
			FZ_CHECK(0);
		}
		if (r.has_offset)
			FZ_CHECK(r.offset <= (UINT64_C(1) << 50));
	}
	free(path);
	return 0;
}
