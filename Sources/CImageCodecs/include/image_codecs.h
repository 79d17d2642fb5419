// Shims over libpng and libjpeg-turbo (Debian's libpng-dev, libjpeg62-turbo-dev): both libraries
// report errors by longjmp, which Swift cannot catch, so the setjmp lives here. Each function
// decodes one whole file into 8- or 16-bit samples, channels interleaved, and returns 0, or
// non-zero with a message in `error`.
#ifndef SECUREVALIDATION_IMAGE_CODECS_H
#define SECUREVALIDATION_IMAGE_CODECS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width;
    int height;
    int channels;   // 1 (grey) or 3 (RGB)
    int bit_depth;  // 8 or 16
    uint16_t *samples;  // height * width * channels, malloc'd; free with sv_image_free
} sv_image;

int sv_png_read(const char *path, sv_image *out, char *error, size_t error_size);
int sv_jpeg_read(const char *path, sv_image *out, char *error, size_t error_size);
void sv_image_free(sv_image *image);

#endif
