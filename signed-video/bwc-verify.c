/* bwc-verify - checks the signed video of a clip (MKV, MP4 or raw H.264
 * Annex-B): every GOP's signature and every picture hash, and the signing
 * key's certificate against a manufacturer CA. Exit codes: usage() below. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "certs/certs.h"
#include "shared/util.h"
#include "signed-video/sv.h"

#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum exit_code {
	EXIT_VALID = 0,       /* every picture covered; trusted if --trust was given */
	EXIT_INVALID = 1,
	EXIT_USAGE = 2,
	EXIT_UNSIGNED = 3,
	EXIT_INCOMPLETE = 4,
	EXIT_UNTRUSTED = 5,   /* signatures valid, key not tied to the --trust CA */
	EXIT_UNREADABLE = 6,  /* not a video file with an H.264 stream */
};

#define CERT_FILE "video-signing.pem"   /* beside the clips in the camera's store */

struct options {
	const char *file, *trust, *cert;
	int json;
};

struct trust {
	const char *status;   /* "trusted", "untrusted", "not-checked" */
	char why[512];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bwc-verify FILE [--trust CA.pem] [--cert CERT.pem] [--json]\n"
		"  FILE      MKV, MP4 or raw H.264 (Annex-B) with signed-video SEIs\n"
		"  --trust   manufacturer CA: the signing key's certificate must chain to it\n"
		"  --cert    the signing key's certificate (default: %s beside FILE)\n"
		"exit: 0 valid (and trusted, with --trust), 1 invalid, 2 usage, 3 unsigned,\n"
		"      4 incomplete (pictures not covered, final signature missing, truncated),\n"
		"      5 valid but untrusted (with --trust), 6 unreadable\n", CERT_FILE);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "cert", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 't': o->trust = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'j': o->json = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return -1;
	}
	o->file = argv[optind];
	return 0;
}

/* ---- demuxing ---- */

static int feed_avcc(sv_verifier_t *v, const uint8_t *p, size_t n, int len_size)
{
	size_t off = 0;

	while (off < n) {
		size_t len = 0;
		if (n - off < (size_t)len_size)
			return -1;
		for (int i = 0; i < len_size; i++)
			len = (len << 8) | p[off + (size_t)i];
		off += (size_t)len_size;
		if (len > n - off)
			return -1;
		if (len && sv_verifier_add(v, p + off, len) == SV_E_NOMEM)
			return -2;
		off += len;
	}
	return 0;
}

static int feed_annexb(sv_verifier_t *v, const uint8_t *p, size_t n)
{
	size_t pos = 0, len;
	const uint8_t *nal;

	while ((nal = sv_annexb_next(p, n, &pos, &len)))
		if (len && sv_verifier_add(v, nal, len) == SV_E_NOMEM)
			return -2;
	return 0;
}

static int demux(const char *file, sv_verifier_t *v, char *why, size_t cap)
{
	AVFormatContext *fc = NULL;
	AVPacket *pkt = NULL;
	const AVCodecParameters *par;
	int r, st, len_size = 0;

	if ((r = avformat_open_input(&fc, file, NULL, NULL)) < 0 ||
	    (r = avformat_find_stream_info(fc, NULL)) < 0) {
		av_strerror(r, why, cap);
		avformat_close_input(&fc);
		return -1;
	}
	st = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (st < 0 || fc->streams[st]->codecpar->codec_id != AV_CODEC_ID_H264) {
		snprintf(why, cap, "no H.264 video stream");
		avformat_close_input(&fc);
		return -1;
	}
	par = fc->streams[st]->codecpar;
	if (par->extradata_size >= 7 && par->extradata[0] == 1)
		len_size = (par->extradata[4] & 3) + 1;   /* avcC: length-prefixed NAL units */
	pkt = av_packet_alloc();
	if (!pkt) {
		avformat_close_input(&fc);
		snprintf(why, cap, "out of memory");
		return -1;
	}
	while ((r = av_read_frame(fc, pkt)) >= 0) {
		if (pkt->stream_index == st) {
			int f = len_size ? feed_avcc(v, pkt->data, (size_t)pkt->size, len_size)
					 : feed_annexb(v, pkt->data, (size_t)pkt->size);
			if (f == -1)
				sv_verifier_truncated(v, "a packet's NAL unit lengths run past its end");
			if (f == -2)
				r = AVERROR(ENOMEM);
			if ((pkt->flags & AV_PKT_FLAG_CORRUPT) && f == 0)
				sv_verifier_truncated(v, "the demuxer marked a packet corrupt");
		}
		av_packet_unref(pkt);
		if (r < 0)
			break;
	}
	if (r < 0 && r != AVERROR_EOF) {
		char msg[AV_ERROR_MAX_STRING_SIZE];
		av_strerror(r, msg, sizeof(msg));
		sv_verifier_truncated(v, msg);
	}
	av_packet_free(&pkt);
	avformat_close_input(&fc);
	return 0;
}

