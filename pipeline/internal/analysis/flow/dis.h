// Thin C wrapper around cv::DISOpticalFlow (gocv v0.31 has none). It
// computes the flow of one rectangle of two frames into the same rectangle
// of a flow image, and keeps C++ exceptions from crossing into Go.
#ifndef EDGEGUARD_FLOW_DIS_H
#define EDGEGUARD_FLOW_DIS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void* EgDIS;

// EG_DIS_MIN_SIDE is the smallest rectangle side eg_dis_calc takes. OpenCV
// 4.6 reads out of bounds (SIGSEGV) when the pyramid a rectangle allows is
// shallower than the finest scale (a side under 2 patches of 8 px at scale
// 1), and throws for others; 32 leaves a margin.
#define EG_DIS_MIN_SIDE 32

// eg_dis_new returns a DIS instance with the given preset and finest scale,
// or NULL if OpenCV throws.
EgDIS eg_dis_new(int preset, int finest_scale);
void eg_dis_close(EgDIS d);

// eg_dis_calc computes the flow from prev to cur (cv::Mat*, CV_8UC1, same
// size) inside the rectangle (x, y, w, h) and writes it into the same
// rectangle of flow (cv::Mat*, CV_32FC2, same size). It returns 0, -1 for
// arguments out of range (a side under EG_DIS_MIN_SIDE among them), or -2 if OpenCV threw.
int eg_dis_calc(EgDIS d, void* prev, void* cur, void* flow, int x, int y, int w, int h);

#ifdef __cplusplus
}
#endif

#endif
