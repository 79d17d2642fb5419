#include "image_codecs.h"
#include <png.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sv_image_free(sv_image *image) {
    free(image->samples);
    image->samples = NULL;
}

// ---- PNG -------------------------------------------------------------------------------------

typedef struct { jmp_buf jump; char *error; size_t error_size; } png_failure;

static void png_fail(png_structp png, png_const_charp message) {
    png_failure *failure = (png_failure *)png_get_error_ptr(png);
    snprintf(failure->error, failure->error_size, "%s", message);
    longjmp(failure->jump, 1);
}

static void png_warn(png_structp png, png_const_charp message) { (void)png; (void)message; }

int sv_png_read(const char *path, sv_image *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    FILE *file = fopen(path, "rb");
    if (!file) { snprintf(error, error_size, "cannot open the file"); return 1; }
    png_failure failure = { .error = error, .error_size = error_size };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = NULL;
    uint8_t *buffer = NULL;
    if (!png || !info) { snprintf(error, error_size, "libpng could not start"); fclose(file); return 1; }
    if (setjmp(failure.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows); free(buffer); sv_image_free(out);
        fclose(file);
        return 1;
    }
    png_init_io(png, file);
    png_read_info(png, info);
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    // Palette → RGB, low-depth grey → 8 bits, alpha dropped (as Pillow's convert to L or RGB does).
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_strip_alpha(png);
    if (depth == 16) png_set_swap(png);  // host (little-endian) order
    png_read_update_info(png, info);
    int width = (int)png_get_image_width(png, info), height = (int)png_get_image_height(png, info);
    int channels = png_get_channels(png, info);
    int bits = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (channels != 1 && channels != 3) { snprintf(error, error_size, "unsupported PNG layout (%d channels after dropping alpha)", channels); longjmp(failure.jump, 1); }
    buffer = malloc(rowbytes * (size_t)height);
    rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!buffer || !rows) { snprintf(error, error_size, "out of memory"); longjmp(failure.jump, 1); }
    for (int y = 0; y < height; y++) rows[y] = buffer + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    size_t count = (size_t)width * (size_t)height * (size_t)channels;
    out->samples = malloc(count * sizeof(uint16_t));
    if (!out->samples) { snprintf(error, error_size, "out of memory"); longjmp(failure.jump, 1); }
    for (int y = 0; y < height; y++) {
        for (size_t i = 0; i < (size_t)width * (size_t)channels; i++) {
            out->samples[(size_t)y * (size_t)width * (size_t)channels + i] =
                bits == 16 ? ((uint16_t *)rows[y])[i] : rows[y][i];
        }
    }
    out->width = width; out->height = height; out->channels = channels; out->bit_depth = bits;
    png_destroy_read_struct(&png, &info, NULL);
    free(rows); free(buffer);
    fclose(file);
    return 0;
}

// ---- JPEG ------------------------------------------------------------------------------------

typedef struct { struct jpeg_error_mgr manager; jmp_buf jump; } jpeg_failure;

static void jpeg_fail(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    longjmp(failure->jump, 1);
}

int sv_jpeg_read(const char *path, sv_image *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    FILE *file = fopen(path, "rb");
    if (!file) { snprintf(error, error_size, "cannot open the file"); return 1; }
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    uint8_t *row = NULL;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    if (setjmp(failure.jump)) {
        char message[JMSG_LENGTH_MAX];
        (*info.err->format_message)((j_common_ptr)&info, message);
        snprintf(error, error_size, "%s", message);
        jpeg_destroy_decompress(&info);
        free(row); sv_image_free(out);
        fclose(file);
        return 1;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        snprintf(error, error_size, "CMYK JPEG files are not supported (convert to RGB or grey)");
        jpeg_destroy_decompress(&info); fclose(file); return 1;
    }
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    int width = (int)info.output_width, height = (int)info.output_height, channels = info.output_components;
    size_t count = (size_t)width * (size_t)height * (size_t)channels;
    out->samples = malloc(count * sizeof(uint16_t));
    row = malloc((size_t)width * (size_t)channels);
    if (!out->samples || !row) { snprintf(error, error_size, "out of memory"); jpeg_destroy_decompress(&info); free(row); sv_image_free(out); fclose(file); return 1; }
    while (info.output_scanline < info.output_height) {
        int y = (int)info.output_scanline;
        JSAMPROW rows[1] = { row };
        jpeg_read_scanlines(&info, rows, 1);
        for (size_t i = 0; i < (size_t)width * (size_t)channels; i++) out->samples[(size_t)y * (size_t)width * (size_t)channels + i] = row[i];
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    free(row);
    fclose(file);
    out->width = width; out->height = height; out->channels = channels; out->bit_depth = 8;
    return 0;
}
