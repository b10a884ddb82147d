#include "egcodec.h"

#include <stddef.h>
#include <string.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

void eg_quiet_logs(void) {
	// libavcodec logs per frame (every concealed macroblock, every missing
	// reference). The Go side reports errors through return values and
	// rate-limits its own logging, so the library stays silent.
	av_log_set_level(AV_LOG_QUIET);
}

void eg_strerror(int err, char *buf, int size) {
	if (err == EG_ERR_CORRUPT_FRAME) {
		snprintf(buf, size, "picture decoded with errors");
		return;
	}
	if (av_strerror(err, buf, size) < 0) {
		snprintf(buf, size, "libav error %d", err);
	}
}

static int eg_decoder_open_ctx(eg_decoder *d) {
	const AVCodec *codec = avcodec_find_decoder((enum AVCodecID)d->codec_id);
	if (codec == NULL) {
		return AVERROR_DECODER_NOT_FOUND;
	}
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (ctx == NULL) {
		return AVERROR(ENOMEM);
	}
	ctx->thread_count = d->threads;
	// Report damage instead of concealing it: an error makes the Go side
	// skip to the next random-access AU, so analysis never sees smeared
	// pictures that would look like motion. SEI (the usual source of
	// harmless quirks in camera streams) is stripped before decoding.
	ctx->err_recognition |= AV_EF_EXPLODE;
	ctx->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
	ctx->flags2 &= ~AV_CODEC_FLAG2_SHOW_ALL;
	// A flipped bit in an SPS must not make us allocate gigabytes: 8K is
	// far beyond any surveillance camera.
	ctx->max_pixels = 8192LL * 4320LL;
	int ret = avcodec_open2(ctx, codec, NULL);
	if (ret < 0) {
		avcodec_free_context(&ctx);
		return ret;
	}
	d->ctx = ctx;
	return 0;
}

int eg_decoder_open(eg_decoder **out, int codec_id, int threads) {
	*out = NULL;
	eg_decoder *d = av_mallocz(sizeof(*d));
	if (d == NULL) {
		return AVERROR(ENOMEM);
	}
	d->codec_id = codec_id;
	d->threads = threads;
	d->pkt = av_packet_alloc();
	d->cur = av_frame_alloc();
	d->tmp = av_frame_alloc();
	if (d->pkt == NULL || d->cur == NULL || d->tmp == NULL) {
		eg_decoder_close(d);
		return AVERROR(ENOMEM);
	}
	int ret = eg_decoder_open_ctx(d);
	if (ret < 0) {
		eg_decoder_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

int eg_decoder_reopen(eg_decoder *d) {
	// cur keeps its own reference to its buffer, so the last good picture
	// survives the old context.
	avcodec_free_context(&d->ctx);
	av_frame_unref(d->tmp);
	return eg_decoder_open_ctx(d);
}

void eg_decoder_close(eg_decoder *d) {
	if (d == NULL) {
		return;
	}
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->cur);
	av_frame_free(&d->tmp);
	av_free(d);
}

// eg_drain moves every available picture into d->cur; returns how many, or
// a negative error.
static int eg_drain(eg_decoder *d) {
	int got = 0;
	for (;;) {
		int ret = avcodec_receive_frame(d->ctx, d->tmp);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
			return got;
		}
		if (ret < 0) {
			return ret;
		}
		if (d->tmp->decode_error_flags != 0 || (d->tmp->flags & AV_FRAME_FLAG_CORRUPT) != 0) {
			av_frame_unref(d->tmp);
			return EG_ERR_CORRUPT_FRAME;
		}
		av_frame_unref(d->cur);
		av_frame_move_ref(d->cur, d->tmp);
		got++;
	}
}

