/*
 * mw_host.c - a small OpenFX host for the plugin's tests. It loads a plugin binary with dlopen
 * exactly as a host does (OfxGetNumberOfPlugins / OfxGetPlugin, setHost with the property,
 * image effect, parameter, memory, multithread and message suites) and runs Load, Describe,
 * DescribeInContext, CreateInstance, GetClipPreferences, then for every pass and time
 * GetRegionOfDefinition, GetFramesNeeded, IsIdentity and Render, then DestroyInstance and
 * Unload. Source frames come from .mwf files; every rendered output image is dumped for the
 * test to compare. It prints one line per action ("ACTION name status") and per host message
 * ("MESSAGE type text"), and exits non-zero when an image is leaked or an action fails.
 *
 * Usage: mw_host PLUGIN.ofx [options]   (see parse_args below)
 */
#define _GNU_SOURCE
#include "mw_ofx.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- property sets ------------------------------------------------------------------------ */
enum { T_PTR, T_STR, T_DBL, T_INT };

typedef struct prop {
    char *name;
    int type, dim;
    void *ptr[8];
    char *str[16];
    double dbl[8];
    int i[8];
    struct prop *next;
} prop;

struct OfxPropertySetStruct {
    prop *head;
};

static prop *find(OfxPropertySetHandle h, const char *name)
{
    for (prop *p = h ? h->head : NULL; p; p = p->next)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

static prop *get_or_add(OfxPropertySetHandle h, const char *name, int type)
{
    prop *p = find(h, name);
    if (p) {
        if (p->type != type)
            return NULL;
        return p;
    }
    p = calloc(1, sizeof *p);
    p->name = strdup(name);
    p->type = type;
    p->next = h->head;
    h->head = p;
    return p;
}

static void props_free(OfxPropertySetHandle h)
{
    prop *p = h->head;
    while (p) {
        prop *n = p->next;
        for (int k = 0; k < 16; k++)
            free(p->str[k]);
        free(p->name);
        free(p);
        p = n;
    }
    h->head = NULL;
}

static void props_copy(OfxPropertySetHandle dst, OfxPropertySetHandle src)
{
    for (prop *p = src->head; p; p = p->next) {
        prop *q = get_or_add(dst, p->name, p->type);
        if (!q)
            continue;
        q->dim = p->dim;
        memcpy(q->ptr, p->ptr, sizeof q->ptr);
        memcpy(q->dbl, p->dbl, sizeof q->dbl);
        memcpy(q->i, p->i, sizeof q->i);
        for (int k = 0; k < 16; k++) {
            free(q->str[k]);
            q->str[k] = p->str[k] ? strdup(p->str[k]) : NULL;
        }
    }
}

#define CHECK_H(h) if (!h) return kOfxStatErrBadHandle
#define CHECK_I(i, max) if ((i) < 0 || (i) >= (max)) return kOfxStatErrBadIndex

static OfxStatus setPointer(OfxPropertySetHandle h, const char *n, int i, void *v)
{ CHECK_H(h); CHECK_I(i, 8); prop *p = get_or_add(h, n, T_PTR); if (!p) return kOfxStatErrValue;
  p->ptr[i] = v; if (p->dim <= i) p->dim = i + 1; return kOfxStatOK; }
static OfxStatus setString(OfxPropertySetHandle h, const char *n, int i, const char *v)
{
    CHECK_H(h);
    CHECK_I(i, 16);
    if (!v)
        return kOfxStatErrValue;
    prop *p = get_or_add(h, n, T_STR);
    if (!p)
        return kOfxStatErrValue;
    free(p->str[i]);
    p->str[i] = strdup(v);
    if (p->dim <= i)
        p->dim = i + 1;
    return kOfxStatOK;
}
static OfxStatus setDouble(OfxPropertySetHandle h, const char *n, int i, double v)
{ CHECK_H(h); CHECK_I(i, 8); prop *p = get_or_add(h, n, T_DBL); if (!p) return kOfxStatErrValue;
  p->dbl[i] = v; if (p->dim <= i) p->dim = i + 1; return kOfxStatOK; }
static OfxStatus setInt(OfxPropertySetHandle h, const char *n, int i, int v)
{ CHECK_H(h); CHECK_I(i, 8); prop *p = get_or_add(h, n, T_INT); if (!p) return kOfxStatErrValue;
  p->i[i] = v; if (p->dim <= i) p->dim = i + 1; return kOfxStatOK; }
static OfxStatus setPointerN(OfxPropertySetHandle h, const char *n, int c, void *const *v)
{ for (int i = 0; i < c; i++) { OfxStatus s = setPointer(h, n, i, v[i]); if (s) return s; } return kOfxStatOK; }
static OfxStatus setStringN(OfxPropertySetHandle h, const char *n, int c, const char *const *v)
{ for (int i = 0; i < c; i++) { OfxStatus s = setString(h, n, i, v[i]); if (s) return s; } return kOfxStatOK; }
static OfxStatus setDoubleN(OfxPropertySetHandle h, const char *n, int c, const double *v)
{ for (int i = 0; i < c; i++) { OfxStatus s = setDouble(h, n, i, v[i]); if (s) return s; } return kOfxStatOK; }
static OfxStatus setIntN(OfxPropertySetHandle h, const char *n, int c, const int *v)
{ for (int i = 0; i < c; i++) { OfxStatus s = setInt(h, n, i, v[i]); if (s) return s; } return kOfxStatOK; }

static prop *lookup(OfxPropertySetHandle h, const char *n, int type, int i)
{
    prop *p = find(h, n);
    return p && p->type == type && i >= 0 && i < p->dim ? p : NULL;
}
static OfxStatus getPointer(OfxPropertySetHandle h, const char *n, int i, void **v)
{ CHECK_H(h); prop *p = lookup(h, n, T_PTR, i); if (!p) return kOfxStatErrUnknown; *v = p->ptr[i]; return kOfxStatOK; }
static OfxStatus getString(OfxPropertySetHandle h, const char *n, int i, char **v)
{ CHECK_H(h); prop *p = lookup(h, n, T_STR, i); if (!p) return kOfxStatErrUnknown; *v = p->str[i]; return kOfxStatOK; }
static OfxStatus getDouble(OfxPropertySetHandle h, const char *n, int i, double *v)
{ CHECK_H(h); prop *p = lookup(h, n, T_DBL, i); if (!p) return kOfxStatErrUnknown; *v = p->dbl[i]; return kOfxStatOK; }
static OfxStatus getInt(OfxPropertySetHandle h, const char *n, int i, int *v)
{ CHECK_H(h); prop *p = lookup(h, n, T_INT, i); if (!p) return kOfxStatErrUnknown; *v = p->i[i]; return kOfxStatOK; }
static OfxStatus getPointerN(OfxPropertySetHandle h, const char *n, int c, void **v)
{ for (int i = 0; i < c; i++) { OfxStatus s = getPointer(h, n, i, &v[i]); if (s) return s; } return kOfxStatOK; }
static OfxStatus getStringN(OfxPropertySetHandle h, const char *n, int c, char **v)
{ for (int i = 0; i < c; i++) { OfxStatus s = getString(h, n, i, &v[i]); if (s) return s; } return kOfxStatOK; }
static OfxStatus getDoubleN(OfxPropertySetHandle h, const char *n, int c, double *v)
{ for (int i = 0; i < c; i++) { OfxStatus s = getDouble(h, n, i, &v[i]); if (s) return s; } return kOfxStatOK; }
static OfxStatus getIntN(OfxPropertySetHandle h, const char *n, int c, int *v)
{ for (int i = 0; i < c; i++) { OfxStatus s = getInt(h, n, i, &v[i]); if (s) return s; } return kOfxStatOK; }
static OfxStatus propReset(OfxPropertySetHandle h, const char *n)
{ CHECK_H(h); return find(h, n) ? kOfxStatOK : kOfxStatErrUnknown; }
static OfxStatus propDim(OfxPropertySetHandle h, const char *n, int *c)
{ CHECK_H(h); prop *p = find(h, n); if (!p) return kOfxStatErrUnknown; *c = p->dim; return kOfxStatOK; }

static const OfxPropertySuiteV1 PROPS = {setPointer, setString, setDouble, setInt, setPointerN,
    setStringN, setDoubleN, setIntN, getPointer, getString, getDouble, getInt, getPointerN,
    getStringN, getDoubleN, getIntN, propReset, propDim};

/* ---- options ------------------------------------------------------------------------------ */
static struct {
    const char *plugin, *source_dir, *out_dir, *project, *depth, *components;
    int first, count, clip, backend, passes, pass_wait_ms, cycles, abort_renders, temporal;
    int negative_rows, row_padding, window_bounds, press_open, set_params, half, no_dump;
    int instances, purge;
    int window[4], has_window;
    double fps;
    int times[64], ntimes;
} opt;

/* ---- images and clips --------------------------------------------------------------------- */
/* Renders of different instances run on threads of their own (--instances N): the render in
 * progress is per thread, the counters atomic. */
static int open_images = 0;
static __thread double render_time = 0;
static int width = 0, height = 0;

static size_t sample_bytes(void)
{
    return !strcmp(opt.depth, kOfxBitDepthByte) ? 1 : !strcmp(opt.depth, kOfxBitDepthShort) ? 2 : 4;
}
static int channels(void)
{
    return !strcmp(opt.components, kOfxImageComponentRGBA) ? 4
           : !strcmp(opt.components, kOfxImageComponentRGB) ? 3 : 1;
}

typedef struct image {
    struct OfxPropertySetStruct props; /* first: the handle given to the plugin */
    unsigned char *block;
    int refs;
} image;

/* The output image of the render in progress: the host owns it and reads it afterwards. */
static __thread image *render_output = NULL;

struct OfxImageClipStruct {
    char name[32];
    struct OfxPropertySetStruct props;
};

struct OfxParamStruct {
    char name[64];
    char type[64];
    struct OfxPropertySetStruct props;
    char *s;
    int i;
};

struct OfxParamSetStruct {
    struct OfxParamStruct params[16];
    int n;
};

struct OfxImageEffectStruct {
    struct OfxPropertySetStruct props;
    struct OfxParamSetStruct params;
    struct OfxImageClipStruct clips[4];
    int nclips;
};

static void fill_clip_props(struct OfxImageClipStruct *c)
{
    setString(&c->props, kOfxImageEffectPropPixelDepth, 0, opt.depth);
    setString(&c->props, kOfxImageEffectPropComponents, 0, opt.components);
    double range[2] = {opt.first, opt.first + opt.count - 1};
    setDoubleN(&c->props, kOfxImageEffectPropFrameRange, 2, range);
    setDouble(&c->props, kOfxImageEffectPropFrameRate, 0, opt.fps);
    setInt(&c->props, kOfxImageClipPropConnected, 0, 1);
    setString(&c->props, kOfxImageEffectPropPreMultiplication, 0, kOfxImageOpaque);
}

/* Read source frame (RGBA .mwf of the host's depth) and convert to the host's components. */
static int load_source(int index, unsigned char *dst, long row_bytes)
{
    char path[4096];
    unsigned char head[32];
    snprintf(path, sizeof path, "%s/%06d.mwf", opt.source_dir, index);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t b = sample_bytes();
    size_t row = (size_t)width * 4 * b;
    unsigned char *line = malloc(row);
    int ok = fread(head, 1, 32, f) == 32;
    for (int sy = 0; ok && sy < height; sy++) {
        ok = fread(line, 1, row, f) == row;
        unsigned char *out = dst + (long)(height - 1 - sy) * row_bytes; /* OFX: bottom row first */
        for (int x = 0; ok && x < width; x++) {
            unsigned char *px = out + (size_t)x * channels() * b, *in = line + (size_t)x * 4 * b;
            if (channels() == 4)
                memcpy(px, in, 4 * b);
            else if (channels() == 3)
                memcpy(px, in, 3 * b);
            else
                memcpy(px, in + 3 * b, b);
        }
    }
    free(line);
    fclose(f);
    return ok ? 0 : -1;
}

static OfxStatus clipGetImage(OfxImageClipHandle clip, OfxTime time, const OfxRectD *region,
                              OfxPropertySetHandle *handle)
{
    (void)region;
    if (!clip)
        return kOfxStatErrBadHandle;
    int is_output = !strcmp(clip->name, kOfxImageEffectOutputClipName);
    if (is_output && render_output && fabs(time - render_time) < 1e-9) {
        render_output->refs++;
        __atomic_add_fetch(&open_images, 1, __ATOMIC_SEQ_CST);
        *handle = &render_output->props;
        return kOfxStatOK;
    }
    int index = (int)(time + 0.5) - opt.first;
    if (!is_output && (index < 0 || index >= opt.count))
        return kOfxStatFailed;
    int full_w = is_output && opt.half ? width / 2 : width;
    int full_h = is_output && opt.half ? height / 2 : height;
    int bounds[4] = {0, 0, full_w, full_h};
    if (is_output && opt.window_bounds && opt.has_window)
        memcpy(bounds, opt.window, sizeof bounds);
    int w = bounds[2] - bounds[0], h = bounds[3] - bounds[1];
    long row = (long)w * channels() * (long)sample_bytes() + opt.row_padding;
    image *img = calloc(1, sizeof *img);
    img->refs = 1;
    img->block = malloc((size_t)(row * h) + 1);
    memset(img->block, 0xA5, (size_t)(row * h) + 1); /* untouched pixels are visible */
    unsigned char *data = img->block;
    long rb = row;
    if (opt.negative_rows) { /* rows stored top first in memory: data points at the last row */
        data = img->block + (h - 1) * row;
        rb = -row;
    }
    if (!is_output && load_source(index, data, rb) != 0) {
        free(img->block);
        free(img);
        return kOfxStatFailed;
    }
    setPointer(&img->props, kOfxImagePropData, 0, data);
    setIntN(&img->props, kOfxImagePropBounds, 4, bounds);
    int rod[4] = {0, 0, full_w, full_h};
    setIntN(&img->props, kOfxImagePropRegionOfDefinition, 4, rod);
    setInt(&img->props, kOfxImagePropRowBytes, 0, (int)rb);
    setString(&img->props, kOfxImageEffectPropPixelDepth, 0, opt.depth);
    setString(&img->props, kOfxImageEffectPropComponents, 0, opt.components);
    setString(&img->props, kOfxImageEffectPropPreMultiplication, 0, kOfxImageOpaque);
    setDouble(&img->props, kOfxPropTime, 0, time);
    __atomic_add_fetch(&open_images, 1, __ATOMIC_SEQ_CST);
    *handle = &img->props;
    return kOfxStatOK;
}

static OfxStatus clipReleaseImage(OfxPropertySetHandle h)
{
    if (!h)
        return kOfxStatErrBadHandle;
    image *img = (image *)h; /* props is the first member */
    __atomic_sub_fetch(&open_images, 1, __ATOMIC_SEQ_CST);
    if (--img->refs > 0 || img == render_output)
        return kOfxStatOK;
    props_free(&img->props);
    free(img->block);
    free(img);
    return kOfxStatOK;
}

static OfxStatus clipGetRod(OfxImageClipHandle clip, OfxTime time, OfxRectD *bounds)
{
    (void)time;
    if (!clip)
        return kOfxStatErrBadHandle;
    *bounds = (OfxRectD){0, 0, width, height};
    return kOfxStatOK;
}

static OfxStatus getPropertySet(OfxImageEffectHandle e, OfxPropertySetHandle *h)
{ CHECK_H(e); *h = &e->props; return kOfxStatOK; }
static OfxStatus getParamSet(OfxImageEffectHandle e, OfxParamSetHandle *h)
{ CHECK_H(e); *h = &e->params; return kOfxStatOK; }
static OfxStatus clipDefine(OfxImageEffectHandle e, const char *name, OfxPropertySetHandle *h)
{
    CHECK_H(e);
    if (e->nclips >= 4)
        return kOfxStatErrMemory;
    struct OfxImageClipStruct *c = &e->clips[e->nclips++];
    snprintf(c->name, sizeof c->name, "%s", name);
    setString(&c->props, kOfxPropName, 0, name);
    *h = &c->props;
    return kOfxStatOK;
}
static OfxStatus clipGetHandle(OfxImageEffectHandle e, const char *name, OfxImageClipHandle *clip,
                               OfxPropertySetHandle *h)
{
    CHECK_H(e);
    for (int i = 0; i < e->nclips; i++)
        if (!strcmp(e->clips[i].name, name)) {
            *clip = &e->clips[i];
            if (h)
                *h = &e->clips[i].props;
            return kOfxStatOK;
        }
    return kOfxStatErrBadHandle;
}
static OfxStatus clipGetPropertySet(OfxImageClipHandle c, OfxPropertySetHandle *h)
{ CHECK_H(c); *h = &c->props; return kOfxStatOK; }
static int abort_fn(OfxImageEffectHandle e) { (void)e; return opt.abort_renders; }
static OfxStatus memAlloc(OfxImageEffectHandle e, size_t n, OfxImageMemoryHandle *m)
{ (void)e; *m = malloc(n); return *m ? kOfxStatOK : kOfxStatErrMemory; }
static OfxStatus memFree(OfxImageMemoryHandle m) { free(m); return kOfxStatOK; }
static OfxStatus memLock(OfxImageMemoryHandle m, void **p) { *p = m; return kOfxStatOK; }
static OfxStatus memUnlock(OfxImageMemoryHandle m) { (void)m; return kOfxStatOK; }

static const OfxImageEffectSuiteV1 EFFECT = {getPropertySet, getParamSet, clipDefine, clipGetHandle,
    clipGetPropertySet, clipGetImage, clipReleaseImage, clipGetRod, abort_fn, memAlloc, memFree,
    memLock, memUnlock};

/* ---- parameters --------------------------------------------------------------------------- */
static OfxStatus paramDefine(OfxParamSetHandle s, const char *type, const char *name, OfxPropertySetHandle *h)
{
    CHECK_H(s);
    if (s->n >= 16)
        return kOfxStatErrMemory;
    struct OfxParamStruct *p = &s->params[s->n++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->type, sizeof p->type, "%s", type);
    setString(&p->props, kOfxParamPropScriptName, 0, name);
    *h = &p->props;
    return kOfxStatOK;
}
static OfxStatus paramGetHandle(OfxParamSetHandle s, const char *name, OfxParamHandle *param, OfxPropertySetHandle *h)
{
    CHECK_H(s);
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->params[i].name, name)) {
            *param = &s->params[i];
            if (h)
                *h = &s->params[i].props;
            return kOfxStatOK;
        }
    return kOfxStatErrUnknown;
}
static OfxStatus paramSetGetPropertySet(OfxParamSetHandle s, OfxPropertySetHandle *h)
{ (void)s; (void)h; return kOfxStatErrUnsupported; }
static OfxStatus paramGetPropertySet(OfxParamHandle p, OfxPropertySetHandle *h)
{ CHECK_H(p); *h = &p->props; return kOfxStatOK; }
static int is_string(OfxParamHandle p) { return !strcmp(p->type, kOfxParamTypeString); }
static int is_choice(OfxParamHandle p) { return !strcmp(p->type, kOfxParamTypeChoice); }
static OfxStatus paramGetValue(OfxParamHandle p, ...)
{
    CHECK_H(p);
    va_list ap;
    va_start(ap, p);
    OfxStatus st = kOfxStatOK;
    if (is_string(p))
        *va_arg(ap, char **) = p->s ? p->s : "";
    else if (is_choice(p))
        *va_arg(ap, int *) = p->i;
    else
        st = kOfxStatErrBadHandle;
    va_end(ap);
    return st;
}
static OfxStatus paramGetValueAtTime(OfxParamHandle p, OfxTime t, ...)
{ (void)p; (void)t; return kOfxStatErrUnsupported; }
static OfxStatus paramGetDerivative(OfxParamHandle p, OfxTime t, ...)
{ (void)p; (void)t; return kOfxStatErrUnsupported; }
static OfxStatus paramGetIntegral(OfxParamHandle p, OfxTime a, OfxTime b, ...)
{ (void)p; (void)a; (void)b; return kOfxStatErrUnsupported; }
static __thread int in_render = 0;
/* The actions in which the OpenFX standard lets a plugin set parameter values. */
static __thread int params_settable = 0;
static __thread const char *current_action = NULL;
static OfxStatus paramSetValue(OfxParamHandle p, ...)
{
    CHECK_H(p);
    if (!params_settable) {
        printf("VIOLATION paramSetValue during %s\n", current_action ? current_action : "no action");
        return kOfxStatFailed;
    }
    va_list ap;
    va_start(ap, p);
    OfxStatus st = kOfxStatOK;
    if (is_string(p)) {
        const char *v = va_arg(ap, const char *);
        free(p->s);
        p->s = strdup(v ? v : "");
        if (!strcmp(p->name, "status"))
            printf("STATUS %s\n", p->s);
    } else if (is_choice(p)) {
        p->i = va_arg(ap, int);
    } else {
        st = kOfxStatErrBadHandle;
    }
    va_end(ap);
    return st;
}
static OfxStatus paramSetValueAtTime(OfxParamHandle p, OfxTime t, ...)
{ (void)p; (void)t; return kOfxStatErrUnsupported; }
static OfxStatus paramGetNumKeys(OfxParamHandle p, unsigned int *n) { (void)p; *n = 0; return kOfxStatOK; }
static OfxStatus paramGetKeyTime(OfxParamHandle p, unsigned int k, OfxTime *t)
{ (void)p; (void)k; (void)t; return kOfxStatErrBadIndex; }
static OfxStatus paramGetKeyIndex(OfxParamHandle p, OfxTime t, int d, int *i)
{ (void)p; (void)t; (void)d; (void)i; return kOfxStatFailed; }
static OfxStatus paramDeleteKey(OfxParamHandle p, OfxTime t) { (void)p; (void)t; return kOfxStatErrBadIndex; }
static OfxStatus paramDeleteAllKeys(OfxParamHandle p) { (void)p; return kOfxStatOK; }
static OfxStatus paramCopy(OfxParamHandle a, OfxParamHandle b, OfxTime t, const OfxRangeD *r)
{ (void)a; (void)b; (void)t; (void)r; return kOfxStatErrUnsupported; }
static OfxStatus paramEditBegin(OfxParamSetHandle s, const char *n) { (void)s; (void)n; return kOfxStatOK; }
static OfxStatus paramEditEnd(OfxParamSetHandle s) { (void)s; return kOfxStatOK; }

