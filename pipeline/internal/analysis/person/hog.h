// Thin C wrapper around cv::HOGDescriptor with OpenCV's default people
// detector. gocv v0.31 returns detections as a fresh Go slice and drops the
// SVM scores; this wrapper crops, scales and detects in one call and writes
// boxes and scores into the caller's buffers, so the per-frame path makes no
// Go allocations and C++ exceptions never cross into Go.
#ifndef EDGEGUARD_PERSON_HOG_H
#define EDGEGUARD_PERSON_HOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void* EgHOG;

// eg_hog_new returns a 64x128 HOG with the default people detector, or NULL
// if OpenCV throws.
EgHOG eg_hog_new(void);
void eg_hog_close(EgHOG h);

// eg_hog_detect crops (x, y, w, h) out of src (cv::Mat*, CV_8UC1; parts
// outside the frame repeat its edge), scales
// the crop by factor into the wrapper's own buffer and runs detectMultiScale
// on it. Each detection is written as 4 ints (x, y, w, h, in src pixels) to
// rects and its SVM score to scores, at most cap of them. It returns the
// number written, or -1 if OpenCV threw.
int eg_hog_detect(EgHOG h, void* src, int x, int y, int w, int hgt, double factor,
                  double hit_threshold, int stride, double pyramid, double final_threshold,
                  int* rects, double* scores, int cap);

#ifdef __cplusplus
}
#endif

#endif