// eg_decoder_decode decodes one Annex-B access unit. Returns the number of
// pictures that came out (the last is in d->cur), or a negative error.
int eg_decoder_decode(eg_decoder *d, const uint8_t *data, int size) {
	if (d->ctx == NULL) { // an earlier reopen failed (out of memory)
		int ret = eg_decoder_open_ctx(d);
		if (ret < 0) {
			return ret;
		}
	}
	// The packet is not reference counted, so avcodec_send_packet copies
	// the data; data (possibly Go memory) is not referenced after return.
	d->pkt->data = (uint8_t *)data;
	d->pkt->size = size;
	int got = 0;
	int ret = avcodec_send_packet(d->ctx, d->pkt);
	if (ret == AVERROR(EAGAIN)) {
		// Only with frame threading: output must be read before input.
		got = eg_drain(d);
		ret = got < 0 ? got : avcodec_send_packet(d->ctx, d->pkt);
	}
	d->pkt->data = NULL;
	d->pkt->size = 0;
	if (ret < 0) {
		return ret;
	}
	ret = eg_drain(d);
	return ret < 0 ? ret : got + ret;
}

struct SwsContext *eg_sws_new(int src_w, int src_h, int src_fmt, int src_full_range, int colorspace,
                              int dst_w, int dst_h, int dst_fmt, int flags) {
	struct SwsContext *sws = sws_getContext(src_w, src_h, (enum AVPixelFormat)src_fmt, dst_w, dst_h,
	                                        (enum AVPixelFormat)dst_fmt, flags, NULL, NULL, NULL);
	if (sws == NULL) {
		return NULL;
	}
	// Keep swscale's destination settings (grey is full range) and only
	// describe the source: its range and YUV matrix as signalled in the
	// stream (unspecified -> swscale's default, BT.601).
	int *inv_table, *table, src_range, dst_range, brightness, contrast, saturation;
	if (sws_getColorspaceDetails(sws, &inv_table, &src_range, &table, &dst_range, &brightness, &contrast,
	                             &saturation) >= 0) {
		const int *coefs = inv_table;
		if (colorspace != AVCOL_SPC_UNSPECIFIED && colorspace != AVCOL_SPC_RGB) {
			coefs = sws_getCoefficients(colorspace);
		}
		if (src_full_range) {
			src_range = 1;
		}
		sws_setColorspaceDetails(sws, coefs, src_range, table, dst_range, brightness, contrast, saturation);
	}
	return sws;
}

int eg_sws_scale(struct SwsContext *sws, const AVFrame *src, uint8_t *dst, int dst_stride) {
	uint8_t *dst_data[4] = {dst, NULL, NULL, NULL};
	int dst_linesize[4] = {dst_stride, 0, 0, 0};
	return sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst_data,
	                 dst_linesize);
}

int eg_encoder_open(eg_encoder **out, const char *name, const char *preset, int w, int h, int fps, int64_t bitrate,
                    int gop, const char *params_key, const char *params) {
	*out = NULL;
	const AVCodec *codec = avcodec_find_encoder_by_name(name);
	if (codec == NULL) {
		return AVERROR_ENCODER_NOT_FOUND;
	}
	eg_encoder *e = av_mallocz(sizeof(*e));
	if (e == NULL) {
		return AVERROR(ENOMEM);
	}
	e->ctx = avcodec_alloc_context3(codec);
	e->frame = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (e->ctx == NULL || e->frame == NULL || e->pkt == NULL) {
		eg_encoder_close(e);
		return AVERROR(ENOMEM);
	}
	AVCodecContext *c = e->ctx;
	c->width = w;
	c->height = h;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = (AVRational){1, fps};
	c->framerate = (AVRational){fps, 1};
	c->gop_size = gop;
	c->max_b_frames = 0;
	// One encoder thread: x264 sliced threads would make the bitstream
	// depend on the core count (tests and clips must be reproducible).
	c->thread_count = 1;
	if (bitrate > 0) {
		c->bit_rate = bitrate;
		c->rc_max_rate = bitrate;
		c->rc_buffer_size = (int)bitrate; // 1 s VBV, like a CBR camera
	}
	// No AV_CODEC_FLAG_GLOBAL_HEADER: parameter sets go in-band before
	// every IDR, which is what RTSP cameras do and what lets a receiver
	// join mid-stream.
	int ret = av_opt_set(c->priv_data, "preset", preset, 0);
	if (ret >= 0) {
		ret = av_opt_set(c->priv_data, "tune", "zerolatency", 0);
	}
	if (ret >= 0 && params_key != NULL && params != NULL) {
		ret = av_opt_set(c->priv_data, params_key, params, 0);
	}
	if (ret >= 0) {
		ret = avcodec_open2(c, codec, NULL);
	}
	if (ret >= 0) {
		e->frame->format = AV_PIX_FMT_YUV420P;
		e->frame->width = w;
		e->frame->height = h;
		ret = av_frame_get_buffer(e->frame, 0);
	}
	if (ret < 0) {
		eg_encoder_close(e);
		return ret;
	}
	*out = e;
	return 0;
}

