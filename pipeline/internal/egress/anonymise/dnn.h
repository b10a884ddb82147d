// C interface to the OpenCV DNN calls BlazeFace needs, so one forward pass
// writes its four outputs straight into Go-owned buffers without the
// per-call allocations (and the leaked pointer array) of gocv's ForwardLayers.
#ifndef EDGEGUARD_ANONYMISE_DNN_H
#define EDGEGUARD_ANONYMISE_DNN_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct eg_blazeface eg_blazeface;

// eg_blazeface_new loads an ONNX model from memory; on failure it returns
// NULL and writes a message into err.
eg_blazeface* eg_blazeface_new(const char* model, size_t n, int size, char* err, size_t errn);
void eg_blazeface_free(eg_blazeface* b);
// eg_blazeface_input is the 1×size×size×3 float input blob (C memory the
// caller fills before each forward).
float* eg_blazeface_input(eg_blazeface* b);
// eg_blazeface_forward runs the net and copies the outputs: scores16
// (512), scores8 (384), boxes16 (512×16), boxes8 (384×16). 0 on success.
int eg_blazeface_forward(eg_blazeface* b, float* scores16, float* scores8, float* boxes16, float* boxes8, char* err, size_t errn);

#ifdef __cplusplus
}
#endif
#endif
