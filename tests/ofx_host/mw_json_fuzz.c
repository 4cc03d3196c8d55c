/*
 * mw_json_fuzz.c - feeds every file named on the command line to the plugin's JSON reader
 * (every accessor, on every value it can reach) and to its project reader, for the tests to
 * run under AddressSanitizer with hostile inputs: truncated, deeply nested, random bytes.
 */
#include "../../plugin/ofx/src/mw_json.h"
#include "../../plugin/ofx/src/mw_project.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void walk(const char *v, int depth)
{
    char buf[64];
    double d;
    if (!v || depth > 100)
        return;
    mwj_string(v, buf, sizeof buf);
    mwj_number(v, &d);
    mwj_is_null(v);
    mwj_skip(v);
    const char *keys[] = {"id", "state", "progress", "fraction", "error", "message", "path",
                          "clips", "edits", "schema", "url", "token"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        walk(mwj_get(v, keys[k]), depth + 1);
    for (int i = 0; i < 4; i++)
        walk(mwj_at(v, i), depth + 1);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            return 2;
        static char data[1 << 20];
        size_t n = fread(data, 1, sizeof data - 1, f);
        fclose(f);
        char *text = malloc(n + 1); /* exact size: reads past the end are caught */
        memcpy(text, data, n);
        text[n] = '\0';
        walk(text, 0);
        char out[32] = "";
        mwj_quote(out, sizeof out, text);
        free(text);
        mw_project_clip clip;
        char err[256], names[4][128];
        if (mw_project_clip_load(argv[i], 0, &clip, err, sizeof err) == 0)
            mw_project_clip_free(&clip);
        mw_project_clip_names(argv[i], names, 4);
    }
    printf("OK %d\n", argc - 1);
    return 0;
}
