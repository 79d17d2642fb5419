// A shim over DCMTK (Debian's libdcmtk-dev): reads one DICOM file, decompresses it with DCMTK's
// own decoders (JPEG baseline/extended/lossless, JPEG-LS, RLE) and returns the stored sample
// values of its first frame plus the attributes the preprocessing needs. C interface, C++ inside.
#ifndef SECUREVALIDATION_DICOM_SHIM_H
#define SECUREVALIDATION_DICOM_SHIM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int rows;
    int columns;
    int samples_per_pixel;   // 1 or 3
    int bits_stored;
    int pixel_representation;  // 0 unsigned, 1 signed
    int frames;
    int monochrome1;         // 1 for MONOCHROME1
    double rescale_slope;    // 1 when absent
    double rescale_intercept;  // 0 when absent
    int has_window;
    double window_center;
    double window_width;
    char transfer_syntax[96];  // name of the file's original transfer syntax
    char photometric[24];
    char voi_function[24];     // VOI LUT Function (0028,1056), empty when absent
    int has_voi_lut_sequence;  // 1 when the file carries a VOI LUT Sequence (0028,3010)
    int32_t *samples;        // rows * columns * samples_per_pixel, interleaved; free with sv_dicom_free
} sv_dicom_image;

// Returns 0, or 1 with a message in `error` (2 when the transfer syntax cannot be decoded).
int sv_dicom_read(const char *path, sv_dicom_image *out, char *error, size_t error_size);
void sv_dicom_free(sv_dicom_image *image);
// 1 when the file starts with the DICOM preamble and "DICM".
int sv_dicom_is_dicom(const char *path);

#ifdef __cplusplus
}
#endif
#endif
