asc_unit_test(test_core ${CMAKE_SOURCE_DIR}/tests/test_core.c LIBS asc_core)
