// Thin C wrapper around cv::BackgroundSubtractorMOG2. gocv v0.31 exposes
// apply() without the learning rate, which the detector needs to re-learn
// quickly after a light change.
#ifndef EDGEGUARD_MOTION_MOG2_H
#define EDGEGUARD_MOTION_MOG2_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void* EgMOG2;

// eg_mog2_new creates a model with shadow detection; it returns NULL if
// OpenCV throws.
EgMOG2 eg_mog2_new(int history, double var_threshold, double shadow_threshold);
// eg_mog2_apply takes cv::Mat* (gocv's Mat.Ptr()) and returns 0, or -1 if
// OpenCV threw (e.g. the input changed type); C++ exceptions never cross into Go.
int eg_mog2_apply(EgMOG2 m, void* src, void* dst, double learning_rate);
void eg_mog2_close(EgMOG2 m);

#ifdef __cplusplus
}
#endif

#endif
