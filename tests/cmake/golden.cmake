# Golden-file and deploy/ tests.
#   test_crds           the CRDs embedded in asc_crds (deploy/crds/) and their structure.
asc_unit_test(test_crds ${CMAKE_SOURCE_DIR}/tests/test_crds.c LIBS asc_crds asc_core TIMEOUT 30)
#   test_golden_replay  every tests/golden/*.json replayed against kubesim (one case per file;
#                       GOLDEN_ONLY=<file>[,<file>] in the environment selects files).
#                       GOLDEN_INPROCESS=1 runs kubesim in-process (needs asc_sim).
if(TARGET asc_sim)
  asc_unit_test(test_golden_replay ${CMAKE_SOURCE_DIR}/tests/test_golden_replay.c
    LIBS asc_harness_sim TIMEOUT 240 LABELS golden)
  target_compile_definitions(test_golden_replay PRIVATE ASC_GOLDEN_HAVE_INPROC=1)
else()
  asc_unit_test(test_golden_replay ${CMAKE_SOURCE_DIR}/tests/test_golden_replay.c
    LIBS asc_harness TIMEOUT 240 LABELS golden)
endif()