static const OfxParameterSuiteV1 PARAMS = {paramDefine, paramGetHandle, paramSetGetPropertySet,
    paramGetPropertySet, paramGetValue, paramGetValueAtTime, paramGetDerivative, paramGetIntegral,
    paramSetValue, paramSetValueAtTime, paramGetNumKeys, paramGetKeyTime, paramGetKeyIndex,
    paramDeleteKey, paramDeleteAllKeys, paramCopy, paramEditBegin, paramEditEnd};

/* ---- memory, threads, messages ------------------------------------------------------------ */
static OfxStatus memoryAlloc(void *h, size_t n, void **out)
{ (void)h; *out = malloc(n); return *out ? kOfxStatOK : kOfxStatErrMemory; }
static OfxStatus memoryFree(void *p) { free(p); return kOfxStatOK; }
static const OfxMemorySuiteV1 MEMORY = {memoryAlloc, memoryFree};

static OfxStatus multiThread(OfxThreadFunctionV1 f, unsigned int n, void *arg)
{ for (unsigned int i = 0; i < n; i++) f(i, n, arg); return kOfxStatOK; }
static OfxStatus numCPUs(unsigned int *n) { *n = 1; return kOfxStatOK; }
static OfxStatus threadIndex(unsigned int *i) { *i = 0; return kOfxStatOK; }
static int isSpawned(void) { return 0; }
static OfxStatus mutexCreate(OfxMutexHandle *m, int count)
{ (void)count; pthread_mutex_t *p = malloc(sizeof *p); pthread_mutex_init(p, NULL); *m = (OfxMutexHandle)p; return kOfxStatOK; }
static OfxStatus mutexDestroy(const OfxMutexHandle m) { pthread_mutex_destroy((pthread_mutex_t *)m); free(m); return kOfxStatOK; }
static OfxStatus mutexLock(const OfxMutexHandle m) { pthread_mutex_lock((pthread_mutex_t *)m); return kOfxStatOK; }
static OfxStatus mutexUnLock(const OfxMutexHandle m) { pthread_mutex_unlock((pthread_mutex_t *)m); return kOfxStatOK; }
static OfxStatus mutexTryLock(const OfxMutexHandle m) { return pthread_mutex_trylock((pthread_mutex_t *)m) ? kOfxStatFailed : kOfxStatOK; }
static const OfxMultiThreadSuiteV1 THREADS = {multiThread, numCPUs, threadIndex, isSpawned,
    mutexCreate, mutexDestroy, mutexLock, mutexUnLock, mutexTryLock};

