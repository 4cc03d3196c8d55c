/*
 * mw_plugin.h - state shared by the plugin's action handlers: the host's suites and the
 * per-instance data (parameters, the job the instance follows, the last status).
 */
#ifndef MW_PLUGIN_H
#define MW_PLUGIN_H

#include "mw_ofx.h"

#include <pthread.h>

#define MW_PLUGIN_ID "org.motionwright.Motionwright"
#define MW_MAX_CHOICES 9 /* "Host frames" + up to 8 project clips */

typedef struct mw_suites {
    OfxHost *host;
    const OfxPropertySuiteV1 *prop;
    const OfxImageEffectSuiteV1 *effect;
    const OfxParameterSuiteV1 *param;
    const OfxMemorySuiteV1 *memory;
    const OfxMultiThreadSuiteV1 *thread;
    const OfxMessageSuiteV1 *message;
    int host_temporal; /* host advertises temporal clip access */
} mw_suites;

extern mw_suites MW;

typedef struct mw_instance {
    OfxImageEffectHandle effect;
    OfxImageClipHandle source, output;
    OfxParamHandle p_project, p_clip, p_backend, p_status, p_open;
    pthread_mutex_t lock;       /* render calls of one instance never overlap */
    char key[512];              /* fingerprint of the request the job below belongs to */
    char job_id[128];
    char upload_id[128];
    char upload_dir[2048];
    int uploaded;               /* frames of the upload written so far */
    char status[1024];          /* last status line shown */
    char last_message[1024];     /* last text sent through the message suite */
    long long last_start_ms;    /* when the plugin last tried to start the service */
    char start_error[512];      /* why that try failed ("" when it launched) */
} mw_instance;

/* Render budget in milliseconds: $MOTIONWRIGHT_OFX_TIMEOUT_MS or 1500, clamped to 50..10000. */
int mw_budget_ms(void);
long long mw_now_ms(void);
/* A string parameter's value into out (empty when the parameter or call is missing). */
void mw_param_string(OfxParamHandle p, char *out, size_t n);
/* A choice parameter's index (def when missing). */
int mw_param_choice(OfxParamHandle p, int def);
/* Send text through the host's message suite unless it equals the last one sent. */
void mw_post(mw_instance *inst, const char *type, const char *text);
/* Try to start the service, at most once every 10 s per instance: 0 launched, -1 not. */
int mw_maybe_start_service(mw_instance *inst, char *err, size_t errn);

OfxStatus mw_render(mw_instance *inst, OfxPropertySetHandle in_args);
OfxStatus mw_frames_needed(mw_instance *inst, OfxPropertySetHandle in_args,
                           OfxPropertySetHandle out_args);

#endif
