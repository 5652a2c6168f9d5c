asc_unit_test(test_informer ${CMAKE_SOURCE_DIR}/tests/test_informer.c LIBS asc_informer asc_store
              asc_core TIMEOUT 60)