static OfxStatus message(void *h, const char *type, const char *id, const char *fmt, ...)
{
    (void)h;
    (void)id;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("MESSAGE %s %s\n", type, text);
    return kOfxStatOK;
}
static const OfxMessageSuiteV1 MESSAGES = {message};

static struct OfxPropertySetStruct host_props;

static const void *fetchSuite(OfxPropertySetHandle host, const char *name, int version)
{
    if (host != &host_props || version != 1)
        return NULL;
    if (!strcmp(name, kOfxPropertySuite)) return &PROPS;
    if (!strcmp(name, kOfxImageEffectSuite)) return &EFFECT;
    if (!strcmp(name, kOfxParameterSuite)) return &PARAMS;
    if (!strcmp(name, kOfxMemorySuite)) return &MEMORY;
    if (!strcmp(name, kOfxMultiThreadSuite)) return &THREADS;
    if (!strcmp(name, kOfxMessageSuite)) return &MESSAGES;
    return NULL;
}

static OfxHost HOST = {&host_props, fetchSuite};

/* ---- driving the plugin ------------------------------------------------------------------- */
static OfxPlugin *plugin;
static int failures = 0;

static OfxStatus act(const char *action, void *handle, OfxPropertySetHandle in, OfxPropertySetHandle out,
                     int must_succeed)
{
    long long t0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    current_action = action;
    params_settable = !strcmp(action, kOfxActionCreateInstance) ||
                      !strcmp(action, kOfxActionInstanceChanged) ||
                      !strcmp(action, kOfxActionBeginInstanceChanged) ||
                      !strcmp(action, kOfxActionEndInstanceChanged) ||
                      !strcmp(action, kOfxActionSyncPrivateData);
    OfxStatus st = plugin->mainEntry(action, handle, in, out);
    params_settable = 0;
    current_action = NULL;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0;
    printf("ACTION %s %d %lld\n", action, st, ms);
    if (must_succeed && st != kOfxStatOK && st != kOfxStatReplyDefault) {
        printf("FAILED %s %d\n", action, st);
        __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    }
    return st;
}

