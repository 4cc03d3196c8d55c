/*
 * mw_plugin.c - the OpenFX entry points of the "Motionwright" effect: the two exported
 * functions, setHost, and the describe / instance / parameter actions. Rendering is in
 * mw_render.c. Every suite and property call's status is checked; nothing here blocks.
 */
#define _GNU_SOURCE
#include "mw_plugin.h"

#include "mw_http.h"
#include "mw_project.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/wait.h>

mw_suites MW;

long long mw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mw_budget_ms(void)
{
    const char *v = getenv("MOTIONWRIGHT_OFX_TIMEOUT_MS");
    long ms = v && *v ? strtol(v, NULL, 10) : 1500;
    return (int)(ms < 50 ? 50 : ms > 10000 ? 10000 : ms);
}

static void set_host(OfxHost *host)
{
    memset(&MW, 0, sizeof MW);
    MW.host = host;
}

/* Fetch every suite; the plugin refuses to load (kOfxStatErrMissingHostFeature) without the
 * property, image effect and parameter suites; memory, multithread and message are optional. */
static OfxStatus on_load(void)
{
    if (!MW.host || !MW.host->fetchSuite)
        return kOfxStatErrMissingHostFeature;
    MW.prop = MW.host->fetchSuite(MW.host->host, kOfxPropertySuite, 1);
    MW.effect = MW.host->fetchSuite(MW.host->host, kOfxImageEffectSuite, 1);
    MW.param = MW.host->fetchSuite(MW.host->host, kOfxParameterSuite, 1);
    MW.memory = MW.host->fetchSuite(MW.host->host, kOfxMemorySuite, 1);
    MW.thread = MW.host->fetchSuite(MW.host->host, kOfxMultiThreadSuite, 1);
    MW.message = MW.host->fetchSuite(MW.host->host, kOfxMessageSuite, 1);
    if (!MW.prop || !MW.effect || !MW.param)
        return kOfxStatErrMissingHostFeature;
    int temporal = 0;
    if (MW.prop->propGetInt(MW.host->host, kOfxImageEffectPropTemporalClipAccess, 0, &temporal) ==
        kOfxStatOK)
        MW.host_temporal = temporal;
    return kOfxStatOK;
}

static OfxStatus describe(OfxImageEffectHandle effect)
{
    OfxPropertySetHandle props;
    if (MW.effect->getPropertySet(effect, &props) != kOfxStatOK)
        return kOfxStatErrBadHandle;
    const char *contexts[] = {kOfxImageEffectContextFilter, kOfxImageEffectContextGeneral};
    const char *depths[] = {kOfxBitDepthByte, kOfxBitDepthShort, kOfxBitDepthFloat};
    OfxStatus st = kOfxStatOK, s;
#define MW_SET(call) do { s = (call); if (s != kOfxStatOK) st = s; } while (0)
    MW_SET(MW.prop->propSetString(props, kOfxPropLabel, 0, "Motionwright"));
    MW_SET(MW.prop->propSetString(props, kOfxImageEffectPluginPropGrouping, 0, "Motionwright"));
    MW_SET(MW.prop->propSetStringN(props, kOfxImageEffectPropSupportedContexts, 2, contexts));
    MW_SET(MW.prop->propSetStringN(props, kOfxImageEffectPropSupportedPixelDepths, 3, depths));
    MW_SET(MW.prop->propSetInt(props, kOfxImageEffectPropSupportsTiles, 0, 1));
    MW_SET(MW.prop->propSetInt(props, kOfxImageEffectPropSupportsMultiResolution, 0, 1));
    MW_SET(MW.prop->propSetInt(props, kOfxImageEffectPropSupportsMultipleClipDepths, 0, 0));
    MW_SET(MW.prop->propSetInt(props, kOfxImageEffectPluginPropHostFrameThreading, 0, 0));
    /* Render calls of one instance serialise on its own lock; instances share nothing. */
    MW_SET(MW.prop->propSetString(props, kOfxImageEffectPluginRenderThreadSafety, 0,
                                  kOfxImageEffectRenderInstanceSafe));
    MW_SET(MW.prop->propSetInt(props, kOfxImageEffectPropTemporalClipAccess, 0, 1));
    /* Descriptions are optional for hosts: a refusal does not fail describe. */
    MW.prop->propSetString(props, kOfxPropPluginDescription, 0,
                           "Motion edits rendered by the local Motionwright render service.");
    return st == kOfxStatOK ? kOfxStatOK : kOfxStatFailed;
}

