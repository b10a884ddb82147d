#include <opencv2/core.hpp>
#include <opencv2/video/background_segm.hpp>

#include "mog2.h"

struct eg_mog2 {
    cv::Ptr<cv::BackgroundSubtractorMOG2> p;
};

EgMOG2 eg_mog2_new(int history, double var_threshold, double shadow_threshold) {
    try {
        cv::Ptr<cv::BackgroundSubtractorMOG2> p = cv::createBackgroundSubtractorMOG2(history, var_threshold, true);
        p->setShadowThreshold(shadow_threshold);
        eg_mog2* m = new eg_mog2;
        m->p = p;
        return m;
    } catch (...) {
        return nullptr;
    }
}

int eg_mog2_apply(EgMOG2 m, void* src, void* dst, double learning_rate) {
    try {
        static_cast<eg_mog2*>(m)->p->apply(*static_cast<cv::Mat*>(src), *static_cast<cv::Mat*>(dst),
                                          learning_rate);
        return 0;
    } catch (...) {
        return -1;
    }
}

void eg_mog2_close(EgMOG2 m) { delete static_cast<eg_mog2*>(m); }
