#include <opencv2/dnn.hpp>
#include <cstring>
#include <string>
#include <vector>
#include "dnn.h"

struct eg_blazeface {
	cv::dnn::Net net;
	cv::Mat blob;
	std::vector<cv::Mat> outs;
	std::vector<cv::String> names;
};

static void seterr(char* err, size_t errn, const char* msg) {
	if (errn == 0) return;
	std::strncpy(err, msg, errn - 1);
	err[errn - 1] = 0;
}

extern "C" eg_blazeface* eg_blazeface_new(const char* model, size_t n, int size, char* err, size_t errn) {
	eg_blazeface* b = nullptr;
	try {
		b = new eg_blazeface();
		b->net = cv::dnn::readNetFromONNX(model, n);
		if (b->net.empty()) {
			seterr(err, errn, "OpenCV loaded an empty network");
			delete b;
			return nullptr;
		}
		b->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
		b->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
		int sz[4] = {1, size, size, 3};
		b->blob.create(4, sz, CV_32F);
		b->blob.setTo(0);
		b->names = {"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"};
		return b;
	} catch (const std::exception& e) {
		seterr(err, errn, e.what());
		delete b;
		return nullptr;
	}
}

extern "C" void eg_blazeface_free(eg_blazeface* b) { delete b; }

extern "C" float* eg_blazeface_input(eg_blazeface* b) { return b->blob.ptr<float>(); }

static int copyOut(const cv::Mat& m, float* dst, size_t want, char* err, size_t errn) {
	if (m.type() != CV_32F || m.total() != want || !m.isContinuous()) {
		std::string msg = "unexpected output shape: " + std::to_string(m.total()) + " values, want " + std::to_string(want);
		seterr(err, errn, msg.c_str());
		return -1;
	}
	std::memcpy(dst, m.ptr<float>(), want * sizeof(float));
	return 0;
}

extern "C" int eg_blazeface_forward(eg_blazeface* b, float* scores16, float* scores8, float* boxes16, float* boxes8, char* err, size_t errn) {
	try {
		b->net.setInput(b->blob);
		b->net.forward(b->outs, b->names);
		if (b->outs.size() != 4) {
			seterr(err, errn, "network did not produce 4 outputs");
			return -1;
		}
		if (copyOut(b->outs[0], scores16, 512, err, errn) || copyOut(b->outs[1], scores8, 384, err, errn) ||
		    copyOut(b->outs[2], boxes16, 512 * 16, err, errn) || copyOut(b->outs[3], boxes8, 384 * 16, err, errn)) {
			return -1;
		}
		return 0;
	} catch (const std::exception& e) {
		seterr(err, errn, e.what());
		return -1;
	}
}
