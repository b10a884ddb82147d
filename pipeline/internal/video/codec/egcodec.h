// C helpers for package codec. They exist so that every libav* structure is
// built and owned in C memory: Go only passes its buffers as call arguments,
// and no Go pointer is left behind in C memory when a call returns (cgo rules).
#ifndef EDGEGUARD_EGCODEC_H
#define EDGEGUARD_EGCODEC_H

#include <pthread.h>
#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

// A picture was decoded but libavcodec flagged it as damaged (concealed
// macroblocks, missing references). Distinct from every AVERROR code.
#define EG_ERR_CORRUPT_FRAME (-0x45474346)

typedef struct eg_decoder {
	int codec_id;
	int threads;
	AVCodecContext *ctx; // NULL only if eg_decoder_reopen failed
	AVPacket *pkt;
	AVFrame *cur; // last good picture (what Scale* reads)
	AVFrame *tmp; // receive buffer
} eg_decoder;

void eg_quiet_logs(void);

int eg_decoder_open(eg_decoder **out, int codec_id, int threads);
void eg_decoder_close(eg_decoder *d);
int eg_decoder_decode(eg_decoder *d, const uint8_t *data, int size);
int eg_decoder_reopen(eg_decoder *d);

struct SwsContext *eg_sws_new(int src_w, int src_h, int src_fmt, int src_full_range, int colorspace,
                              int dst_w, int dst_h, int dst_fmt, int flags);
int eg_sws_scale(struct SwsContext *sws, const AVFrame *src, uint8_t *dst, int dst_stride);
int eg_box_gray(const AVFrame *src, int k, const uint8_t *lut, uint8_t *dst, int dst_w, int dst_h, int dst_stride,
                uint16_t *row);

typedef struct eg_encoder {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
} eg_encoder;

int eg_encoder_open(eg_encoder **out, const char *name, const char *preset, int w, int h, int fps, int64_t bitrate,
                    int gop, const char *params_key, const char *params);
void eg_encoder_close(eg_encoder *e);
int eg_encoder_send(eg_encoder *e, const uint8_t *y, const uint8_t *u, const uint8_t *v, int64_t pts);
int eg_encoder_receive(eg_encoder *e);

// eg_worker runs eg_decoder_decode on a thread of its own (egworker.c).
// When a submitted AU is decoded, its result plus EG_WORKER_BIAS is added
// to the eventfd efd, which the Go side reads.
typedef struct eg_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;
	eg_decoder *dec;
	uint8_t *buf;
	int cap, len;
	int efd;
	// cpu_ns is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) after its
	// latest decode: the decoder's own cost, set before efd is written.
	int64_t cpu_ns;
} eg_worker;

#define EG_WORKER_BIAS (((int64_t)1) << 32)

int eg_worker_start(eg_worker **out);
int eg_worker_submit(eg_worker *w, eg_decoder *d, const uint8_t *data, int size);
// eg_worker_stop ends the thread (after a decode in progress) and frees w,
// but not the eventfd.
void eg_worker_stop(eg_worker *w);

void eg_strerror(int err, char *buf, int size);

// AVERROR(EAGAIN) is a function-like macro cgo cannot evaluate.
enum { AVERROR_EAGAIN_ = AVERROR(EAGAIN) };

#endif