void eg_encoder_close(eg_encoder *e) {
	if (e == NULL) {
		return;
	}
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->frame);
	av_packet_free(&e->pkt);
	av_free(e);
}

static void eg_copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int w, int h) {
	for (int y = 0; y < h; y++) {
		memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * src_stride, w);
	}
}

int eg_encoder_send(eg_encoder *e, const uint8_t *y, const uint8_t *u, const uint8_t *v, int64_t pts) {
	int ret = av_frame_make_writable(e->frame);
	if (ret < 0) {
		return ret;
	}
	int w = e->ctx->width, h = e->ctx->height;
	eg_copy_plane(e->frame->data[0], e->frame->linesize[0], y, w, w, h);
	eg_copy_plane(e->frame->data[1], e->frame->linesize[1], u, w / 2, w / 2, h / 2);
	eg_copy_plane(e->frame->data[2], e->frame->linesize[2], v, w / 2, w / 2, h / 2);
	e->frame->pts = pts;
	return avcodec_send_frame(e->ctx, e->frame);
}

int eg_encoder_receive(eg_encoder *e) {
	av_packet_unref(e->pkt);
	return avcodec_receive_packet(e->ctx, e->pkt);
}

// box_gray_k: see eg_box_gray; k is a constant in each instantiation so the
// compiler unrolls the block sums.
static inline void box_gray_k(const uint8_t *src, int src_stride, int k, const uint8_t *lut, uint8_t *dst, int dst_w,
                              int dst_h, int dst_stride, uint16_t *row) {
	const int sw = dst_w * k;
	for (int oy = 0; oy < dst_h; oy++) {
		const uint8_t *r = src + (ptrdiff_t)oy * k * src_stride;
		uint8_t *d = dst + (ptrdiff_t)oy * dst_stride;
		if (k == 1) {
			for (int x = 0; x < dst_w; x++) {
				d[x] = lut[r[x]];
			}
			continue;
		}
		for (int x = 0; x < sw; x++) {
			row[x] = r[x];
		}
		for (int j = 1; j < k; j++) {
			const uint8_t *rj = r + (ptrdiff_t)j * src_stride;
			for (int x = 0; x < sw; x++) {
				row[x] += rj[x];
			}
		}
		for (int x = 0; x < dst_w; x++) {
			const uint16_t *p = row + x * k;
			unsigned s = 0;
			for (int j = 0; j < k; j++) {
				s += p[j];
			}
			d[x] = lut[s];
		}
	}
}

// eg_box_gray writes the grey picture of dst_w x dst_h whose every pixel is
// lut[sum of a k x k block of the source's luma plane], for a source of
// exactly k*dst_w x k*dst_h 8-bit pixels (k = 1 or 3). lut has 255*k*k+1
// entries (the mean and the range conversion in one look-up); row holds
// k*dst_w values. Returns 0, or -1 for arguments it does not handle.
__attribute__((optimize("O3"))) int eg_box_gray(const AVFrame *src, int k, const uint8_t *lut, uint8_t *dst,
                                                int dst_w, int dst_h, int dst_stride, uint16_t *row) {
	if (src->width != k * dst_w || src->height != k * dst_h || src->data[0] == NULL) {
		return -1;
	}
	const uint8_t *y = src->data[0];
	const int ls = src->linesize[0];
	switch (k) {
	case 1:
		box_gray_k(y, ls, 1, lut, dst, dst_w, dst_h, dst_stride, row);
		return 0;
	case 3:
		box_gray_k(y, ls, 3, lut, dst, dst_w, dst_h, dst_stride, row);
		return 0;
	}
	return -1;
}
