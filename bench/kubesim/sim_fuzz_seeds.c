/* sim_fuzz_seeds.c - kubesim-fuzz-seeds GOLDEN_DIR OUT_DIR: write every request of the
 * golden exchange files as a raw HTTP/1.1 request file (the fuzz target's seed corpus). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"

static void
write_request(const char *out_dir, const char *base, size_t idx, json_object *req)
{
    const char *method = jx_str_or(req, "method", "GET");
    const char *path = jx_str_or(req, "path", "/");
    json_object *q = jx_obj(req, "query");
    json_object *body = jx_get(req, "body");
    const char *ctype = jx_str(req, "headers.content-type");
    char target[8192];
    size_t n = (size_t)snprintf(target, sizeof target, "%s", path);
    int first = 1;
    if (q) {
        json_object_object_foreach(q, k, v)
        {
            if (n >= sizeof target - 1) break;
            n += (size_t)snprintf(target + n, sizeof target - n, "%c%s=", first ? '?' : '&', k);
            for (const char *c = json_object_get_string(v); *c && n + 4 < sizeof target; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || strchr("-._~", *c))
                    target[n++] = *c;
                else
                    n += (size_t)snprintf(target + n, sizeof target - n, "%%%02X",
                                          (unsigned char)*c);
            }
            target[n] = '\0';
            first = 0;
        }
    }
    const char *btxt = "";
    if (body)
        btxt = json_object_is_type(body, json_type_string)
                   ? json_object_get_string(body)
                   : json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    char fname[4096];
    snprintf(fname, sizeof fname, "%s/%s-%03zu", out_dir, base, idx);
    FILE *f = fopen(fname, "wb");
    if (!f) return;
    fprintf(f, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: kapi-conformance/1.0\r\n", method,
            target);
    if (ctype) fprintf(f, "Content-Type: %s\r\n", ctype);
    if (body) fprintf(f, "Content-Length: %zu\r\n", strlen(btxt));
    fprintf(f, "\r\n%s", btxt);
    fclose(f);
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: kubesim-fuzz-seeds GOLDEN_DIR OUT_DIR\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = sz > 0 ? malloc((size_t)sz) : NULL;
        size_t got = buf ? fread(buf, 1, (size_t)sz, f) : 0;
        fclose(f);
        const char *err = NULL;
        json_object *doc = buf ? jx_parse(buf, got, &err) : NULL;
        free(buf);
        json_object *ex = jx_arr(doc, "exchanges");
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(l - 5), de->d_name);
        for (size_t i = 0; ex && i < json_object_array_length(ex); i++)
            write_request(argv[2], base, i, jx_obj(json_object_array_get_idx(ex, i), "request"));
        json_object_put(doc);
        files++;
    }
    closedir(d);
    printf("kubesim-fuzz-seeds: %d golden files\n", files);
    return 0;
}