/* ---- the key's certificate ---- */

static int read_der(const char *path, uint8_t *der, size_t cap, size_t *len)
{
	uint8_t *pem = NULL;
	size_t n;
	int r = util_read_file(path, 65536, &pem, &n);

	if (r < 0)
		return r;
	r = certs_pem_to_der((const char *)pem, n, "CERTIFICATE", der, cap, len);
	free(pem);
	return r;
}

static void check_trust(const struct options *o, const struct sv_report *rep, struct trust *t)
{
	uint8_t leaf[CERTS_MAX_DER], ca[CERTS_MAX_DER];
	size_t leaf_len, ca_len;
	char path[PATH_MAX], copy[PATH_MAX];
	struct cert_info info;
	int r;

	t->status = "not-checked";
	snprintf(t->why, sizeof(t->why), "no --trust CA given: the key is not tied to a manufacturer");
	if (!o->trust || !rep->has_key)
		return;
	t->status = "untrusted";
	snprintf(copy, sizeof(copy), "%s", o->file);
	snprintf(path, sizeof(path), "%s/%s", dirname(copy), CERT_FILE);
	if (o->cert)
		snprintf(path, sizeof(path), "%s", o->cert);
	if (read_der(o->trust, ca, sizeof(ca), &ca_len) != 0) {
		snprintf(t->why, sizeof(t->why), "cannot read the CA certificate %.200s", o->trust);
		return;
	}
	if (read_der(path, leaf, sizeof(leaf), &leaf_len) != 0 ||
	    certs_parse(leaf, leaf_len, &info) != 0) {
		snprintf(t->why, sizeof(t->why), "no readable signing certificate %.200s (give it with "
			 "--cert; it is kept with the recording)", path);
		return;
	}
	if (info.spki_len != rep->spki_len || memcmp(info.spki, rep->spki, rep->spki_len) != 0) {
		snprintf(t->why, sizeof(t->why), "certificate %.200s is for another key than the one "
			 "that signed the video", path);
		return;
	}
	if (strcmp(info.serial, rep->product.serial) != 0) {
		snprintf(t->why, sizeof(t->why), "certificate serial \"%.40s\" differs from the "
			 "video's \"%.40s\"", info.serial, rep->product.serial);
		return;
	}
	/* Validity dates are not checked: a clip is verified long after it was made. */
	if ((r = certs_verify_issued_by(leaf, leaf_len, ca, ca_len, 0, 0)) != 0) {
		snprintf(t->why, sizeof(t->why), "certificate of %.40s does not chain to %.200s: %s",
			 info.serial, o->trust, certs_strerror(r));
		return;
	}
	t->status = "trusted";
	snprintf(t->why, sizeof(t->why), "key certified for camera %.40s by %.64s", info.serial,
		 info.issuer_cn);
}

/* ---- output ---- */

static int exit_for(const struct sv_report *rep, const struct trust *t)
{
	switch (rep->verdict) {
	case SV_VALID: return strcmp(t->status, "untrusted") == 0 ? EXIT_UNTRUSTED : EXIT_VALID;
	case SV_INVALID: return EXIT_INVALID;
	case SV_UNSIGNED: return EXIT_UNSIGNED;
	default: return EXIT_INCOMPLETE;
	}
}

