/* mw_image.c - see mw_image.h. */
#include "mw_image.h"

#include "mw_font.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t mw_sample_bytes(mw_sample s) { return s == MW_U8 ? 1 : s == MW_U16 ? 2 : 4; }

mw_sample mw_sample_from_depth(const char *depth)
{
    if (!depth)
        return 0;
    if (!strcmp(depth, kOfxBitDepthByte))
        return MW_U8;
    if (!strcmp(depth, kOfxBitDepthShort))
        return MW_U16;
    if (!strcmp(depth, kOfxBitDepthFloat))
        return MW_F32;
    return 0;
}

int mw_channels_from_components(const char *components)
{
    if (!components)
        return 0;
    if (!strcmp(components, kOfxImageComponentRGBA))
        return 4;
    if (!strcmp(components, kOfxImageComponentRGB))
        return 3;
    if (!strcmp(components, kOfxImageComponentAlpha))
        return 1;
    return 0;
}

const char *mw_sample_name(mw_sample s)
{
    return s == MW_U8 ? "uint8" : s == MW_U16 ? "uint16" : "float32";
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

int mw_frame_read(const char *path, int width, int height, mw_sample sample, mw_frame *f,
                  char *err, size_t errn)
{
    unsigned char head[32];
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errn, "result frame %s cannot be opened", path);
        return -1;
    }
    if (fread(head, 1, 32, fp) != 32 || memcmp(head, "MWFRAME1", 8) != 0) {
        fclose(fp);
        snprintf(err, errn, "result frame %s is not a Motionwright frame file", path);
        return -1;
    }
    uint32_t w = le32(head + 8), h = le32(head + 12), ch = le32(head + 16), s = le32(head + 20),
             rb = le32(head + 24);
    if (ch != 4 || s < 1 || s > 3 || w == 0 || h == 0 || w > 65536 || h > 65536 ||
        rb != w * 4 * mw_sample_bytes((mw_sample)s) || (width > 0 && (int)w != width) ||
        (height > 0 && (int)h != height) || (sample && (mw_sample)s != sample)) {
        fclose(fp);
        snprintf(err, errn, "result frame %s has an unexpected layout", path);
        return -1;
    }
    size_t total = (size_t)rb * h;
    if (total > ((size_t)1 << 31)) { /* 2 GiB: more than any frame a host would take */
        fclose(fp);
        snprintf(err, errn, "result frame %s is too large (%ux%u)", path, w, h);
        return -1;
    }
    f->pixels = malloc(total);
    if (!f->pixels) {
        fclose(fp);
        snprintf(err, errn, "out of memory for a %ux%u frame", w, h);
        return -1;
    }
    if (fread(f->pixels, 1, total, fp) != total) {
        fclose(fp);
        mw_frame_free(f);
        snprintf(err, errn, "result frame %s is truncated", path);
        return -1;
    }
    fclose(fp);
    f->width = (int)w;
    f->height = (int)h;
    f->sample = (mw_sample)s;
    f->row_bytes = rb;
    return 0;
}

void mw_frame_free(mw_frame *f)
{
    free(f->pixels);
    f->pixels = NULL;
}

/* ---- per-sample access -------------------------------------------------------------------- */
static float to_unit(const unsigned char *p, mw_sample s)
{
    if (s == MW_U8)
        return p[0] / 255.0f;
    if (s == MW_U16) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v / 65535.0f;
    }
    float v;
    memcpy(&v, p, 4);
    return v;
}

static void from_unit(unsigned char *p, mw_sample s, float v)
{
    if (s == MW_F32) {
        memcpy(p, &v, 4);
        return;
    }
    float max = s == MW_U8 ? 255.0f : 65535.0f;
    float x = v * max;
    x = x < 0 ? 0 : x > max ? max : x;
    unsigned int q = (unsigned int)lrintf(x);
    if (s == MW_U8) {
        p[0] = (unsigned char)q;
    } else {
        uint16_t w = (uint16_t)q;
        memcpy(p, &w, 2);
    }
}

/* Write RGBA channel `ch` of a source sample into the destination pixel's channels. */
static void put_channel(unsigned char *dst_px, const mw_image *dst, int ch, const unsigned char *src,
                        mw_sample src_sample)
{
    int slot;
    if (dst->channels == 4)
        slot = ch;
    else if (dst->channels == 3)
        slot = ch < 3 ? ch : -1;
    else
        slot = ch == 3 ? 0 : -1;
    if (slot < 0)
        return;
    size_t b = mw_sample_bytes(dst->sample);
    unsigned char *out = dst_px + (size_t)slot * b;
    if (src_sample == dst->sample)
        memcpy(out, src, b);
    else
        from_unit(out, dst->sample, to_unit(src, src_sample));
}