static OfxStatus define_clip(OfxImageEffectHandle effect, const char *name)
{
    OfxPropertySetHandle props;
    const char *components[] = {kOfxImageComponentRGBA, kOfxImageComponentRGB,
                                kOfxImageComponentAlpha};
    OfxStatus st = kOfxStatOK, s;
    if (MW.effect->clipDefine(effect, name, &props) != kOfxStatOK)
        return kOfxStatFailed;
    MW_SET(MW.prop->propSetStringN(props, kOfxImageEffectPropSupportedComponents, 3, components));
    MW_SET(MW.prop->propSetInt(props, kOfxImageEffectPropSupportsTiles, 0, 1));
    if (strcmp(name, kOfxImageEffectSimpleSourceClipName) == 0)
        MW_SET(MW.prop->propSetInt(props, kOfxImageEffectPropTemporalClipAccess, 0, 1));
    return st;
}

static OfxPropertySetHandle define_param(OfxParamSetHandle params, const char *type,
                                         const char *name, const char *label, const char *hint)
{
    OfxPropertySetHandle props = NULL;
    if (MW.param->paramDefine(params, type, name, &props) != kOfxStatOK || !props)
        return NULL;
    MW.prop->propSetString(props, kOfxPropLabel, 0, label);
    MW.prop->propSetString(props, kOfxParamPropHint, 0, hint);
    MW.prop->propSetString(props, kOfxParamPropScriptName, 0, name);
    return props;
}

static OfxStatus describe_in_context(OfxImageEffectHandle effect)
{
    OfxParamSetHandle params;
    OfxPropertySetHandle p;
    if (define_clip(effect, kOfxImageEffectSimpleSourceClipName) != kOfxStatOK ||
        define_clip(effect, kOfxImageEffectOutputClipName) != kOfxStatOK)
        return kOfxStatFailed;
    if (MW.effect->getParamSet(effect, &params) != kOfxStatOK)
        return kOfxStatFailed;
    /* Parameters a host does not create are read as their defaults later. */
    if ((p = define_param(params, kOfxParamTypeString, "project", "Project",
                          "Motionwright project (.mwproj) holding the edits"))) {
        MW.prop->propSetString(p, kOfxParamPropStringMode, 0, kOfxParamStringIsFilePath);
        MW.prop->propSetInt(p, kOfxParamPropStringFilePathExists, 0, 1);
        MW.prop->propSetInt(p, kOfxParamPropAnimates, 0, 0);
    }
    if ((p = define_param(params, kOfxParamTypeChoice, "clip", "Edit",
                          "Whose edits to render: this clip's own frames with the project's "
                          "first clip's edits, or a project clip rendered from its media"))) {
        MW.prop->propSetString(p, kOfxParamPropChoiceOption, 0, "Match this clip's source media");
        for (int i = 1; i < MW_MAX_CHOICES; i++) {
            char label[64];
            snprintf(label, sizeof label, "Project clip %d", i);
            MW.prop->propSetString(p, kOfxParamPropChoiceOption, i, label);
        }
        MW.prop->propSetInt(p, kOfxParamPropDefault, 0, 0);
        MW.prop->propSetInt(p, kOfxParamPropAnimates, 0, 0);
    }
    if ((p = define_param(params, kOfxParamTypeChoice, "backend", "Backend",
                          "Preview (CPU, instant) or diffusion (GPU models)"))) {
        MW.prop->propSetString(p, kOfxParamPropChoiceOption, 0, "Preview");
        MW.prop->propSetString(p, kOfxParamPropChoiceOption, 1, "Diffusion");
        MW.prop->propSetInt(p, kOfxParamPropDefault, 0, 0);
        MW.prop->propSetInt(p, kOfxParamPropAnimates, 0, 0);
    }
    if ((p = define_param(params, kOfxParamTypeString, "status", "Status",
                          "What the render service is doing for this effect"))) {
        MW.prop->propSetString(p, kOfxParamPropStringMode, 0, kOfxParamStringIsLabel);
        MW.prop->propSetString(p, kOfxParamPropDefault, 0, "Idle");
        MW.prop->propSetInt(p, kOfxParamPropAnimates, 0, 0);
        MW.prop->propSetInt(p, kOfxParamPropEnabled, 0, 0);
        MW.prop->propSetInt(p, kOfxParamPropPersistant, 0, 0);
        MW.prop->propSetInt(p, kOfxParamPropEvaluateOnChange, 0, 0);
    }
    define_param(params, kOfxParamTypePushButton, "openEditor", "Open in Motionwright",
                 "Open the desktop editor on this project");
    return kOfxStatOK;
}

