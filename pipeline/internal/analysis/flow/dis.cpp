#include <opencv2/core.hpp>
#include <opencv2/video/tracking.hpp>

#include "dis.h"

struct eg_dis {
    cv::Ptr<cv::DISOpticalFlow> d;
    cv::Mat a, b, flow;
};

EgDIS eg_dis_new(int preset, int finest_scale) {
    try {
        eg_dis* p = new eg_dis;
        p->d = cv::DISOpticalFlow::create(preset);
        p->d->setFinestScale(finest_scale);
        return p;
    } catch (...) {
        return nullptr;
    }
}

void eg_dis_close(EgDIS d) { delete static_cast<eg_dis*>(d); }

int eg_dis_calc(EgDIS dp, void* prevp, void* curp, void* flowp, int x, int y, int w, int h) {
    eg_dis* d = static_cast<eg_dis*>(dp);
    const cv::Mat& prev = *static_cast<cv::Mat*>(prevp);
    const cv::Mat& cur = *static_cast<cv::Mat*>(curp);
    cv::Mat& flow = *static_cast<cv::Mat*>(flowp);
    cv::Rect r(x, y, w, h);
    cv::Rect frame(0, 0, prev.cols, prev.rows);
    if (prev.type() != CV_8UC1 || cur.type() != CV_8UC1 || flow.type() != CV_32FC2 ||
        cur.size() != prev.size() || flow.size() != prev.size() || w < EG_DIS_MIN_SIDE || h < EG_DIS_MIN_SIDE ||
        (r & frame) != r) {
        return -1;
    }
    try {
        // Continuous copies of the rectangle (at most 320x180 bytes, little
        // next to DIS), so nothing depends on how OpenCV 4.6's DIS treats
        // views into a larger image.
        prev(r).copyTo(d->a);
        cur(r).copyTo(d->b);
        // calc treats a flow argument of the right size and type as its
        // initial guess: start every rectangle from zero, never from
        // whatever an earlier rectangle or frame left in the buffer.
        d->flow.create(r.size(), CV_32FC2);
        d->flow.setTo(cv::Scalar::all(0));
        d->d->calc(d->a, d->b, d->flow);
        cv::Mat dst = flow(r);
        d->flow.copyTo(dst);
        return 0;
    } catch (...) {
        return -2;
    }
}
