/*
 * mw_project.h - what the plugin reads from a Motionwright project (.mwproj, "Project.N" JSON):
 * a clip's media path (absolute), its used frames and the raw JSON text of its edits, which
 * the plugin passes on to the render service unchanged.
 */
#ifndef MW_PROJECT_H
#define MW_PROJECT_H

#include <stddef.h>

#define MW_MAX_CLIPS 16

typedef struct mw_project_clip {
    char id[256];
    char path[2048];   /* absolute media path */
    long in_frame;
    long out_frame;    /* exclusive; -1 when the clip runs to the end of its media */
    char *edits;       /* malloc'd JSON array text of the clip's edits ("[]" when none) */
} mw_project_clip;

/* Load clip number index (0-based, in project order): 0, or -1 with a reason in err. */
int mw_project_clip_load(const char *project_path, int index, mw_project_clip *out, char *err,
                         size_t errn);
void mw_project_clip_free(mw_project_clip *c);
/* The display names (name, else id) of up to max clips into names[i] (each n bytes): the
 * number of clips, or -1 when the project cannot be read. */
int mw_project_clip_names(const char *project_path, char (*names)[128], int max);

#endif
