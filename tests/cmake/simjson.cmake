# kubesim's JSON building blocks (bench/kubesim/sim_patch, sim_selector, sim_schema).
asc_unit_test(test_sim_patch ${CMAKE_SOURCE_DIR}/tests/test_sim_patch.c LIBS asc_simjson TIMEOUT 60)
asc_unit_test(test_sim_selector ${CMAKE_SOURCE_DIR}/tests/test_sim_selector.c LIBS asc_simjson TIMEOUT 60)
asc_unit_test(test_sim_schema ${CMAKE_SOURCE_DIR}/tests/test_sim_schema.c LIBS asc_simjson TIMEOUT 60)
