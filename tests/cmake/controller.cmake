# controller/: flags, metrics registry, HTTP endpoints, and the real binary.
asc_unit_test(test_controller_flags ${CMAKE_SOURCE_DIR}/tests/test_controller_flags.c
              LIBS asc_controller TIMEOUT 30)
asc_unit_test(test_controller_metrics ${CMAKE_SOURCE_DIR}/tests/test_controller_metrics.c
              LIBS asc_controller TIMEOUT 30)
asc_unit_test(test_controller_httpserv ${CMAKE_SOURCE_DIR}/tests/test_controller_httpserv.c
              LIBS asc_controller PkgConfig::CURL TIMEOUT 30)
# Runs the real binary from ASC_BIN_DIR, so it must be built first.
asc_unit_test(test_controller_binary ${CMAKE_SOURCE_DIR}/tests/test_controller_binary.c
              LIBS PkgConfig::CURL PkgConfig::JSONC Threads::Threads TIMEOUT 60)
add_dependencies(test_controller_binary agent-sandbox-controller)
