# reconciler/: pure Sandbox reconcile tables, conditions, shard queue.
asc_unit_test(test_rec_sandbox
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox.c
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox_harness.c
  LIBS asc_reconciler asc_core TIMEOUT 60 LABELS reconciler)
asc_unit_test(test_rec_queue
  ${CMAKE_SOURCE_DIR}/tests/test_rec_queue.c
  LIBS asc_reconciler asc_core ev_lib TIMEOUT 60 LABELS reconciler)
asc_unit_test(test_rec_conditions
  ${CMAKE_SOURCE_DIR}/tests/test_rec_conditions.c
  LIBS asc_reconciler asc_core TIMEOUT 60 LABELS reconciler)
asc_unit_test(test_rec_sandbox_store
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox_store.c
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox_harness.c
  LIBS asc_reconciler asc_store asc_core TIMEOUT 60 LABELS reconciler)
asc_unit_test(test_rec_sandbox_malformed
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox_malformed.c
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox_harness.c
  LIBS asc_reconciler asc_core TIMEOUT 60 LABELS reconciler)
asc_unit_test(test_rec_sandbox_shard
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox_shard.c
  ${CMAKE_SOURCE_DIR}/tests/test_rec_sandbox_harness.c
  LIBS asc_reconciler asc_store asc_core ev_lib TIMEOUT 60 LABELS reconciler)
