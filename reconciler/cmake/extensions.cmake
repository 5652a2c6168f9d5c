# SandboxTemplate / SandboxWarmPool / SandboxClaim reconcile passes (--extensions).
list(APPEND ASC_REC_SOURCES
  blueprint.c secure_defaults.c
  template.c
  warmpool.c warmpool_build.c warmpool_members.c
  claim.c claim_status.c claim_validate.c claim_merge.c claim_ready.c claim_build.c)
# claim.c takes candidates from pools/ (asc_pools, added before reconciler/):
# link it once asc_reconciler exists, without editing the shared CMakeLists.
cmake_language(DEFER CALL target_link_libraries asc_reconciler PUBLIC asc_pools)