static unsigned char *pixel(const mw_image *img, int x, int y)
{
    return (unsigned char *)img->data + (long)(y - img->bounds.y1) * img->row_bytes +
           (long)(x - img->bounds.x1) * img->channels * (long)mw_sample_bytes(img->sample);
}

static OfxRectI clip_rect(OfxRectI a, OfxRectI b)
{
    OfxRectI r = {a.x1 > b.x1 ? a.x1 : b.x1, a.y1 > b.y1 ? a.y1 : b.y1, a.x2 < b.x2 ? a.x2 : b.x2,
                  a.y2 < b.y2 ? a.y2 : b.y2};
    if (r.x2 < r.x1)
        r.x2 = r.x1;
    if (r.y2 < r.y1)
        r.y2 = r.y1;
    return r;
}

static void clear_pixel(unsigned char *px, const mw_image *dst)
{
    memset(px, 0, (size_t)dst->channels * mw_sample_bytes(dst->sample));
}

void mw_copy_frame(const mw_frame *f, mw_image *dst, OfxRectI window, OfxRectI rod)
{
    OfxRectI w = clip_rect(window, dst->bounds);
    long rw = rod.x2 - rod.x1, rh = rod.y2 - rod.y1;
    size_t fb = mw_sample_bytes(f->sample);
    int same_size = rw == f->width && rh == f->height;
    if (same_size && dst->channels == 4 && dst->sample == f->sample && w.x1 >= rod.x1 &&
        w.x2 <= rod.x2 && w.y1 >= rod.y1 && w.y2 <= rod.y2) {
        /* The common case: the same layout, so whole row spans are copied as they are. */
        size_t span = (size_t)(w.x2 - w.x1) * 4 * fb;
        for (int y = w.y1; y < w.y2; y++)
            memcpy(pixel(dst, w.x1, y),
                   f->pixels + (size_t)(rod.y2 - 1 - y) * f->row_bytes +
                       (size_t)(w.x1 - rod.x1) * 4 * fb,
                   span);
        return;
    }
    for (int y = w.y1; y < w.y2; y++) {
        long fy = same_size ? (rod.y2 - 1 - y) : rh > 0 ? (rod.y2 - 1 - y) * f->height / rh : -1;
        for (int x = w.x1; x < w.x2; x++) {
            unsigned char *px = pixel(dst, x, y);
            long fx = same_size ? (x - rod.x1) : rw > 0 ? (long)(x - rod.x1) * f->width / rw : -1;
            if (fx < 0 || fy < 0 || fx >= f->width || fy >= f->height) {
                clear_pixel(px, dst);
                continue;
            }
            const unsigned char *src = f->pixels + (size_t)fy * f->row_bytes + (size_t)fx * 4 * fb;
            for (int ch = 0; ch < 4; ch++)
                put_channel(px, dst, ch, src + (size_t)ch * fb, f->sample);
        }
    }
}

/* RGBA of a host pixel as unit floats (RGB: opaque; alpha only: grey of that alpha). */
static void read_rgba(const mw_image *img, int x, int y, float rgba[4])
{
    const unsigned char *p = pixel(img, x, y);
    size_t b = mw_sample_bytes(img->sample);
    if (img->channels == 1) {
        float a = to_unit(p, img->sample);
        rgba[0] = rgba[1] = rgba[2] = rgba[3] = a;
        return;
    }
    for (int c = 0; c < 3; c++)
        rgba[c] = to_unit(p + (size_t)c * b, img->sample);
    rgba[3] = img->channels == 4 ? to_unit(p + 3 * b, img->sample) : 1.0f;
}

static int inside(OfxRectI r, int x, int y) { return x >= r.x1 && x < r.x2 && y >= r.y1 && y < r.y2; }

void mw_copy_image(const mw_image *src, mw_image *dst, OfxRectI window)
{
    OfxRectI w = clip_rect(window, dst->bounds);
    size_t db = mw_sample_bytes(dst->sample);
    for (int y = w.y1; y < w.y2; y++) {
        for (int x = w.x1; x < w.x2; x++) {
            unsigned char *px = pixel(dst, x, y);
            if (!src || !inside(src->bounds, x, y)) {
                clear_pixel(px, dst);
                continue;
            }
            if (src->sample == dst->sample && src->channels == dst->channels) {
                memcpy(px, pixel(src, x, y), (size_t)dst->channels * db);
                continue;
            }
            float rgba[4];
            unsigned char tmp[4];
            read_rgba(src, x, y, rgba);
            for (int ch = 0; ch < 4; ch++) {
                memcpy(tmp, &rgba[ch], 4);
                put_channel(px, dst, ch, tmp, MW_F32);
            }
        }
    }
}

