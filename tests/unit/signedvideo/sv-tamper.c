/* sv-tamper - the attacks on a signed clip that bwc-verify must catch, done
 * at packet level with libavformat (stream copy, same container):
 *   sv-tamper IN OUT flip N | drop N | swap-gops A B | remove-gop A | append N | strip-last-sei
 * Packets and GOPs count from 0 in stream order (a GOP starts at a key frame). */
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "signed-video/sv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clip {
	AVPacket **pkts;
	int n;
	int *gop_start;   /* packet index of each GOP's first packet, then n */
	int gops;
};

static int die(const char *what)
{
	fprintf(stderr, "sv-tamper: %s\n", what);
	return 1;
}

static int load(AVFormatContext *in, struct clip *c)
{
	AVPacket *p = av_packet_alloc();

	c->pkts = calloc(100000, sizeof(*c->pkts));
	c->gop_start = calloc(100001, sizeof(int));
	if (!p || !c->pkts || !c->gop_start)
		return -1;
	while (av_read_frame(in, p) >= 0 && c->n < 100000) {
		if (p->stream_index == 0) {
			if (p->flags & AV_PKT_FLAG_KEY)
				c->gop_start[c->gops++] = c->n;
			c->pkts[c->n++] = av_packet_clone(p);
		}
		av_packet_unref(p);
	}
	c->gop_start[c->gops] = c->n;
	av_packet_free(&p);
	return 0;
}

/* Removes the signed-video SEIs from a packet of 4-byte length-prefixed NAL units. */
static void strip_sei(AVPacket *p)
{
	int r = 0, w = 0;

	while (r + 4 <= p->size) {
		int len = (p->data[r] << 24) | (p->data[r + 1] << 16) | (p->data[r + 2] << 8) | p->data[r + 3];
		if (len < 0 || len > p->size - r - 4)
			break;
		if (sv_nal_kind(p->data + r + 4, (size_t)len, NULL) != SV_NAL_SV_SEI) {
			memmove(p->data + w, p->data + r, (size_t)len + 4);
			w += len + 4;
		}
		r += len + 4;
	}
	p->size = w;
}

/* The packet order after the attack; returns its length. */
static int plan(struct clip *c, const char *op, int a, int b, int *order)
{
	int k = 0;

	if (strcmp(op, "swap-gops") == 0 || strcmp(op, "remove-gop") == 0) {
		for (int g = 0; g < c->gops; g++) {
			int src = strcmp(op, "swap-gops") == 0 ? (g == a ? b : g == b ? a : g) : g;
			if (strcmp(op, "remove-gop") == 0 && g == a)
				continue;
			for (int i = c->gop_start[src]; i < c->gop_start[src + 1]; i++)
				order[k++] = i;
		}
		return k;
	}
	for (int i = 0; i < c->n; i++)
		if (!(strcmp(op, "drop") == 0 && i == a))
			order[k++] = i;
	if (strcmp(op, "append") == 0)
		for (int i = 1; i <= a && i < c->n; i++)
			order[k++] = i;   /* pictures of the first GOP again */
	return k;
}

int main(int argc, char **argv)
{
	AVFormatContext *in = NULL, *out = NULL;
	struct clip c = { 0 };
	AVStream *st;
	int *order, k, a = argc > 4 ? atoi(argv[4]) : 0, b = argc > 5 ? atoi(argv[5]) : 0;
	int64_t step;
	const char *op = argc > 3 ? argv[3] : "";

	if (argc < 4)
		return die("usage: sv-tamper IN OUT flip N | drop N | swap-gops A B | remove-gop A | "
			   "append N | strip-last-sei");
	av_log_set_level(AV_LOG_ERROR);
	if (avformat_open_input(&in, argv[1], NULL, NULL) < 0 || avformat_find_stream_info(in, NULL) < 0)
		return die("cannot read the input clip");
	if (load(in, &c) < 0 || c.n < 2)
		return die("no packets");
	order = calloc((size_t)c.n * 2, sizeof(int));
	if (!order)
		return die("out of memory");
	if (strcmp(op, "flip") == 0 && a < c.n)
		c.pkts[a]->data[c.pkts[a]->size * 2 / 3] ^= 0x01;   /* inside the slice data */
	if (strcmp(op, "strip-last-sei") == 0)
		strip_sei(c.pkts[c.n - 1]);
	k = plan(&c, op, a, b, order);
	if (avformat_alloc_output_context2(&out, NULL, NULL, argv[2]) < 0 ||
	    !(st = avformat_new_stream(out, NULL)) ||
	    avcodec_parameters_copy(st->codecpar, in->streams[0]->codecpar) < 0)
		return die("cannot create the output clip");
	st->codecpar->codec_tag = 0;
	st->time_base = in->streams[0]->time_base;
	if (avio_open(&out->pb, argv[2], AVIO_FLAG_WRITE) < 0 || avformat_write_header(out, NULL) < 0)
		return die("cannot write the output clip");
	step = c.pkts[1]->dts - c.pkts[0]->dts;
	for (int i = 0; i < k; i++) {
		AVPacket *p = av_packet_clone(c.pkts[order[i]]);
		/* timestamps of position i, so the container stays in order */
		p->pts = p->dts = i < c.n ? c.pkts[i]->dts : c.pkts[c.n - 1]->dts + (i - c.n + 1) * step;
		p->stream_index = 0;
		av_packet_rescale_ts(p, in->streams[0]->time_base, st->time_base);
		if (av_write_frame(out, p) < 0)
			return die("cannot write a packet");
		av_packet_free(&p);
	}
	av_write_trailer(out);
	avio_closep(&out->pb);
	avformat_free_context(out);
	for (int i = 0; i < c.n; i++)
		av_packet_free(&c.pkts[i]);
	free(c.pkts);
	free(c.gop_start);
	free(order);
	avformat_close_input(&in);
	return 0;
}