static mw_instance *instance_of(OfxImageEffectHandle effect)
{
    OfxPropertySetHandle props;
    void *data = NULL;
    if (!effect || MW.effect->getPropertySet(effect, &props) != kOfxStatOK ||
        MW.prop->propGetPointer(props, kOfxPropInstanceData, 0, &data) != kOfxStatOK)
        return NULL;
    return data;
}

void mw_param_string(OfxParamHandle p, char *out, size_t n)
{
    char *value = NULL;
    out[0] = '\0';
    if (p && MW.param->paramGetValue(p, &value) == kOfxStatOK && value)
        snprintf(out, n, "%s", value);
}

int mw_param_choice(OfxParamHandle p, int def)
{
    int value = def;
    if (!p || MW.param->paramGetValue(p, &value) != kOfxStatOK)
        return def;
    return value;
}

void mw_post(mw_instance *inst, const char *type, const char *text)
{
    if (!MW.message || strcmp(inst->last_message, text) == 0)
        return;
    snprintf(inst->last_message, sizeof inst->last_message, "%s", text);
    MW.message->message(inst->effect, type, MW_PLUGIN_ID, "%s", text);
}

int mw_maybe_start_service(mw_instance *inst, char *err, size_t errn)
{
    long long now = mw_now_ms();
    if (inst->last_start_ms && now - inst->last_start_ms < 10000) {
        snprintf(err, errn, "%s", inst->start_error[0] ? inst->start_error
                                                       : "starting the render service");
        return inst->start_error[0] ? -1 : 0;
    }
    inst->last_start_ms = now;
    if (mw_start_service(inst->start_error, sizeof inst->start_error) != 0) {
        snprintf(err, errn, "%s", inst->start_error);
        return -1;
    }
    inst->start_error[0] = '\0';
    snprintf(err, errn, "starting the render service");
    return 0;
}

static void show_status(mw_instance *inst, const char *text)
{
    if (inst->p_status)
        MW.param->paramSetValue(inst->p_status, text);
}

static OfxStatus create_instance(OfxImageEffectHandle effect)
{
    OfxPropertySetHandle props, ignored;
    OfxParamSetHandle params;
    if (MW.effect->getPropertySet(effect, &props) != kOfxStatOK ||
        MW.effect->getParamSet(effect, &params) != kOfxStatOK)
        return kOfxStatFailed;
    mw_instance *inst = calloc(1, sizeof *inst);
    if (!inst)
        return kOfxStatErrMemory;
    inst->effect = effect;
    pthread_mutex_init(&inst->lock, NULL);
    if (MW.effect->clipGetHandle(effect, kOfxImageEffectSimpleSourceClipName, &inst->source,
                                 &ignored) != kOfxStatOK)
        inst->source = NULL;
    if (MW.effect->clipGetHandle(effect, kOfxImageEffectOutputClipName, &inst->output,
                                 &ignored) != kOfxStatOK)
        inst->output = NULL;
    struct { const char *name; OfxParamHandle *slot; } wanted[] = {
        {"project", &inst->p_project}, {"clip", &inst->p_clip}, {"backend", &inst->p_backend},
        {"status", &inst->p_status}, {"openEditor", &inst->p_open}};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (MW.param->paramGetHandle(params, wanted[i].name, wanted[i].slot, &ignored) != kOfxStatOK)
            *wanted[i].slot = NULL;
    if (MW.prop->propSetPointer(props, kOfxPropInstanceData, 0, inst) != kOfxStatOK) {
        pthread_mutex_destroy(&inst->lock);
        free(inst);
        return kOfxStatFailed;
    }
    /* Start the service early (never during describe) so the first render finds it. */
    mw_server server;
    char err[512];
    if (mw_discover(&server, err, sizeof err) != 0 &&
        mw_maybe_start_service(inst, err, sizeof err) != 0) {
        snprintf(inst->status, sizeof inst->status, "Motionwright: %s", err);
        show_status(inst, inst->status);
        mw_post(inst, kOfxMessageError, inst->status);
    }
    return kOfxStatOK;
}

