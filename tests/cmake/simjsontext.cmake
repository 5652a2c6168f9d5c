# kubesim's JSON text <-> json-c trees (bench/kubesim/sim_jsontext*.c): differential
# tests against json-c on golden bodies, tricky and random documents.
asc_unit_test(test_sim_jsontext ${CMAKE_SOURCE_DIR}/tests/test_sim_jsontext.c LIBS asc_simjson
  TIMEOUT 60)
