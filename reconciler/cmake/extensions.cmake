# SandboxTemplate / SandboxWarmPool / SandboxClaim reconcile passes (--extensions).
list(APPEND ASC_REC_SOURCES
  blueprint.c secure_defaults.c
  template.c warmpool.c warmpool_build.c)
