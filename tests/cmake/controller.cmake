# controller/: flags, metrics registry, HTTP endpoints, and the real binary.
asc_unit_test(test_controller_flags ${CMAKE_SOURCE_DIR}/tests/test_controller_flags.c
              LIBS asc_controller TIMEOUT 30)
