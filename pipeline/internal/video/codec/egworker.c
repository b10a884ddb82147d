// Decoding off the Go scheduler, on a thread of the decoder's own.
//
// Decoding a 1080p picture takes milliseconds. As a cgo call it would hold
// a Go scheduler slot (P) that long, and with many cameras the runtime's
// monitor then polls every 20 µs and hands the slot to another thread on
// nearly every call. Instead the Go side submits the access unit and sleeps
// on an eventfd in Go's network poller, holding nothing; the decode runs on
// this thread, scheduled by the kernel like any other.
//
// One thread per decoder rather than a pool of one per core: measured side
// by side, a pool cost 2–4 % more CPU at 5 cameras, and under overload it
// let decoding (not analysis) fall behind, which loses whole GOPs.
#include "egcodec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum { EG_IDLE, EG_JOB, EG_QUIT };

// thread_cpu_ns is the calling thread's CPU time: the scheduler's exact
// account, not a sample, so the Go side can report what decoding costs.
static int64_t thread_cpu_ns(void) {
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
		return 0;
	}
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *eg_worker_main(void *arg) {
	eg_worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->state == EG_IDLE) {
			pthread_cond_wait(&w->cv, &w->mu);
		}
		if (w->state == EG_QUIT) {
			break;
		}
		pthread_mutex_unlock(&w->mu);
		int ret = eg_decoder_decode(w->dec, w->buf, w->len);
		int64_t cpu = thread_cpu_ns();
		pthread_mutex_lock(&w->mu);
		w->cpu_ns = cpu;
		if (w->state == EG_QUIT) {
			break;
		}
		w->state = EG_IDLE;
		// The counter carries the result, biased so that it is never 0
		// (an eventfd cannot carry 0) whatever the sign.
		uint64_t v = (uint64_t)((int64_t)ret + EG_WORKER_BIAS);
		while (write(w->efd, &v, sizeof v) < 0 && errno == EINTR) {
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int eg_worker_start(eg_worker **out) {
	eg_worker *w = calloc(1, sizeof *w);
	if (w == NULL) {
		return AVERROR(ENOMEM);
	}
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		int err = AVERROR(errno);
		free(w);
		return err;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	int err = pthread_create(&w->thread, NULL, eg_worker_main, w);
	if (err != 0) {
		close(w->efd);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return AVERROR(err);
	}
	*out = w;
	return 0;
}

int eg_worker_submit(eg_worker *w, eg_decoder *d, const uint8_t *data, int size) {
	if (size > w->cap) {
		// Padded, as libavcodec's bitstream readers expect of packets.
		uint8_t *b = realloc(w->buf, (size_t)size + AV_INPUT_BUFFER_PADDING_SIZE);
		if (b == NULL) {
			return AVERROR(ENOMEM);
		}
		w->buf = b;
		w->cap = size;
	}
	// data may be Go memory: copied here, never kept.
	memcpy(w->buf, data, size);
	memset(w->buf + size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	pthread_mutex_lock(&w->mu);
	w->dec = d;
	w->len = size;
	w->state = EG_JOB;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void eg_worker_stop(eg_worker *w) {
	pthread_mutex_lock(&w->mu);
	w->state = EG_QUIT;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	// Returns once a decode in progress has ended.
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->buf);
	free(w); // the eventfd belongs to the Go side (an *os.File) from the start
}
