#include <malloc.h>

#include <opencv2/core.hpp>

#include "cruntime.h"

int eg_opencv_set_threads(int n) {
    try {
        cv::setNumThreads(n);
        return cv::getNumThreads();
    } catch (...) {
        return -1;
    }
}

int eg_opencv_get_threads(void) {
    try {
        return cv::getNumThreads();
    } catch (...) {
        return -1;
    }
}

int eg_malloc_keep(int mmap_threshold, int trim_threshold) {
#ifdef __GLIBC__
    if (mallopt(M_MMAP_THRESHOLD, mmap_threshold) != 1) return -1;
    if (mallopt(M_TRIM_THRESHOLD, trim_threshold) != 1) return -1;
    return 0;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return -1;
#endif
}
