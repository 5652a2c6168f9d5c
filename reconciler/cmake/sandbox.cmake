# Sandbox reconcile, shared condition/metadata helpers, shard workers.
list(APPEND ASC_REC_SOURCES conditions.c meta.c)