static void key_pin(const struct sv_report *rep, char hex[65])
{
	uint8_t pin[32];

	hex[0] = 0;
	if (rep->has_key && certs_spki_sha256(rep->spki, rep->spki_len, pin) == 0)
		util_hex(pin, sizeof(pin), hex);
}

static int print_json(const struct options *o, const struct sv_report *rep, const struct trust *t,
		      int code)
{
	json_t *probs = json_array(), *doc;
	char pin[65];
	char *text;

	key_pin(rep, pin);
	for (size_t i = 0; probs && i < rep->n_problems; i++) {
		const struct sv_problem *p = &rep->problems[i];
		json_array_append_new(probs, json_pack("{s:s, s:I, s:I, s:I, s:s}",
			"kind", p->invalid ? "invalid" : "incomplete", "gop", (json_int_t)p->gop,
			"first_frame", (json_int_t)p->first_frame, "last_frame",
			(json_int_t)p->last_frame, "text", p->text));
	}
	doc = json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:s?, s:{s:s, s:s, s:s, s:s}, "
			"s:{s:s, s:s}, s:o, s:b}",
			"file", o->file, "verdict", sv_verdict_name(rep->verdict), "exit", code,
			"frames", (json_int_t)rep->frames, "frames_covered",
			(json_int_t)rep->frames_covered, "gops", (json_int_t)rep->gops,
			"gops_valid", (json_int_t)rep->gops_valid, "key_sha256",
			pin[0] ? pin : NULL, "product", "serial", rep->product.serial, "firmware",
			rep->product.firmware, "manufacturer", rep->product.manufacturer,
			"hardware_id", rep->product.hardware_id, "trust", "status", t->status,
			"reason", t->why, "problems", probs, "problems_truncated",
			rep->problems_dropped);
	if (!doc || !(text = json_dumps(doc, JSON_INDENT(2)))) {
		fprintf(stderr, "bwc-verify: out of memory writing the JSON report\n");
		json_decref(doc);
		return -1;
	}
	puts(text);
	free(text);
	json_decref(doc);
	return 0;
}

static void print_text(const struct options *o, const struct sv_report *rep, const struct trust *t)
{
	char pin[65];

	key_pin(rep, pin);
	printf("%s: %s: %ld of %ld frames covered by verified signatures; %ld of %ld GOP "
	       "signatures verified\n", o->file, sv_verdict_name(rep->verdict), rep->frames_covered,
	       rep->frames, rep->gops_valid, rep->gops);
	if (rep->has_key)
		printf("signed by: camera %s, %s, firmware %s, %s; key sha256 %s\n",
		       rep->product.serial, rep->product.hardware_id, rep->product.firmware,
		       rep->product.manufacturer, pin);
	printf("trust: %s: %s\n", t->status, t->why);
	for (size_t i = 0; i < rep->n_problems; i++)
		printf("  %s: %s\n", rep->problems[i].invalid ? "INVALID" : "INCOMPLETE",
		       rep->problems[i].text);
	if (rep->problems_dropped)
		printf("  (more problems not listed)\n");
}

int main(int argc, char **argv)
{
	struct options o;
	struct sv_report rep;
	struct trust t;
	sv_verifier_t *v = NULL;
	char why[256];
	int code;

	if (parse_args(argc, argv, &o) < 0)
		return EXIT_USAGE;
	av_log_set_level(AV_LOG_QUIET);   /* our report names what failed */
	if (sv_verifier_create(&v) != SV_OK) {
		fprintf(stderr, "bwc-verify: out of memory\n");
		return EXIT_UNREADABLE;
	}
	if (demux(o.file, v, why, sizeof(why)) < 0) {
		fprintf(stderr, "bwc-verify: cannot read %s as video: %s\n", o.file, why);
		sv_verifier_free(v);
		return EXIT_UNREADABLE;
	}
	sv_verifier_finish(v, &rep);
	sv_verifier_free(v);
	check_trust(&o, &rep, &t);
	code = exit_for(&rep, &t);
	if (o.json) {
		if (print_json(&o, &rep, &t, code) < 0)
			return EXIT_UNREADABLE;
	} else {
		print_text(&o, &rep, &t);
	}
	return code;
}
