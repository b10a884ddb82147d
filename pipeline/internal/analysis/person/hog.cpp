#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "hog.h"

struct eg_hog {
    cv::HOGDescriptor d;
    cv::Mat crop, border;
    std::vector<cv::Rect> found;
    std::vector<double> weights;
};

EgHOG eg_hog_new(void) {
    try {
        eg_hog* h = new eg_hog;
        h->d.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
        return h;
    } catch (...) {
        return nullptr;
    }
}

void eg_hog_close(EgHOG h) { delete static_cast<eg_hog*>(h); }

int eg_hog_detect(EgHOG hp, void* srcp, int x, int y, int w, int hgt, double factor,
                  double hit_threshold, int stride, double pyramid, double final_threshold,
                  int* rects, double* scores, int cap) {
    try {
        eg_hog* h = static_cast<eg_hog*>(hp);
        const cv::Mat& src = *static_cast<cv::Mat*>(srcp);
        cv::Rect want(x, y, w, hgt);
        cv::Rect roi = want & cv::Rect(0, 0, src.cols, src.rows);
        if (roi.width <= 0 || roi.height <= 0) return 0;
        cv::Mat part = src(roi);
        if (roi != want) {
            // A person at the frame's edge: repeat the edge pixels so that
            // the window still fits around them.
            cv::copyMakeBorder(part, h->border, roi.y - want.y, want.br().y - roi.br().y,
                               roi.x - want.x, want.br().x - roi.br().x, cv::BORDER_REPLICATE);
            part = h->border;
        }
        roi = want;
        cv::resize(part, h->crop, cv::Size(), factor, factor,
                   factor > 1 ? cv::INTER_LINEAR : cv::INTER_AREA);
        if (h->crop.cols < h->d.winSize.width || h->crop.rows < h->d.winSize.height) return 0;
        h->found.clear();
        h->weights.clear();
        h->d.detectMultiScale(h->crop, h->found, h->weights, hit_threshold, cv::Size(stride, stride),
                              cv::Size(0, 0), pyramid, final_threshold, false);
        int n = 0;
        for (size_t i = 0; i < h->found.size() && n < cap; i++) {
            const cv::Rect& r = h->found[i];
            rects[4 * n + 0] = roi.x + int(r.x / factor + 0.5);
            rects[4 * n + 1] = roi.y + int(r.y / factor + 0.5);
            rects[4 * n + 2] = int(r.width / factor + 0.5);
            rects[4 * n + 3] = int(r.height / factor + 0.5);
            scores[n] = i < h->weights.size() ? h->weights[i] : 0;
            n++;
        }
        return n;
    } catch (...) {
        return -1;
    }
}