static void dump(OfxPropertySetHandle h, double time, int pass, int index)
{
    char path[4096];
    void *data;
    int bounds[4], rb;
    getPointer(h, kOfxImagePropData, 0, &data);
    getIntN(h, kOfxImagePropBounds, 4, bounds);
    getInt(h, kOfxImagePropRowBytes, 0, &rb);
    if (index < 0)
        snprintf(path, sizeof path, "%s/pass%d_t%d.raw", opt.out_dir, pass, (int)time);
    else
        snprintf(path, sizeof path, "%s/pass%d_i%d_t%d.raw", opt.out_dir, pass, index, (int)time);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    int32_t head[6] = {bounds[0], bounds[1], bounds[2], bounds[3], channels(), (int32_t)sample_bytes()};
    fwrite("MWHOST01", 1, 8, f);
    fwrite(head, sizeof head, 1, f);
    size_t row = (size_t)(bounds[2] - bounds[0]) * channels() * sample_bytes();
    for (int y = bounds[3] - 1; y >= bounds[1]; y--) /* top row first */
        fwrite((unsigned char *)data + (long)(y - bounds[1]) * rb, 1, row, f);
    fclose(f);
}

static void copy_defs(OfxImageEffectHandle dst, OfxImageEffectHandle src)
{
    props_copy(&dst->props, &src->props);
    dst->nclips = src->nclips;
    for (int i = 0; i < src->nclips; i++) {
        snprintf(dst->clips[i].name, sizeof dst->clips[i].name, "%s", src->clips[i].name);
        props_copy(&dst->clips[i].props, &src->clips[i].props);
        fill_clip_props(&dst->clips[i]);
    }
    dst->params.n = src->params.n;
    for (int i = 0; i < src->params.n; i++) {
        struct OfxParamStruct *d = &dst->params.params[i], *s = &src->params.params[i];
        memcpy(d->name, s->name, sizeof d->name);
        memcpy(d->type, s->type, sizeof d->type);
        props_copy(&d->props, &s->props);
        char *def = NULL;
        int idef = 0;
        if (is_string(d) && getString(&d->props, kOfxParamPropDefault, 0, &def) == kOfxStatOK)
            d->s = strdup(def);
        if (is_choice(d) && getInt(&d->props, kOfxParamPropDefault, 0, &idef) == kOfxStatOK)
            d->i = idef;
    }
}

