# Sandbox reconcile, shared condition/metadata helpers, shard workers.
list(APPEND ASC_REC_SOURCES conditions.c meta.c sandbox.c sandbox_pod.c sandbox_pvc.c
     sandbox_svc.c)
