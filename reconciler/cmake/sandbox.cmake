# Sandbox reconcile, shared condition/metadata helpers, shard workers.
list(APPEND ASC_REC_SOURCES conditions.c meta.c sandbox.c sandbox_pod.c sandbox_pvc.c
     sandbox_svc.c sandbox_view.c queue.c shard.c)
# shard.c wakes the I/O loop with ev_async_send and sandbox_view.c reads the
# store; the library is declared after this file is read, so link once the
# directory has been processed.
cmake_language(DEFER CALL target_link_libraries asc_reconciler PUBLIC ev_lib asc_store)
