// Process-wide settings of the C and C++ libraries edgeguard links.
#ifndef EDGEGUARD_CRUNTIME_H
#define EDGEGUARD_CRUNTIME_H

#ifdef __cplusplus
extern "C" {
#endif

// eg_opencv_set_threads calls cv::setNumThreads; it returns OpenCV's
// cv::getNumThreads() afterwards, or -1 if OpenCV threw.
int eg_opencv_set_threads(int n);
int eg_opencv_get_threads(void);
// eg_malloc_keep sets glibc's mmap and trim thresholds (bytes); it returns
// 0 if glibc accepted both.
int eg_malloc_keep(int mmap_threshold, int trim_threshold);

#ifdef __cplusplus
}
#endif

#endif
