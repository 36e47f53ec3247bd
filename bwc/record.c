/* record.c - bwc-record, the camera's recorder: encodes a generated test
 * picture to H.264 (libx264 through libavcodec) into the recording store,
 * every NAL unit through the signed-video signer (signed-video/FORMAT.md). */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "bwc/bwc.h"
#include "bwc/store.h"
#include "certs/certs.h"
#include "hw/keystore.h"
#include "shared/conf.h"
#include "shared/util.h"
#include "signed-video/sv.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WIDTH 1920
#define HEIGHT 1080
#define FPS 30
#define BIT_RATE 8000000
#define MAX_SECONDS (7 * 24 * 3600)
#define MAX_BYTES (64ull << 30)
#define VIDEO_KEY "video"          /* keystore key that signs the video */
#define VIDEO_CERT "video.pem"     /* its certificate, beside the key (factory) */

/* The camera's video-signing key, loaded once; NULL signer key: unsigned. */
struct video_signing {
	keystore_t *ks;
	ecc_key key;
	int have_key;
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len;
	struct sv_product product;
	uint8_t *cert_pem;
	size_t cert_len;
};

struct options {
	const char *conf, *container, *user, *marker;
	long seconds, clip_seconds;
	unsigned long long bytes;
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	stop_requested = sig;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: bwc-record -c CAMERA.conf --seconds S [--container mkv|mp4]\n"
		     "                  [--clip-seconds N] [--user USER] [--marker TEXT] [--bytes N]\n");
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "container", required_argument, NULL, 'C' },
		{ "clip-seconds", required_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ "marker", required_argument, NULL, 'm' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c;

	*o = (struct options){ .container = "mkv", .user = "unassigned", .clip_seconds = 300 };
	while ((c = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->conf = optarg; break;
		case 'C': o->container = optarg; break;
		case 'u': o->user = optarg; break;
		case 'm': o->marker = optarg; break;
		case 's':
		case 'n':
			if (parse_num(optarg, MAX_SECONDS, &v) < 0) {
				fprintf(stderr, "bwc-record: --%s wants 1..%d seconds, not \"%s\"\n",
					c == 's' ? "seconds" : "clip-seconds", MAX_SECONDS, optarg);
				return -1;
			}
			*(c == 's' ? &o->seconds : &o->clip_seconds) = (long)v;
			break;
		case 'b':
			if (parse_num(optarg, MAX_BYTES, &v) < 0) {
				fprintf(stderr, "bwc-record: --bytes wants 1..%llu, not \"%s\"\n",
					MAX_BYTES, optarg);
				return -1;
			}
			o->bytes = v;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || !o->conf || !o->seconds) {
		usage(stderr);
		return -1;
	}
	if (strcmp(o->container, "mkv") != 0 && strcmp(o->container, "mp4") != 0) {
		fprintf(stderr, "bwc-record: --container is mkv or mp4, not \"%s\"\n", o->container);
		return -1;
	}
	if (strlen(o->user) >= STORE_TEXT_MAX || (o->marker && strlen(o->marker) > 255)) {
		fprintf(stderr, "bwc-record: --user is at most %d bytes, --marker at most 255\n",
			STORE_TEXT_MAX - 1);
		return -1;
	}
	return 0;
}

/* The serial is the subject serialNumber of the factory certificate. */
static int read_serial(const char *keystore, char *out, size_t cap, char *org, size_t org_cap)
{
	char path[PATH_MAX];
	uint8_t *pem = NULL, der[CERTS_MAX_DER];
	struct cert_info info;
	size_t len, der_len;
	char dir[PATH_MAX - 16];
	int r;

	if (ks_spec_dir(keystore, dir, sizeof(dir)) != 0) {
		fprintf(stderr, "bwc-record: keystore \"%s\" names no directory\n", keystore);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/idevid.pem", dir);
	r = util_read_file(path, 65536, &pem, &len);
	if (r < 0) {
		fprintf(stderr, "bwc-record: cannot read the factory certificate %s: %s\n", path,
			strerror(-r));
		return -1;
	}
	r = certs_pem_to_der((char *)pem, len, "CERTIFICATE", der, sizeof(der), &der_len);
	free(pem);
	if (r == 0)
		r = certs_parse(der, der_len, &info);
	if (r == 0)
		r = certs_check_serial(info.serial);
	if (r != 0 || strlen(info.serial) >= cap) {
		fprintf(stderr, "bwc-record: factory certificate %s unusable: %s\n", path,
			certs_strerror(r));
		return -1;
	}
	snprintf(out, cap, "%s", info.serial);
	snprintf(org, org_cap, "%s", info.organization);
	return 0;
}

static void read_timezone(char *out, size_t cap)
{
	uint8_t *buf = NULL;
	size_t len;

	snprintf(out, cap, "UTC");
	if (util_read_file("/etc/timezone", 256, &buf, &len) < 0)
		return;
	buf[strcspn((char *)buf, "\r\n")] = 0;
	if (buf[0] && strlen((char *)buf) < cap && strspn((char *)buf,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") == strlen((char *)buf))
		snprintf(out, cap, "%s", (char *)buf);
	free(buf);
}

/* ---- the encoder of one clip ---- */

struct encoder {
	AVFormatContext *oc;
	AVCodecContext *cc;
	AVStream *st;
	AVFrame *yuv, *rgb;
	AVPacket *pkt;
	struct SwsContext *sws;
	int64_t pts;
	int header_written;
	sv_signer_t *signer;   /* NULL: unsigned */
	AVPacket *held;        /* signing: the newest packet, written once the next comes */
	int holding;
};

static int av_fail(const char *step, int err)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(err, msg, sizeof(msg));
	fprintf(stderr, "bwc-record: %s failed: %s\n", step, msg);
	return -1;
}

static void encoder_free(struct encoder *e)
{
	if (e->oc && e->oc->pb)
		avio_closep(&e->oc->pb);
	avformat_free_context(e->oc);
	avcodec_free_context(&e->cc);
	av_frame_free(&e->yuv);
	av_frame_free(&e->rgb);
	av_packet_free(&e->pkt);
	sws_freeContext(e->sws);
	av_packet_free(&e->held);
	sv_signer_free(e->signer);
	memset(e, 0, sizeof(*e));
}

static int open_codec(struct encoder *e)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	int r;

	if (!codec)
		codec = avcodec_find_encoder(AV_CODEC_ID_H264);
	if (!codec) {
		fprintf(stderr, "bwc-record: no H.264 encoder in libavcodec (libx264 missing)\n");
		return -1;
	}
	e->cc = avcodec_alloc_context3(codec);
	if (!e->cc)
		return av_fail("allocating the encoder context", AVERROR(ENOMEM));
	e->cc->width = WIDTH;
	e->cc->height = HEIGHT;
	e->cc->time_base = (AVRational){ 1, FPS };
	e->cc->framerate = (AVRational){ FPS, 1 };
	e->cc->pix_fmt = AV_PIX_FMT_YUV420P;
	e->cc->bit_rate = BIT_RATE;
	e->cc->gop_size = FPS;
	e->cc->max_b_frames = 0;
	if ((r = av_opt_set(e->cc->priv_data, "preset", "ultrafast", 0)) < 0)
		return av_fail("setting the x264 preset", r);
	if (e->oc->oformat->flags & AVFMT_GLOBALHEADER)
		e->cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if ((r = avcodec_open2(e->cc, codec, NULL)) < 0)
		return av_fail("opening the H.264 encoder", r);
	return 0;
}

static int alloc_frame(AVFrame **f, enum AVPixelFormat fmt)
{
	int r;

	*f = av_frame_alloc();
	if (!*f)
		return av_fail("allocating a frame", AVERROR(ENOMEM));
	(*f)->format = fmt;
	(*f)->width = WIDTH;
	(*f)->height = HEIGHT;
	if ((r = av_frame_get_buffer(*f, 0)) < 0)
		return av_fail("allocating frame buffers", r);
	return 0;
}

static int signer_open(struct encoder *e, struct video_signing *vs)
{
	int r;

	if (!vs->have_key)
		return 0;
	e->held = av_packet_alloc();
	if (!e->held)
		return av_fail("allocating a packet", AVERROR(ENOMEM));
	r = sv_signer_create(&vs->key, vs->spki, vs->spki_len, &vs->product, &e->signer);
	if (r != SV_OK) {
		fprintf(stderr, "bwc-record: cannot start the video signer: %s\n", sv_strerror(r));
		return -1;
	}
	return 0;
}

static int encoder_open(struct encoder *e, const char *path, const char *container,
			const char *marker, struct video_signing *vs)
{
	const char *fmt = strcmp(container, "mp4") == 0 ? "mp4" : "matroska";
	int r;

	memset(e, 0, sizeof(*e));
	if (signer_open(e, vs) < 0)
		return -1;
	if ((r = avformat_alloc_output_context2(&e->oc, NULL, fmt, path)) < 0)
		return av_fail("creating the output context", r);
	if (open_codec(e) < 0)
		return -1;
	e->st = avformat_new_stream(e->oc, NULL);
	if (!e->st)
		return av_fail("adding the video stream", AVERROR(ENOMEM));
	e->st->time_base = e->cc->time_base;
	if ((r = avcodec_parameters_from_context(e->st->codecpar, e->cc)) < 0)
		return av_fail("copying the codec parameters", r);
	/* The marker lands in the container's title tag as plain text: tests find
	 * it in the raw bytes of the clip. */
	if (marker && (r = av_dict_set(&e->oc->metadata, "title", marker, 0)) < 0)
		return av_fail("setting the title tag", r);
	if ((r = avio_open(&e->oc->pb, path, AVIO_FLAG_WRITE)) < 0)
		return av_fail("opening the clip file", r);
	if ((r = avformat_write_header(e->oc, NULL)) < 0)
		return av_fail("writing the container header", r);
	e->header_written = 1;
	if (alloc_frame(&e->yuv, AV_PIX_FMT_YUV420P) < 0 || alloc_frame(&e->rgb, AV_PIX_FMT_RGB24) < 0)
		return -1;
	e->pkt = av_packet_alloc();
	if (!e->pkt)
		return av_fail("allocating a packet", AVERROR(ENOMEM));
	e->sws = sws_getContext(WIDTH, HEIGHT, AV_PIX_FMT_RGB24, WIDTH, HEIGHT, AV_PIX_FMT_YUV420P,
				SWS_FAST_BILINEAR, NULL, NULL, NULL);
	if (!e->sws)
		return av_fail("creating the RGB to YUV converter", AVERROR(EINVAL));
	return 0;
}

/* Replaces pkt's bytes (the encoder's Annex-B) with data. */
static int set_packet_data(AVPacket *pkt, const uint8_t *data, size_t len)
{
	AVBufferRef *buf;

	if (len > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
		return av_fail("signing a packet", AVERROR(EINVAL));
	buf = av_buffer_alloc(len + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!buf)
		return av_fail("signing a packet", AVERROR(ENOMEM));
	memcpy(buf->data, data, len);
	memset(buf->data + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	av_buffer_unref(&pkt->buf);
	pkt->buf = buf;
	pkt->data = buf->data;
	pkt->size = (int)len;
	return 0;
}

/* Every NAL unit of pkt passes through the signer, which inserts the SEI of
 * a finished GOP before the I-frame that starts the next. */
static int sign_packet(struct encoder *e, AVPacket *pkt)
{
	uint8_t *out;
	size_t len;
	int r = sv_signer_annexb(e->signer, pkt->data, (size_t)pkt->size, 0, &out, &len);

	if (r != SV_OK) {
		fprintf(stderr, "bwc-record: signing the video failed: %s\n", sv_strerror(r));
		return -1;
	}
	r = set_packet_data(pkt, out, len);
	free(out);
	return r;
}

static int write_packet(struct encoder *e, AVPacket *pkt)
{
	int r = av_interleaved_write_frame(e->oc, pkt);

	return r < 0 ? av_fail("writing a packet to the container", r) : 0;
}

/* A signing failure never stops the recording: the rest of the clip is
 * written unsigned (bwc-verify then reports it not covered), loudly. */
static int stop_signing(struct encoder *e)
{
	fprintf(stderr, "bwc-record: warning: the rest of this clip is recorded UNSIGNED\n");
	sv_signer_free(e->signer);
	e->signer = NULL;
	if (!e->holding)
		return 0;
	e->holding = 0;
	return write_packet(e, e->held);
}

/* Signing holds back one packet: the last one of the clip carries the final
 * SEI, and only the flush tells which one that is. */
static int put_packet(struct encoder *e)
{
	if (!e->signer)
		return write_packet(e, e->pkt);
	if (sign_packet(e, e->pkt) < 0)
		return stop_signing(e) < 0 ? -1 : write_packet(e, e->pkt);
	if (e->holding && write_packet(e, e->held) < 0)
		return -1;
	av_packet_move_ref(e->held, e->pkt);
	e->holding = 1;
	return 0;
}

static int put_last_packet(struct encoder *e)
{
	const uint8_t *sei;
	uint8_t *buf;
	size_t n, size;
	int r;

	if (!e->signer || !e->holding)
		return 0;
	e->holding = 0;
	if ((r = sv_signer_finish(e->signer, &sei, &n)) != SV_OK) {
		fprintf(stderr, "bwc-record: signing the last GOP failed: %s\n", sv_strerror(r));
		e->holding = 1;
		return stop_signing(e);
	}
	size = (size_t)e->held->size;
	buf = malloc(size + 4 + n);
	if (!buf)
		return av_fail("signing the last packet", AVERROR(ENOMEM));
	memcpy(buf, e->held->data, size);
	memcpy(buf + size, "\0\0\0\1", 4);
	memcpy(buf + size + 4, sei, n);
	r = set_packet_data(e->held, buf, size + 4 + n);
	free(buf);
	return r < 0 ? -1 : write_packet(e, e->held);
}

/* Sends frame (NULL: flush) and writes every packet the encoder gives back. */
static int encode(struct encoder *e, AVFrame *frame)
{
	int r = avcodec_send_frame(e->cc, frame);

	if (r < 0)
		return av_fail("sending a frame to the encoder", r);
	for (;;) {
		r = avcodec_receive_packet(e->cc, e->pkt);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
			return 0;
		if (r < 0)
			return av_fail("receiving a packet from the encoder", r);
		av_packet_rescale_ts(e->pkt, e->cc->time_base, e->st->time_base);
		e->pkt->stream_index = e->st->index;
		if (put_packet(e) < 0)
			return -1;
	}
}

/* Test picture: colour gradients that scroll, and a white bar that sweeps. */
static void draw(AVFrame *f, int64_t n)
{
	int bar = (int)((n * 16) % WIDTH);

	for (int y = 0; y < HEIGHT; y++) {
		uint8_t *p = f->data[0] + (size_t)y * (size_t)f->linesize[0];
		for (int x = 0; x < WIDTH; x++, p += 3) {
			int white = x >= bar && x < bar + 64;
			p[0] = white ? 255 : (uint8_t)(x + n * 4);
			p[1] = white ? 255 : (uint8_t)(y + n * 2);
			p[2] = white ? 255 : (uint8_t)((x ^ y) + n);
		}
	}
}

static int encode_frame(struct encoder *e)
{
	int r;

	if ((r = av_frame_make_writable(e->rgb)) < 0 || (r = av_frame_make_writable(e->yuv)) < 0)
		return av_fail("making a frame writable", r);
	draw(e->rgb, e->pts);
	r = sws_scale(e->sws, (const uint8_t *const *)e->rgb->data, e->rgb->linesize, 0, HEIGHT,
		      e->yuv->data, e->yuv->linesize);
	if (r != HEIGHT)
		return av_fail("converting RGB to YUV", AVERROR(EINVAL));
	e->yuv->pts = e->pts++;
	return encode(e, e->yuv);
}

static int encoder_finish(struct encoder *e)
{
	int r;

	if (encode(e, NULL) < 0 || put_last_packet(e) < 0)
		return -1;
	if ((r = av_write_trailer(e->oc)) < 0)
		return av_fail("writing the container trailer", r);
	if ((r = avio_closep(&e->oc->pb)) < 0)
		return av_fail("closing the clip file", r);
	return 0;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Frames at 30 per second of wall time, like a camera; stops early on a signal. */
static int record_video(const char *path, const struct options *o, long seconds,
			struct video_signing *vs)
{
	struct encoder e;
	int64_t frames = (int64_t)seconds * FPS;
	double t0 = now_mono();
	int r = -1;

	if (encoder_open(&e, path, o->container, o->marker, vs) < 0)
		goto out;
	for (int64_t i = 0; i < frames && !stop_requested; i++) {
		double due = t0 + (double)i / FPS - now_mono();
		if (due > 0) {
			struct timespec ts = { (time_t)due, (long)((due - (double)(time_t)due) * 1e9) };
			nanosleep(&ts, NULL);   /* relative: faketime breaks absolute monotonic sleeps */
		}
		if (encode_frame(&e) < 0)
			goto out;
	}
	r = encoder_finish(&e);
out:
	encoder_free(&e);
	return r;
}

/* --bytes: pseudo-random content (xorshift64*), fast enough for 1 GiB clips. */
static int record_bytes(const char *path, unsigned long long size)
{
	enum { CHUNK = 4 << 20 };
	uint64_t *buf = malloc(CHUNK), x = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;

	if (!buf || fd < 0) {
		fprintf(stderr, "bwc-record: opening %s: %s\n", path, strerror(buf ? errno : ENOMEM));
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (size > 0 && !stop_requested) {
		size_t n = size < CHUNK ? (size_t)size : CHUNK;
		for (size_t i = 0; i < CHUNK / 8; i++) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			buf[i] = x * 0x2545f4914f6cdd1dull;
		}
		for (size_t off = 0; off < n;) {
			ssize_t w = write(fd, (uint8_t *)buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				fprintf(stderr, "bwc-record: writing %s: %s\n", path, strerror(errno));
				r = -1;
				goto out;
			}
			off += (size_t)w;
		}
		size -= n;
	}
out:
	free(buf);
	if (close(fd) < 0 && r == 0) {
		fprintf(stderr, "bwc-record: closing %s: %s\n", path, strerror(errno));
		r = -1;
	}
	return r;
}

/* The video key and its certificate from the keystore. Without the key the
 * recorder still records (unsigned, said on stderr): a camera from before
 * signed video has no such key until it is provisioned again. */
static int load_video_key(const char *spec, struct video_signing *vs)
{
	char dir[PATH_MAX - 16], path[PATH_MAX];
	int r;

	if ((r = ks_open(spec, &vs->ks)) != KS_OK) {
		fprintf(stderr, "bwc-record: cannot open the keystore %s: %s %s\n", spec,
			ks_strerror(r), ks_last_detail());
		return -1;
	}
	r = ks_exists(vs->ks, VIDEO_KEY);
	if (r == 0) {
		fprintf(stderr, "bwc-record: warning: no key \"%s\" in the keystore: the video is NOT "
			"signed (provision the camera's video key, see tests/rig/riglib.py)\n", VIDEO_KEY);
		return 0;
	}
	if (r < 0 || (r = ks_load_signer(vs->ks, VIDEO_KEY, &vs->key)) != KS_OK) {
		fprintf(stderr, "bwc-record: cannot load the video-signing key: %s %s\n",
			ks_strerror(r), ks_last_detail());
		return -1;
	}
	vs->have_key = 1;
	if ((r = ks_public_spki(vs->ks, VIDEO_KEY, vs->spki, sizeof(vs->spki), &vs->spki_len)) != KS_OK) {
		fprintf(stderr, "bwc-record: cannot read the video key's public key: %s\n",
			ks_strerror(r));
		return -1;
	}
	if (ks_spec_dir(spec, dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, VIDEO_CERT);
		r = util_read_file(path, 16384, &vs->cert_pem, &vs->cert_len);
		if (r < 0)
			fprintf(stderr, "bwc-record: warning: no certificate %s for the video key (%s): "
				"verifiers cannot tie the video to this camera\n", path, strerror(-r));
	}
	return 0;
}

static void video_signing_free(struct video_signing *vs)
{
	if (vs->have_key)
		wc_ecc_free(&vs->key);
	free(vs->cert_pem);
	ks_close(vs->ks);
}

static void print_clip(const struct store_clip *c)
{
	char hex[65];

	util_hex(c->sha256, sizeof(c->sha256), hex);
	printf("clip %s %s size %llu sha256 %s%s\n", c->clip_id, c->container,
	       (unsigned long long)c->size, hex, c->complete ? "" : " incomplete");
	fflush(stdout);
}

static int record_clips(store_t *s, struct store_recording *rec, const struct options *o,
			struct video_signing *vs)
{
	char path[PATH_MAX];
	long left = o->seconds;
	int r;

	while (left > 0 && !stop_requested) {
		long len = left < o->clip_seconds ? left : o->clip_seconds;
		if ((r = store_clip_begin(s, rec, o->container, path, sizeof(path))) < 0) {
			fprintf(stderr, "bwc-record: cannot start a clip: %s\n", strerror(-r));
			return -1;
		}
		if ((o->bytes ? record_bytes(path, o->bytes) : record_video(path, o, len, vs)) < 0)
			return -1;   /* the .part stays: store_recover flags it */
		if ((r = store_clip_end(s, rec)) < 0) {
			fprintf(stderr, "bwc-record: cannot finish clip %s: %s\n", path, strerror(-r));
			return -1;
		}
		print_clip(&rec->clips[rec->n_clips - 1]);
		left -= len;
	}
	return 0;
}

/* One recording, TriggerOn to TriggerOff: 0, or 1 after an error (said). */
static int record(const struct options *o, const struct bwc_config *cfg,
		  struct store_recording *rec, struct video_signing *vs)
{
	struct store_place off;
	struct sigaction sa;
	store_t *s = NULL;
	int r, failed;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		perror("bwc-record: sigaction");
		return 1;
	}
	if (bwc_check_storage(cfg, "bwc-record") < 0)
		return 1;
	if ((r = store_open(cfg->data_dir, &s)) < 0) {
		fprintf(stderr, "bwc-record: cannot open the store %s: %s\n", cfg->data_dir,
			strerror(-r));
		return 1;
	}
	r = store_load_destination_key(s);
	if (r == 0)
		printf("clips are encrypted for the content destination\n");
	else if (r != -ENOENT)
		fprintf(stderr, "bwc-record: warning: %s/destination-key.json unreadable: clips stay "
			"plaintext on the encrypted data volume\n", cfg->data_dir);
	if ((r = store_recording_begin(s, rec)) < 0) {
		fprintf(stderr, "bwc-record: cannot begin a recording in %s: %s\n", cfg->data_dir,
			strerror(-r));
		store_close(s);
		return 1;
	}
	printf("recording %s\n", rec->id);
	fflush(stdout);
	if (vs->cert_pem && (r = store_save_signing_cert(s, rec, (const char *)vs->cert_pem,
							 vs->cert_len)) < 0)
		fprintf(stderr, "bwc-record: warning: cannot keep the video key's certificate with "
			"recording %s: %s\n", rec->id, strerror(-r));
	failed = record_clips(s, rec, o, vs) < 0;
	if (failed) {
		/* The torn clip and the open recording are left for store_recover. */
		store_recording_free(rec);
		store_close(s);
		return 1;
	}
	memset(&off, 0, sizeof(off));
	snprintf(off.reason, sizeof(off.reason), "%s", stop_requested ? "stopped" : "button");
	if ((r = store_recording_end(s, rec, &off)) < 0) {
		fprintf(stderr, "bwc-record: cannot end recording %s: %s\n", rec->id, strerror(-r));
		failed = 1;
	} else {
		printf("stopped %s (%s), %zu clips\n", rec->id, off.reason, rec->n_clips);
	}
	store_recording_free(rec);
	store_close(s);
	return failed;
}

int main(int argc, char **argv)
{
	struct options o;
	struct bwc_config cfg;
	struct store_recording rec;
	struct video_signing vs;
	char why[256];
	int failed;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	av_log_set_level(AV_LOG_ERROR);   /* our own errors name the step */
	memset(&cfg, 0, sizeof(cfg));
	if (bwc_config_load(o.conf, &cfg, why, sizeof(why)) < 0) {
		fprintf(stderr, "bwc-record: configuration: %s\n", why);
		return 2;
	}
	memset(&rec, 0, sizeof(rec));
	memset(&vs, 0, sizeof(vs));
	if (read_serial(cfg.keystore, rec.serial, sizeof(rec.serial), vs.product.manufacturer,
			sizeof(vs.product.manufacturer)) < 0)
		return 1;
	snprintf(vs.product.serial, sizeof(vs.product.serial), "%s", rec.serial);
	snprintf(vs.product.firmware, sizeof(vs.product.firmware), "%s", cfg.firmware);
	snprintf(vs.product.hardware_id, sizeof(vs.product.hardware_id), "%s", cfg.model);
	if (!o.bytes && load_video_key(cfg.keystore, &vs) < 0) {
		video_signing_free(&vs);
		return 1;
	}
	snprintf(rec.model, sizeof(rec.model), "%s", cfg.model);
	snprintf(rec.firmware, sizeof(rec.firmware), "%s", cfg.firmware);
	snprintf(rec.user_id, sizeof(rec.user_id), "%s", o.user);
	read_timezone(rec.timezone, sizeof(rec.timezone));
	snprintf(rec.trigger_on.reason, sizeof(rec.trigger_on.reason), "button");
	failed = record(&o, &cfg, &rec, &vs);
	video_signing_free(&vs);
	return failed;
}
