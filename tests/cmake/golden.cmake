# Golden-file and deploy/ tests.
#   test_crds           the CRDs embedded in asc_crds (deploy/crds/) and their structure.
asc_unit_test(test_crds ${CMAKE_SOURCE_DIR}/tests/test_crds.c LIBS asc_crds asc_core TIMEOUT 30)
