/* mw_project.c - see mw_project.h. */
#include "mw_project.h"

#include "mw_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MW_MAX_PROJECT_BYTES (64u << 20)

static char *read_file(const char *path, char *err, size_t errn)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "project file %s cannot be opened", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        snprintf(err, errn, "project file %s cannot be read", path);
        return NULL;
    }
    long size = ftell(f);
    if (size < 0 || (unsigned long)size > MW_MAX_PROJECT_BYTES) {
        fclose(f);
        snprintf(err, errn, "project file %s is not a Motionwright project (size)", path);
        return NULL;
    }
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        snprintf(err, errn, "project file %s cannot be read", path);
        return NULL;
    }
    fclose(f);
    buf[size] = '\0';
    return buf;
}

static const char *project_clips(const char *text, const char *path, char *err, size_t errn)
{
    char schema[64];
    const char *v = mwj_get(text, "schema");
    if (!v || mwj_string(v, schema, sizeof schema) || strncmp(schema, "Project.", 8) != 0) {
        snprintf(err, errn, "%s is not a Motionwright project (no Project schema)", path);
        return NULL;
    }
    const char *clips = mwj_get(text, "clips");
    if (!clips || *clips != '[') {
        snprintf(err, errn, "%s has no clips", path);
        return NULL;
    }
    return clips;
}

int mw_project_clip_load(const char *project_path, int index, mw_project_clip *out, char *err,
                         size_t errn)
{
    char rel[2048];
    double num;
    memset(out, 0, sizeof *out);
    out->out_frame = -1;
    char *text = read_file(project_path, err, errn);
    if (!text)
        return -1;
    const char *clips = project_clips(text, project_path, err, errn);
    const char *clip = clips ? mwj_at(clips, index) : NULL;
    if (clips && (!clip || *clip != '{')) {
        snprintf(err, errn, "%s has no clip number %d", project_path, index + 1);
        clips = NULL;
    }
    const char *v;
    if (clips && (!(v = mwj_get(clip, "id")) || mwj_string(v, out->id, sizeof out->id) ||
                  !(v = mwj_get(clip, "path")) || mwj_string(v, rel, sizeof rel))) {
        snprintf(err, errn, "%s: clip %d has no id or path", project_path, index + 1);
        clips = NULL;
    }
    if (!clips) {
        free(text);
        return -1;
    }
    if ((v = mwj_get(clip, "in_frame")) && mwj_number(v, &num) == 0 && num >= 0)
        out->in_frame = (long)num;
    if ((v = mwj_get(clip, "out_frame")) && !mwj_is_null(v) && mwj_number(v, &num) == 0)
        out->out_frame = (long)num;
    /* Media paths are stored relative to the project's folder unless absolute. */
    int k;
    if (rel[0] == '/') {
        k = snprintf(out->path, sizeof out->path, "%s", rel);
    } else {
        const char *slash = strrchr(project_path, '/');
        int dir_len = slash ? (int)(slash - project_path) : 1;
        k = snprintf(out->path, sizeof out->path, "%.*s/%s", dir_len, slash ? project_path : ".",
                     rel);
    }
    if (k < 0 || (size_t)k >= sizeof out->path) {
        snprintf(err, errn, "%s: the media path of clip %d is too long", project_path, index + 1);
        free(text);
        return -1;
    }
    const char *edits = mwj_get(text, "edits");
    const char *list = edits ? mwj_get(edits, out->id) : NULL;
    const char *end = list ? mwj_skip(list) : NULL;
    if (list && end && *list == '[') {
        size_t len = (size_t)(end - list);
        out->edits = malloc(len + 1);
        if (out->edits) {
            memcpy(out->edits, list, len);
            out->edits[len] = '\0';
        }
    } else {
        out->edits = strdup("[]");
    }
    free(text);
    if (!out->edits) {
        snprintf(err, errn, "out of memory");
        return -1;
    }
    return 0;
}

void mw_project_clip_free(mw_project_clip *c)
{
    free(c->edits);
    c->edits = NULL;
}

int mw_project_clip_names(const char *project_path, char (*names)[128], int max)
{
    char err[256];
    char *text = read_file(project_path, err, sizeof err);
    if (!text)
        return -1;
    const char *clips = project_clips(text, project_path, err, sizeof err);
    int count = -1;
    if (clips) {
        count = 0;
        for (const char *clip; count < max && (clip = mwj_at(clips, count)); count++) {
            const char *v = mwj_get(clip, "name");
            if (!v || mwj_is_null(v) || mwj_string(v, names[count], 128))
                if (!(v = mwj_get(clip, "id")) || mwj_string(v, names[count], 128))
                    snprintf(names[count], 128, "clip %d", count + 1);
        }
    }
    free(text);
    return count;
}
