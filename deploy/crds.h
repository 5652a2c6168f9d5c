/* crds.h - the agent-sandbox CustomResourceDefinitions of deploy/crds/, compiled in.
 *
 * asc_crd_yaml[i] is the complete text of the YAML file asc_crd_names[i] (the file's base
 * name, e.g. "agents.x-k8s.io_sandboxes.yaml"), NUL-terminated, one CRD document per file.
 * The arrays are generated at build time from the YAML files of deploy/crds/ (kustomization.yaml
 * excluded) in file-name order; they are static, read-only, and safe from any thread.
 * Parse them with core/yaml2json.h. Target: asc_crds. */
#ifndef ASC_DEPLOY_CRDS_H
#define ASC_DEPLOY_CRDS_H

#include <stddef.h>

extern const char *const asc_crd_names[];
extern const char *const asc_crd_yaml[];
extern const size_t asc_crd_count;

#endif
