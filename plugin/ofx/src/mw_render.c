/*
 * mw_render.c - the Render and GetFramesNeeded actions: build the job request for this
 * instance, follow its job in the render service within a short time bound, and either copy
 * the finished frame into the output exactly or pass the source through under a status band.
 */
#define _GNU_SOURCE
#include "mw_plugin.h"

#include "mw_http.h"
#include "mw_image.h"
#include "mw_json.h"
#include "mw_project.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MW_MAX_UPLOAD_FRAMES 2000

typedef struct render_ctx {
    mw_instance *inst;
    double time;
    OfxRectI window;
    long long deadline;
    mw_image out;
    OfxRectI rod;        /* output region of definition in pixels */
    char status[1024];   /* the band's text when no result is shown */
    double fraction;     /* progress for the band, or -1 */
    int is_error;        /* the status is a failure worth a host message */
} render_ctx;

static int time_left(const render_ctx *c)
{
    long long left = c->deadline - mw_now_ms();
    return left > 0 ? (int)left : 0;
}

static int aborted(const render_ctx *c) { return MW.effect->abort(c->inst->effect) != 0; }

static void set_status(render_ctx *c, int is_error, double fraction, const char *fmt, const char *arg)
{
    char text[900];
    /* Long texts (paths, server messages) are cut: the band shows one line anyway. */
    if (snprintf(text, sizeof text, fmt, arg ? arg : "") < 0)
        text[0] = '\0';
    if (snprintf(c->status, sizeof c->status, "Motionwright: %s", text) < 0)
        c->status[0] = '\0';
    c->fraction = fraction;
    c->is_error = is_error;
}

/* Fetch a clip's image and describe it: 0, or -1 (nothing to release then). */
static int get_image(OfxImageClipHandle clip, double time, OfxPropertySetHandle *handle,
                     mw_image *img, OfxRectI *rod)
{
    char *depth = NULL, *components = NULL;
    int bounds[4], rowbytes = 0, r[4];
    *handle = NULL;
    if (!clip || MW.effect->clipGetImage(clip, time, NULL, handle) != kOfxStatOK || !*handle)
        return -1;
    if (MW.prop->propGetPointer(*handle, kOfxImagePropData, 0, &img->data) != kOfxStatOK ||
        MW.prop->propGetIntN(*handle, kOfxImagePropBounds, 4, bounds) != kOfxStatOK ||
        MW.prop->propGetInt(*handle, kOfxImagePropRowBytes, 0, &rowbytes) != kOfxStatOK ||
        MW.prop->propGetString(*handle, kOfxImageEffectPropPixelDepth, 0, &depth) != kOfxStatOK ||
        MW.prop->propGetString(*handle, kOfxImageEffectPropComponents, 0, &components) != kOfxStatOK ||
        !img->data || !(img->sample = mw_sample_from_depth(depth)) ||
        !(img->channels = mw_channels_from_components(components)) || bounds[2] < bounds[0] ||
        bounds[3] < bounds[1]) {
        MW.effect->clipReleaseImage(*handle);
        *handle = NULL;
        return -1;
    }
    img->bounds = (OfxRectI){bounds[0], bounds[1], bounds[2], bounds[3]};
    img->row_bytes = rowbytes;
    long min_row = (long)(bounds[2] - bounds[0]) * img->channels * (long)mw_sample_bytes(img->sample);
    if (labs(img->row_bytes) < min_row) {
        MW.effect->clipReleaseImage(*handle);
        *handle = NULL;
        return -1;
    }
    if (rod) {
        if (MW.prop->propGetIntN(*handle, kOfxImagePropRegionOfDefinition, 4, r) == kOfxStatOK &&
            r[2] > r[0] && r[3] > r[1])
            *rod = (OfxRectI){r[0], r[1], r[2], r[3]};
        else
            *rod = img->bounds;
    }
    return 0;
}

static int source_range(mw_instance *inst, double *first, double *last)
{
    OfxPropertySetHandle props;
    double range[2];
    if (!inst->source || MW.effect->clipGetPropertySet(inst->source, &props) != kOfxStatOK ||
        MW.prop->propGetDoubleN(props, kOfxImageEffectPropFrameRange, 2, range) != kOfxStatOK ||
        range[1] < range[0])
        return -1;
    *first = range[0];
    *last = range[1];
    return 0;
}