static OfxStatus destroy_instance(OfxImageEffectHandle effect)
{
    mw_instance *inst = instance_of(effect);
    OfxPropertySetHandle props;
    if (!inst)
        return kOfxStatOK;
    if (MW.effect->getPropertySet(effect, &props) == kOfxStatOK)
        MW.prop->propSetPointer(props, kOfxPropInstanceData, 0, NULL);
    /* The job keeps running in the service: the next session's render picks up its result. */
    pthread_mutex_destroy(&inst->lock);
    free(inst);
    return kOfxStatOK;
}

static void open_editor(mw_instance *inst)
{
    char project[2048], exe[1024], err[512];
    mw_param_string(inst->p_project, project, sizeof project);
    const char *bin = getenv("MOTIONWRIGHT_BIN");
    snprintf(exe, sizeof exe, "%s", bin && *bin ? bin : "motionwright");
    char *argv[] = {exe, "gui", project[0] ? project : NULL, NULL};
    if (mw_spawn_detached(argv) != 0) {
        snprintf(err, sizeof err, "Motionwright: could not open the editor (%s)", strerror(errno));
        mw_post(inst, kOfxMessageError, err);
    }
}

static void relabel_clip_choice(mw_instance *inst)
{
    char project[2048], names[MW_MAX_CHOICES - 1][128];
    OfxPropertySetHandle props;
    mw_param_string(inst->p_project, project, sizeof project);
    if (!inst->p_clip || !project[0] || MW.param->paramGetPropertySet(inst->p_clip, &props) != kOfxStatOK)
        return;
    int n = mw_project_clip_names(project, names, MW_MAX_CHOICES - 1);
    for (int i = 0; i < n; i++) {
        char label[160];
        snprintf(label, sizeof label, "%d: %s", i + 1, names[i]);
        /* Hosts that fix choice labels after describe refuse this; the numbers still hold. */
        MW.prop->propSetString(props, kOfxParamPropChoiceOption, i + 1, label);
    }
}

static OfxStatus instance_changed(OfxImageEffectHandle effect, OfxPropertySetHandle in_args)
{
    mw_instance *inst = instance_of(effect);
    char *type = NULL, *name = NULL;
    if (!inst || !in_args)
        return kOfxStatReplyDefault;
    if (MW.prop->propGetString(in_args, kOfxPropType, 0, &type) != kOfxStatOK ||
        MW.prop->propGetString(in_args, kOfxPropName, 0, &name) != kOfxStatOK || !type || !name)
        return kOfxStatReplyDefault;
    if (strcmp(type, kOfxTypeParameter) != 0)
        return kOfxStatReplyDefault;
    if (strcmp(name, "openEditor") == 0)
        open_editor(inst);
    else if (strcmp(name, "project") == 0)
        relabel_clip_choice(inst);
    if (inst->status[0])
        show_status(inst, inst->status);
    return kOfxStatOK;
}

static OfxStatus region_of_definition(mw_instance *inst, OfxPropertySetHandle in_args,
                                      OfxPropertySetHandle out_args)
{
    double time = 0;
    OfxRectD rod;
    if (!inst->source || MW.prop->propGetDouble(in_args, kOfxPropTime, 0, &time) != kOfxStatOK ||
        MW.effect->clipGetRegionOfDefinition(inst->source, time, &rod) != kOfxStatOK)
        return kOfxStatReplyDefault;
    double v[4] = {rod.x1, rod.y1, rod.x2, rod.y2};
    return MW.prop->propSetDoubleN(out_args, kOfxImageEffectPropRegionOfDefinition, 4, v) == kOfxStatOK
               ? kOfxStatOK
               : kOfxStatFailed;
}