static void effect_free(OfxImageEffectHandle e)
{
    props_free(&e->props);
    for (int i = 0; i < e->nclips; i++)
        props_free(&e->clips[i].props);
    for (int i = 0; i < e->params.n; i++) {
        props_free(&e->params.params[i].props);
        free(e->params.params[i].s);
    }
    free(e);
}

static void set_param(OfxImageEffectHandle e, const char *name, const char *s, int i)
{
    OfxParamHandle p;
    if (paramGetHandle(&e->params, name, &p, NULL) != kOfxStatOK)
        return;
    if (s) {
        free(p->s);
        p->s = strdup(s);
    } else {
        p->i = i;
    }
    struct OfxPropertySetStruct in = {0};
    setString(&in, kOfxPropType, 0, kOfxTypeParameter);
    setString(&in, kOfxPropName, 0, name);
    setString(&in, kOfxPropChangeReason, 0, kOfxChangeUserEdited);
    setDouble(&in, kOfxPropTime, 0, opt.first);
    double scale[2] = {1, 1};
    setDoubleN(&in, kOfxImageEffectPropRenderScale, 2, scale);
    act(kOfxActionInstanceChanged, e, &in, NULL, 1);
    props_free(&in);
}

/* GetRegionOfDefinition, GetFramesNeeded, IsIdentity and Render at every time, on one instance. */
static void render_times(OfxImageEffectHandle inst, int pass, int index)
{
    struct OfxPropertySetStruct in = {0}, out = {0};
    for (int k = 0; k < opt.ntimes; k++) {
        double t = opt.times[k];
        double scale[2] = {opt.half ? 0.5 : 1, opt.half ? 0.5 : 1};
        setDouble(&in, kOfxPropTime, 0, t);
        setDoubleN(&in, kOfxImageEffectPropRenderScale, 2, scale);
        act(kOfxImageEffectActionGetRegionOfDefinition, inst, &in, &out, 1);
        props_free(&out);
        act(kOfxImageEffectActionGetFramesNeeded, inst, &in, &out, 1);
        double range[2];
        if (getDoubleN(&out, kOfxImageClipPropFrameRangePrefix "Source", 2, range) == kOfxStatOK)
            printf("FRAMES_NEEDED %g %g\n", range[0], range[1]);
        props_free(&out);
        OfxStatus id = act(kOfxImageEffectActionIsIdentity, inst, &in, &out, 0);
        props_free(&out);
        if (id == kOfxStatOK) {
            printf("IDENTITY %g\n", t);
            continue;
        }
        int window[4] = {0, 0, opt.half ? width / 2 : width, opt.half ? height / 2 : height};
        if (opt.has_window)
            memcpy(window, opt.window, sizeof window);
        setIntN(&in, kOfxImageEffectPropRenderWindow, 4, window);
        setString(&in, kOfxImageEffectPropFieldToRender, 0, "OfxImageFieldNone");
        OfxPropertySetHandle h;
        render_output = NULL;
        render_time = t;
        OfxImageClipHandle output;
        if (clipGetHandle(inst, kOfxImageEffectOutputClipName, &output, NULL) != kOfxStatOK ||
            clipGetImage(output, t, NULL, &h) != kOfxStatOK) {
            __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
            break;
        }
        render_output = (image *)h;
        render_output->refs = 0;
        __atomic_sub_fetch(&open_images, 1, __ATOMIC_SEQ_CST);
        in_render = 1;
        act(kOfxImageEffectActionRender, inst, &in, NULL, 1);
        in_render = 0;
        props_free(&in);
        if (render_output->refs != 0)
            printf("LEAK output image held after render\n");
        if (!opt.no_dump)
            dump(h, t, pass, index);
        image *done = render_output;
        render_output = NULL;
        done->refs = 1;
        __atomic_add_fetch(&open_images, 1, __ATOMIC_SEQ_CST);
        clipReleaseImage(h);
    }
    props_free(&in);
}