static void write_rgba(mw_image *dst, int x, int y, const float rgba[4])
{
    unsigned char *px = pixel(dst, x, y);
    for (int ch = 0; ch < 4; ch++) {
        unsigned char tmp[4];
        memcpy(tmp, &rgba[ch], 4);
        put_channel(px, dst, ch, tmp, MW_F32);
    }
}

void mw_overlay(mw_image *dst, OfxRectI window, OfxRectI rod, const char *text, double fraction)
{
    OfxRectI w = clip_rect(window, dst->bounds);
    int rod_w = rod.x2 - rod.x1, rod_h = rod.y2 - rod.y1;
    if (rod_w <= 0 || rod_h <= 0)
        return;
    int scale = rod_h / 240 + 1;
    int pad = 2 * scale;
    int bar_h = (fraction >= 0 && fraction <= 1) ? 3 * scale : 0;
    int band_h = 7 * scale + 2 * pad + (bar_h ? bar_h + pad : 0);
    if (band_h > rod_h)
        band_h = rod_h;
    int top = rod.y2; /* exclusive; rows grow downward from here in screen terms */
    const float band[4] = {0.08f, 0.08f, 0.08f, 1.0f};
    const float ink[4] = {1.0f, 0.85f, 0.2f, 1.0f};
    const float bar[4] = {0.2f, 0.7f, 1.0f, 1.0f};
    size_t len = strlen(text);
    for (int y = w.y1; y < w.y2; y++) {
        int sy = top - 1 - y; /* screen row from the top of rod */
        if (sy < 0 || sy >= band_h)
            continue;
        for (int x = w.x1; x < w.x2; x++) {
            int sx = x - rod.x1;
            const float *color = band;
            int ty = sy - pad, tx = sx - pad;
            if (ty >= 0 && ty < 7 * scale && tx >= 0) {
                size_t ci = (size_t)(tx / (6 * scale));
                int gx = (tx % (6 * scale)) / scale;
                if (ci < len && gx < 5 && (mw_glyph(text[ci])[ty / scale] >> (4 - gx)) & 1)
                    color = ink;
            }
            int by = sy - (7 * scale + 2 * pad);
            if (bar_h && by >= 0 && by < bar_h && sx >= pad && sx < rod_w - pad) {
                double done = (double)(sx - pad) / (double)(rod_w - 2 * pad);
                color = done < fraction ? bar : band;
            }
            write_rgba(dst, x, y, color);
        }
    }
}

int mw_frame_write(const char *path, const mw_image *src, OfxRectI rod)
{
    int w = rod.x2 - rod.x1, h = rod.y2 - rod.y1;
    if (w <= 0 || h <= 0)
        return -1;
    size_t b = mw_sample_bytes(src->sample);
    size_t row = (size_t)w * 4 * b;
    unsigned char head[32];
    unsigned char *line = malloc(row);
    char tmp[1200];
    if (!line)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        free(line);
        return -1;
    }
    memcpy(head, "MWFRAME1", 8);
    put_le32(head + 8, (uint32_t)w);
    put_le32(head + 12, (uint32_t)h);
    put_le32(head + 16, 4);
    put_le32(head + 20, (uint32_t)src->sample);
    put_le32(head + 24, (uint32_t)row);
    put_le32(head + 28, 0);
    int ok = fwrite(head, 1, 32, fp) == 32;
    mw_image out = {line, {rod.x1, 0, rod.x2, 1}, (long)row, 4, src->sample};
    for (int sy = 0; ok && sy < h; sy++) {
        int y = rod.y2 - 1 - sy;
        for (int x = rod.x1; x < rod.x2; x++) {
            float rgba[4] = {0, 0, 0, 1};
            if (inside(src->bounds, x, y)) {
                if (src->channels == 4) {
                    memcpy(pixel(&out, x, 0), pixel(src, x, y), 4 * b);
                    continue;
                }
                read_rgba(src, x, y, rgba);
            }
            write_rgba(&out, x, 0, rgba);
        }
        ok = fwrite(line, 1, row, fp) == row;
    }
    free(line);
    if (fclose(fp) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}