static void fps_text(mw_instance *inst, char *out, size_t n)
{
    OfxPropertySetHandle props;
    double fps = 24;
    if (!inst->source || MW.effect->clipGetPropertySet(inst->source, &props) != kOfxStatOK ||
        MW.prop->propGetDouble(props, kOfxImageEffectPropFrameRate, 0, &fps) != kOfxStatOK ||
        !(fps > 0 && fps < 1000))
        fps = 24;
    double ntsc = fps * 1.001;
    if (fabs(fps - round(fps)) < 1e-6)
        snprintf(out, n, "%ld/1", lround(fps));
    else if (fabs(ntsc - round(ntsc)) < 2e-3) /* 23.976, 29.97, 59.94: N*1000/1001 */
        snprintf(out, n, "%ld/1001", lround(ntsc) * 1000);
    else
        snprintf(out, n, "%ld/1000", lround(fps * 1000));
}

/* An id from the service is used in URLs and JSON: only letters, digits, '-' and '_'. */
static int safe_id(const char *id)
{
    if (!id[0])
        return 0;
    for (; *id; id++)
        if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
              (*id >= '0' && *id <= '9') || *id == '-' || *id == '_'))
            return 0;
    return 1;
}

/* The text after "Motionwright: " in a status line (the whole line if it lacks the prefix). */
static const char *status_text(const char *status)
{
    const char *prefix = "Motionwright: ";
    return strncmp(status, prefix, strlen(prefix)) == 0 ? status + strlen(prefix) : status;
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* The job request for this instance into *req (malloc'd), its fingerprint into key and the
 * frame's index within the job into *index: 0, or -1 with the status set. */
static int build_request(render_ctx *c, char **req, char *key, size_t keyn, long *index,
                         int *upload_mode, long *frames)
{
    mw_instance *inst = c->inst;
    char project[2048], err[512], fps[64];
    double first, last;
    mw_project_clip clip;
    mw_param_string(inst->p_project, project, sizeof project);
    int choice = mw_param_choice(inst->p_clip, 0);
    int backend = mw_param_choice(inst->p_backend, 0);
    const char *backend_name = backend == 1 ? "diffusion" : "preview";
    if (!project[0]) {
        set_status(c, 0, -1, "choose a project file (.mwproj) in the effect's parameters%s", NULL);
        return -1;
    }
    if (source_range(inst, &first, &last) != 0) {
        set_status(c, 1, -1, "the host gave no frame range for the Source clip%s", NULL);
        return -1;
    }
    if (choice < 0 || choice >= MW_MAX_CHOICES)
        choice = 0;
    if (mw_project_clip_load(project, choice > 0 ? choice - 1 : 0, &clip, err, sizeof err) != 0) {
        set_status(c, 1, -1, "%s", err);
        return -1;
    }
    *index = lround(c->time - first);
    *upload_mode = choice == 0;
    long count = (long)(last - first) + 1;
    size_t cap = strlen(clip.edits) + strlen(clip.path) * 6 + strlen(clip.id) * 6 + 1024;
    char *r = malloc(cap);
    if (!r) {
        mw_project_clip_free(&clip);
        set_status(c, 1, -1, "out of memory%s", NULL);
        return -1;
    }
    r[0] = '\0';
    int bad = 0;
    if (*upload_mode) {
        if (count > MW_MAX_UPLOAD_FRAMES) {
            set_status(c, 1, -1, "the clip is too long to send from the host; pick the project "
                                 "clip in 'Edit' so the service reads its media%s", NULL);
            bad = 1;
        }
        *frames = count;
        fps_text(inst, fps, sizeof fps);
        /* The upload id is filled in at submission; the key covers what decides the result. */
        snprintf(key, keyn, "upload:%016llx:%.0f:%.0f:%s:%s",
                 (unsigned long long)fnv1a(clip.edits, 1469598103934665603ull), first, last,
                 fps, backend_name);
        snprintf(r, cap, "{\"source\": {\"upload\": \"%s\", \"fps\": \"%s\"}, \"edits\": %s, "
                         "\"backend\": \"%s\", \"label\": ",
                 inst->upload_id, fps, clip.edits, backend_name);
    } else {
        long stop = clip.out_frame >= 0 ? clip.out_frame : clip.in_frame + count;
        *frames = stop - clip.in_frame;
        if (*index < 0 || *index >= *frames) {
            set_status(c, 0, -1, "this frame is outside the project clip's range%s", NULL);
            bad = 1;
        }
        snprintf(r, cap, "{\"source\": {\"path\": ");
        mwj_quote(r, cap, clip.path);
        size_t len = strlen(r);
        snprintf(r + len, cap - len, ", \"start\": %ld, \"stop\": %ld}, \"edits\": %s, "
                                     "\"backend\": \"%s\", \"label\": ",
                 clip.in_frame, stop, clip.edits, backend_name);
        snprintf(key, keyn, "path:%016llx", (unsigned long long)fnv1a(r, 1469598103934665603ull));
    }
    char label[400];
    snprintf(label, sizeof label, "OFX %s", clip.id);
    if (mwj_quote(r, cap, label) != 0 || strlen(r) + 2 >= cap)
        bad = 1;
    else
        strcat(r, "}");
    mw_project_clip_free(&clip);
    if (bad) {
        if (!c->status[0])
            set_status(c, 1, -1, "the request does not fit%s", NULL);
        free(r);
        return -1;
    }
    *req = r;
    return 0;
}

/* The service's error message from a 4xx/5xx reply into out. */
static void reply_error(const mw_reply *rep, char *out, size_t n)
{
    const char *v = rep->body ? mwj_get(rep->body, "message") : NULL;
    if (!v || mwj_string(v, out, n) != 0) {
        v = rep->body ? mwj_get(rep->body, "error") : NULL;
        if (!v || mwj_string(v, out, n) != 0)
            snprintf(out, n, "HTTP %d", rep->status);
    }
}

/* One request to the service within the remaining time: 0, or -1 with the status set. A
 * service that stopped answering (killed) is started again, rate-limited. */
static int call(render_ctx *c, const mw_server *srv, const char *method, const char *path,
                const char *body, mw_reply *rep)
{
    char err[512], why[512];
    int rc = mw_http(srv, method, path, body, time_left(c), rep, err, sizeof err);
    if (rc == 0)
        return 0;
    if (rc == -2 && mw_maybe_start_service(c->inst, why, sizeof why) == 0)
        set_status(c, 1, -1, "%s; starting it again", err);
    else
        set_status(c, 1, -1, "%s", err);
    return -1;
}

/* Write the next host frames of the upload while time remains: 1 when all are written. */
static int send_frames(render_ctx *c, double first, long frames)
{
    mw_instance *inst = c->inst;
    while (inst->uploaded < frames) {
        if (aborted(c) || time_left(c) < 50)
            return 0;
        OfxPropertySetHandle h;
        mw_image img;
        OfxRectI rod;
        char path[2300];
        if (get_image(inst->source, first + inst->uploaded, &h, &img, &rod) != 0) {
            set_status(c, 1, -1, "the host gave no source frame to send%s", NULL);
            return -1;
        }
        snprintf(path, sizeof path, "%s/%06d.mwf", inst->upload_dir, inst->uploaded);
        int rc = mw_frame_write(path, &img, rod);
        MW.effect->clipReleaseImage(h);
        if (rc != 0) {
            set_status(c, 1, -1, "cannot write frames into the service's upload folder %s",
                       inst->upload_dir);
            return -1;
        }
        inst->uploaded++;
    }
    return 1;
}

static int start_upload(render_ctx *c, const mw_server *srv)
{
    mw_instance *inst = c->inst;
    mw_reply rep;
    const char *v;
    if (call(c, srv, "POST", "/v1/uploads", "{}", &rep) != 0)
        return -1;
    int ok = rep.status / 100 == 2 && rep.body && (v = mwj_get(rep.body, "id")) &&
             mwj_string(v, inst->upload_id, sizeof inst->upload_id) == 0 &&
             (v = mwj_get(rep.body, "path")) &&
             mwj_string(v, inst->upload_dir, sizeof inst->upload_dir) == 0 &&
             safe_id(inst->upload_id);
    mw_reply_free(&rep);
    struct stat st;
    if (!ok || stat(inst->upload_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        inst->upload_id[0] = '\0';
        set_status(c, 1, -1, "the render service gave no usable upload folder%s", NULL);
        return -1;
    }
    inst->uploaded = 0;
    return 0;
}

/* Copy the finished frame: 1 done, 0 not (status set). */
static int fetch_frame(render_ctx *c, const mw_server *srv, long index)
{
    char path[256], err[512], file[2048];
    mw_reply rep;
    double w = 0, h = 0, s = 0;
    const char *v;
    snprintf(path, sizeof path, "/v1/jobs/%s/frames/%ld?sample=%s", c->inst->job_id, index,
             mw_sample_name(c->out.sample));
    if (call(c, srv, "GET", path, NULL, &rep) != 0)
        return 0;
    if (rep.status == 409) {
        mw_reply_free(&rep);
        set_status(c, 0, 1, "finishing%s", NULL);
        return 0;
    }
    int ok = rep.status == 200 && rep.body && (v = mwj_get(rep.body, "path")) &&
             mwj_string(v, file, sizeof file) == 0 && (v = mwj_get(rep.body, "width")) &&
             mwj_number(v, &w) == 0 && (v = mwj_get(rep.body, "height")) &&
             mwj_number(v, &h) == 0;
    if (ok && (v = mwj_get(rep.body, "sample")) && mwj_number(v, &s) != 0) {
        char name[16]; /* the sample may be given by name */
        s = mwj_string(v, name, sizeof name) == 0 ? (double)(!strcmp(name, "uint8") ? 1
                                                         : !strcmp(name, "uint16") ? 2
                                                         : !strcmp(name, "float32") ? 3 : 0)
                                                  : 0;
    }
    if (!ok) {
        reply_error(&rep, err, sizeof err);
        mw_reply_free(&rep);
        set_status(c, 1, -1, "no result frame: %s", err);
        return 0;
    }
    mw_reply_free(&rep);
    mw_frame frame;
    if (mw_frame_read(file, (int)w, (int)h, (mw_sample)(int)s, &frame, err, sizeof err) != 0) {
        set_status(c, 1, -1, "%s", err);
        return 0;
    }
    mw_copy_frame(&frame, &c->out, c->window, c->rod);
    mw_frame_free(&frame);
    return 1;
}

/* Follow the instance's job within the time bound: 1 when the result frame was copied. */
static int follow_job(render_ctx *c)
{
    mw_instance *inst = c->inst;
    char *req = NULL, key[512], err[512];
    long index = 0, frames = 0;
    int upload_mode = 0;
    mw_server srv;
    mw_reply rep;
    double first = 0, last = 0;
    if (build_request(c, &req, key, sizeof key, &index, &upload_mode, &frames) != 0)
        return 0;
    if (strcmp(key, inst->key) != 0) { /* edits, range or backend changed: a new job */
        snprintf(inst->key, sizeof inst->key, "%s", key);
        inst->job_id[0] = inst->upload_id[0] = inst->upload_dir[0] = '\0';
        inst->uploaded = 0;
    }
    int found = mw_discover(&srv, err, sizeof err);
    if (found != 0) {
        char why[512];
        if (found == -2) /* a server.json that cannot be trusted: say so, start nothing */
            set_status(c, 1, -1, "%s", err);
        else if (mw_maybe_start_service(inst, why, sizeof why) == 0)
            set_status(c, 0, -1, "%s - this frame shows the source until it answers", why);
        else
            set_status(c, 1, -1, "%s", why);
        free(req);
        return 0;
    }
    if (!strcmp(inst->job_id, "-")) { /* the service refused this request: say so again */
        free(req);
        set_status(c, 1, -1, "%s", status_text(inst->status));
        return 0;
    }
    if (!inst->job_id[0]) {
        if (upload_mode) {
            source_range(inst, &first, &last);
            if (!inst->upload_id[0] && start_upload(c, &srv) != 0) {
                free(req);
                return 0;
            }
            int sent = send_frames(c, first, frames);
            if (sent <= 0) {
                if (sent == 0) {
                    char n[64];
                    snprintf(n, sizeof n, "%d/%ld", inst->uploaded, frames);
                    set_status(c, 0, (double)inst->uploaded / (double)frames,
                               "sending frames %s to the render service", n);
                }
                free(req);
                return 0;
            }
            free(req); /* rebuilt now that the upload id is known */
            req = NULL;
            if (build_request(c, &req, key, sizeof key, &index, &upload_mode, &frames) != 0)
                return 0;
        }
        if (call(c, &srv, "POST", "/v1/jobs", req, &rep) != 0) {
            free(req);
            return 0;
        }
        free(req);
        req = NULL;
        const char *v = rep.body ? mwj_get(rep.body, "id") : NULL;
        if (rep.status / 100 != 2 || !v || mwj_string(v, inst->job_id, sizeof inst->job_id) != 0 ||
            !safe_id(inst->job_id)) {
            inst->job_id[0] = '\0';
            reply_error(&rep, err, sizeof err);
            if (rep.status / 100 == 4) {
                snprintf(inst->job_id, sizeof inst->job_id, "-");
                snprintf(inst->status, sizeof inst->status, "Motionwright: the service refused "
                         "the job: %.900s", err);
            }
            set_status(c, 1, -1, "the service refused the job: %s", err);
            mw_reply_free(&rep);
            return 0;
        }
    } else {
        char path[256];
        free(req);
        snprintf(path, sizeof path, "/v1/jobs/%s", inst->job_id);
        if (call(c, &srv, "GET", path, NULL, &rep) != 0)
            return 0;
        if (rep.status == 404) { /* deleted or forgotten: render it again */
            inst->job_id[0] = '\0';
            inst->upload_id[0] = '\0';
            mw_reply_free(&rep);
            set_status(c, 0, 0, "submitting again%s", NULL);
            return 0;
        }
    }
    char state[32] = "", message[600] = "";
    double fraction = 0;
    const char *v = rep.body ? mwj_get(rep.body, "state") : NULL;
    if (rep.status / 100 != 2 || !v || mwj_string(v, state, sizeof state) != 0) {
        reply_error(&rep, err, sizeof err);
        mw_reply_free(&rep);
        set_status(c, 1, -1, "unexpected reply from the render service (%s)", err);
        return 0;
    }
    const char *progress = mwj_get(rep.body, "progress");
    if (progress && (v = mwj_get(progress, "fraction")) && mwj_number(v, &fraction) == 0) {
        fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    }
    const char *error = mwj_get(rep.body, "error");
    if (error && !mwj_is_null(error) && (v = mwj_get(error, "message")))
        mwj_string(v, message, sizeof message);
    mw_reply_free(&rep);
    if (!strcmp(state, "done"))
        return fetch_frame(c, &srv, index);
    if (!strcmp(state, "failed")) {
        set_status(c, 1, -1, "render failed: %s", message[0] ? message : "no reason given");
    } else if (!strcmp(state, "cancelled")) {
        inst->job_id[0] = '\0';
        inst->upload_id[0] = '\0';
        set_status(c, 0, -1, "the job was cancelled; the next render submits it again%s", NULL);
    } else if (!strcmp(state, "queued")) {
        set_status(c, 0, 0, "queued%s", NULL);
    } else {
        char pct[32];
        snprintf(pct, sizeof pct, "%d %%", (int)floor(fraction * 100));
        set_status(c, 0, fraction, "rendering %s", pct);
    }
    return 0;
}

OfxStatus mw_render(mw_instance *inst, OfxPropertySetHandle in_args)
{
    render_ctx c;
    int window[4];
    OfxPropertySetHandle out_h = NULL, src_h = NULL;
    mw_image src;
    memset(&c, 0, sizeof c);
    c.inst = inst;
    c.fraction = -1;
    if (MW.prop->propGetDouble(in_args, kOfxPropTime, 0, &c.time) != kOfxStatOK ||
        MW.prop->propGetIntN(in_args, kOfxImageEffectPropRenderWindow, 4, window) != kOfxStatOK)
        return kOfxStatFailed;
    c.window = (OfxRectI){window[0], window[1], window[2], window[3]};
    pthread_mutex_lock(&inst->lock);
    c.deadline = mw_now_ms() + mw_budget_ms();
    if (get_image(inst->output, c.time, &out_h, &c.out, &c.rod) != 0) {
        pthread_mutex_unlock(&inst->lock);
        return kOfxStatFailed;
    }
    int done = 0;
    if (aborted(&c))
        set_status(&c, 0, -1, "render stopped by the host%s", NULL);
    else
        done = follow_job(&c);
    if (!done && !c.status[0])
        set_status(&c, 0, -1, "working%s", NULL);
    if (!done) {
        int have_src = get_image(inst->source, c.time, &src_h, &src, NULL) == 0;
        mw_copy_image(have_src ? &src : NULL, &c.out, c.window);
        if (have_src)
            MW.effect->clipReleaseImage(src_h);
        mw_overlay(&c.out, c.window, c.rod, c.status, c.fraction);
        if (strcmp(status_text(c.status), "render stopped by the host") != 0)
            snprintf(inst->status, sizeof inst->status, "%s", c.status);
        if (c.is_error)
            mw_post(inst, kOfxMessageError, c.status);
    } else {
        snprintf(inst->status, sizeof inst->status, "Motionwright: done");
    }
    MW.effect->clipReleaseImage(out_h);
    pthread_mutex_unlock(&inst->lock);
    return kOfxStatOK;
}

OfxStatus mw_frames_needed(mw_instance *inst, OfxPropertySetHandle in_args,
                           OfxPropertySetHandle out_args)
{
    double time = 0, first, last;
    int choice = mw_param_choice(inst->p_clip, 0);
    if (MW.prop->propGetDouble(in_args, kOfxPropTime, 0, &time) != kOfxStatOK)
        return kOfxStatReplyDefault;
    double range[2] = {time, time};
    /* Sending the host's own frames reads the whole source range (temporal access). */
    if (choice == 0 && MW.host_temporal && source_range(inst, &first, &last) == 0) {
        range[0] = first;
        range[1] = last;
    }
    return MW.prop->propSetDoubleN(out_args, kOfxImageClipPropFrameRangePrefix "Source", 2, range) ==
                   kOfxStatOK
               ? kOfxStatOK
               : kOfxStatReplyDefault;
}