struct job {
    OfxImageEffectHandle inst;
    int pass, index;
};

static void *render_thread(void *arg)
{
    struct job *j = arg;
    render_times(j->inst, j->pass, j->index);
    return NULL;
}

static void run_cycle(void)
{
    OfxImageEffectHandle desc = calloc(1, sizeof *desc), ctx = calloc(1, sizeof *ctx),
                         inst = calloc(1, sizeof *inst);
    plugin->setHost(&HOST);
    if (act(kOfxActionLoad, NULL, NULL, NULL, 1) != kOfxStatOK) {
        free(desc); free(ctx); free(inst);
        return;
    }
    act(kOfxActionDescribe, desc, NULL, NULL, 1);
    struct OfxPropertySetStruct in = {0}, out = {0};
    setString(&in, kOfxImageEffectPropContext, 0, kOfxImageEffectContextFilter);
    act(kOfxImageEffectActionDescribeInContext, ctx, &in, NULL, 1);
    props_free(&in);
    copy_defs(inst, ctx);
    setString(&inst->props, kOfxImageEffectPropContext, 0, kOfxImageEffectContextFilter);
    act(kOfxActionCreateInstance, inst, NULL, NULL, 1);
    if (opt.set_params) {
        if (opt.project)
            set_param(inst, "project", opt.project, 0);
        set_param(inst, "clip", NULL, opt.clip);
        set_param(inst, "backend", NULL, opt.backend);
    }
    act(kOfxImageEffectActionGetClipPreferences, inst, NULL, &out, 1);
    props_free(&out);
    OfxImageEffectHandle extra[8] = {0};
    for (int i = 1; i < opt.instances; i++) {
        extra[i - 1] = calloc(1, sizeof *inst);
        copy_defs(extra[i - 1], ctx);
        setString(&extra[i - 1]->props, kOfxImageEffectPropContext, 0, kOfxImageEffectContextFilter);
        act(kOfxActionCreateInstance, extra[i - 1], NULL, NULL, 1);
        if (opt.set_params) {
            if (opt.project)
                set_param(extra[i - 1], "project", opt.project, 0);
            set_param(extra[i - 1], "clip", NULL, opt.clip);
            set_param(extra[i - 1], "backend", NULL, opt.backend);
        }
    }
    /* What the plugin declared, for the tests to check. */
    const char *declared[] = {kOfxImageEffectPluginRenderThreadSafety,
                              kOfxImageEffectPropTemporalClipAccess,
                              kOfxImageEffectPluginPropHostFrameThreading,
                              kOfxImageEffectPropSupportsTiles, kOfxImageEffectPropSupportedContexts,
                              kOfxImageEffectPropSupportedPixelDepths};
    for (size_t k = 0; k < sizeof declared / sizeof declared[0]; k++) {
        prop *p = find(&desc->props, declared[k]);
        for (int i = 0; p && i < p->dim; i++) {
            if (p->type == T_STR)
                printf("DECLARED %s %s\n", declared[k], p->str[i]);
            else if (p->type == T_INT)
                printf("DECLARED %s %d\n", declared[k], p->i[i]);
        }
    }
    OfxParamHandle choice;
    if (paramGetHandle(&inst->params, "clip", &choice, NULL) == kOfxStatOK) {
        prop *p = find(&choice->props, kOfxParamPropChoiceOption);
        for (int i = 0; p && i < p->dim; i++)
            printf("CHOICE %d %s\n", i, p->str[i]);
    }
    for (int pass = 0; pass < opt.passes; pass++) {
        if (pass)
            usleep((useconds_t)opt.pass_wait_ms * 1000);
        if (pass && opt.purge)
            act(kOfxActionPurgeCaches, inst, NULL, NULL, 1);
        if (opt.instances <= 1) {
            render_times(inst, pass, -1);
        } else {
            pthread_t threads[8];
            struct job jobs[8];
            for (int i = 0; i < opt.instances; i++) {
                jobs[i] = (struct job){i == 0 ? inst : extra[i - 1], pass, i};
                pthread_create(&threads[i], NULL, render_thread, &jobs[i]);
            }
            for (int i = 0; i < opt.instances; i++)
                pthread_join(threads[i], NULL);
        }
        act(kOfxImageEffectActionEndSequenceRender, inst, NULL, NULL, 0);
        act(kOfxActionSyncPrivateData, inst, NULL, NULL, 0);
    }
    if (opt.press_open)
        set_param(inst, "openEditor", NULL, 0);
    act(kOfxActionDestroyInstance, inst, NULL, NULL, 1);
    for (int i = 1; i < opt.instances; i++) {
        act(kOfxActionDestroyInstance, extra[i - 1], NULL, NULL, 1);
        effect_free(extra[i - 1]);
    }
    act(kOfxImageEffectActionGetClipPreferences, inst, NULL, &out, 0); /* a stale handle */
    props_free(&out);
    act(kOfxActionUnload, NULL, NULL, NULL, 1);
    effect_free(desc);
    effect_free(ctx);
    effect_free(inst);
}

