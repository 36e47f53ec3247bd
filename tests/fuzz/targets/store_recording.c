/* store_recording.c - libFuzzer target: the camera's recording store read back
 * from its data volume (bwc/store.h). First byte: bit 0 clear writes the rest
 * as DATA/recordings/ID/recording.json and loads it (store_load, store_list,
 * store_recording_json); set writes it as DATA/destination-key.json
 * (store_load_destination_key). What the store accepts it must be able to
 * offload: its metadata document must pass the controller's decoder. */
#include "tests/fuzz/fuzz.h"
#include "bwc/store.h"
#include "dock-protocol/dock.h"

#define ID "0f8fad5b-d9cb-469f-a165-70867728950e"

static void recording(store_t *s, const char *data_dir, const uint8_t *data, size_t size)
{
	char path[PATH_MAX + 128], why[256], *text = NULL;
	char (*ids)[STORE_ID_LEN + 1] = NULL;
	struct store_recording r;
	struct dock_recording d;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/recordings/" ID, data_dir);
	FZ_CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/recordings/" ID "/recording.json", data_dir);
	fz_write(path, data, size);

	FZ_CHECK(store_list(s, &ids, &n) == 0);
	FZ_CHECK(n == 1 && strcmp(ids[0], ID) == 0);
	free(ids);
	if (store_load(s, ID, &r) < 0)
		return;
	FZ_CHECK(strcmp(r.id, ID) == 0);
	FZ_CHECK(r.n_clips <= STORE_MAX_CLIPS && (r.n_clips == 0 || r.clips));
	FZ_CHECK(store_recording_json(&r, &text) == 0 && text);
	if (dock_decode_recording(text, strlen(text), &d, why, sizeof(why)) != 0) {
		fprintf(stderr, "the controller refuses this stored recording: %s\n%s\n", why, text);
		FZ_CHECK(!"stored recording offloadable");
	}
	FZ_CHECK(d.n_clips == r.n_clips && !d.closed == !r.closed);
	dock_recording_free(&d);
	free(text);
	store_recording_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	store_t *s = NULL;

	if (size < 1)
		return 0;
	fz_mkdtemp(dir);
	FZ_CHECK(store_open(dir, &s) == 0);
	if (data[0] & 1) {
		snprintf(path, sizeof(path), "%s/destination-key.json", dir);
		fz_write(path, data + 1, size - 1);
		store_load_destination_key(s);
	} else {
		recording(s, dir, data + 1, size - 1);
	}
	store_close(s);
	fz_rmtree(dir);
	return 0;
}
