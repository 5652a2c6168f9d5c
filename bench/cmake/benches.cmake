# The benchmarks SREs run: claimbench (warm-pool claims) and sandboxbench
# (Sandbox launches), both against kubesim + the controller started here, or
# a cluster given with --kubeconfig. asc_benchlib is their shared code
# (bench/benchlib/: processes, client helpers, watches, Poisson schedule,
# exact percentiles, kubesim request-log attribution, /proc sampling).
if(TARGET asc_kube)
  file(GLOB ASC_BENCHLIB_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/benchlib/*.c)
  list(SORT ASC_BENCHLIB_SOURCES)
  add_library(asc_benchlib STATIC ${ASC_BENCHLIB_SOURCES})
  target_link_libraries(asc_benchlib PUBLIC asc_kube asc_core PkgConfig::CURL PkgConfig::JSONC
                        ev_lib m)
  target_compile_definitions(asc_benchlib PRIVATE ASC_BUILD_TYPE="${CMAKE_BUILD_TYPE}")

  foreach(b claimbench sandboxbench)
    file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/${b}*.c)
    if(_srcs)
      list(SORT _srcs)
      add_executable(${b} ${_srcs})
      target_link_libraries(${b} PRIVATE asc_benchlib)
      # A bench run needs both servers; building the bench builds them.
      foreach(dep kubesim agent-sandbox-controller)
        if(TARGET ${dep})
          add_dependencies(${b} ${dep})
        endif()
      endforeach()
    endif()
  endforeach()
endif()
