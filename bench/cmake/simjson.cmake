# asc_simjson: kubesim's pure JSON building blocks (patches, selectors,
# CRD structural schemas, JSON text <-> json-c trees). No I/O; the server
# links it, so do the tests.
file(GLOB ASC_SIMJSON_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_buf.c
     ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_patch*.c
     ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_selector*.c
     ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_schema*.c
     ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_jsontext*.c)
list(SORT ASC_SIMJSON_SOURCES)
add_library(asc_simjson STATIC ${ASC_SIMJSON_SOURCES})
target_link_libraries(asc_simjson PUBLIC asc_core PkgConfig::JSONC)