static OfxStatus clip_preferences(OfxPropertySetHandle out_args)
{
    /* Results are fully opaque; frames differ over time. */
    OfxStatus s1 = MW.prop->propSetString(out_args, kOfxImageEffectPropPreMultiplication, 0,
                                          kOfxImageOpaque);
    OfxStatus s2 = MW.prop->propSetInt(out_args, kOfxImageEffectFrameVarying, 0, 1);
    return s1 == kOfxStatOK && s2 == kOfxStatOK ? kOfxStatOK : kOfxStatReplyDefault;
}

static OfxStatus is_identity(mw_instance *inst, OfxPropertySetHandle in_args,
                             OfxPropertySetHandle out_args)
{
    char project[2048];
    double time = 0;
    mw_param_string(inst->p_project, project, sizeof project);
    if (project[0])
        return kOfxStatReplyDefault;
    /* No project chosen: the effect passes the source through untouched. */
    if (MW.prop->propGetDouble(in_args, kOfxPropTime, 0, &time) != kOfxStatOK ||
        MW.prop->propSetString(out_args, kOfxPropName, 0, kOfxImageEffectSimpleSourceClipName) !=
            kOfxStatOK ||
        MW.prop->propSetDouble(out_args, kOfxPropTime, 0, time) != kOfxStatOK)
        return kOfxStatReplyDefault;
    return kOfxStatOK;
}

static OfxStatus main_entry(const char *action, const void *handle, OfxPropertySetHandle in_args,
                            OfxPropertySetHandle out_args)
{
    OfxImageEffectHandle effect = (OfxImageEffectHandle)handle;
    if (!action)
        return kOfxStatErrBadHandle;
    if (!strcmp(action, kOfxActionLoad))
        return on_load();
    if (!MW.prop || !MW.effect || !MW.param)
        return kOfxStatErrMissingHostFeature; /* not loaded */
    if (!strcmp(action, kOfxActionUnload))
        return kOfxStatOK;
    if (!strcmp(action, kOfxActionDescribe))
        return describe(effect);
    if (!strcmp(action, kOfxImageEffectActionDescribeInContext))
        return describe_in_context(effect);
    if (!strcmp(action, kOfxActionCreateInstance))
        return create_instance(effect);
    if (!strcmp(action, kOfxActionDestroyInstance))
        return destroy_instance(effect);
    mw_instance *inst = instance_of(effect);
    if (!inst)
        return kOfxStatReplyDefault;
    if (!strcmp(action, kOfxActionInstanceChanged))
        return instance_changed(effect, in_args);
    if (!strcmp(action, kOfxImageEffectActionGetRegionOfDefinition))
        return region_of_definition(inst, in_args, out_args);
    if (!strcmp(action, kOfxImageEffectActionGetClipPreferences))
        return clip_preferences(out_args);
    if (!strcmp(action, kOfxImageEffectActionIsIdentity))
        return is_identity(inst, in_args, out_args);
    if (!strcmp(action, kOfxImageEffectActionGetFramesNeeded))
        return mw_frames_needed(inst, in_args, out_args);
    if (!strcmp(action, kOfxActionPurgeCaches)) {
        /* Forget the followed job: the next render submits again (host frames sent anew). */
        pthread_mutex_lock(&inst->lock);
        inst->key[0] = inst->job_id[0] = inst->upload_id[0] = '\0';
        inst->uploaded = 0;
        pthread_mutex_unlock(&inst->lock);
        return kOfxStatOK;
    }
    if (!strcmp(action, kOfxActionSyncPrivateData)) {
        /* One of the few actions allowed to set parameters: the status string follows the
         * last render here (never from the render itself). */
        if (inst->status[0])
            show_status(inst, inst->status);
        return kOfxStatOK;
    }
    if (!strcmp(action, kOfxImageEffectActionRender))
        return mw_render(inst, in_args);
    return kOfxStatReplyDefault;
}

static OfxPlugin PLUGIN = {kOfxImageEffectPluginApi, kOfxImageEffectPluginApiVersion, MW_PLUGIN_ID,
                           0, 1, set_host, main_entry};

MW_OFX_EXPORT int OfxGetNumberOfPlugins(void) { return 1; }

MW_OFX_EXPORT OfxPlugin *OfxGetPlugin(int nth) { return nth == 0 ? &PLUGIN : NULL; }
