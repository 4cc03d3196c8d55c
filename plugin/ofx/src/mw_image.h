/*
 * mw_image.h - pixels: host images (OFX layout: rows bottom to top, any row bytes, 1/3/4
 * channels of 8-bit, 16-bit or float samples), the service's .mwf frame files (32-byte header,
 * RGBA rows top to bottom), copies between them and the status overlay.
 */
#ifndef MW_IMAGE_H
#define MW_IMAGE_H

#include "mw_ofx.h"

#include <stddef.h>

typedef enum mw_sample { MW_U8 = 1, MW_U16 = 2, MW_F32 = 3 } mw_sample;

/* A host image: data points at pixel (bounds.x1, bounds.y1); row y starts at
 * data + (y - bounds.y1) * row_bytes (row_bytes may be negative). */
typedef struct mw_image {
    void *data;
    OfxRectI bounds;
    long row_bytes;
    int channels; /* 4 = RGBA, 3 = RGB, 1 = alpha */
    mw_sample sample;
} mw_image;

/* A frame file read into memory: RGBA, rows top to bottom, row_bytes = width*4*bytes. */
typedef struct mw_frame {
    int width, height;
    mw_sample sample;
    size_t row_bytes;
    unsigned char *pixels;
} mw_frame;

size_t mw_sample_bytes(mw_sample s);
/* The sample for an OFX bit depth string, or 0 when unsupported. */
mw_sample mw_sample_from_depth(const char *depth);
/* Channel count for an OFX components string, or 0 when unsupported. */
int mw_channels_from_components(const char *components);
/* The query value for a sample ("uint8", "uint16", "float32"). */
const char *mw_sample_name(mw_sample s);

/* Read an .mwf file (checked against its descriptor's width/height/sample if those are > 0):
 * 0, or -1 with a reason in err. */
int mw_frame_read(const char *path, int width, int height, mw_sample sample, mw_frame *f,
                  char *err, size_t errn);
void mw_frame_free(mw_frame *f);
/* Write the part rod of a host image as an RGBA .mwf file of the image's sample, atomically
 * (temporary file + rename): 0 or -1. Pixels outside the image bounds are written as black. */
int mw_frame_write(const char *path, const mw_image *src, OfxRectI rod);

/* Copy frame f into dst over window (clipped to dst->bounds); the frame covers rod (its top
 * row at rod.y2 - 1). Identical sample types are copied bit for bit; a frame of another size
 * than rod is sampled nearest-neighbour. */
void mw_copy_frame(const mw_frame *f, mw_image *dst, OfxRectI window, OfxRectI rod);
/* Copy a host image into dst over window (outside src->bounds: transparent black). */
void mw_copy_image(const mw_image *src, mw_image *dst, OfxRectI window);
/* Draw the status band: a dark strip at the top of rod with text and, when 0 <= fraction <= 1,
 * a progress bar; only pixels inside window and dst->bounds are touched. */
void mw_overlay(mw_image *dst, OfxRectI window, OfxRectI rod, const char *text, double fraction);

#endif