static void parse_ints(const char *s, int *out, int max, int *n)
{
    *n = 0;
    while (*s && *n < max) {
        char *end;
        out[(*n)++] = (int)strtol(s, &end, 10);
        if (*end != ',')
            break;
        s = end + 1;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mw_host PLUGIN.ofx [--source DIR --count N ...]\n");
        return 2;
    }
    opt.plugin = argv[1];
    opt.depth = kOfxBitDepthFloat;
    opt.components = kOfxImageComponentRGBA;
    opt.passes = 1;
    opt.cycles = 1;
    opt.fps = 24;
    opt.temporal = 1;
    opt.set_params = 1;
    opt.out_dir = ".";
    for (int i = 2; i + 1 < argc || (i < argc && argv[i][0] == '-'); i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--source")) opt.source_dir = v, i++;
        else if (!strcmp(a, "--out")) opt.out_dir = v, i++;
        else if (!strcmp(a, "--project")) opt.project = v, i++;
        else if (!strcmp(a, "--size")) { sscanf(v, "%dx%d", &width, &height); i++; }
        else if (!strcmp(a, "--first")) opt.first = atoi(v), i++;
        else if (!strcmp(a, "--count")) opt.count = atoi(v), i++;
        else if (!strcmp(a, "--fps")) opt.fps = atof(v), i++;
        else if (!strcmp(a, "--clip")) opt.clip = atoi(v), i++;
        else if (!strcmp(a, "--backend")) opt.backend = atoi(v), i++;
        else if (!strcmp(a, "--passes")) opt.passes = atoi(v), i++;
        else if (!strcmp(a, "--pass-wait-ms")) opt.pass_wait_ms = atoi(v), i++;
        else if (!strcmp(a, "--cycles")) opt.cycles = atoi(v), i++;
        else if (!strcmp(a, "--row-padding")) opt.row_padding = atoi(v), i++;
        else if (!strcmp(a, "--times")) { parse_ints(v, opt.times, 64, &opt.ntimes); i++; }
        else if (!strcmp(a, "--window")) { int n; parse_ints(v, opt.window, 4, &n); opt.has_window = n == 4; i++; }
        else if (!strcmp(a, "--depth")) {
            opt.depth = !strcmp(v, "byte") ? kOfxBitDepthByte : !strcmp(v, "short") ? kOfxBitDepthShort : kOfxBitDepthFloat;
            i++;
        } else if (!strcmp(a, "--components")) {
            opt.components = !strcmp(v, "RGB") ? kOfxImageComponentRGB : !strcmp(v, "Alpha") ? kOfxImageComponentAlpha : kOfxImageComponentRGBA;
            i++;
        }
        else if (!strcmp(a, "--abort")) opt.abort_renders = 1;
        else if (!strcmp(a, "--negative-rows")) opt.negative_rows = 1;
        else if (!strcmp(a, "--window-bounds")) opt.window_bounds = 1;
        else if (!strcmp(a, "--press-open")) opt.press_open = 1;
        else if (!strcmp(a, "--no-temporal")) opt.temporal = 0;
        else if (!strcmp(a, "--no-params")) opt.set_params = 0;
        else if (!strcmp(a, "--half")) opt.half = 1;
        else if (!strcmp(a, "--purge")) opt.purge = 1;
        else if (!strcmp(a, "--instances")) { opt.instances = atoi(v); i++; if (opt.instances > 8) opt.instances = 8; }
        else if (!strcmp(a, "--no-dump")) opt.no_dump = 1;
        else { fprintf(stderr, "unknown option %s\n", a); return 2; }
    }
    setbuf(stdout, NULL);
    setString(&host_props, kOfxPropName, 0, "org.motionwright.testhost");
    setInt(&host_props, kOfxImageEffectPropTemporalClipAccess, 0, opt.temporal);
    void *lib = dlopen(opt.plugin, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    int (*count)(void) = (int (*)(void))dlsym(lib, "OfxGetNumberOfPlugins");
    OfxPlugin *(*get)(int) = (OfxPlugin * (*)(int)) dlsym(lib, "OfxGetPlugin");
    if (!count || !get || count() != 1 || !(plugin = get(0)) || get(1) != NULL) {
        fprintf(stderr, "not an OpenFX plugin binary\n");
        return 2;
    }
    printf("PLUGIN %s %s %d %u.%u\n", plugin->pluginIdentifier, plugin->pluginApi, plugin->apiVersion,
           plugin->pluginVersionMajor, plugin->pluginVersionMinor);
    for (int c = 0; c < opt.cycles; c++)
        run_cycle();
    props_free(&host_props);
    dlclose(lib);
    if (open_images) {
        printf("LEAK %d images not released\n", open_images);
        return 3;
    }
    return failures ? 4 : 0;
}
